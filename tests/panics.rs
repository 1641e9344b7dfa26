//! A panic inside a monitored function unwinds exactly as without the macro: same payload, same
//! type; it is counted and logged at `error`.
use monitor::monitor_step;
use monitor::testing::capture;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, PartialEq)]
struct Payload(u32);

#[monitor_step]
fn explodes(code: u32) -> u32 {
    if code > 0 {
        std::panic::panic_any(Payload(code));
    }
    code
}

#[monitor_step(name = "explodes_with_str")]
fn explodes_str() -> Result<(), String> {
    panic!("boom at row 7");
}

#[test]
fn panic_payload_passes_through_and_is_counted() {
    let (res, events) = capture(|| catch_unwind(AssertUnwindSafe(|| explodes(42))));
    let payload = res.expect_err("the panic must propagate");
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(42)));

    let res = catch_unwind(explodes_str).expect_err("propagates");
    assert_eq!(res.downcast_ref::<&str>(), Some(&"boom at row 7"));

    assert_eq!(explodes(0), 0);

    let snap = monitor::snapshot();
    let site = snap.site("explodes").expect("registered");
    assert_eq!((site.calls, site.panics, site.errors), (2, 1, 0));
    assert_eq!(
        snap.site("explodes_with_str").expect("registered").panics,
        1
    );

    let panicked: Vec<_> = events
        .iter()
        .filter(|e| e.message == "call panicked")
        .collect();
    assert_eq!(panicked.len(), 1, "{events:#?}");
    assert_eq!(panicked[0].level, tracing::Level::ERROR);
    assert_eq!(panicked[0].str("name"), Some("explodes"));
    assert_eq!(panicked[0].target, "monitor");
}
