//! A run keeps its errors and panics with site, message and time, bounded: the first N kept,
//! the rest counted, and a message is formatted only when it is kept.
use monitor::{monitor_query, monitor_step, report::ErrorOutcome, Pipeline};
use serial_test::serial;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

static FORMATTED: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct RowError(u32);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.fetch_add(1, Ordering::Relaxed);
        write!(f, "row {} failed validation", self.0)
    }
}

#[monitor_step]
fn validate(i: u32) -> Result<u32, RowError> {
    if i % 2 == 1 {
        Err(RowError(i))
    } else {
        Ok(i)
    }
}

#[monitor_query("flaky")]
fn flaky() -> Result<(), String> {
    Err("timeout after 30s".into())
}

#[monitor_step]
fn explode() {
    panic!("bad state")
}

#[test]
#[serial]
fn errors_are_kept_with_site_message_and_time_up_to_the_bound() {
    monitor::testing::without_history();
    // Counts the report's own formatting: no stderr fallback formatting every error event.
    monitor::Config::builder().stderr_warnings(false).install();
    FORMATTED.store(0, Ordering::Relaxed);
    let run = Pipeline::start("errors");
    flaky().unwrap_err();
    assert!(std::panic::catch_unwind(explode).is_err());
    for i in 0..400 {
        let _ = validate(i);
    }
    let r = run.finish();

    assert_eq!(r.errors.len(), 100, "default bound");
    assert_eq!(
        r.errors_not_kept,
        202 - 100,
        "200 Errs + 1 Err + 1 panic in all"
    );
    assert_eq!(
        FORMATTED.load(Ordering::Relaxed),
        98,
        "only kept messages are formatted"
    );

    let first = &r.errors[0];
    assert_eq!(
        (first.site.as_str(), first.kind, first.outcome),
        ("flaky", monitor::Kind::Query, ErrorOutcome::Error)
    );
    assert_eq!(first.message, "timeout after 30s");
    let panic = &r.errors[1];
    assert_eq!(
        (panic.site.as_str(), panic.outcome),
        ("explode", ErrorOutcome::Panic)
    );
    // The panic's own message and where it was raised, kept by the chained panic hook.
    assert!(
        panic
            .message
            .starts_with("bad state (at tests/run_errors.rs:"),
        "{}",
        panic.message
    );
    assert_eq!(panic.error_type, None);
    assert_eq!(first.error_type.as_deref(), Some("alloc::string::String"));
    assert_eq!(
        r.errors[2].error_type.as_deref(),
        Some("run_errors::RowError")
    );
    assert_eq!(r.errors[2].message, "row 1 failed validation");
    assert_eq!(r.errors[99].message, "row 195 failed validation");
    assert!(
        r.errors.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "in time order"
    );
    assert!(r.errors.iter().all(|e| e.at_ms <= r.duration_ms));
    assert!(r
        .errors
        .iter()
        .all(|e| e.time.starts_with(&r.started_at[..10]) && e.time.ends_with('Z')));

    let v = r.step("validate").unwrap();
    assert_eq!(
        (v.site.calls, v.site.errors),
        (400, 200),
        "stats count every error"
    );
    assert_eq!(r.step("explode").unwrap().site.panics, 1);

    let text = r.to_text();
    assert!(text.contains("Errors (202)"), "{text}");
    assert!(text.contains("... and 182 more"), "{text}");
}

#[test]
#[serial]
fn the_bound_is_configurable() {
    monitor::testing::without_history();
    let run = Pipeline::builder("few_errors").max_errors(3).start();
    for i in 0..10 {
        let _ = validate(i);
    }
    let r = run.finish();
    assert_eq!(r.errors.len(), 3);
    assert_eq!(r.errors_not_kept, 2);
    let json = r.to_json();
    assert!(json.contains("\"errors_not_kept\": 2"));
}
