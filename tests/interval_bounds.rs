//! `MONITOR_SAMPLE_INTERVAL=1ns` and `MONITOR_EXPORT_INTERVAL=1ns` are not a busy loop: each is
//! reported once (the variable and the value, on stderr since the child installs no subscriber)
//! and clamped to its lower bound (1 ms, 100 ms). What a DogStatsD server receives in a second
//! shows the export interval in force.
//!
//! The child is this test binary run again (`child_busy_pipeline`): the environment is read once
//! per process.

use monitor::monitor_step;
use monitor_test_support::{child_test, output_of};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[monitor_step]
fn tick(i: u64) -> u64 {
    i.wrapping_mul(3)
}

/// The child: calls a step for one second (so every flush has news), then prints the sampling
/// interval in force.
#[test]
#[ignore = "run as a child process by intervals_outside_their_bounds_are_reported_and_clamped"]
fn child_busy_pipeline() {
    if std::env::var_os("INTERVAL_CHILD").is_none() {
        return;
    }
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(1) {
        i = tick(i + 1);
        std::thread::sleep(Duration::from_millis(2));
    }
    let c = monitor::Config::current();
    println!("SAMPLE_INTERVAL_NS {}", c.sample_interval.as_nanos());
}

#[test]
fn intervals_outside_their_bounds_are_reported_and_clamped() {
    let statsd = UdpSocket::bind("127.0.0.1:0").unwrap();
    statsd
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let addr = statsd.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut datagrams = 0u64;
            let mut call_lines = 0u64;
            while !done.load(Ordering::Acquire) {
                if let Ok(n) = statsd.recv(&mut buf) {
                    datagrams += 1;
                    let text = String::from_utf8_lossy(&buf[..n]);
                    call_lines += text
                        .lines()
                        .filter(|l| l.starts_with("monitor.calls:") && l.contains("name:tick"))
                        .count() as u64;
                }
            }
            (datagrams, call_lines)
        })
    };

    let (stdout, stderr) = output_of(
        child_test("child_busy_pipeline")
            .env("INTERVAL_CHILD", "1")
            .env("MONITOR_SAMPLE_INTERVAL", "1ns")
            .env("MONITOR_EXPORT_INTERVAL", "1ns")
            .env("MONITOR_DOGSTATSD_ADDR", addr.to_string()),
    );
    std::thread::sleep(Duration::from_millis(200));
    done.store(true, Ordering::Release);
    let (datagrams, call_lines) = receiver.join().unwrap();

    // One warning per variable, naming it and its value, and saying what is used instead.
    let warnings = |var: &str| -> Vec<&str> {
        stderr
            .lines()
            .filter(|l| l.starts_with(&format!("monitor: WARN invalid configuration: {var}=")))
            .collect()
    };
    let sample = warnings("MONITOR_SAMPLE_INTERVAL");
    assert_eq!(sample.len(), 1, "{stderr}");
    assert!(
        sample[0].starts_with(
            "monitor: WARN invalid configuration: MONITOR_SAMPLE_INTERVAL=\"1ns\" is not valid: \
             expected a duration from 1ms to 1m; keeping 1ms, the nearest bound"
        ),
        "{}",
        sample[0]
    );
    let export = warnings("MONITOR_EXPORT_INTERVAL");
    assert_eq!(export.len(), 1, "{stderr}");
    assert!(
        export[0].starts_with(
            "monitor: WARN invalid configuration: MONITOR_EXPORT_INTERVAL=\"1ns\" is not valid: \
             expected a duration from 100ms to 1h; keeping 100ms, the nearest bound"
        ),
        "{}",
        export[0]
    );

    // The sampling interval in force is the bound.
    assert!(
        stdout.contains("SAMPLE_INTERVAL_NS 1000000\n"),
        "sampling every 1 ms: {stdout}"
    );

    // The export interval in force: about 10 flushes in a second of calls (plus the first and
    // the last), not a busy loop (the unclamped 1 ns sent tens of thousands of datagrams).
    assert!(
        (3..=20).contains(&call_lines),
        "{call_lines} flushes with new calls in ~1 s ({datagrams} datagrams)"
    );
    assert!(datagrams <= 100, "{datagrams} datagrams in ~1 s");
}
