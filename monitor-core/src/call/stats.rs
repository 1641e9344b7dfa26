//! Lock-free per-site statistics, and the one record every finished call produces.
//!
//! The same [`SiteStats`] type serves a site's process-wide totals (inside its `static`) and its
//! totals within one pipeline run, so both are filled by the same [`SiteStats::record`].

use crate::call::error_types::{ErrorTypeCounts, ErrorTypeValues};
use crate::call::histogram::{AtomicHistogram, HistogramCounts};
pub use crate::memory::per_call::MemoryFigures;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// How a call ended.
#[derive(Clone, Copy)]
pub enum Outcome<'a> {
    /// Returned normally (including `Ok(_)`, `Some(_)`, `None`).
    Ok,
    /// Returned `Err(e)`; `e` is shown with `Display` when it has one, else `Debug`.
    Err(ErrorText<'a>),
    /// Unwound with a panic (the panic continues unchanged).
    Panicked,
    /// An async call dropped before it completed.
    Cancelled,
}

impl fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("Ok"),
            Outcome::Err(e) => write!(f, "Err({e})"),
            Outcome::Panicked => f.write_str("Panicked"),
            Outcome::Cancelled => f.write_str("Cancelled"),
        }
    }
}

/// A borrowed error, formatted lazily (only if a log line or report actually needs the text),
/// with its kind: what exporters label errors with (see `crate::call::error_types`).
#[derive(Clone, Copy)]
pub struct ErrorText<'a> {
    shown: Shown<'a>,
    type_name: &'static str,
    label: &'static str,
}

#[derive(Clone, Copy)]
enum Shown<'a> {
    Display(&'a dyn fmt::Display),
    Debug(&'a dyn fmt::Debug),
    Opaque(&'static str),
}

impl<'a> ErrorText<'a> {
    fn of<E>(shown: Shown<'a>, label: Option<&'static str>) -> Self {
        let type_name = std::any::type_name::<E>();
        ErrorText {
            shown,
            type_name,
            label: label.unwrap_or(type_name),
        }
    }

    /// An error shown with its `Display`, labelled with its type.
    #[must_use]
    pub fn display<E: fmt::Display>(error: &'a E) -> Self {
        Self::of::<E>(Shown::Display(error), None)
    }

    /// An error shown with its `Display`, labelled with the kind it names itself
    /// ([`ErrorLabel`](crate::call::probe::ErrorLabel)).
    #[must_use]
    pub fn labelled<E: fmt::Display>(error: &'a E, label: &'static str) -> Self {
        Self::of::<E>(Shown::Display(error), Some(label))
    }

    /// An error that has only `Debug`, labelled with its type.
    #[must_use]
    pub fn debug<E: fmt::Debug>(error: &'a E) -> Self {
        Self::of::<E>(Shown::Debug(error), None)
    }

    /// An error known only by a fixed text (its type and kind are `unknown`).
    #[must_use]
    pub fn opaque(text: &'static str) -> Self {
        ErrorText {
            shown: Shown::Opaque(text),
            type_name: "unknown",
            label: "unknown",
        }
    }

    /// The error's type, as `std::any::type_name` spells it (`std::io::error::Error`).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The error's kind for labels: what its [`ErrorLabel`](crate::call::probe::ErrorLabel) says, else
    /// its type.
    #[must_use]
    pub fn label(&self) -> &'static str {
        self.label
    }
}

impl fmt::Debug for ErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorText({}: {self})", self.label())
    }
}

impl fmt::Display for ErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shown {
            Shown::Display(d) => fmt::Display::fmt(d, f),
            Shown::Debug(d) => fmt::Debug::fmt(d, f),
            Shown::Opaque(s) => f.write_str(s),
        }
    }
}

/// Everything one finished call reports.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// Clock ticks at entry (see `crate::base::clock`).
    pub start_ticks: u64,
    /// Wall time of the call.
    pub duration_ns: u64,
    /// Time spent inside `poll`, for async calls.
    pub busy_ns: Option<u64>,
    /// How it ended.
    pub outcome: Outcome<'a>,
    /// Rows produced (from the return value or [`crate::record_rows`]).
    pub rows: Option<u64>,
    /// Rows consumed, for steps that know their input.
    pub rows_in: Option<u64>,
    /// Memory figures, when the site tracks memory.
    pub memory: MemoryFigures,
    /// Whether the call passed its slow threshold.
    pub slow: bool,
}

/// A "max over calls" and "last call" pair for one memory figure.
#[derive(Debug)]
pub struct MaxLast {
    max: AtomicU64,
    last: AtomicU64,
    seen: AtomicU64,
}

