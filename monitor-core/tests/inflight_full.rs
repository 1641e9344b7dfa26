//! When every in-flight slot is taken, a call still runs and is measured; its memory figures say
//! the peak is approximate (no sampler folding), and it still catches what entry, exit and the
//! kernel's high-water mark see.
use monitor_core::inflight::{self, SLOTS};
use monitor_core::memory::MemoryScope;

#[test]
fn full_table_gives_approximate_figures() {
    let held: Vec<_> = std::iter::from_fn(|| inflight::claim(None, 0)).collect();
    assert_eq!(held.len(), SLOTS, "the table holds exactly SLOTS calls");
    assert!(inflight::claim(None, 0).is_none());

    let scope = MemoryScope::enter(None);
    assert!(scope.slot().is_none());
    let mut v = vec![0u8; 64 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
    drop(v);
    let m = scope.exit();
    assert!(m.peak_approximate);
    let (start, peak) = (m.rss_start.unwrap(), m.rss_peak.unwrap());
    assert!(peak >= start + (60 << 20), "{start} -> {peak}");

    drop(held);
    let m = MemoryScope::enter(None).exit();
    assert!(!m.peak_approximate, "a slot is free again");
}
