//! `MONITOR_MEMORY_WARN` sets the global threshold: a step (and a memory scope) whose peak
//! passes it logs `warn` `high memory use` with the figure and the threshold. (Its own test
//! binary: the environment is read once per process.)
use monitor::monitor_step;
use monitor::testing::capture;

const MIB: u64 = 1 << 20;

fn spike(mib: usize) {
    let mut v = vec![0u8; mib << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
}

#[monitor_step]
fn big_step() {
    spike(64);
}

#[test]
fn env_threshold_warns() {
    // SAFETY: single-threaded at this point; nothing else in this binary reads the environment.
    unsafe { std::env::set_var("MONITOR_MEMORY_WARN", "40MiB") };
    let ((), events) = capture(big_step);
    let w = events
        .iter()
        .find(|e| e.message == "high memory use")
        .unwrap_or_else(|| panic!("no warning: {events:#?}"));
    assert_eq!(w.level, tracing::Level::WARN);
    assert_eq!(w.str("name"), Some("big_step"));
    assert_eq!(w.u64("threshold"), Some(40 * MIB));
    assert!(w.u64("rss_peak").unwrap() > 64 * MIB);
    assert_eq!(monitor::Config::current().memory_warn, 40 * MIB);

    let ((), events) = capture(|| {
        let _s = monitor::memory_scope("scoped");
        spike(64);
    });
    let w = events
        .iter()
        .find(|e| e.message == "high memory use")
        .unwrap_or_else(|| panic!("no warning: {events:#?}"));
    assert_eq!(
        (w.str("name"), w.str("kind")),
        (Some("scoped"), Some("scope"))
    );
    assert_eq!(w.u64("threshold"), Some(40 * MIB));
}
