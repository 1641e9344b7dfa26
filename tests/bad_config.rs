//! A bad environment value gives one clear message naming the variable and the value, keeps the
//! default, and never panics. (Its own test binary: the environment is read once per process.)
use monitor::monitor_query;
use monitor::testing::GlobalCapture;
use std::time::Duration;

#[monitor_query("configured_query")]
fn q() -> u8 {
    1
}

#[test]
fn bad_env_value_is_reported_by_name() {
    let capture = GlobalCapture::install().expect("no other global subscriber");
    // SAFETY: single-threaded at this point; nothing else in this binary reads the environment.
    unsafe {
        std::env::set_var("MONITOR_SLOW_QUERY", "fast-ish");
        std::env::set_var("MONITOR_MEMORY_WARN", "12 parsecs");
    }
    assert_eq!(q(), 1);
    let events = capture.take();
    let warnings: Vec<_> = events
        .iter()
        .filter(|e| e.message.starts_with("invalid configuration"))
        .collect();
    assert_eq!(warnings.len(), 2, "{events:#?}");
    let slow = warnings
        .iter()
        .find(|e| e.str("variable") == Some("MONITOR_SLOW_QUERY"))
        .expect("named");
    assert_eq!(slow.str("value"), Some("fast-ish"));
    assert_eq!(slow.level, tracing::Level::WARN);
    assert!(
        slow.message.contains("MONITOR_SLOW_QUERY=\"fast-ish\""),
        "{}",
        slow.message
    );
    assert!(warnings
        .iter()
        .any(|e| e.str("value") == Some("12 parsecs")));
    // Defaults kept.
    let c = monitor::Config::current();
    assert_eq!(c.slow_query, Duration::from_secs(30));
    assert_eq!(c.memory_warn, 1 << 30);
    // Reported once, not on every call.
    assert_eq!(q(), 1);
    assert!(capture
        .take()
        .iter()
        .all(|e| !e.message.starts_with("invalid configuration")));
}
