//! Lock-free per-site statistics, and the one record every finished call produces.
//!
//! The same [`SiteStats`] type serves a site's process-wide totals (inside its `static`) and its
//! totals within one pipeline run, so both are filled by the same [`SiteStats::record`].
//!
//! A call's timing, outcome and rows go to the calling thread's shard of the site's counters
//! (`crate::call::shard`): threads recording into one site at once never write the same cache
//! line, and a thread that owns its shard writes it with plain stores. The first shard lives in
//! the site itself; each other is allocated the first time a thread with that index records into
//! the site, once per site and shard, at most `SHARDS` (32) of them, and reused by every later
//! thread with that index. Reads sum the shards. Memory figures and error kinds, which only
//! memory-tracked or failing calls write, stay in one shared copy.

use crate::call::error_types::{ErrorTypeCounts, ErrorTypeValues};
use crate::call::histogram::{AtomicHistogram, HistogramCounts};
use crate::call::shard::{self, SHARDS};
pub use crate::memory::per_call::MemoryFigures;
use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering, Ordering::Relaxed};

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

/// The counters of a site that one thread writes (see the module docs). Aligned to two cache
/// lines, so two shards never share one (nor a pair the prefetcher fetches together).
#[derive(Debug)]
#[repr(align(128))]
struct Counters {
    histogram: AtomicHistogram,
    total_ns: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
    busy_ns: AtomicU64,
    async_calls: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    cancelled: AtomicU64,
    slow: AtomicU64,
    rows: AtomicU64,
    rows_in: AtomicU64,
    rows_seen: AtomicU64,
    rows_in_seen: AtomicU64,
    /// Rows out of calls that also reported rows in, so "dropped" compares like with like.
    rows_out_paired: AtomicU64,
}

impl Counters {
    const fn new() -> Self {
        Counters {
            histogram: AtomicHistogram::new(),
            total_ns: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            async_calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            rows_in: AtomicU64::new(0),
            rows_seen: AtomicU64::new(0),
            rows_in_seen: AtomicU64::new(0),
            rows_out_paired: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, rec: &CallRecord<'_>, owned: bool) {
        let d = rec.duration_ns;
        self.histogram.record_in_shard(d, owned);
        shard::add(&self.total_ns, d, owned);
        shard::max(&self.max_ns, d, owned);
        shard::min(&self.min_ns, d, owned);
        if let Some(b) = rec.busy_ns {
            shard::add(&self.busy_ns, b, owned);
            shard::add(&self.async_calls, 1, owned);
        }
        match rec.outcome {
            Outcome::Ok => {}
            Outcome::Err(_) => shard::add(&self.errors, 1, owned),
            Outcome::Panicked => shard::add(&self.panics, 1, owned),
            Outcome::Cancelled => shard::add(&self.cancelled, 1, owned),
        }
        if rec.slow {
            shard::add(&self.slow, 1, owned);
        }
        if let Some(r) = rec.rows {
            shard::add(&self.rows, r, owned);
            shard::add(&self.rows_seen, 1, owned);
        }
        if let Some(r) = rec.rows_in {
            shard::add(&self.rows_in, r, owned);
            shard::add(&self.rows_in_seen, 1, owned);
            shard::add(&self.rows_out_paired, rec.rows.unwrap_or(0), owned);
        }
    }

    fn reset(&self) {
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
        ] {
            a.store(0, Relaxed);
        }
        self.min_ns.store(u64::MAX, Relaxed);
    }
}

