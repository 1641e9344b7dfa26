//! Every query is watched while it runs, not only those with their own `slow`: a synchronous
//! query on the global threshold (through its thread's record), an async one (through an
//! in-flight slot), and the outer one of two nested queries.
use monitor::monitor_query;
use monitor::testing::{CapturedEvent, GlobalCapture};
use std::time::{Duration, Instant};

fn still_running(events: &[CapturedEvent], name: &str) -> usize {
    events
        .iter()
        .filter(|e| e.message == "slow query still running" && e.str("name") == Some(name))
        .count()
}

/// Runs until the watchdog has reported `name` (or 5 s pass); `true` if it did while running.
fn wait_for_report(capture: &GlobalCapture, seen: &mut Vec<CapturedEvent>, name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        seen.extend(capture.take());
        if still_running(seen, name) > 0 {
            // A while longer: the same call must not be reported twice.
            std::thread::sleep(Duration::from_millis(60));
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[monitor_query("global_threshold_sync")]
fn global_threshold_sync(capture: &GlobalCapture, seen: &mut Vec<CapturedEvent>) -> bool {
    let inner_ok = inner_quick();
    wait_for_report(capture, seen, "global_threshold_sync") && inner_ok
}

/// Runs inside `global_threshold_sync`: its thread's record is taken by the outer query.
#[monitor_query("inner_quick")]
fn inner_quick() -> bool {
    true
}

#[monitor_query("global_threshold_async")]
async fn global_threshold_async(capture: &GlobalCapture, seen: &mut Vec<CapturedEvent>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        seen.extend(capture.take());
        if still_running(seen, "global_threshold_async") > 0 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[monitor_query("in_time")]
fn in_time() {
    std::thread::sleep(Duration::from_millis(5));
}

#[test]
fn queries_on_the_global_threshold_are_watched_while_they_run() {
    let capture = GlobalCapture::install().expect("no other global subscriber in this test binary");
    monitor::Config::builder()
        .slow_query(Duration::from_millis(40))
        .install();
    let mut seen = Vec::new();

    for _ in 0..20 {
        in_time();
    }
    assert!(
        global_threshold_sync(&capture, &mut seen),
        "a synchronous query on the global threshold was not reported while it ran: {seen:#?}"
    );
    // From another thread too (each thread has its own record, freed when it exits).
    let on_thread = std::thread::scope(|s| {
        s.spawn(|| {
            let mut seen_there = Vec::new();
            global_threshold_sync(&capture, &mut seen_there);
            seen_there
        })
        .join()
        .unwrap()
    });
    seen.extend(on_thread);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert!(
        rt.block_on(global_threshold_async(&capture, &mut seen)),
        "an async query on the global threshold was not reported while it ran: {seen:#?}"
    );
    std::thread::sleep(Duration::from_millis(50));
    seen.extend(capture.take());

    assert_eq!(
        still_running(&seen, "global_threshold_sync"),
        2,
        "once per call, two calls: {seen:#?}"
    );
    assert_eq!(still_running(&seen, "global_threshold_async"), 1);
    let r = seen
        .iter()
        .find(|e| e.message == "slow query still running")
        .unwrap();
    assert_eq!(r.f64("threshold_ms"), Some(40.0));
    assert_eq!(still_running(&seen, "inner_quick"), 0);
    assert_eq!(still_running(&seen, "in_time"), 0);
}
