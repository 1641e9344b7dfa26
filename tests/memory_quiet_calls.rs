//! Steps in a loop, in an epoch where the kernel mark must come from `/proc/self/status` (the
//! 2.5 µs read): a call during which no page came in anywhere in the process skips that read, and
//! reuses the previous call's mark at entry, yet every spike still lands in the call it happened
//! in, and only there.
//!
//! The epoch kind is forced: the test re-runs itself in a child started by a parent holding
//! 256 MiB, so the child's `getrusage` mark is stuck at the parent's and calls must read `VmHWM`.
#![cfg(target_os = "linux")]
use monitor::monitor_step;
use monitor_test_support::{child_test, output_of, resident_mib};
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn quiet(x: u64) -> u64 {
    x.wrapping_mul(31).wrapping_add(7)
}

#[monitor_step]
fn spiky() {
    std::hint::black_box(resident_mib(64));
}

#[monitor_step]
fn spike_on_another_thread() {
    std::thread::spawn(|| std::hint::black_box(resident_mib(160)).len())
        .join()
        .expect("the spiking thread");
}

/// How far the peak of the site's last call rose above its entry RSS, MiB, with the message to
/// fail with.
fn last_growth(site: &str, case: &str) -> (u64, String) {
    let m = monitor::snapshot().site(site).expect("recorded").memory;
    let start = m.rss_start.expect("rss_start").last / MIB;
    let peak = m.rss_peak.expect("rss_peak").last / MIB;
    let growth = peak.saturating_sub(start);
    (
        growth,
        format!("{case}: start {start} MiB, peak {peak} MiB"),
    )
}

/// The site's last call saw no spike: its peak is within 1 MiB of its entry.
fn assert_flat(site: &str, case: &str) {
    let (growth, msg) = last_growth(site, case);
    assert!(growth <= 1, "{msg}");
}

/// The site's last call has its spike: a peak at least `mib` above its entry.
fn assert_spiked(site: &str, mib: u64, case: &str) {
    let (growth, msg) = last_growth(site, case);
    assert!(growth >= mib, "{msg}");
}

fn status_reads() -> u64 {
    monitor_core::__internals::hwm::status_reads()
}

#[test]
fn quiet_calls_skip_the_status_read_and_spikes_stay_in_their_call() {
    let ballast = resident_mib(256);
    let (stdout, _) = output_of(&mut child_test("child_in_a_vm_hwm_epoch"));
    drop(ballast);
    let ran = stdout.lines().find(|l| l.starts_with("CHILD RAN"));
    println!("{}", ran.unwrap_or_else(|| panic!("{stdout}")));
}

#[test]
#[ignore = "run by quiet_calls_skip_the_status_read_and_spikes_stay_in_their_call, from a parent holding 256 MiB"]
fn child_in_a_vm_hwm_epoch() {
    // A few resets first (10 ms ticks), then no tick during the loops: only the calls' own
    // readings can see their spikes.
    monitor::Config::builder()
        .sample_interval(Duration::from_millis(10))
        .install();
    quiet(1);
    std::thread::sleep(Duration::from_millis(60));
    monitor::Config::builder()
        .sample_interval(Duration::from_secs(5))
        .install();
    std::thread::sleep(Duration::from_millis(30)); // the 10 ms nap ends
    assert!(
        monitor_core::__internals::peak::calls_read_vm_hwm(),
        "the parent's 256 MiB mark should be stuck in getrusage"
    );
    let ticks = monitor_core::__internals::sampler::ticks();

    // 1. Quiet calls in a loop: almost no status reads (the first call reads it at entry; a
    //    fault anywhere in the process, from a lazily built structure, costs one more).
    let reads = status_reads();
    let mut acc = 0u64;
    for i in 0..2_000 {
        acc = acc.wrapping_add(quiet(i));
    }
    std::hint::black_box(acc);
    let quiet_reads = status_reads() - reads;
    assert!(
        quiet_reads < 40,
        "2,000 quiet calls read /proc/self/status {quiet_reads} times (4,000 before)"
    );
    assert_flat("quiet", "quiet call");

    // 2. A call that spikes, between quiet ones: the spike is that call's, not its neighbours'.
    quiet(1);
    spiky();
    assert_spiked("spiky", 60, "spiky");
    quiet(2);
    assert_flat("quiet", "the call after the spike");

    // 3. A spike between two calls (in neither), a new high for the process: the next call
    //    reads the mark again at entry, so the spike is not its.
    quiet(3);
    std::hint::black_box(resident_mib(96));
    quiet(4);
    assert_flat("quiet", "a spike before the call is not the call's");

    // 4. The spike is on another thread: the fault count is the whole process's. With no
    //    sampler tick (no reset of the mark) only a new high shows in the mark, hence 160 MiB.
    quiet(5);
    spike_on_another_thread();
    assert_spiked("spike_on_another_thread", 150, "spike on another thread");

    assert_eq!(
        monitor_core::__internals::sampler::ticks(),
        ticks,
        "a sampler tick during the calls would fold the spikes itself and prove nothing"
    );
    assert!(monitor_core::__internals::peak::calls_read_vm_hwm());
    println!("CHILD RAN ({quiet_reads} status reads over 2,000 quiet calls)");
}
