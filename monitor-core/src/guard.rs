//! What happens around one synchronous call, and the completion path shared with async calls.

use crate::callsite::{Callsite, Kind};
use crate::clock;
use crate::memory::MemoryScope;
use crate::rows::{self, RowTally};
use crate::stats::{CallRecord, Outcome};

/// Measurements taken at a call's entry, finished into a [`CallRecord`] at its exit.
#[derive(Debug)]
pub(crate) struct CallStart {
    pub(crate) start_ticks: u64,
    pub(crate) memory: Option<MemoryScope>,
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
        let start_ticks = clock::now_ticks();
        if let Some(slot) = memory.as_ref().and_then(MemoryScope::slot) {
            slot.set_start_ticks(start_ticks);
        }
        Some(CallStart {
            start_ticks,
            memory,
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

/// Publishes one finished call: site stats, the active run, events, thresholds.
#[inline]
pub(crate) fn complete(site: &'static Callsite, start: CallStart, end: CallEnd<'_>) {
    let meta = site.metadata();
    let duration_ns = clock::nanos_between(start.start_ticks, end.end_ticks);
    let memory = start.memory.map(MemoryScope::exit).unwrap_or_default();
    let threshold = match (meta.slow_ns, meta.kind) {
        (0, Kind::Query) => crate::config::slow_query_ns(),
        (0, Kind::Step) => u64::MAX,
        (t, _) => t,
    };
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
    if slow {
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
        self.end(outcome, rows_from_value);
        // `end` released everything the guard owned (`start` and `entered` are `None` now), so
        // skipping the drop glue loses nothing and saves its cost on every call.
        debug_assert!(self.start.is_none() && self.entered.is_none());
        std::mem::forget(self);
    }

    #[inline]
    fn end(&mut self, outcome: Outcome<'_>, rows_from_value: Option<u64>) {
        let end_ticks = clock::now_ticks();
        if let Some(start) = self.start.take() {
            let tally = rows::swap_in(self.saved_rows);
            complete(
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
            self.end(outcome, None);
        }
    }
}

/// Runs a closure exactly once; forcing `FnOnce` lets a body return references derived from a
/// `&mut` argument (tracing issue #2796).
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}