/// The lock-free statistics of one site (or of one site within one run).
#[derive(Debug)]
pub struct SiteStats {
    /// Shard 0, in the site itself (the only one a single-threaded program uses).
    home: Counters,
    /// Shards 1.., allocated on first use by a thread with that index; never freed while the
    /// stats live.
    more: [AtomicPtr<Counters>; SHARDS - 1],
    error_types: ErrorTypeCounts,
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

impl Drop for SiteStats {
    fn drop(&mut self) {
        for p in &mut self.more {
            let p = std::mem::replace(p.get_mut(), ptr::null_mut());
            if !p.is_null() {
                // SAFETY: every non-null pointer came from `Box::into_raw` in `grow`, and
                // `&mut self` means no reader holds a reference into it any more.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

impl SiteStats {
    /// Empty stats.
    #[must_use]
    pub const fn new() -> Self {
        SiteStats {
            home: Counters::new(),
            more: [const { AtomicPtr::new(ptr::null_mut()) }; SHARDS - 1],
            error_types: ErrorTypeCounts::new(),
            rss_start: MaxLast::new(),
            rss_end: MaxLast::new(),
            rss_peak: MaxLast::new(),
            heap_peak: MaxLast::new(),
            allocated: MaxLast::new(),
            rss_growth_max: AtomicU64::new(0),
            peak_approximate: AtomicU64::new(0),
        }
    }

    /// Shard `index`, allocated if this is its first use in these stats.
    #[inline]
    fn shard(&self, index: usize) -> &Counters {
        let Some(slot) = index.checked_sub(1).and_then(|i| self.more.get(i)) else {
            return &self.home;
        };
        let p = slot.load(Ordering::Acquire);
        if p.is_null() {
            return Self::grow(slot);
        }
        // SAFETY: non-null pointers in `more` point to boxes that live as long as `self`.
        unsafe { &*p }
    }

    /// Allocates a shard (once per site and shard index: the cold path of a thread's first call
    /// into this site).
    #[cold]
    fn grow(slot: &AtomicPtr<Counters>) -> &Counters {
        let fresh = Box::into_raw(Box::new(Counters::new()));
        match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; lives as long as the stats (freed only in `Drop`).
            Ok(_) => unsafe { &*fresh },
            Err(existing) => {
                // SAFETY: `fresh` was never published; `existing` lives as long as the stats.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*existing
                }
            }
        }
    }

    /// The shards in use.
    fn shards(&self) -> impl Iterator<Item = &Counters> {
        std::iter::once(&self.home).chain(self.more.iter().filter_map(|p| {
            // SAFETY: as in `shard`.
            unsafe { p.load(Ordering::Acquire).as_ref() }
        }))
    }

    /// Adds one finished call. Relaxed atomics only: no lock, and no allocation but a shard's,
    /// once per site and thread index.
    #[inline]
    pub fn record(&self, rec: &CallRecord<'_>) {
        let at = shard::current();
        self.shard(at.index).record(rec, at.owned);
        if let Outcome::Err(e) = rec.outcome {
            self.error_types.record(e.label());
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
        for c in self.shards() {
            c.reset();
        }
        for a in [&self.rss_growth_max, &self.peak_approximate] {
            a.store(0, Relaxed);
        }
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

    /// A plain copy of the numbers, summed over the shards.
    #[must_use]
    pub fn load(&self) -> StatsValues {
        // The extremes first: every bucket outside them is empty (a call finishing meanwhile
        // outside them is simply not in this copy yet, and in the next).
        let mut histogram = HistogramCounts::default();
        let (mut min, mut max) = (u64::MAX, 0);
        let sum = |f: fn(&Counters) -> &AtomicU64| -> u64 {
            self.shards().map(|c| f(c).load(Relaxed)).sum()
        };
        let total_ns = sum(|c| &c.total_ns);
        let busy_ns = sum(|c| &c.busy_ns);
        let async_calls = sum(|c| &c.async_calls);
        let errors = sum(|c| &c.errors);
        let panics = sum(|c| &c.panics);
        let cancelled = sum(|c| &c.cancelled);
        let slow = sum(|c| &c.slow);
        let rows = sum(|c| &c.rows);
        let rows_seen = sum(|c| &c.rows_seen);
        let rows_in = sum(|c| &c.rows_in);
        let rows_in_seen = sum(|c| &c.rows_in_seen);
        let rows_out_paired = sum(|c| &c.rows_out_paired);
        for c in self.shards() {
            let (lo, hi) = (c.min_ns.load(Relaxed), c.max_ns.load(Relaxed));
            if lo <= hi {
                histogram.merge(&c.histogram.load_between(lo, hi));
                min = min.min(lo);
                max = max.max(hi);
            }
        }
        let calls = histogram.count();
        StatsValues {
            calls,
            total_ns,
            min_ns: if calls == 0 { 0 } else { min },
            max_ns: max,
            busy_ns: (async_calls > 0).then_some(busy_ns),
            errors,
            error_types: self.error_types.load(),
            panics,
            cancelled,
            slow,
            rows: (rows_seen > 0).then_some(rows),
            rows_in: (rows_in_seen > 0).then_some(rows_in),
            rows_out_paired,
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
