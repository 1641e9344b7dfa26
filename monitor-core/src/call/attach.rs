//! Attaching finished calls to pipeline runs, and what a run records.
//!
//! # How a call finds its run
//!
//! Every monitored call, sync or async, ends in one place (`guard::complete`), which calls
//! `on_complete`. That function picks the run the call belongs to:
//!
//! 1. the run *entered on the current thread*, if any: [`RunHandle::enter`],
//!    [`RunHandle::in_scope`], or a future wrapped with [`RunHandle::instrument`] (entered for the
//!    duration of each `poll`);
//! 2. otherwise the process's *ambient* run: the run started with [`Pipeline::start`] while no
//!    other ambient run was active. Calls on any thread attach to it (std threads, scoped
//!    threads, rayon, tokio tasks), with nothing to pass around;
//! 3. otherwise none: the call still counts in the process-wide [`snapshot`](crate::report::snapshot()).
//!
//! A run made with [`PipelineBuilder::detached`] is never ambient, so two runs can go side by
//! side: each receives only the calls made inside its own `enter`/`in_scope`/`instrument`.
//!
//! # Cost
//!
//! A call outside every run pays one relaxed load of a global counter (the number of places a
//! call could attach to: the ambient run plus entered scopes and instrumented futures). Inside a
//! run it pays a thread-local read, an `arc-swap` load of the ambient run (no lock), and
//! [`SiteStats::record`] into the run's table slot for the site, indexed by the site's dense
//! [`Callsite::id`]. That slot is allocated on the site's first call in the run, once; the table
//! is bounded by [`MAX_SITE_IDS`], and a site past it is counted in
//! `sites_not_tracked` rather than recorded. Error messages are formatted only for kept errors.
//!
//! [`Pipeline::start`]: crate::Pipeline::start
//! [`PipelineBuilder::detached`]: crate::PipelineBuilder::detached
//! [`RunHandle::enter`]: crate::RunHandle::enter
//! [`RunHandle::in_scope`]: crate::RunHandle::in_scope
//! [`RunHandle::instrument`]: crate::RunHandle::instrument

use crate::base::clock;
use crate::base::slots::{BoundedLog, LazySlots};
use crate::call::callsite::{Callsite, MAX_SITE_IDS};
use crate::call::stats::{CallRecord, Outcome, SiteStats};
use arc_swap::ArcSwapOption;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock, Weak};

/// How many places a finished call could attach to right now: 1 for an ambient run, plus one per
/// entered scope and live instrumented future. Zero means [`on_complete`] returns at once.
static ATTACH_POINTS: AtomicUsize = AtomicUsize::new(0);

/// The process's ambient run, if one is active.
static AMBIENT: ArcSwapOption<RunState> = ArcSwapOption::const_empty();

thread_local! {
    /// The run entered on this thread, if any (wins over the ambient run).
    static CURRENT: RefCell<Option<Arc<RunState>>> = const { RefCell::new(None) };
}

/// Called for every finished call; records into the run it belongs to, if any.
#[inline]
pub(crate) fn on_complete(site: &'static Callsite, rec: &CallRecord<'_>) {
    if ATTACH_POINTS.load(Relaxed) == 0 {
        return;
    }
    attach(site, rec);
}

