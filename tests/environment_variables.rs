//! Each documented `MONITOR_*` switch, set in a real environment (a child process of this test
//! binary, where the variables are read on the first monitored call), has its effect; the same
//! child without the variable shows the default. A typo in a variable's name fails here.
//!
//! Every child is an ignored test of this file run as `--exact child_.. --ignored`; it sees
//! whether its variable is set and asserts the matching behaviour.
#![cfg(target_os = "linux")]
use monitor::testing::GlobalCapture;
use monitor::{monitor_query, monitor_step, Pipeline};
use monitor_test_support::{child_test, output_of};
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// Runs child test `name` with `var` set (or not); fails with its output if it failed.
fn child(name: &str, var: Option<(&str, &str)>) {
    let mut cmd = child_test(name);
    if let Some((k, v)) = var {
        cmd.env(k, v);
    }
    output_of(&mut cmd);
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some()
}

#[test]
fn monitor_disable() {
    child("child_disable", Some(("MONITOR_DISABLE", "1")));
    child("child_disable", None);
}

#[monitor_step]
fn disable_step(x: u32) -> Result<u32, String> {
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x * 2)
    }
}

#[test]
#[ignore = "run by monitor_disable in a child process"]
fn child_disable() {
    let capture = GlobalCapture::install().expect("the only subscriber");
    assert_eq!(
        (disable_step(2), disable_step(0)),
        (Ok(4), Err("zero".into()))
    );
    let site = monitor::snapshot().site("disable_step").map(|s| s.calls);
    let events = capture.take();
    if set("MONITOR_DISABLE") {
        assert_eq!(site, None, "nothing recorded");
        assert!(events.is_empty(), "nothing logged: {events:#?}");
    } else {
        assert_eq!(site, Some(2));
        assert!(
            events
                .iter()
                .any(|e| e.message.contains("call returned an error")),
            "{events:#?}"
        );
    }
}

#[test]
fn monitor_sample_interval() {
    child(
        "child_sample_interval",
        Some(("MONITOR_SAMPLE_INTERVAL", "250ms")),
    );
    child("child_sample_interval", None);
}

#[monitor_step]
fn one_second_step() {
    std::thread::sleep(Duration::from_secs(1));
}

#[test]
#[ignore = "run by monitor_sample_interval in a child process"]
fn child_sample_interval() {
    let run = Pipeline::start("sample_interval");
    one_second_step();
    let report = run.finish();
    let samples = report
        .timeline
        .memory
        .iter()
        .filter(|m| m.source == "sample")
        .count();
    println!("{samples} samples in 1 s");
    if set("MONITOR_SAMPLE_INTERVAL") {
        // 250 ms: about four ticks in the second.
        assert!((1..=8).contains(&samples), "{samples} samples at 250 ms");
    } else {
        // The default 10 ms: dozens, even on a loaded machine.
        assert!(samples >= 30, "{samples} samples at the default 10 ms");
    }
}

#[test]
fn monitor_enforce_budgets() {
    child(
        "child_enforce_budgets",
        Some(("MONITOR_ENFORCE_BUDGETS", "1")),
    );
    child("child_enforce_budgets", None);
}

#[monitor_step(max_duration = "1ms")]
fn over_budget() -> u32 {
    std::thread::sleep(Duration::from_millis(20));
    7
}

#[test]
#[ignore = "run by monitor_enforce_budgets in a child process"]
fn child_enforce_budgets() {
    let capture = GlobalCapture::install().expect("the only subscriber");
    let outcome = std::panic::catch_unwind(over_budget);
    let events = capture.take();
    assert!(
        events.iter().any(|e| e.message.contains("budget passed")),
        "the budget warning either way: {events:#?}"
    );
    if set("MONITOR_ENFORCE_BUDGETS") {
        let panic = outcome.expect_err("a passed budget panics after the call");
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("step `over_budget` passed its max_duration budget"),
            "{text}"
        );
    } else {
        assert_eq!(outcome.ok(), Some(7));
    }
}

