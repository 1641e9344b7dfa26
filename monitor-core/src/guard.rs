//! What happens around one synchronous call, and the completion path shared with async calls.

use crate::callsite::Metadata;
use crate::callsite::{Callsite, Kind};
use crate::clock;
use crate::inflight::InFlight;
use crate::memory::MemoryScope;
use crate::rows::{self, RowTally};
use crate::stats::{CallRecord, Outcome};

/// Measurements taken at a call's entry, finished into a [`CallRecord`] at its exit.
#[derive(Debug)]
pub(crate) struct CallStart {
    pub(crate) start_ticks: u64,
    pub(crate) memory: Option<MemoryScope>,
    /// The in-flight slot of a query that does not track memory, so the watchdog can see it.
    pub(crate) watch: Option<InFlight>,
    /// Boxed so that the common case (spans off) moves and drops one null pointer.
    pub(crate) span: Option<Box<tracing::Span>>,
}

impl CallStart {
    /// Registers the site if needed and takes the entry readings; `None` when recording is off.
    #[inline]
    pub(crate) fn begin(site: &'static Callsite) -> Option<CallStart> {
        site.ensure_registered();
        if crate::config::disabled() {
            return None;
        }
        let meta = site.metadata();
        // Memory first, clock last: the RSS reads are not charged to the call's duration.
        let memory = meta.memory.then(|| MemoryScope::enter(Some(site)));
        let span = crate::config::spans().then(|| {
            Box::new(tracing::info_span!(
                target: "monitor",
                "monitor",
                otel.name = meta.name,
                monitor.kind = meta.kind.as_str()
            ))
        });
        // Queries that declare their own `slow` threshold are watched while they run
        // (`crate::watchdog`); memory-tracking calls already hold a slot. Claiming a slot costs
        // more than the rest of a timing-only call, so undeclared queries are not watched.
        let watch = (memory.is_none()
            && meta.kind == Kind::Query
            && meta.slow_ns > 0
            && crate::config::watchdog())
        .then(|| crate::inflight::claim(Some(site), 0))
        .flatten();
        let start_ticks = clock::now_ticks();
        if let Some(slot) = memory
            .as_ref()
            .and_then(MemoryScope::slot)
            .or(watch.as_ref())
        {
            slot.set_start_ticks(start_ticks);
        }
        Some(CallStart {
            start_ticks,
            memory,
            watch,
            span,
        })
    }
}

/// Everything known when a call ends; turned into a [`CallRecord`] and published.
pub(crate) struct CallEnd<'a> {
    pub(crate) end_ticks: u64,
    pub(crate) busy_ns: Option<u64>,
    pub(crate) outcome: Outcome<'a>,
    pub(crate) rows_from_value: Option<u64>,
    pub(crate) tally: RowTally,
}

/// What the generated code of an `explain(..)` query learns about its finished call.
///
/// The call's slow-query warning is deferred to the plan capture, so the warning can carry the
/// plan; if the summary is dropped without that, `Drop` still emits the warning.
#[derive(Debug)]
#[must_use]
pub struct CallSummary {
    site: &'static Callsite,
    /// Wall time of the call.
    pub duration_ns: u64,
    /// The slow threshold in force for the call.
    pub threshold_ns: u64,
    /// Whether the call passed the threshold.
    pub slow: bool,
    slow_event_pending: bool,
}

impl CallSummary {
    /// Takes over the deferred slow-query warning: `true` once if the caller must emit it.
    pub fn take_slow_event(&mut self) -> bool {
        std::mem::take(&mut self.slow_event_pending)
    }
}

impl Drop for CallSummary {
    fn drop(&mut self) {
        if self.take_slow_event() {
            crate::events::slow_query(self.site.metadata(), self.duration_ns, self.threshold_ns);
        }
    }
}

/// The slow threshold of a site: its own, else the global one for queries; none for steps.
#[inline]
pub(crate) fn slow_threshold_ns(meta: &Metadata) -> u64 {
    match (meta.slow_ns, meta.kind) {
        (0, Kind::Query) => crate::config::slow_query_ns(),
        (0, Kind::Step) => u64::MAX,
        (t, _) => t,
    }
}

