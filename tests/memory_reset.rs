//! The high-water-mark reset: with it, a short spike that is *not* a new process high is still
//! caught (the sampler folds the mark into the running step before each reset); without it
//! (`MONITOR_RESET_HWM=0`, here through the builder) the kernel's mark is left alone.
#![cfg(target_os = "linux")]
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
fn spike_between_resets() {
    // Several ticks (resets) before and after the spike: the exit's own reading comes from a
    // later epoch than the spike, so only the sampler's fold before a reset can carry it.
    std::thread::sleep(Duration::from_millis(150));
    spike(96, Duration::from_millis(5));
    std::thread::sleep(Duration::from_millis(150));
}

#[monitor_step]
fn idle_step() {
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn reset_catches_a_spike_below_the_process_high_and_can_be_turned_off() {
    // A process high of 200 MiB, reached outside any step.
    spike(200, Duration::ZERO);
    let high = monitor::rss::current_rss().unwrap() + 150 * MIB;

    // Reset off: the kernel's mark keeps the old high.
    monitor::Config::builder()
        .sample_interval(Duration::from_millis(50))
        .reset_hwm(false)
        .install();
    idle_step();
    let vm = monitor_core::__internals::hwm::vm_hwm().unwrap();
    assert!(vm >= high, "VmHWM {} MiB must be untouched", vm / MIB);

    // Reset on: the spike below the old high is still the step's peak.
    monitor::Config::builder().reset_hwm(true).install();
    let ticks = monitor_core::__internals::sampler::ticks();
    spike_between_resets();
    assert!(
        monitor_core::__internals::sampler::ticks() >= ticks + 4,
        "the sampler should have ticked (and reset) several times"
    );
    let m = monitor::snapshot()
        .site("spike_between_resets")
        .expect("recorded")
        .memory;
    let start = m.rss_start.expect("rss_start").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    assert!(
        peak >= start + 90 * MIB,
        "peak {} MiB, start {} MiB",
        peak / MIB,
        start / MIB
    );
    let vm = monitor_core::__internals::hwm::vm_hwm().unwrap();
    assert!(vm < high, "VmHWM {} MiB should have been reset", vm / MIB);
}
