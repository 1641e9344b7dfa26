//! Without the tracking allocator, `heap_peak` and `allocated` are absent (`None`, and absent
//! from the JSON), never zero; the RSS figures are still there.
use monitor::monitor_step;

#[monitor_step]
fn allocates() -> usize {
    vec![1u8; 1 << 20].len()
}

#[test]
fn heap_figures_are_absent_not_zero() {
    monitor::testing::without_history();
    assert_eq!(allocates(), 1 << 20);
    let snap = monitor::snapshot();
    let m = snap.site("allocates").expect("recorded").memory;
    assert!(m.rss_peak.is_some() && m.rss_start.is_some());
    assert_eq!(m.heap_peak, None);
    assert_eq!(m.allocated, None);
    let json = serde_json::to_value(&snap).unwrap();
    let mem = &json["sites"][0]["memory"];
    assert!(mem.get("rss_peak").is_some(), "{mem}");
    assert!(
        mem.get("heap_peak").is_none() && mem.get("allocated").is_none(),
        "{mem}"
    );
    let scope = monitor::memory_scope("untracked").finish();
    assert_eq!((scope.heap_peak, scope.allocated), (None, None));
    assert!(scope.rss_peak.is_some());
}