#[test]
fn monitor_spans() {
    child("child_spans", Some(("MONITOR_SPANS", "1")));
    child("child_spans", None);
}

/// Counts the spans named `monitor` (one per monitored call when spans are on).
struct SpanCounter(std::sync::atomic::AtomicU64);

impl tracing::Subscriber for SpanCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        if span.metadata().name() == "monitor" && span.metadata().target() == "monitor" {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[monitor_step]
fn spanned_step() -> u8 {
    1
}

#[test]
#[ignore = "run by monitor_spans in a child process"]
fn child_spans() {
    let counter = std::sync::Arc::new(SpanCounter(std::sync::atomic::AtomicU64::new(0)));
    tracing::subscriber::with_default(counter.clone(), || {
        tracing::callsite::rebuild_interest_cache();
        for _ in 0..3 {
            spanned_step();
        }
    });
    let spans = counter.0.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(spans, if set("MONITOR_SPANS") { 3 } else { 0 });
}

#[test]
fn monitor_watchdog() {
    child("child_watchdog", Some(("MONITOR_WATCHDOG", "0")));
    child("child_watchdog", None);
}

#[monitor_query("hung_query", slow = "50ms")]
fn hung_query() -> u8 {
    std::thread::sleep(Duration::from_millis(600));
    1
}

#[test]
#[ignore = "run by monitor_watchdog in a child process"]
fn child_watchdog() {
    let capture = GlobalCapture::install().expect("the only subscriber");
    assert_eq!(hung_query(), 1);
    let events = capture.take();
    let still_running = events
        .iter()
        .filter(|e| e.message.contains("slow query still running"))
        .count();
    assert!(
        events.iter().any(|e| e.message == "slow query"),
        "the slow call warns when it ends either way: {events:#?}"
    );
    let expected = if set("MONITOR_WATCHDOG") { 0 } else { 1 };
    assert_eq!(still_running, expected, "{events:#?}");
}

#[test]
fn monitor_reset_hwm() {
    child("child_reset_hwm", Some(("MONITOR_RESET_HWM", "0")));
    child("child_reset_hwm", None);
}

#[monitor_step]
fn idle_step() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
#[ignore = "run by monitor_reset_hwm in a child process"]
fn child_reset_hwm() {
    // A process high of 200 MiB, reached and given back outside any step.
    let mut v = vec![0u8; 200 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
    drop(v);
    let high = monitor::rss::current_rss().unwrap() + 150 * MIB;
    assert!(monitor_core::__internals::hwm::vm_hwm().unwrap() >= high);
    idle_step();
    let vm = monitor_core::__internals::hwm::vm_hwm().unwrap();
    if set("MONITOR_RESET_HWM") {
        assert!(vm >= high, "VmHWM {} MiB must be left alone", vm / MIB);
    } else {
        assert!(vm < high, "VmHWM {} MiB should have been reset", vm / MIB);
    }
}

#[test]
fn monitor_panic_text() {
    child("child_panic_text", Some(("MONITOR_PANIC_TEXT", "0")));
    child("child_panic_text", None);
}

#[monitor_step]
fn first_step() -> u8 {
    1
}

/// The address of the installed hook's closure: the same box means no hook was put in front.
fn hook_address() -> usize {
    let hook = std::panic::take_hook();
    let address = std::ptr::from_ref(&*hook).cast::<()>() as usize;
    std::panic::set_hook(hook);
    address
}

#[test]
#[ignore = "run by monitor_panic_text in a child process"]
fn child_panic_text() {
    // The program's own hook, before monitor's first call (not zero-sized, so its box has a
    // real address).
    let marker = Box::new(17_u64);
    std::panic::set_hook(Box::new(move |_| {
        std::hint::black_box(&marker);
    }));
    let before = hook_address();
    assert_eq!(first_step(), 1);
    let after = hook_address();
    if set("MONITOR_PANIC_TEXT") {
        assert_eq!(before, after, "MONITOR_PANIC_TEXT=0 installs no hook");
    } else {
        assert_ne!(before, after, "a hook is chained in front of the program's");
    }
}
