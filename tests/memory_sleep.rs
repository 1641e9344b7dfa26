//! A step that only sleeps has a peak within a few MiB of its start, even though the process
//! reached a much higher mark just before the step began (that mark is not the step's).
use monitor::monitor_step;
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn just_sleeps() {
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn sleeping_step_peak_is_its_start() {
    let mut v = vec![0u8; 128 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
    drop(v);
    just_sleeps();
    let m = monitor::snapshot()
        .site("just_sleeps")
        .expect("recorded")
        .memory;
    let start = m.rss_start.expect("rss_start").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    assert!(peak >= start);
    assert!(
        peak - start < 4 * MIB,
        "peak {} KiB above start",
        (peak - start) >> 10
    );
}
