//! Pipeline runs: [`Pipeline::start`] begins one, the [`Run`] guard ends it with a [`Report`].
//!
//! ```
//! use monitor_core::Pipeline;
//!
//! let run = Pipeline::start("nightly_etl");
//! // ... call #[monitor_step] / #[monitor_query] functions, on any thread ...
//! let report = run.finish();
//! assert_eq!(report.pipeline, "nightly_etl");
//! ```
//!
//! How calls attach to runs is described in the [`crate::call::attach`] module.

use crate::base::clock::ms;
use crate::call::attach::{self as run, PointSource, RunLimits, RunState, SpanOutcome};
use crate::report::snapshot::SiteSnapshot;
use crate::report::{
    CallSpan, ChunkReport, DurationHistogram, ErrorOutcome, ErrorReport, FleetWorker, MemorySample,
    OwnCost, Report, RunMemory, RunStatus, SiteReport, Timeline, SCHEMA,
};
use crate::Kind;
use arc_swap::ArcSwapOption;
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Entry point for pipeline runs.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline;

impl Pipeline {
    /// Starts a run named `name` and makes it the process's ambient run, so that every monitored
    /// call finishing from now on, on any thread, attaches to it. If another ambient run is
    /// already active, this run starts detached instead (see [`Run::is_ambient`]) and a warning
    /// is logged.
    ///
    /// With `MONITOR_RUN_ID` set, the run joins that fleet run instead (as
    /// [`Pipeline::join`] does, the worker's id from `MONITOR_WORKER_ID`, its expected size from
    /// `MONITOR_EXPECTED_WORKERS`): its report is this worker's part of the run, written to the
    /// history as it finishes (see [`crate::history::fleet`]).
    pub fn start(name: impl Into<String>) -> Run {
        Self::builder(name).start()
    }

    /// Starts this process's part of the fleet run `run_id`: one logical run across many worker
    /// processes (a Kubernetes indexed Job, a Slurm array, a fleet of processes), each handling
    /// a shard. The worker's id is `MONITOR_WORKER_ID`, else `<host>-<pid>` (set it to the shard
    /// index so that each worker is compared with the same shard's earlier runs); see
    /// [`PipelineBuilder::join`] for more options.
    ///
    /// # Errors
    /// A run id that is not 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:`.
    pub fn join(name: impl Into<String>, run_id: impl Into<String>) -> Result<Run, FleetIdError> {
        Ok(Self::builder(name).join(run_id)?.start())
    }

    /// A builder for a run with options: detached, labels, bounds.
    pub fn builder(name: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder {
            name: name.into(),
            detached: false,
            labels: BTreeMap::new(),
            limits: RunLimits::default(),
            run_id: None,
            fleet: None,
        }
    }
}

/// A fleet run id or worker id that cannot be used (see [`crate::config::check_fleet_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetIdError {
    what: &'static str,
    value: String,
    expected: String,
}

impl FleetIdError {
    fn check(what: &'static str, value: String) -> Result<String, FleetIdError> {
        match crate::config::check_fleet_id(&value) {
            Ok(()) => Ok(value),
            Err(expected) => Err(FleetIdError {
                what,
                value,
                expected,
            }),
        }
    }

    /// The value refused.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Display for FleetIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} is not valid: expected {}",
            self.what, self.value, self.expected
        )
    }
}

impl std::error::Error for FleetIdError {}

/// The fleet run a worker joins.
#[derive(Debug, Clone)]
struct Joined {
    run_id: String,
    worker_id: Option<String>,
    expected_workers: Option<u32>,
}

/// `<host>-<pid>`, the worker id when none is given, cut to what an id may hold.
fn default_worker_id() -> String {
    let host = crate::base::host::name().unwrap_or("worker");
    let mut id: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let pid = format!("-{}", std::process::id());
    id.truncate(crate::config::MAX_FLEET_ID_LEN - pid.len());
    id + &pid
}

