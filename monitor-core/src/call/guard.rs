//! What happens around one synchronous call, and the completion path shared with async calls.

use crate::background::inflight::InFlight;
use crate::base::clock;
use crate::call::callsite::{Callsite, Kind};
use crate::call::rows::{self, RowTally};
use crate::call::stats::{CallRecord, MemoryFigures, Outcome};
use crate::memory::per_call::MemoryScope;
use std::fmt;

mod sealed {
    pub trait Sealed {}
}

/// Whether a guard measures memory, fixed at compile time by the macro from the site's flags
/// (steps, and queries with `memory`), so that a timing-only call neither carries nor moves
/// any memory state: its entry state is a few words instead of a hundred-odd bytes copied
/// through `enter`, the guard and `finish`.
pub trait MemoryMode: sealed::Sealed + fmt::Debug + 'static {
    /// The memory state a call holds between entry and exit.
    type Scope: fmt::Debug;
    /// Takes the entry readings (if the site tracks memory).
    fn enter(site: &'static Callsite) -> Self::Scope;
    /// Whether this call holds an in-flight slot through its memory state.
    fn slot(scope: &Self::Scope) -> Option<&InFlight>;
    /// Whether this call measures memory.
    fn tracks(scope: &Self::Scope) -> bool;
    /// Takes the exit readings.
    fn exit(scope: Self::Scope) -> MemoryFigures;
    /// An async call starts a poll (its thread's allocations count from here).
    fn resume(scope: &mut Self::Scope);
    /// An async call's poll ended (bank the thread's allocations before it moves).
    fn suspend(scope: &mut Self::Scope);
}

/// [`MemoryMode`] of sites that may track memory (decided by their `Metadata::memory`).
#[derive(Debug)]
pub enum Tracked {}

/// [`MemoryMode`] of timing-only sites.
#[derive(Debug)]
pub enum Untracked {}

impl sealed::Sealed for Tracked {}
impl sealed::Sealed for Untracked {}

impl MemoryMode for Tracked {
    type Scope = Option<MemoryScope>;

    #[inline]
    fn enter(site: &'static Callsite) -> Self::Scope {
        site.metadata()
            .memory
            .then(|| MemoryScope::enter(Some(site.metadata())))
    }

    #[inline]
    fn slot(scope: &Self::Scope) -> Option<&InFlight> {
        scope.as_ref().and_then(MemoryScope::slot)
    }

    #[inline]
    fn tracks(scope: &Self::Scope) -> bool {
        scope.is_some()
    }

    #[inline]
    fn exit(scope: Self::Scope) -> MemoryFigures {
        scope.map(MemoryScope::exit).unwrap_or_default()
    }

    #[inline]
    fn resume(scope: &mut Self::Scope) {
        if let Some(m) = scope {
            m.resume();
        }
    }

    #[inline]
    fn suspend(scope: &mut Self::Scope) {
        if let Some(m) = scope {
            m.suspend();
        }
    }
}

impl MemoryMode for Untracked {
    type Scope = ();

    #[inline]
    fn enter(site: &'static Callsite) -> Self::Scope {
        debug_assert!(
            !site.metadata().memory,
            "a memory-tracking site was given a timing-only guard"
        );
    }

    #[inline]
    fn slot((): &Self::Scope) -> Option<&InFlight> {
        None
    }

    #[inline]
    fn tracks((): &Self::Scope) -> bool {
        false
    }

    #[inline]
    fn exit((): Self::Scope) -> MemoryFigures {
        MemoryFigures::default()
    }

    #[inline]
    fn resume((): &mut Self::Scope) {}

    #[inline]
    fn suspend((): &mut Self::Scope) {}
}

/// How the watchdog sees a running query that does not track memory (memory-tracking calls are
/// in the in-flight table already).
#[derive(Debug)]
// The fields are never read: they are held for their `Drop`, which takes the query off the
// watchdog's list when the call ends.
#[allow(dead_code)]
pub(crate) enum Watch {
    /// A synchronous query, in its thread's record (two plain stores).
    Thread(crate::background::running::Running),
    /// An async query, which can move between threads: an in-flight slot.
    Slot(InFlight),
}

/// Measurements taken at a call's entry, finished into a [`CallRecord`] at its exit.
#[derive(Debug)]
pub(crate) struct CallStart<M: MemoryMode = Tracked> {
    pub(crate) start_ticks: u64,
    pub(crate) memory: M::Scope,
    /// How the watchdog sees this query while it runs (see [`Watch`]).
    pub(crate) watch: Option<Watch>,
    /// Boxed so that the common case (spans off) moves and drops one null pointer.
    pub(crate) span: Option<Box<tracing::Span>>,
}

impl<M: MemoryMode> CallStart<M> {
    /// Registers the site if needed and takes the entry readings of a synchronous call; `None`
    /// when recording is off.
    #[inline]
    pub(crate) fn begin(site: &'static Callsite) -> Option<CallStart<M>> {
        Self::begin_on(site, true)
    }

    /// [`CallStart::begin`] for an async call (one that may move between threads).
    #[inline]
    pub(crate) fn begin_async(site: &'static Callsite) -> Option<CallStart<M>> {
        Self::begin_on(site, false)
    }