impl MaxLast {
    const fn new() -> Self {
        MaxLast {
            max: AtomicU64::new(0),
            last: AtomicU64::new(0),
            seen: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, v: Option<u64>) {
        if let Some(v) = v {
            if v > self.max.load(Relaxed) {
                self.max.fetch_max(v, Relaxed);
            }
            self.last.store(v, Relaxed);
            self.seen.fetch_add(1, Relaxed);
        }
    }

    /// `(max, last)`, or `None` if never measured.
    #[must_use]
    pub fn get(&self) -> Option<(u64, u64)> {
        (self.seen.load(Relaxed) > 0).then(|| (self.max.load(Relaxed), self.last.load(Relaxed)))
    }

    fn reset(&self) {
        self.seen.store(0, Relaxed);
        self.max.store(0, Relaxed);
        self.last.store(0, Relaxed);
    }
}

/// The lock-free statistics of one site (or of one site within one run).
#[derive(Debug)]
pub struct SiteStats {
    histogram: AtomicHistogram,
    total_ns: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
    busy_ns: AtomicU64,
    async_calls: AtomicU64,
    errors: AtomicU64,
    error_types: ErrorTypeCounts,
    panics: AtomicU64,
    cancelled: AtomicU64,
    slow: AtomicU64,
    rows: AtomicU64,
    rows_in: AtomicU64,
    rows_seen: AtomicU64,
    rows_in_seen: AtomicU64,
    /// Rows out of calls that also reported rows in, so "dropped" compares like with like.
    rows_out_paired: AtomicU64,
    rss_start: MaxLast,
    rss_end: MaxLast,
    rss_peak: MaxLast,
    heap_peak: MaxLast,
    allocated: MaxLast,
    /// Largest `peak - start` of a single call.
    rss_growth_max: AtomicU64,
    /// Calls whose peak could not be followed by the sampler (in-flight table full).
    peak_approximate: AtomicU64,
}

impl Default for SiteStats {
    fn default() -> Self {
        Self::new()
    }
}

impl SiteStats {
    /// Empty stats.
    #[must_use]
    pub const fn new() -> Self {
        SiteStats {
            histogram: AtomicHistogram::new(),
            total_ns: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            async_calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            error_types: ErrorTypeCounts::new(),
            panics: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            rows_in: AtomicU64::new(0),
            rows_seen: AtomicU64::new(0),
            rows_in_seen: AtomicU64::new(0),
            rows_out_paired: AtomicU64::new(0),
            rss_start: MaxLast::new(),
            rss_end: MaxLast::new(),
            rss_peak: MaxLast::new(),
            heap_peak: MaxLast::new(),
            allocated: MaxLast::new(),
            rss_growth_max: AtomicU64::new(0),
            peak_approximate: AtomicU64::new(0),
        }
    }

    /// Adds one finished call. Relaxed atomics only: no lock, no allocation.
    #[inline]
    pub fn record(&self, rec: &CallRecord<'_>) {
        let d = rec.duration_ns;
        self.histogram.record(d);
        self.total_ns.fetch_add(d, Relaxed);
        // Load first: the read-modify-write only happens when the extreme actually moves.
        if d > self.max_ns.load(Relaxed) {
            self.max_ns.fetch_max(d, Relaxed);
        }
        if d < self.min_ns.load(Relaxed) {
            self.min_ns.fetch_min(d, Relaxed);
        }
        if let Some(b) = rec.busy_ns {
            self.busy_ns.fetch_add(b, Relaxed);
            self.async_calls.fetch_add(1, Relaxed);
        }
        match rec.outcome {
            Outcome::Ok => {}
            Outcome::Err(e) => {
                self.errors.fetch_add(1, Relaxed);
                self.error_types.record(e.label());
            }
            Outcome::Panicked => {
                self.panics.fetch_add(1, Relaxed);
            }
            Outcome::Cancelled => {
                self.cancelled.fetch_add(1, Relaxed);
            }
        }
        if rec.slow {
            self.slow.fetch_add(1, Relaxed);
        }
        if let Some(r) = rec.rows {
            self.rows.fetch_add(r, Relaxed);
            self.rows_seen.fetch_add(1, Relaxed);
        }
        if let Some(r) = rec.rows_in {
            self.rows_in.fetch_add(r, Relaxed);
            self.rows_in_seen.fetch_add(1, Relaxed);
            self.rows_out_paired
                .fetch_add(rec.rows.unwrap_or(0), Relaxed);
        }
        let m = &rec.memory;
        if m.rss_start.is_some() || m.heap_peak.is_some() {
            self.rss_start.record(m.rss_start);
            self.rss_end.record(m.rss_end);
            self.rss_peak.record(m.rss_peak);
            self.heap_peak.record(m.heap_peak);
            self.allocated.record(m.allocated);
            if m.peak_approximate {
                self.peak_approximate.fetch_add(1, Relaxed);
            }
            if let Some(g) = m.rss_growth() {
                if g > self.rss_growth_max.load(Relaxed) {
                    self.rss_growth_max.fetch_max(g, Relaxed);
                }
            }
        }
    }

    /// Zeroes everything (for tests and between runs; not atomic against concurrent calls).
    pub fn reset(&self) {
        self.histogram.reset();
        for a in [
            &self.total_ns,
            &self.max_ns,
            &self.busy_ns,
            &self.async_calls,
            &self.errors,
            &self.panics,
            &self.cancelled,
            &self.slow,
            &self.rows,
            &self.rows_in,
            &self.rows_seen,
            &self.rows_in_seen,
            &self.rows_out_paired,
            &self.rss_growth_max,
            &self.peak_approximate,
        ] {
            a.store(0, Relaxed);
        }
        self.min_ns.store(u64::MAX, Relaxed);
        self.error_types.reset();
        for m in [
            &self.rss_start,
            &self.rss_end,
            &self.rss_peak,
            &self.heap_peak,
            &self.allocated,
        ] {
            m.reset();
        }
    }