/// Options for a run; [`PipelineBuilder::start`] begins it.
#[derive(Debug, Clone)]
#[must_use]
pub struct PipelineBuilder {
    name: String,
    detached: bool,
    labels: BTreeMap<String, String>,
    limits: RunLimits,
    run_id: Option<String>,
    fleet: Option<Joined>,
}

impl PipelineBuilder {
    /// Never make this run ambient: calls attach to it only inside [`RunHandle::enter`],
    /// [`RunHandle::in_scope`] and futures wrapped with [`RunHandle::instrument`]. Use this to
    /// run two pipelines side by side in one process.
    pub fn detached(mut self) -> Self {
        self.detached = true;
        self
    }

    /// Adds a label to the report (a version tag, an environment...).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the run id instead of generating one. `MONITOR_RUN_ID` is then ignored: the run is
    /// this process's own.
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Makes this run one worker's part of the fleet run `run_id` (whatever `MONITOR_RUN_ID`
    /// says): the report is this worker's part, written to the history's fleet parts as the run
    /// finishes and compared with the earlier runs of the same worker id; the whole run's report
    /// is merged from the parts ([`crate::history::fleet::fleet_report`], `monitor report --run
    /// ID`). The worker id is [`worker_id`](Self::worker_id), else `MONITOR_WORKER_ID`, else
    /// `<host>-<pid>`.
    ///
    /// # Errors
    /// A run id that is not 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:`.
    pub fn join(mut self, run_id: impl Into<String>) -> Result<Self, FleetIdError> {
        let run_id = FleetIdError::check("fleet run id", run_id.into())?;
        self.joined().run_id = run_id;
        Ok(self)
    }

    /// This worker's id within the fleet run (with [`join`](Self::join) or `MONITOR_RUN_ID`):
    /// a shard index, a pod name. Each worker is compared with the earlier runs of the same id.
    /// Without a run id to join (neither [`join`](Self::join) nor `MONITOR_RUN_ID`) the run is
    /// the process's own and the worker id is not used.
    ///
    /// # Errors
    /// An id that is not 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:`.
    pub fn worker_id(mut self, id: impl Into<String>) -> Result<Self, FleetIdError> {
        let id = FleetIdError::check("worker id", id.into())?;
        self.joined().worker_id = Some(id);
        Ok(self)
    }

    /// How many workers the fleet run expects: its report then names those that did not report.
    pub fn expected_workers(mut self, n: u32) -> Self {
        self.joined().expected_workers = (n > 0).then_some(n);
        self
    }

    /// How many errors and panics to keep with their message (default 100; the rest are
    /// counted).
    pub fn max_errors(mut self, n: usize) -> Self {
        self.limits.max_errors = n;
        self
    }

    /// How many step and query calls to keep on the timeline (default 10 000).
    pub fn max_spans(mut self, n: usize) -> Self {
        self.limits.max_spans = n;
        self
    }

    /// How many memory readings to keep (default 20 000).
    pub fn max_memory_points(mut self, n: usize) -> Self {
        self.limits.max_memory_points = n;
        self
    }

    /// How many distinct steps and queries the run tracks (default and maximum:
    /// [`MAX_SITE_IDS`](crate::call::callsite::MAX_SITE_IDS)); calls of further sites are counted in
    /// the report's `sites_not_tracked`.
    pub fn max_sites(mut self, n: usize) -> Self {
        self.limits.max_sites = n;
        self
    }

    /// How many chunks of chunked processing to keep with their figures (default 10 000).
    pub fn max_chunks(mut self, n: usize) -> Self {
        self.limits.max_chunks = n;
        self
    }

    /// The fleet options, started empty (a run id left empty means `MONITOR_RUN_ID`'s).
    fn joined(&mut self) -> &mut Joined {
        self.fleet.get_or_insert(Joined {
            run_id: String::new(),
            worker_id: None,
            expected_workers: None,
        })
    }