    #[inline]
    fn begin_on(site: &'static Callsite, sync: bool) -> Option<CallStart<M>> {
        site.ensure_registered();
        if crate::config::disabled() {
            return None;
        }
        let meta = site.metadata();
        // Memory first, clock last: the RSS reads are not charged to the call's duration.
        let memory = M::enter(site);
        let span = crate::config::spans().then(|| {
            Box::new(tracing::info_span!(
                target: "monitor",
                "monitor",
                otel.name = meta.name,
                monitor.kind = meta.kind.as_str(),
                otel.status_code = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
            ))
        });
        // Every query is watched while it runs (`crate::call::watchdog`): memory-tracking ones through
        // their in-flight slot, synchronous ones through their thread's record, async ones
        // through a slot of their own.
        let watched = !M::tracks(&memory) && meta.kind == Kind::Query && crate::config::watchdog();
        let (reserved, slot) = match (watched, sync) {
            (false, _) => (None, None),
            (true, true) => (crate::background::running::reserve(), None),
            (true, false) => (
                None,
                crate::background::inflight::claim_to_watch(site.metadata()),
            ),
        };
        let start_ticks = clock::now_ticks();
        if let Some(slot) = M::slot(&memory).or(slot.as_ref()) {
            slot.set_start_ticks(start_ticks);
        }
        let watch = match (reserved, slot) {
            (Some(r), _) => {
                crate::background::sampler::ensure_running_for_queries();
                Some(Watch::Thread(r.start(site.metadata(), start_ticks)))
            }
            (None, Some(slot)) => Some(Watch::Slot(slot)),
            (None, None) => None,
        };
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
            crate::call::events::slow_query(
                self.site.metadata(),
                self.duration_ns,
                self.threshold_ns,
            );
        }
    }
}

/// Marks a call's span (`MONITOR_SPANS`) failed the way OpenTelemetry reads it:
/// `tracing-opentelemetry` turns `otel.status_code` into the span's status, and `error.type` is
/// the semantic conventions' attribute for what failed (the error's kind, or `panic`).
fn record_span_outcome(span: &tracing::Span, outcome: &Outcome<'_>) {
    let kind = match outcome {
        Outcome::Err(e) => e.label(),
        Outcome::Panicked => "panic",
        Outcome::Ok | Outcome::Cancelled => return,
    };
    span.record("otel.status_code", "ERROR");
    span.record("error.type", kind);
}

/// Publishes one finished call: site stats, the active run, events, thresholds.
///
/// For sites with `explain(..)` that returned (a value or an `Err`), returns the call's summary
/// and leaves the slow-query warning to the plan capture.
#[inline]
pub(crate) fn complete<M: MemoryMode>(
    site: &'static Callsite,
    start: CallStart<M>,
    end: CallEnd<'_>,
) -> Option<CallSummary> {
    let meta = site.metadata();
    // The call is over: the watchdog must not report it as still running.
    drop(start.watch);
    let duration_ns = clock::nanos_between(start.start_ticks, end.end_ticks);
    let memory = M::exit(start.memory);
    let threshold = meta.slow_threshold_ns();
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
    crate::call::attach::on_complete(site, &rec);
    crate::call::events::call_finished(meta, &rec);
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
        crate::call::events::slow_query(meta, duration_ns, threshold);
    }
    // Budgets and memory warnings only concern calls that measured memory or carry a budget.
    let violation = if rec.memory.rss_peak.is_some() || meta.max_duration_ns > 0 {
        crate::call::budget::check(meta, &rec)
    } else {
        None
    };
    // Moved out by pattern: with spans off (`None`) no drop glue is called at all. (A synchronous
    // call's span was moved into its guard, which marks it; an async call's is still here.)
    if let Some(span) = start.span {
        record_span_outcome(&span, &rec.outcome);
        drop(span);
    }
    if let Some(message) = violation {
        crate::call::budget::enforce(message);
    }
    summary
}

/// The guard a synchronous monitored function holds while its body runs.
///
/// Created by the macros; [`Guard::finish`] is called with the body's outcome. If the body
/// unwinds instead, `Drop` counts a panic and lets the unwinding continue untouched. The macros
/// use [`CallGuard`] for sites that track memory and [`TimedGuard`] for timing-only ones.
#[must_use]
pub struct Guard<M: MemoryMode> {
    site: &'static Callsite,
    start: Option<CallStart<M>>,
    saved_rows: RowTally,
    entered: Option<Box<tracing::span::EnteredSpan>>,
}

impl<M: MemoryMode> fmt::Debug for Guard<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("site", &self.site.metadata().name)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// The guard of a site that may track memory (steps, queries with `memory`).
pub type CallGuard = Guard<Tracked>;

/// The guard of a timing-only site: no memory state at all.
pub type TimedGuard = Guard<Untracked>;

impl<M: MemoryMode> Guard<M> {
    /// Starts timing a call of `site`.
    #[inline]
    pub fn enter(site: &'static Callsite) -> Guard<M> {
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
        Guard {
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

    /// [`Guard::finish`] for `explain(..)` sites: returns the summary the plan capture needs.
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
        if let Some(entered) = &self.entered {
            record_span_outcome(entered, &outcome);
        }
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

impl<M: MemoryMode> Drop for Guard<M> {
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