    /// A plain copy of the numbers.
    #[must_use]
    pub fn load(&self) -> StatsValues {
        // The extremes first: every bucket outside them is empty (a call finishing meanwhile
        // outside them is simply not in this copy yet, and in the next).
        let min = self.min_ns.load(Relaxed);
        let max = self.max_ns.load(Relaxed);
        let histogram = if min > max {
            HistogramCounts::default()
        } else {
            self.histogram.load_between(min, max)
        };
        let calls = histogram.count();
        StatsValues {
            calls,
            total_ns: self.total_ns.load(Relaxed),
            min_ns: if calls == 0 { 0 } else { min },
            max_ns: max,
            busy_ns: (self.async_calls.load(Relaxed) > 0).then(|| self.busy_ns.load(Relaxed)),
            errors: self.errors.load(Relaxed),
            error_types: self.error_types.load(),
            panics: self.panics.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            slow: self.slow.load(Relaxed),
            rows: (self.rows_seen.load(Relaxed) > 0).then(|| self.rows.load(Relaxed)),
            rows_in: (self.rows_in_seen.load(Relaxed) > 0).then(|| self.rows_in.load(Relaxed)),
            rows_out_paired: self.rows_out_paired.load(Relaxed),
            rss_start: self.rss_start.get(),
            rss_end: self.rss_end.get(),
            rss_peak: self.rss_peak.get(),
            heap_peak: self.heap_peak.get(),
            allocated: self.allocated.get(),
            rss_growth_max: self.rss_growth_max.load(Relaxed),
            peak_approximate: self.peak_approximate.load(Relaxed),
            histogram,
        }
    }
}

/// Plain numbers copied out of a [`SiteStats`].
#[derive(Debug, Clone, Default)]
pub struct StatsValues {
    /// Finished calls (including errors, panics and cancellations).
    pub calls: u64,
    /// Sum of wall durations.
    pub total_ns: u64,
    /// Shortest call.
    pub min_ns: u64,
    /// Longest call.
    pub max_ns: u64,
    /// Sum of time inside `poll` (async sites only).
    pub busy_ns: Option<u64>,
    /// Calls that returned `Err`.
    pub errors: u64,
    /// Those errors by kind, for the first `ERROR_TYPE_SLOTS` kinds seen;
    /// `errors` minus their sum were of further kinds.
    pub error_types: ErrorTypeValues,
    /// Calls that panicked.
    pub panics: u64,
    /// Async calls dropped before completion.
    pub cancelled: u64,
    /// Calls past the slow threshold.
    pub slow: u64,
    /// Rows out, summed (absent when never reported).
    pub rows: Option<u64>,
    /// Rows in, summed (absent when never reported).
    pub rows_in: Option<u64>,
    /// Rows out of the calls that also reported rows in.
    pub rows_out_paired: u64,
    /// RSS at entry: (max, last).
    pub rss_start: Option<(u64, u64)>,
    /// RSS at exit: (max, last).
    pub rss_end: Option<(u64, u64)>,
    /// Peak RSS during a call: (max, last).
    pub rss_peak: Option<(u64, u64)>,
    /// Peak live heap during a call: (max, last).
    pub heap_peak: Option<(u64, u64)>,
    /// Bytes allocated by the calling thread: (max, last).
    pub allocated: Option<(u64, u64)>,
    /// Largest `rss_peak - rss_start` of one call.
    pub rss_growth_max: u64,
    /// Calls whose peaks are approximate (see [`MemoryFigures::peak_approximate`]).
    pub peak_approximate: u64,
    /// Duration histogram.
    pub histogram: HistogramCounts,
}

impl StatsValues {
    /// Duration quantile in nanoseconds (see [`crate::call::histogram`] for the precision).
    #[must_use]
    pub fn quantile_ns(&self, q: f64) -> u64 {
        self.histogram
            .quantile(q, self.min_ns, self.max_ns)
            .unwrap_or(0)
    }

    /// Errors by kind: the separately counted kinds in first-seen order, then
    /// [`OVERFLOW`](crate::call::error_types::OVERFLOW) for errors of further types. Sums to
    /// `errors`; empty when there were none.
    #[must_use]
    pub fn errors_by_type(&self) -> Vec<(&'static str, u64)> {
        let mut types: Vec<(&'static str, u64)> = self.error_types.iter().collect();
        let further = self.errors.saturating_sub(self.error_types.named_total());
        if further > 0 {
            types.push((crate::call::error_types::OVERFLOW, further));
        }
        types
    }

    /// Mean duration in nanoseconds.
    #[must_use]
    pub fn mean_ns(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let v = self.total_ns as f64 / self.calls as f64;
            v
        }
    }
}