    /// Starts the run.
    pub fn start(self) -> Run {
        crate::start_up();
        // A fleet run: joined in code, else through MONITOR_RUN_ID (unless the program chose
        // its own run id). The worker and expected size from code, else the environment.
        let joined = match self.fleet {
            Some(j) if !j.run_id.is_empty() => Some(j),
            j if self.run_id.is_none() => crate::config::run_id().map(|run_id| Joined {
                run_id,
                worker_id: j.as_ref().and_then(|j| j.worker_id.clone()),
                expected_workers: j.and_then(|j| j.expected_workers),
            }),
            _ => None,
        };
        let (run_id, worker) = match joined {
            Some(j) => {
                let worker = FleetWorker {
                    id: j
                        .worker_id
                        .or_else(crate::config::worker_id)
                        .unwrap_or_else(default_worker_id),
                    expected_workers: j.expected_workers.or_else(|| {
                        u32::try_from(crate::config::expected_workers())
                            .ok()
                            .filter(|&n| n > 0)
                    }),
                };
                (j.run_id, Some(worker))
            }
            None => (self.run_id.unwrap_or_else(new_run_id), None),
        };
        let state = Arc::new(RunState::new(self.name, run_id, self.labels, self.limits));
        run::register_live(&state);
        let ambient = if self.detached {
            false
        } else {
            let installed = run::install_ambient(&state);
            if !installed {
                crate::call::events::surfaced(|| {
                    tracing::warn!(
                        target: "monitor",
                        pipeline = %state.name,
                        run_id = %state.run_id,
                        "another pipeline run is already ambient; this run starts detached \
                         (calls attach to it only inside run.enter(), in_scope() or instrument())"
                    );
                });
            }
            installed
        };
        tracing::info!(
            target: "monitor",
            pipeline = %state.name,
            run_id = %state.run_id,
            worker = worker.as_ref().map(|w| w.id.as_str()),
            ambient,
            "pipeline started"
        );
        // The exporters label the step and query series with this pipeline; OpenLineage queues
        // the run's START event (nothing when it is off).
        super::listeners::run_started(&state);
        Run {
            handle: RunHandle { state },
            ambient,
            finished: false,
            worker,
        }
    }
}

/// A UUIDv7: unique, sorted by start time (as OpenLineage asks), safe in file names, and the
/// run's OpenLineage id.
pub(crate) fn new_run_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A running pipeline. [`Run::finish`] ends it and returns its [`Report`]; dropping the guard
/// without calling it finishes the run too (status `failed` if the thread is panicking), hands
/// the report to the [sinks](super::listeners::add_report_sink) and keeps it for [`last_report`].
#[derive(Debug)]
#[must_use = "dropping the run finishes it at once"]
pub struct Run {
    handle: RunHandle,
    ambient: bool,
    finished: bool,
    /// The worker this run is, when it is one part of a fleet run.
    worker: Option<FleetWorker>,
}

