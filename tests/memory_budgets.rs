//! Thresholds and budgets: `memory_warn` warns when a step's peak passes it; `max_peak` and
//! `max_duration` warn when passed, and under `MONITOR_ENFORCE_BUDGETS=1` (here the builder's
//! `enforce_budgets`) panic after the call with a message naming the step, the budget and the
//! figure. Serial: enforcement is a process-wide setting.
use monitor::monitor_step;
use monitor::testing::capture;
use serial_test::serial;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn spike(mib: usize) {
    let mut v = vec![0u8; mib << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
}

#[monitor_step(memory_warn = "64MiB")]
fn warns_at_64_mib(mib: usize) {
    spike(mib);
}

#[monitor_step(max_peak = "48MiB")]
fn peak_budget(mib: usize) -> usize {
    spike(mib);
    mib
}

#[monitor_step(max_duration = "200ms")]
fn duration_budget(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn enforce(on: bool) {
    monitor::Config::builder().enforce_budgets(on).install();
}

/// `catch_unwind` without the default hook: printing a panic with `RUST_BACKTRACE` set loads
/// the binary's debug info, tens of MiB of RSS that would then sit under every later figure.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
#[serial]
fn memory_warn_attribute() {
    // The test process sits well below 64 MiB: a small step stays quiet, a big one warns.
    let ((), events) = capture(|| warns_at_64_mib(1));
    assert!(
        events.iter().all(|e| e.message != "high memory use"),
        "{events:#?}"
    );
    let ((), events) = capture(|| warns_at_64_mib(96));
    let w = events
        .iter()
        .find(|e| e.message == "high memory use")
        .expect("warned");
    assert_eq!(w.level, tracing::Level::WARN);
    assert_eq!(w.str("name"), Some("warns_at_64_mib"));
    assert_eq!(w.u64("threshold"), Some(64 * MIB));
    assert!(w.u64("rss_peak").unwrap() > 64 * MIB);
}

#[test]
#[serial]
fn max_peak_warns_without_enforcement() {
    enforce(false);
    let (r, events) = capture(|| peak_budget(64));
    assert_eq!(r, 64, "the value comes back untouched");
    let w = events
        .iter()
        .find(|e| e.message == "budget passed")
        .expect("warned");
    assert_eq!(w.level, tracing::Level::WARN);
    assert_eq!(w.str("name"), Some("peak_budget"));
    assert_eq!(w.str("budget"), Some("max_peak"));
    assert_eq!(w.u64("limit"), Some(48 * MIB));
    assert!(w.u64("value").unwrap() > 48 * MIB);
}

#[test]
#[serial]
fn max_peak_panics_after_the_call_when_enforced() {
    enforce(true);
    let calls_before = monitor::snapshot()
        .site("peak_budget")
        .map_or(0, |s| s.calls);
    let err = quietly(|| peak_budget(64)).expect_err("must panic");
    enforce(false);
    let msg = panic_text(&*err);
    assert!(msg.contains("step `peak_budget`"), "{msg}");
    assert!(msg.contains("max_peak budget"), "{msg}");
    assert!(msg.contains("> 48.0 MiB"), "{msg}");
    // After the call: it was recorded as a normal call, not a panic of the step.
    let s = monitor::snapshot();
    let site = s.site("peak_budget").unwrap();
    assert_eq!(site.calls, calls_before + 1);
    assert_eq!(site.panics, 0);
    // Within budget: no panic even when enforced.
    enforce(true);
    let ok = quietly(|| peak_budget(0));
    enforce(false);
    assert_eq!(ok.ok(), Some(0));
}

#[test]
#[serial]
fn max_duration_warns_and_panics_when_enforced() {
    enforce(false);
    let (_, events) = capture(|| duration_budget(250));
    let w = events
        .iter()
        .find(|e| e.message == "budget passed")
        .expect("warned");
    assert_eq!(w.str("budget"), Some("max_duration"));
    assert_eq!(w.u64("limit"), Some(200_000_000));
    assert!(w.u64("value").unwrap() >= 250_000_000);

    enforce(true);
    let err = quietly(|| duration_budget(250)).expect_err("must panic");
    let fast = quietly(|| duration_budget(0));
    enforce(false);
    let msg = panic_text(&*err);
    assert!(msg.contains("step `duration_budget`"), "{msg}");
    assert!(msg.contains("max_duration budget"), "{msg}");
    assert!(msg.contains("> 200.000 ms"), "{msg}");
    assert_eq!(fast.ok(), Some(0));
}