fn attach(site: &'static Callsite, rec: &CallRecord<'_>) {
    let entered = CURRENT
        .try_with(|c| match c.try_borrow() {
            Ok(current) => match current.as_ref() {
                Some(run) => {
                    run.record(site, rec);
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false);
    if !entered {
        if let Some(run) = AMBIENT.load().as_ref() {
            run.record(site, rec);
        }
    }
}

/// Every unfinished run, for the sampler's memory readings (read once per tick, written when a
/// run starts or finishes: never touched by a monitored call).
static LIVE: RwLock<Vec<Weak<RunState>>> = RwLock::new(Vec::new());

/// Registers a run for the sampler's readings.
pub(crate) fn register_live(run: &Arc<RunState>) {
    let mut live = LIVE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    live.retain(|w| w.strong_count() > 0);
    live.push(Arc::downgrade(run));
}

/// Removes a finished run from the sampler's list.
pub(crate) fn unregister_live(run: &Arc<RunState>) {
    let mut live = LIVE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    live.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(run)));
}

/// The sampler's task (registered with [`crate::background::sampler::register_task`]): adds an RSS (and heap) reading to every
/// unfinished run's memory timeline. A run keeps a reading when at least 1/1000 of its elapsed
/// time (and at least one interval) has passed since its last one, so a long run's timeline
/// stays within its bound: about 1000 readings per tenfold of run time.
pub(crate) fn sample(tick: &crate::background::sampler::Tick) {
    let live = LIVE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if live.is_empty() {
        return;
    }
    let Some(rss) = tick.rss() else {
        return;
    };
    let heap = crate::memory::alloc::live();
    for run in live.iter().filter_map(Weak::upgrade) {
        let at_ns = run.offset_ns(tick.now_ticks);
        let last = run.last_sample_ns.load(Relaxed);
        if last != u64::MAX && at_ns.saturating_sub(last) < at_ns / 1000 {
            continue;
        }
        run.last_sample_ns.store(at_ns, Relaxed);
        run.record_memory(tick.now_ticks, rss, heap);
    }
}

/// The run a call finishing on this thread now would attach to: the entered run, else the
/// ambient one.
pub(crate) fn current() -> Option<Arc<RunState>> {
    if ATTACH_POINTS.load(Relaxed) == 0 {
        return None;
    }
    CURRENT
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
        .or_else(|| AMBIENT.load_full())
}

/// Makes `run` the ambient run if there is none; returns whether it did.
pub(crate) fn install_ambient(run: &Arc<RunState>) -> bool {
    let previous = AMBIENT.compare_and_swap(std::ptr::null::<RunState>(), Some(Arc::clone(run)));
    let installed = previous.is_none();
    if installed {
        ATTACH_POINTS.fetch_add(1, Relaxed);
    }
    installed
}

/// Removes `run` from the ambient slot if it is still there.
pub(crate) fn uninstall_ambient(run: &Arc<RunState>) {
    let previous = AMBIENT.compare_and_swap(Arc::as_ptr(run), None::<Arc<RunState>>);
    if previous
        .as_ref()
        .is_some_and(|p| std::ptr::eq(Arc::as_ptr(p), Arc::as_ptr(run)))
    {
        ATTACH_POINTS.fetch_sub(1, Relaxed);
    }
}

/// Makes `run` the current thread's run; returns the previous one, to restore with [`exit`].
pub(crate) fn enter(run: Arc<RunState>) -> Option<Arc<RunState>> {
    ATTACH_POINTS.fetch_add(1, Relaxed);
    CURRENT
        .try_with(|c| c.try_borrow_mut().ok().and_then(|mut c| c.replace(run)))
        .ok()
        .flatten()
}

/// Restores the thread's previous run after [`enter`].
pub(crate) fn exit(previous: Option<Arc<RunState>>) {
    let _ = CURRENT.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            *c = previous;
        }
    });
    ATTACH_POINTS.fetch_sub(1, Relaxed);
}

/// Counts a long-lived attach point (an instrumented future) for the fast-path check.
pub(crate) fn hold_attach_point() {
    ATTACH_POINTS.fetch_add(1, Relaxed);
}

/// Releases a point taken with [`hold_attach_point`].
pub(crate) fn release_attach_point() {
    ATTACH_POINTS.fetch_sub(1, Relaxed);
}

/// Bounds on what one run keeps. Defaults: 100 errors, 10 000 timeline calls, 20 000 memory points,
/// 10 000 chunks, every site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Errors and panics kept with their message (the rest are counted).
    pub max_errors: usize,
    /// Step and query calls kept on the timeline (the rest are counted; every call still counts
    /// in its site's stats).
    pub max_spans: usize,
    /// Memory readings kept for the memory-over-time chart (the rest are counted).
    pub max_memory_points: usize,
    /// Chunks of chunked processing kept with their own figures (the rest are counted).
    pub max_chunks: usize,
    /// Distinct sites the run tracks, by dense id; at most [`MAX_SITE_IDS`].
    pub max_sites: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_errors: 100,
            max_spans: 10_000,
            max_memory_points: 20_000,
            max_chunks: 10_000,
            max_sites: usize::try_from(MAX_SITE_IDS).unwrap_or(usize::MAX),
        }
    }
}

