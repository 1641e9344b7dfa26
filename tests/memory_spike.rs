//! A 5 ms spike that sets a new process high is caught by the kernel's high-water mark even when
//! the sampler's interval (1 s) is far longer than the whole call, so no sample lands in it.
use monitor::monitor_step;
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn spike(mib: usize, hold: Duration) {
    let mut v = vec![0u8; mib << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::thread::sleep(hold);
    std::hint::black_box(&v);
}

#[monitor_step]
fn brief_spike() {
    std::thread::sleep(Duration::from_millis(10));
    spike(128, Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn five_ms_spike_caught_without_a_sample() {
    monitor::Config::builder()
        .sample_interval(Duration::from_secs(1))
        .install();
    let ticks_before = monitor_core::__internals::sampler::ticks();
    brief_spike();
    assert_eq!(
        monitor_core::__internals::sampler::ticks(),
        ticks_before,
        "the sampler must not have run during the call, or this proves nothing"
    );
    let m = monitor::snapshot()
        .site("brief_spike")
        .expect("recorded")
        .memory;
    let start = m.rss_start.expect("rss_start").last;
    let end = m.rss_end.expect("rss_end").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    assert!(
        end < start + 16 * MIB,
        "freed before exit: {start} -> {end}"
    );
    assert!(
        peak >= start + 120 * MIB,
        "peak {} MiB, start {} MiB",
        peak / MIB,
        start / MIB
    );
}
