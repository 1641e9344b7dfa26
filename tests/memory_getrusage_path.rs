//! The cheap high-water-mark path. Where `getrusage`'s mark is not stuck above the real one (a
//! process started by a small parent, as from a shell), calls read `getrusage` (1 µs) at entry and
//! exit instead of `VmHWM` (7 µs), and a short spike is still caught. Under `cargo test` the
//! test process inherits cargo's larger mark, so the test re-runs itself in a child process whose
//! parent is this small test process.
#![cfg(target_os = "linux")]
use monitor::monitor_step;
use monitor_test_support::{child_test, output_of, resident_mib};
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn warm_up() {
    std::thread::sleep(Duration::from_millis(60));
}

#[monitor_step]
fn short_spike() {
    std::thread::sleep(Duration::from_millis(5));
    std::hint::black_box(resident_mib(96));
    std::thread::sleep(Duration::from_millis(5));
}

#[monitor_step]
fn spike_between_ticks() {
    std::thread::sleep(Duration::from_millis(150));
    std::hint::black_box(resident_mib(96));
    std::thread::sleep(Duration::from_millis(150));
}

fn growth_mib(site: &str) -> u64 {
    let m = monitor::snapshot().site(site).expect("recorded").memory;
    let start = m.rss_start.expect("rss_start").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    peak.saturating_sub(start) / MIB
}

#[test]
fn spike_caught_reading_getrusage() {
    let (stdout, _) = output_of(&mut child_test("child_spike_caught_reading_getrusage"));
    assert!(stdout.contains("CHILD RAN"), "{stdout}");
}

#[test]
#[ignore = "run by spike_caught_reading_getrusage, in a process of its own"]
fn child_spike_caught_reading_getrusage() {
    // Ballast above the parent's RSS, so that after a reset the kernel's sticky mark (the
    // parent's RSS at fork) is below the real one and the sampler picks getrusage.
    let ballast = resident_mib(48);
    monitor::Config::builder()
        .sample_interval(Duration::from_millis(10))
        .install();
    warm_up();
    assert!(
        !monitor_core::__internals::peak::calls_read_vm_hwm(),
        "after a few resets calls should read getrusage"
    );
    // No tick during the spiking step: only its own entry and exit readings can see the spike.
    monitor::Config::builder()
        .sample_interval(Duration::from_secs(2))
        .install();
    let mut attempts = 0;
    loop {
        // Let the sampler's current 10 ms sleep end; its next one is 2 s.
        std::thread::sleep(Duration::from_millis(50));
        let ticks = monitor_core::__internals::sampler::ticks();
        short_spike();
        if monitor_core::__internals::sampler::ticks() == ticks {
            break;
        }
        // A loaded machine delayed the sampler into the step: that proves nothing, go again.
        attempts += 1;
        assert!(attempts < 3, "the sampler kept ticking during the step");
    }
    assert!(!monitor_core::__internals::peak::calls_read_vm_hwm());
    let m = monitor::snapshot()
        .site("short_spike")
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

    // The sampler reads getrusage too in such epochs: a spike between ticks, with resets before
    // and after it, is folded into the step before the reset that would erase it.
    // 50 ms ticks: a tick rarely lands inside the few milliseconds of the spike itself.
    monitor::Config::builder()
        .sample_interval(Duration::from_millis(50))
        .install();
    std::thread::sleep(Duration::from_millis(60)); // the 2 s interval's nap ends
    let ticks = monitor_core::__internals::sampler::ticks();
    spike_between_ticks();
    assert!(
        monitor_core::__internals::sampler::ticks() >= ticks + 4,
        "ticks during the step"
    );
    assert!(!monitor_core::__internals::peak::calls_read_vm_hwm());
    let growth = growth_mib("spike_between_ticks");
    assert!(growth >= 90, "peak only {growth} MiB above start");
    drop(ballast);
    println!("CHILD RAN");
}