/// One site's numbers within one run.
pub(crate) struct RunSite {
    pub(crate) site: &'static Callsite,
    pub(crate) stats: SiteStats,
    /// Clock ticks at the start of the site's earliest call in the run (orders the report).
    pub(crate) first_start: AtomicU64,
}

/// A kept error or panic.
#[derive(Debug)]
pub(crate) struct ErrorEntry {
    pub(crate) site: &'static Callsite,
    pub(crate) panicked: bool,
    /// The returned error's type (`None` for a panic).
    pub(crate) error_type: Option<&'static str>,
    pub(crate) message: String,
    /// Nanoseconds from the run's start to the call's end.
    pub(crate) at_ns: u64,
}

/// A kept step or query call, for the timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanEntry {
    pub(crate) site: &'static Callsite,
    pub(crate) start_ns: u64,
    pub(crate) duration_ns: u64,
    pub(crate) outcome: SpanOutcome,
    pub(crate) rows: Option<u64>,
    pub(crate) rss_peak: Option<u64>,
    pub(crate) heap_peak: Option<u64>,
}

/// How a kept call ended (an owned, copyable form of [`Outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanOutcome {
    Ok,
    Err,
    Panicked,
    Cancelled,
}

/// Where a memory reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointSource {
    RunStart,
    CallStart,
    CallEnd,
    Sample,
    RunEnd,
}

/// One RSS (and heap, when tracked) reading at an offset from the run's start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryPoint {
    pub(crate) at_ns: u64,
    pub(crate) rss: u64,
    pub(crate) heap: Option<u64>,
    pub(crate) source: PointSource,
}

/// Figures of one chunk of chunked processing.
#[derive(Debug, Clone)]
pub(crate) struct ChunkEntry {
    pub(crate) name: String,
    pub(crate) index: u64,
    pub(crate) first_line: u64,
    pub(crate) rows_in: u64,
    pub(crate) rows_out: u64,
    pub(crate) skipped: u64,
    pub(crate) start_ns: u64,
    pub(crate) duration_ns: u64,
    pub(crate) rss_peak: Option<u64>,
}

/// Everything one run records. Shared (`Arc`) between the [`Run`](crate::Run) guard, handles,
/// entered scopes and the ambient slot.
pub(crate) struct RunState {
    pub(crate) name: String,
    pub(crate) run_id: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) started_unix_ms: u64,
    pub(crate) start_ticks: u64,
    pub(crate) rss_start: Option<u64>,
    pub(crate) sites: LazySlots<Box<RunSite>>,
    pub(crate) sites_not_tracked: AtomicU64,
    pub(crate) errors: BoundedLog<ErrorEntry>,
    pub(crate) spans: BoundedLog<SpanEntry>,
    pub(crate) memory: BoundedLog<MemoryPoint>,
    pub(crate) chunks: BoundedLog<ChunkEntry>,
    pub(crate) closed: AtomicBool,
    pub(crate) failure: OnceLock<String>,
    /// Offset of the sampler's last reading kept in `memory` (`u64::MAX`: none yet).
    pub(crate) last_sample_ns: AtomicU64,
    /// Monitor's own-cost counters when the run started; the report has what was added since.
    pub(crate) own_cost_at_start: crate::base::own_cost::Totals,
}

impl std::fmt::Debug for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("name", &self.name)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl RunState {
    pub(crate) fn new(
        name: String,
        run_id: String,
        labels: BTreeMap<String, String>,
        limits: RunLimits,
    ) -> Self {
        let max_sites = usize::try_from(MAX_SITE_IDS)
            .unwrap_or(usize::MAX)
            .min(limits.max_sites);
        RunState {
            name,
            run_id,
            labels,
            started_unix_ms: clock::unix_millis(),
            rss_start: crate::base::rss::current_rss(),
            sites: LazySlots::new(max_sites),
            sites_not_tracked: AtomicU64::new(0),
            errors: BoundedLog::new(limits.max_errors),
            spans: BoundedLog::new(limits.max_spans),
            memory: BoundedLog::counted(limits.max_memory_points),
            chunks: BoundedLog::counted(limits.max_chunks),
            closed: AtomicBool::new(false),
            failure: OnceLock::new(),
            last_sample_ns: AtomicU64::new(u64::MAX),
            own_cost_at_start: crate::base::own_cost::totals(),
            start_ticks: clock::now_ticks(),
        }
    }