impl Run {
    /// A cloneable, `Send` handle to this run, for entering it on other threads and tasks.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// The pipeline's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.handle.state.name
    }

    /// This run's id (also in the report).
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.handle.state.run_id
    }

    /// This worker's id, when the run is one part of a fleet run.
    #[must_use]
    pub fn worker_id(&self) -> Option<&str> {
        self.worker.as_ref().map(|w| w.id.as_str())
    }

    /// Whether this run is the process's ambient run (calls on every thread attach to it).
    #[must_use]
    pub fn is_ambient(&self) -> bool {
        self.ambient
    }

    /// See [`RunHandle::enter`].
    pub fn enter(&self) -> EnteredRun {
        self.handle.enter()
    }

    /// See [`RunHandle::in_scope`].
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.handle.in_scope(f)
    }

    /// See [`RunHandle::instrument`].
    pub fn instrument<F: Future>(&self, fut: F) -> Instrumented<F> {
        self.handle.instrument(fut)
    }

    /// Marks the run failed with a reason; it still finishes normally. The first reason wins.
    pub fn fail(&self, reason: impl Into<String>) {
        let _ = self.handle.state.failure.set(reason.into());
    }

    /// Finishes the run and returns its report.
    pub fn finish(mut self) -> Report {
        self.close(false)
    }

    /// Finishes the run with the pipeline's result: an `Err` marks it failed with the error's
    /// `Display` as the reason.
    pub fn finish_with<T, E: std::fmt::Display>(self, result: &Result<T, E>) -> Report {
        if let Err(e) = result {
            self.fail(e.to_string());
        }
        self.finish()
    }

    fn close(&mut self, panicking: bool) -> Report {
        self.finished = true;
        let state = &self.handle.state;
        if self.ambient {
            run::uninstall_ambient(state);
        }
        run::unregister_live(state);
        let end_ticks = crate::base::clock::now_ticks();
        state.closed.store(true, Relaxed);
        if panicking {
            let _ = state.failure.set("the pipeline panicked".to_owned());
        }
        // A fleet worker's part carries each site's histogram, so the parts merge exactly.
        let mut report = build_report(state, end_ticks, self.worker.is_some());
        report.worker.clone_from(&self.worker);
        // What the listeners receive counts the building; the report returned, the listeners too.
        let finish_ms = || {
            ms(crate::base::clock::nanos_between(
                end_ticks,
                crate::base::clock::now_ticks(),
            ))
        };
        report.own_cost.finish_ms = finish_ms();
        // The listeners' warnings (a full disk, a gateway down) reach stderr when the program
        // installed no subscriber.
        crate::config::stderr_events::surfaced(|| {
            // The history first (it adds the verdict), then the exporters, OpenLineage and the
            // program's sinks: one list, in the order they joined.
            super::listeners::run_finished(&mut report);
            tracing::info!(
                target: "monitor",
                pipeline = %report.pipeline,
                run_id = %report.run_id,
                status = report.status.as_str(),
                duration_ms = report.duration_ms,
                steps = report.steps.len(),
                queries = report.queries.len(),
                errors = report.errors.len() as u64 + report.errors_not_kept,
                "pipeline finished"
            );
        });
        report.own_cost.finish_ms = finish_ms();
        LAST_REPORT.store(Some(Arc::new(report.clone())));
        report
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.close(std::thread::panicking());
        }
    }
}

/// A cloneable, `Send + Sync` handle to a run: enter it on any thread or task.
#[derive(Debug, Clone)]
pub struct RunHandle {
    state: Arc<RunState>,
}

impl RunHandle {
    /// The run a call finishing on this thread right now would attach to (the entered run,
    /// else the ambient one), if any. Handy to pass the run on to threads a step spawns.
    #[must_use]
    pub fn current() -> Option<RunHandle> {
        run::current().map(|state| RunHandle { state })
    }

    /// Makes this run the current thread's run until the returned guard is dropped (the previous
    /// one is restored then). Calls finishing on this thread meanwhile attach to this run, even
    /// when another run is ambient. The guard is not `Send`: it belongs to this thread.
    pub fn enter(&self) -> EnteredRun {
        let previous = run::enter(Arc::clone(&self.state));
        EnteredRun {
            previous: Some(previous),
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this run entered on the current thread.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// Wraps a future so that this run is entered during each of its polls, wherever it is
    /// polled (a tokio task moving between worker threads included).
    pub fn instrument<F: Future>(&self, fut: F) -> Instrumented<F> {
        run::hold_attach_point();
        Instrumented {
            inner: fut,
            run: AttachPoint {
                handle: self.clone(),
            },
        }
    }

    /// The pipeline's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The run's id.
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.state.run_id
    }

    /// Adds an RSS (and heap) reading taken now to the run's memory timeline.
    pub fn record_memory_now(&self) {
        if let Some(rss) = crate::base::rss::current_rss() {
            self.state
                .record_memory(crate::base::clock::now_ticks(), rss, None);
        }
    }
}

/// The guard of [`RunHandle::enter`]; restores the thread's previous run on drop.
#[derive(Debug)]
#[must_use = "the run is entered only while this guard lives"]
pub struct EnteredRun {
    previous: Option<Option<Arc<RunState>>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnteredRun {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            run::exit(previous);
        }
    }
}

