//! Nested steps: a spike inside the inner step counts in the inner and in the outer step's peak,
//! though the outer step runs on long after it (and the sampler resets the mark meanwhile).
use monitor::monitor_step;
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn inner() {
    let mut v = vec![0u8; 128 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::thread::sleep(Duration::from_millis(5));
    std::hint::black_box(&v);
}

#[monitor_step]
fn outer() {
    std::thread::sleep(Duration::from_millis(30));
    inner();
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn inner_spike_counts_in_both() {
    outer();
    let snap = monitor::snapshot();
    for name in ["inner", "outer"] {
        let m = snap.site(name).expect("recorded").memory;
        let start = m.rss_start.expect("rss_start").last;
        let end = m.rss_end.expect("rss_end").last;
        let peak = m.rss_peak.expect("rss_peak").last;
        assert!(
            peak >= start + 120 * MIB,
            "{name}: peak {} MiB, start {} MiB",
            peak / MIB,
            start / MIB
        );
        assert!(end < start + 16 * MIB, "{name}: freed before exit");
    }
}