/// Publishes one finished call: site stats, the active run, events, thresholds.
///
/// For sites with `explain(..)` that returned (a value or an `Err`), returns the call's summary
/// and leaves the slow-query warning to the plan capture.
#[inline]
pub(crate) fn complete(
    site: &'static Callsite,
    start: CallStart,
    end: CallEnd<'_>,
) -> Option<CallSummary> {
    let meta = site.metadata();
    // The call is over: the watchdog must not report it as still running.
    drop(start.watch);
    let duration_ns = clock::nanos_between(start.start_ticks, end.end_ticks);
    let memory = start.memory.map(MemoryScope::exit).unwrap_or_default();
    let threshold = slow_threshold_ns(meta);
    let slow = duration_ns >= threshold && !matches!(end.outcome, Outcome::Cancelled);
    let rec = CallRecord {
        start_ticks: start.start_ticks,
        duration_ns,
        busy_ns: end.busy_ns,
        outcome: end.outcome,
        rows: end.rows_from_value.or(end.tally.out()),
        rows_in: end.tally.input(),
        memory,
        slow,
    };
    site.stats().record(&rec);
    crate::run::on_complete(site, &rec);
    crate::events::call_finished(meta, &rec);
    // `then`, not `then_some`: a summary built and dropped would emit its deferred warning.
    let summary =
        (meta.explain && matches!(rec.outcome, Outcome::Ok | Outcome::Err(_))).then(|| {
            CallSummary {
                site,
                duration_ns,
                threshold_ns: threshold,
                slow,
                slow_event_pending: slow,
            }
        });
    if slow && summary.is_none() {
        crate::events::slow_query(meta, duration_ns, threshold);
    }
    // Budgets and memory warnings only concern calls that measured memory or carry a budget.
    let violation = if rec.memory.rss_peak.is_some() || meta.max_duration_ns > 0 {
        crate::budget::check(meta, &rec)
    } else {
        None
    };
    drop(start.span);
    if let Some(message) = violation {
        crate::budget::enforce(message);
    }
    summary
}

/// The guard a synchronous monitored function holds while its body runs.
///
/// Created by the macros; [`CallGuard::finish`] is called with the body's outcome. If the body
/// unwinds instead, `Drop` counts a panic and lets the unwinding continue untouched.
#[derive(Debug)]
#[must_use]
pub struct CallGuard {
    site: &'static Callsite,
    start: Option<CallStart>,
    saved_rows: RowTally,
    entered: Option<Box<tracing::span::EnteredSpan>>,
}

impl CallGuard {
    /// Starts timing a call of `site`.
    #[inline]
    pub fn enter(site: &'static Callsite) -> CallGuard {
        let mut start = CallStart::begin(site);
        let entered = start
            .as_mut()
            .and_then(|s| s.span.take())
            .map(|span| Box::new(span.entered()));
        let saved_rows = if start.is_some() {
            rows::swap_in(RowTally::default())
        } else {
            RowTally::default()
        };
        CallGuard {
            site,
            start,
            saved_rows,
            entered,
        }
    }

    /// Finishes the call with its outcome and, for `rows` sites, the row count of its value.
    #[inline]
    pub fn finish(mut self, outcome: Outcome<'_>, rows_from_value: Option<u64>) {
        drop(self.end(outcome, rows_from_value));
        // `end` released everything the guard owned (`start` and `entered` are `None` now), so
        // skipping the drop glue loses nothing and saves its cost on every call.
        debug_assert!(self.start.is_none() && self.entered.is_none());
        std::mem::forget(self);
    }

    /// [`CallGuard::finish`] for `explain(..)` sites: returns the summary the plan capture needs.
    #[inline]
    pub fn finish_explained(
        mut self,
        outcome: Outcome<'_>,
        rows_from_value: Option<u64>,
    ) -> Option<CallSummary> {
        let summary = self.end(outcome, rows_from_value);
        debug_assert!(self.start.is_none() && self.entered.is_none());
        std::mem::forget(self);
        summary
    }

    #[inline]
    fn end(&mut self, outcome: Outcome<'_>, rows_from_value: Option<u64>) -> Option<CallSummary> {
        let end_ticks = clock::now_ticks();
        let mut summary = None;
        if let Some(start) = self.start.take() {
            let tally = rows::swap_in(self.saved_rows);
            summary = complete(
                self.site,
                start,
                CallEnd {
                    end_ticks,
                    busy_ns: None,
                    outcome,
                    rows_from_value,
                    tally,
                },
            );
        }
        // Leave the span (if any) after the completion events, so they sit inside it.
        self.entered = None;
        summary
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.start.is_some() {
            // Not finished: the body unwound (or, for `-> !` functions, never returned normally).
            let outcome = if std::thread::panicking() {
                Outcome::Panicked
            } else {
                Outcome::Ok
            };
            drop(self.end(outcome, None));
        }
    }
}

/// Runs a closure exactly once; forcing `FnOnce` lets a body return references derived from a
/// `&mut` argument (tracing issue #2796).
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}