/// Keeps the fast-path counter raised while an instrumented future lives.
#[derive(Debug)]
struct AttachPoint {
    handle: RunHandle,
}

impl Drop for AttachPoint {
    fn drop(&mut self) {
        run::release_attach_point();
    }
}

pin_project_lite::pin_project! {
    /// A future that enters its run during each poll; made by [`RunHandle::instrument`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        run: AttachPoint,
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.run.handle.enter();
        this.inner.poll(cx)
    }
}

static LAST_REPORT: ArcSwapOption<Report> = ArcSwapOption::const_empty();

/// The report of the most recently finished run in this process, if any.
#[must_use]
pub fn last_report() -> Option<Arc<Report>> {
    LAST_REPORT.load_full()
}

fn rfc3339(unix_ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms);
    humantime::format_rfc3339_millis(t).to_string()
}

fn site_report(entry: &run::RunSite, started_unix_ms: u64, histogram: bool) -> SiteReport {
    let v = entry.stats.load();
    let site = SiteSnapshot::from_values(entry.site.metadata(), &v);
    let rows_per_sec = match v.rows {
        Some(rows) if v.total_ns > 0 => {
            #[allow(clippy::cast_precision_loss)]
            let r = rows as f64 / (v.total_ns as f64 / 1e9);
            Some(r)
        }
        _ => None,
    };
    SiteReport {
        site,
        rows_per_sec,
        rows_dropped: v.rows_in.map(|i| i.saturating_sub(v.rows_out_paired)),
        plans: crate::query::explain_site::plans_of(entry.site)
            .into_iter()
            .filter(|p| p.captured_at_unix_ms >= started_unix_ms)
            .collect(),
        server: None,
        baseline: None,
        duration_histogram: histogram.then(|| DurationHistogram {
            total_ns: v.total_ns,
            min_ns: v.min_ns,
            max_ns: v.max_ns,
            buckets: v.histogram.clone(),
        }),
    }
}

