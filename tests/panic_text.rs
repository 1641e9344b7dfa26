//! A panic's message and location reach the `call panicked` event and the run's error list
//! through a panic hook chained in front of the program's own, which still runs.
use monitor::testing::capture;
use monitor::{monitor_query, monitor_step, Pipeline};
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};

static PROGRAM_HOOK_RAN: AtomicUsize = AtomicUsize::new(0);

#[monitor_step]
fn parse_row(row: &str) -> u32 {
    row.parse()
        .unwrap_or_else(|_| panic!("row {row:?} is not a number"))
}

#[monitor_query("lookup")]
fn lookup(sql: &str) -> u32 {
    panic!("no such table in {sql}: 'secret@example.com'")
}

#[monitor_step]
fn panics_with_a_struct() {
    std::panic::panic_any(42_u8);
}

#[monitor_step]
fn catches_a_panic_inside() {
    // A panic caught inside the call is not the call panicking.
    let _ = catch_unwind(|| panic!("caught inside"));
}

#[test]
fn the_panic_text_reaches_events_and_reports_and_the_programs_hook_still_runs() {
    monitor::testing::without_history();
    // The program's own hook, installed before monitor's first call.
    std::panic::set_hook(Box::new(|_| {
        PROGRAM_HOOK_RAN.fetch_add(1, Ordering::Relaxed);
    }));
    let run = Pipeline::start("panic_text");
    let (_, events) = capture(|| {
        assert!(catch_unwind(|| parse_row("x7")).is_err());
        assert!(catch_unwind(|| lookup("select 1 from t where email = 'a@b.c'")).is_err());
        assert!(catch_unwind(panics_with_a_struct).is_err());
        catches_a_panic_inside();
        assert_eq!(parse_row("7"), 7);
    });
    let report = run.finish();
    assert_eq!(
        PROGRAM_HOOK_RAN.load(Ordering::Relaxed),
        4,
        "the program's hook runs for every panic"
    );

    let panic_field = |name: &str| {
        events
            .iter()
            .find(|e| e.message == "call panicked" && e.str("name") == Some(name))
            .and_then(|e| e.str("panic"))
            .map(ToOwned::to_owned)
    };
    let row = panic_field("parse_row").expect("panic text");
    assert!(
        row.starts_with("row \"x7\" is not a number (at tests/panic_text.rs:"),
        "{row}"
    );
    // Query panics are redacted like query errors: quoted literals become `?`.
    let q = panic_field("lookup").expect("panic text");
    assert!(
        q.starts_with("no such table in select 1 from t where email = ?: ?"),
        "{q}"
    );
    assert!(!q.contains("secret"), "{q}");
    let any = panic_field("panics_with_a_struct").expect("panic text");
    assert!(
        any.starts_with("Box<dyn Any> (at tests/panic_text.rs:"),
        "{any}"
    );
    assert!(
        !events.iter().any(
            |e| e.message == "call panicked" && e.str("name") == Some("catches_a_panic_inside")
        ),
        "a caught panic inside a call is not the call's panic"
    );

    let messages: Vec<&str> = report.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0], row);
    assert_eq!(messages[1], q);
    assert_eq!(messages[2], any);

    // Turned off (`MONITOR_PANIC_TEXT=0` does the same at start-up): no text is used any more.
    monitor::Config::builder().panic_text(false).install();
    let run = Pipeline::start("panic_text_off");
    let (_, events) = capture(|| assert!(catch_unwind(|| parse_row("y")).is_err()));
    let report = run.finish();
    let event = events
        .iter()
        .find(|e| e.message == "call panicked")
        .expect("the panic is still an event");
    assert_eq!(event.str("panic"), None);
    assert_eq!(report.errors[0].message, "panicked");
}
