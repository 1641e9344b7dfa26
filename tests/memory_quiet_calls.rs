//! Steps in a loop, in an epoch where the kernel mark must come from `/proc/self/status` (the
//! 2.5 µs read): a call during which no page came in anywhere in the process skips that read, and
//! reuses the previous call's mark at entry, yet every spike still lands in the call it happened
//! in, and only there.
//!
//! The epoch kind is forced: the test re-runs itself in a child started by a parent holding
//! 256 MiB, so the child's `getrusage` mark is stuck at the parent's and calls must read `VmHWM`.
#![cfg(target_os = "linux")]
use monitor::monitor_step;
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "MONITOR_TEST_QUIET_CALLS_CHILD";
const MIB: u64 = 1 << 20;

fn touch(mib: usize) -> Vec<u8> {
    let mut v = vec![0u8; mib << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    v
}

#[monitor_step]
fn quiet(x: u64) -> u64 {
    x.wrapping_mul(31).wrapping_add(7)
}

#[monitor_step]
fn spiky() {
    std::hint::black_box(touch(64));
}

#[monitor_step]
fn spike_on_another_thread() {
    std::thread::spawn(|| std::hint::black_box(touch(160)).len())
        .join()
        .expect("the spiking thread");
}

/// Entry RSS and peak RSS of the site's last call, MiB.
fn last_call(site: &str) -> (u64, u64) {
    let m = monitor::snapshot().site(site).expect("recorded").memory;
    let start = m.rss_start.expect("rss_start").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    (start / MIB, peak / MIB)
}

fn status_reads() -> u64 {
    monitor_core::__internals::hwm::status_reads()
}

#[test]
fn quiet_calls_skip_the_status_read_and_spikes_stay_in_their_call() {
    if std::env::var_os(CHILD).is_none() {
        let ballast = touch(256);
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "quiet_calls_skip_the_status_read_and_spikes_stay_in_their_call",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .expect("re-run the test binary");
        drop(ballast);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("CHILD RAN"),
            "the child did not run the test:\n{stdout}"
        );
        if let Some(line) = stdout.lines().find(|l| l.starts_with("CHILD RAN")) {
            println!("{line}");
        }
        return;
    }
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
    let (start, peak) = last_call("quiet");
    assert!(
        peak <= start + 1,
        "quiet call: start {start} MiB, peak {peak} MiB"
    );

    // 2. A call that spikes, between quiet ones: the spike is that call's, not its neighbours'.
    quiet(1);
    spiky();
    let (start, peak) = last_call("spiky");
    assert!(
        peak >= start + 60,
        "spiky: start {start} MiB, peak {peak} MiB"
    );
    quiet(2);
    let (start, peak) = last_call("quiet");
    assert!(
        peak <= start + 1,
        "the call after the spike: start {start} MiB, peak {peak} MiB"
    );

    // 3. A spike between two calls (in neither), a new high for the process: the next call
    //    reads the mark again at entry, so the spike is not its.
    quiet(3);
    std::hint::black_box(touch(96));
    quiet(4);
    let (start, peak) = last_call("quiet");
    assert!(
        peak <= start + 1,
        "a spike before the call is not the call's: start {start} MiB, peak {peak} MiB"
    );

    // 4. The spike is on another thread: the fault count is the whole process's. With no
    //    sampler tick (no reset of the mark) only a new high shows in the mark, hence 160 MiB.
    quiet(5);
    spike_on_another_thread();
    let (start, peak) = last_call("spike_on_another_thread");
    assert!(
        peak >= start + 150,
        "spike on another thread: start {start} MiB, peak {peak} MiB"
    );

    assert_eq!(
        monitor_core::__internals::sampler::ticks(),
        ticks,
        "a sampler tick during the calls would fold the spikes itself and prove nothing"
    );
    assert!(monitor_core::__internals::peak::calls_read_vm_hwm());
    println!("CHILD RAN ({quiet_reads} status reads over 2,000 quiet calls)");
}