fn build_report(state: &RunState, end_ticks: u64, histograms: bool) -> Report {
    let duration_ns = state.offset_ns(end_ticks);
    let mut sites: Vec<(u64, SiteReport)> = state
        .sites
        .iter()
        .map(|entry| {
            (
                entry.first_start.load(Relaxed),
                site_report(entry, state.started_unix_ms, histograms),
            )
        })
        .filter(|(_, s)| s.site.calls > 0)
        .collect();
    sites.sort_by_key(|(first, _)| *first);
    let (mut steps, mut queries) = (Vec::new(), Vec::new());
    for (_, s) in sites {
        match s.site.kind {
            Kind::Step => steps.push(s),
            Kind::Query => queries.push(s),
        }
    }

    let errors: Vec<ErrorReport> = state
        .errors
        .iter()
        .map(|e| {
            let meta = e.site.metadata();
            ErrorReport {
                site: meta.name.to_owned(),
                kind: meta.kind,
                outcome: if e.panicked {
                    ErrorOutcome::Panic
                } else {
                    ErrorOutcome::Error
                },
                error_type: e.error_type.map(str::to_owned),
                message: e.message.clone(),
                at_ms: ms(e.at_ns),
                time: rfc3339(state.started_unix_ms.saturating_add(e.at_ns / 1_000_000)),
                worker: None,
            }
        })
        .collect();

    let spans: Vec<CallSpan> = state
        .spans
        .iter()
        .map(|s| CallSpan {
            name: s.site.metadata().name.to_owned(),
            kind: s.site.metadata().kind,
            start_ms: ms(s.start_ns),
            duration_ms: ms(s.duration_ns),
            outcome: match s.outcome {
                SpanOutcome::Ok => "ok",
                SpanOutcome::Err => "error",
                SpanOutcome::Panicked => "panic",
                SpanOutcome::Cancelled => "cancelled",
            }
            .to_owned(),
            rows: s.rows,
            rss_peak: s.rss_peak,
            heap_peak: s.heap_peak,
        })
        .collect();

    let rss_end = crate::base::rss::current_rss();
    let run_start = state.rss_start.map(|rss| run::MemoryPoint {
        at_ns: 0,
        rss,
        heap: None,
        source: PointSource::RunStart,
    });
    let run_end = rss_end.map(|rss| run::MemoryPoint {
        at_ns: duration_ns,
        rss,
        heap: None,
        source: PointSource::RunEnd,
    });
    let mut points: Vec<&run::MemoryPoint> = run_start
        .iter()
        .chain(state.memory.iter())
        .chain(run_end.iter())
        .collect();
    points.sort_by_key(|p| p.at_ns);
    let memory_samples: Vec<MemorySample> = points
        .iter()
        .map(|p| MemorySample {
            at_ms: ms(p.at_ns),
            rss: p.rss,
            heap: p.heap,
            source: match p.source {
                PointSource::RunStart => "run_start",
                PointSource::CallStart => "call_start",
                PointSource::CallEnd => "call_end",
                PointSource::Sample => "sample",
                PointSource::RunEnd => "run_end",
            }
            .to_owned(),
        })
        .collect();

    let chunks: Vec<ChunkReport> = state
        .chunks
        .iter()
        .map(|c| ChunkReport {
            name: c.name.clone(),
            index: c.index,
            first_line: c.first_line,
            rows_in: c.rows_in,
            rows_out: c.rows_out,
            skipped: c.skipped,
            start_ms: ms(c.start_ns),
            duration_ms: ms(c.duration_ns),
            rss_peak: c.rss_peak,
        })
        .collect();

    let rss_peak = [state.rss_start, rss_end]
        .into_iter()
        .chain(points.iter().map(|p| Some(p.rss)))
        .chain(spans.iter().map(|s| s.rss_peak))
        .chain(
            steps
                .iter()
                .chain(&queries)
                .map(|s| s.site.memory.rss_peak.map(|m| m.max)),
        )
        .chain(chunks.iter().map(|c| c.rss_peak))
        .flatten()
        .max();
    let heap_peak = points
        .iter()
        .map(|p| p.heap)
        .chain(
            steps
                .iter()
                .chain(&queries)
                .map(|s| s.site.memory.heap_peak.map(|m| m.max)),
        )
        .flatten()
        .max();

    // The call and error logs do not count what they drop (a full log costs a call one load);
    // the per-site counts know the totals.
    let all_sites = || steps.iter().chain(&queries);
    let total_calls: u64 = all_sites().map(|s| s.site.calls).sum();
    let total_errors: u64 = all_sites().map(|s| s.site.errors + s.site.panics).sum();
    let calls_not_kept = total_calls.saturating_sub(spans.len() as u64);
    let errors_not_kept = total_errors.saturating_sub(errors.len() as u64);

    let failure = state.failure.get().cloned();
    Report {
        schema: SCHEMA.to_owned(),
        pipeline: state.name.clone(),
        run_id: state.run_id.clone(),
        started_at: rfc3339(state.started_unix_ms),
        started_at_unix_ms: state.started_unix_ms,
        duration_ms: ms(duration_ns),
        status: if failure.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Ok
        },
        failure,
        host: crate::base::host::name().map(str::to_owned),
        labels: state.labels.clone(),
        steps,
        queries,
        errors,
        errors_not_kept,
        memory: RunMemory {
            rss_start: state.rss_start,
            rss_end,
            rss_peak,
            heap_peak,
        },
        timeline: Timeline {
            calls: spans,
            calls_not_kept,
            memory: memory_samples,
            memory_not_kept: state.memory.not_kept(),
        },
        chunks,
        chunks_not_kept: state.chunks.not_kept(),
        sites_not_tracked: state.sites_not_tracked.load(Relaxed),
        regressions: Vec::new(),
        improvements: Vec::new(),
        worker: None,
        fleet: None,
        own_cost: OwnCost::from_totals(
            &crate::base::own_cost::totals().since(&state.own_cost_at_start),
        ),
    }
}
