//! A query still running past its threshold is reported while it runs, once, with how long it
//! has run so far; a query that finishes in time is never reported.
use monitor::monitor_query;
use monitor::testing::{CapturedEvent, GlobalCapture};
use std::time::{Duration, Instant};

fn still_running(events: &[CapturedEvent], name: &str) -> Vec<CapturedEvent> {
    events
        .iter()
        .filter(|e| e.message == "slow query still running" && e.str("name") == Some(name))
        .cloned()
        .collect()
}

/// Sleeps until the watchdog's report for this very call shows up (or 5 s pass), so the test
/// proves the report came while the call was still running.
#[monitor_query("long_report", slow = "50ms")]
fn long_report(capture: &GlobalCapture, seen: &mut Vec<CapturedEvent>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        seen.extend(capture.take());
        if !still_running(seen, "long_report").is_empty() {
            // Keep running a while longer: the watchdog must not report the same call twice.
            std::thread::sleep(Duration::from_millis(100));
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[monitor_query("quick", slow = "5s")]
fn quick() {
    std::thread::sleep(Duration::from_millis(20));
}

#[test]
fn watchdog_reports_a_running_query_once() {
    let capture = GlobalCapture::install().expect("no other global subscriber in this test binary");
    let mut seen = Vec::new();
    quick();
    let reported_while_running = long_report(&capture, &mut seen);
    assert!(
        reported_while_running,
        "no watchdog report while the query ran: {seen:#?}"
    );
    std::thread::sleep(Duration::from_millis(50));
    seen.extend(capture.take());

    let reports = still_running(&seen, "long_report");
    assert_eq!(reports.len(), 1, "reported once per call: {reports:#?}");
    let r = &reports[0];
    assert_eq!(r.level, tracing::Level::WARN);
    assert_eq!(r.f64("threshold_ms"), Some(50.0));
    let running = r.f64("running_ms").expect("running_ms");
    assert!((50.0..5000.0).contains(&running), "{running}");
    // It ended slow too, and the ordinary slow warning still came at the end.
    assert!(seen
        .iter()
        .any(|e| e.message == "slow query" && e.str("name") == Some("long_report")));
    assert!(still_running(&seen, "quick").is_empty());
}
