//! A query past its threshold logs `warn` with name, duration and threshold; the per-attribute
//! threshold wins over the global one.
use monitor::monitor_query;
use monitor::testing::capture;
use std::time::Duration;

#[monitor_query("slow_by_attribute", slow = "50ms")]
fn sleepy(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[monitor_query("slow_by_global")]
fn sleepy_global(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn slow_calls_warn_and_count() {
    monitor::Config::builder()
        .slow_query(Duration::from_millis(150))
        .install();
    let ((), events) = capture(|| {
        // Wide margins: a loaded CI machine may oversleep, never undersleep.
        sleepy(1);
        sleepy(60);
        sleepy_global(5);
        sleepy_global(160);
    });
    let slow: Vec<_> = events
        .iter()
        .filter(|e| e.message == "slow query")
        .collect();
    assert_eq!(slow.len(), 2, "{events:#?}");
    let attr = slow
        .iter()
        .find(|e| e.str("name") == Some("slow_by_attribute"))
        .expect("warned");
    assert_eq!(attr.level, tracing::Level::WARN);
    assert_eq!(attr.f64("threshold_ms"), Some(50.0));
    assert!(attr.f64("duration_ms").expect("duration") >= 60.0);
    let global = slow
        .iter()
        .find(|e| e.str("name") == Some("slow_by_global"))
        .expect("warned");
    assert_eq!(global.f64("threshold_ms"), Some(150.0));

    let snap = monitor::snapshot();
    assert_eq!(
        snap.site("slow_by_attribute").map(|s| (s.calls, s.slow)),
        Some((2, 1))
    );
    assert_eq!(
        snap.site("slow_by_global").map(|s| (s.calls, s.slow)),
        Some((2, 1))
    );
    // The threshold each was counted against: the site's own, else the global one.
    assert_eq!(
        snap.site("slow_by_attribute")
            .and_then(|s| s.slow_threshold_ms),
        Some(50.0)
    );
    assert_eq!(
        snap.site("slow_by_global")
            .and_then(|s| s.slow_threshold_ms),
        Some(150.0)
    );
    // Fast queries log at debug, not info.
    let finished: Vec<_> = events
        .iter()
        .filter(|e| e.message == "query finished")
        .collect();
    assert_eq!(finished.len(), 4);
    assert!(finished.iter().all(|e| e.level == tracing::Level::DEBUG));
}
