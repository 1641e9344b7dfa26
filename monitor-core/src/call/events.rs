//! The `tracing` events a monitored call emits: structured fields, never pre-formatted strings.
//!
//! All events use the target `monitor`, so `RUST_LOG=monitor=debug` shows every call and
//! `monitor=warn` only slow queries, budget warnings and failures.
//!
//! | event | level | when |
//! |---|---|---|
//! | `step finished` | info | a step returned normally |
//! | `query finished` | debug | a query returned normally |
//! | `call returned an error` | error | an `Err` was returned; field `error` has its `Display`, `error_type` its type |
//! | `call panicked` | error | the call unwound; field `panic` has the panic's message and location (see `MONITOR_PANIC_TEXT`) |
//! | `call cancelled` | debug | an async call was dropped before it completed |
//! | `slow query` | warn | a query passed its slow threshold; with `explain(..)` also `sql`, `plan`, `findings` |
//! | `slow query still running` | warn | the watchdog saw a query running past its threshold (once per call) |
//! | `query plan captured` | debug | an `explain(..)` site captured a plan outside a slow call |
//! | `query plan capture skipped` | debug | a capture was not attempted (`reason`: no free pool connection in time, placeholders the server cannot explain) |
//! | `query plan capture failed` | warn | the database refused the `EXPLAIN` (the call's result is unchanged) |
//!
//! Every `warn` and `error` event here is emitted through [`surfaced`]: with no `tracing`
//! subscriber installed it is written to stderr, one line (see [`crate::config::stderr_events`]).

use crate::call::callsite::{Kind, Metadata};
use crate::call::stats::{CallRecord, Outcome};
pub(crate) use crate::config::stderr_events::surfaced;

/// The text of a call's own panic, as reports and events show it: redacted like the errors of
/// the same kind of site (a query's quoted literals become `?`).
pub(crate) fn panic_of_call(kind: crate::site::Kind, start_ticks: u64) -> Option<String> {
    crate::config::panic_text::since(start_ticks)
        .map(|text| crate::redact::error_message(kind, &text))
}

pub(crate) use crate::base::clock::ms;

/// Emits the completion (or failure) event of one call.
///
/// The level test is one relaxed load, inlined into the hot path; building the event (a large
/// expansion with a dozen fields) stays out of line. A failed call also goes out of line when no
/// subscriber may be listening, so that its `error` event can reach stderr.
#[inline]
pub(crate) fn call_finished(meta: &Metadata, rec: &CallRecord<'_>) {
    use tracing::level_filters::LevelFilter;
    let level = match (rec.outcome, meta.kind) {
        (Outcome::Ok, Kind::Step) => LevelFilter::INFO,
        (Outcome::Ok | Outcome::Cancelled, _) => LevelFilter::DEBUG,
        (Outcome::Err(_) | Outcome::Panicked, _) => {
            if crate::config::stderr_warnings() {
                return surfaced(|| emit_call_finished(meta, rec));
            }
            LevelFilter::ERROR
        }
    };
    if level <= LevelFilter::current() {
        emit_call_finished(meta, rec);
    }
}

#[inline(never)]
fn emit_call_finished(meta: &Metadata, rec: &CallRecord<'_>) {
    let m = &rec.memory;
    match rec.outcome {
        Outcome::Ok => match meta.kind {
            Kind::Step => tracing::info!(
                target: "monitor",
                name = meta.name,
                kind = "step",
                duration_ms = ms(rec.duration_ns),
                busy_ms = rec.busy_ns.map(ms),
                rows = rec.rows,
                rss_start = m.rss_start,
                rss_end = m.rss_end,
                rss_peak = m.rss_peak,
                heap_peak = m.heap_peak,
                allocated = m.allocated,
                "step finished"
            ),
            Kind::Query => tracing::debug!(
                target: "monitor",
                name = meta.name,
                kind = "query",
                duration_ms = ms(rec.duration_ns),
                busy_ms = rec.busy_ns.map(ms),
                rows = rec.rows,
                rss_start = m.rss_start,
                rss_end = m.rss_end,
                rss_peak = m.rss_peak,
                heap_peak = m.heap_peak,
                allocated = m.allocated,
                "query finished"
            ),
        },
        Outcome::Err(e) => tracing::error!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            duration_ms = ms(rec.duration_ns),
            error_type = e.label(),
            error = %crate::redact::error_message(meta.kind, &e),
            "call returned an error"
        ),
        Outcome::Panicked => tracing::error!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            duration_ms = ms(rec.duration_ns),
            panic = panic_of_call(meta.kind, rec.start_ticks),
            "call panicked"
        ),
        Outcome::Cancelled => tracing::debug!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            duration_ms = ms(rec.duration_ns),
            "call cancelled"
        ),
    }
}

/// Emits the slow-query warning.
#[cold]
pub(crate) fn slow_query(meta: &Metadata, duration_ns: u64, threshold_ns: u64) {
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            duration_ms = ms(duration_ns),
            threshold_ms = ms(threshold_ns),
            "slow query"
        );
    });
}

/// Emits the high-memory warning.
#[cold]
pub(crate) fn memory_high(meta: &Metadata, rss_peak: u64, threshold: u64) {
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            rss_peak,
            threshold,
            "high memory use"
        );
    });
}

/// Emits the budget warning.
#[cold]
pub(crate) fn budget_passed(meta: &Metadata, budget: &'static str, limit: u64, value: u64) {
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            budget,
            limit,
            value,
            "budget passed"
        );
    });
}

/// Emits the watchdog's report of a query still running past its threshold.
#[cold]
pub(crate) fn query_still_running(meta: &Metadata, running_ns: u64, threshold_ns: u64) {
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            running_ms = ms(running_ns),
            threshold_ms = ms(threshold_ns),
            "slow query still running"
        );
    });
}