    /// Nanoseconds from the run's start to `ticks`.
    #[inline]
    pub(crate) fn offset_ns(&self, ticks: u64) -> u64 {
        clock::nanos_between(self.start_ticks, ticks)
    }

    /// The run's table entry for `site`, allocated on the site's first call in this run.
    #[inline]
    fn site_entry(&self, site: &'static Callsite) -> Option<&RunSite> {
        let id = usize::try_from(site.id()?).ok()?;
        let slot = self.sites.slot(id)?;
        Some(slot.get_or_init(|| {
            Box::new(RunSite {
                site,
                stats: SiteStats::new(),
                first_start: AtomicU64::new(u64::MAX),
            })
        }))
    }

    /// Adds one finished call to this run.
    pub(crate) fn record(&self, site: &'static Callsite, rec: &CallRecord<'_>) {
        if self.closed.load(Relaxed) {
            return;
        }
        let Some(entry) = self.site_entry(site) else {
            self.sites_not_tracked.fetch_add(1, Relaxed);
            return;
        };
        entry.stats.record(rec);
        if rec.start_ticks < entry.first_start.load(Relaxed) {
            entry.first_start.fetch_min(rec.start_ticks, Relaxed);
        }
        let start_ns = self.offset_ns(rec.start_ticks);
        let end_ns = start_ns.saturating_add(rec.duration_ns);
        let outcome = match rec.outcome {
            Outcome::Ok => SpanOutcome::Ok,
            Outcome::Err(_) => SpanOutcome::Err,
            Outcome::Panicked => SpanOutcome::Panicked,
            Outcome::Cancelled => SpanOutcome::Cancelled,
        };
        match rec.outcome {
            Outcome::Err(e) => {
                self.errors.push_with(|| ErrorEntry {
                    site,
                    panicked: false,
                    error_type: Some(e.label()),
                    message: crate::redact::error_message(site.metadata().kind, &e),
                    at_ns: end_ns,
                });
            }
            Outcome::Panicked => {
                self.errors.push_with(|| ErrorEntry {
                    site,
                    panicked: true,
                    error_type: None,
                    message: crate::call::events::panic_of_call(
                        site.metadata().kind,
                        rec.start_ticks,
                    )
                    .unwrap_or_else(|| "panicked".to_owned()),
                    at_ns: end_ns,
                });
            }
            Outcome::Ok | Outcome::Cancelled => {}
        }
        let m = &rec.memory;
        self.spans.push_with(|| SpanEntry {
            site,
            start_ns,
            duration_ns: rec.duration_ns,
            outcome,
            rows: rec.rows,
            rss_peak: m.rss_peak,
            heap_peak: m.heap_peak,
        });
        if let (Some(start), Some(end)) = (m.rss_start, m.rss_end) {
            self.memory.push_with(|| MemoryPoint {
                at_ns: start_ns,
                rss: start,
                heap: None,
                source: PointSource::CallStart,
            });
            self.memory.push_with(|| MemoryPoint {
                at_ns: end_ns,
                rss: end,
                heap: None,
                source: PointSource::CallEnd,
            });
        }
    }

    /// Adds one chunk's figures.
    #[cfg(feature = "chunked")]
    pub(crate) fn record_chunk(&self, entry: ChunkEntry) {
        if !self.closed.load(Relaxed) {
            self.chunks.push_with(|| entry);
        }
    }

    /// Adds a memory reading taken at `ticks` (from a sampler, or a chunk boundary).
    pub(crate) fn record_memory(&self, ticks: u64, rss: u64, heap: Option<u64>) {
        if self.closed.load(Relaxed) {
            return;
        }
        self.memory.push_with(|| MemoryPoint {
            at_ns: self.offset_ns(ticks),
            rss,
            heap,
            source: PointSource::Sample,
        });
    }
}
