//! What a finished pipeline run reports: the [`Report`] and its versioned JSON schema.
//!
//! The JSON form is `monitor.report/v1`, documented field by field in `docs/report-schema.md`.
//! Within `v1` fields are only ever *added*, and every field added after the first release is
//! optional (absent when it has nothing to say), so a reader written against an older `v1` keeps
//! working; a change that would break such a reader gets a new schema name.
//!
//! May import: `base`, `config`, `site`, `background`, `call`, `query`.

pub mod baseline;
mod file;
mod fit;
pub mod fleet;
mod html;
mod markdown;
mod own_cost;
mod text;
pub use file::{write_file, Format, WriteError};
pub use fit::{text_width, DEFAULT_WIDTH, REPORT_WIDTH_VAR, WIDTH_RANGE};
pub use fleet::{DurationHistogram, FleetSummary, FleetWorker, Straggler, WorkerSummary};
pub use own_cost::OwnCost;
pub mod snapshot;
pub mod units;

use crate::report::snapshot::SiteSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The schema name every report carries in its `schema` field.
pub const SCHEMA: &str = "monitor.report/v1";

/// The report of one pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The pipeline's name, as given to [`Pipeline::start`](crate::Pipeline::start).
    pub pipeline: String,
    /// Unique per run: a UUIDv7 (time-ordered), unless the program chose its own with
    /// [`PipelineBuilder::run_id`](crate::PipelineBuilder::run_id); the run's OpenLineage `runId`
    /// (see [`crate::lineage::run_uuid`]).
    pub run_id: String,
    /// Start time, RFC 3339 in UTC with milliseconds (`2026-11-24T16:05:12.345Z`).
    pub started_at: String,
    /// Start time as milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Wall time from start to finish.
    pub duration_ms: f64,
    /// `ok` or `failed`.
    pub status: RunStatus,
    /// Why the run failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The machine the run ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Labels given with [`PipelineBuilder::label`](crate::PipelineBuilder::label) (a version
    /// tag, an environment, a tenant...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Every step called during the run, in the order of its first call.
    pub steps: Vec<SiteReport>,
    /// Every query called during the run, in the order of its first call.
    pub queries: Vec<SiteReport>,
    /// The run's errors and panics, first ones first (bounded; see `errors_not_kept`).
    pub errors: Vec<ErrorReport>,
    /// Errors and panics past the bound, counted but not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors_not_kept: u64,
    /// Process memory over the run.
    #[serde(default)]
    pub memory: RunMemory,
    /// Step and query calls and memory readings over time (for the HTML Gantt chart).
    #[serde(default)]
    pub timeline: Timeline,
    /// Per-chunk figures of chunked processing (bounded; see `chunks_not_kept`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkReport>,
    /// Chunks past the bound, counted but not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chunks_not_kept: u64,
    /// Calls of sites the run's table had no room for (counted in the process-wide snapshot
    /// only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sites_not_tracked: u64,
    /// Regressions against the history baseline (filled by the history module; empty when
    /// nothing regressed or no baseline was computed). A CI gate fails on a non-empty list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<Regression>,
    /// Improvements against the history baseline (filled by the history module).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub improvements: Vec<Regression>,
    /// The worker this report comes from, when the run is one part of a fleet run
    /// (`MONITOR_RUN_ID`, [`Pipeline::join`](crate::Pipeline::join)); its `regressions` then
    /// compare it with the earlier runs of the same worker id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<FleetWorker>,
    /// The whole of a fleet run, in a report merged from its workers' parts
    /// ([`crate::history::fleet`]): which workers reported, each one's figures, the slowest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetSummary>,
    /// What `monitor` spent on its own work while the run was open (absent in reports written
    /// before 0.2).
    #[serde(default, skip_serializing_if = "OwnCost::is_empty")]
    pub own_cost: OwnCost,
}

// serde's `skip_serializing_if` takes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Finished normally.
    Ok,
    /// Marked failed, or its guard was dropped while panicking. Failed runs never feed a
    /// baseline.
    Failed,
    /// A status written by a newer version of `monitor` (read back from a report or the
    /// history); treated like `Failed` for baselines. A run of this version is never `Unknown`.
    #[serde(other)]
    Unknown,
}

impl RunStatus {
    /// `"ok"`, `"failed"` or `"unknown"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step or query within a run: the same fields as a [`snapshot`](crate::snapshot()) site
/// (counted within the run only), plus throughput and what was dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteReport {
    /// The snapshot fields: `name`, `kind`, `calls`, `errors`, `duration_ms`, `rows`,
    /// `rows_in`, `memory`, ...
    #[serde(flatten)]
    pub site: SiteSnapshot,
    /// Rows out per second of the site's total wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_sec: Option<f64>,
    /// Rows in minus rows out, over the calls that reported rows in (a filter, a dedup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_dropped: Option<u64>,
    /// Query plans captured during the run, slowest first (`explain(..)` sites only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<CapturedPlan>,
    /// The server's own figures for this query during the run, from PostgreSQL's
    /// `pg_stat_statements` (see [`crate::query::pg_stat::attach_to_report`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::query::pg_stat::ServerQueryStats>,
    /// This site against its history baseline (filled by the history module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    /// The site's exact durations and histogram buckets, in the reports of a fleet run's parts
    /// and of the whole run merged from them (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_histogram: Option<DurationHistogram>,
}

/// A query plan captured during the run (see [`crate::query::explain_site`]): the statement with
/// placeholders only, the plan, its findings and index suggestions, and the call's duration.
pub use crate::query::explain_site::CapturedPlan;

/// How many plans a site keeps (a merged fleet report keeps as many).
pub(crate) use crate::query::explain_site::MAX_PLANS_PER_SITE;

/// A site's figures against its history baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// Successful runs the baseline was computed from.
    pub runs_used: u32,
    /// Baseline runs a verdict needs; below it every metric's verdict is
    /// `insufficient_history` (absent in reports written before it was recorded).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runs_needed: u32,
    /// One comparison per metric (duration, rows, memory...).
    pub metrics: Vec<MetricComparison>,
}

/// One metric of one site compared with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// The metric: `duration_total_ms`, `duration_p95_ms`, `rows`, `rss_peak_bytes`, ...
    pub metric: String,
    /// The baseline value.
    pub baseline: f64,
    /// This run's value.
    pub current: f64,
    /// `(current - baseline) / baseline`, as a percentage.
    pub change_pct: f64,
    /// `regression`, `improvement` or `unchanged`.
    pub verdict: String,
}

/// A flagged change against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The step or query.
    pub name: String,
    /// `step` or `query`.
    pub kind: crate::Kind,
    /// Successful runs the baseline was computed from.
    pub runs_used: u32,
    /// The metric, values and verdict.
    #[serde(flatten)]
    pub comparison: MetricComparison,
    /// The statistics behind the verdict: the runs used, the median's confidence interval, the
    /// noise, the z-score and the values past which it is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::report::baseline::Evidence>,
}

/// An `Err` returned or a panic raised by a step or query during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// The step or query name.
    pub site: String,
    /// `step` or `query`.
    pub kind: crate::Kind,
    /// `error` (an `Err` was returned) or `panic`.
    pub outcome: ErrorOutcome,
    /// The returned error's type, as `std::any::type_name` spells it (absent for panics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The error's `Display` (or `Debug` when it has no `Display`); `panicked` for panics.
    pub message: String,
    /// When the call ended, in milliseconds from the run's start.
    pub at_ms: f64,
    /// When the call ended, RFC 3339 in UTC.
    pub time: String,
    /// The worker it happened in (in the report of a whole fleet run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

impl ErrorReport {
    /// `error (its type)` or `panic`, as the text, Markdown and HTML reports show it.
    #[must_use]
    pub fn outcome_label(&self) -> String {
        match (self.outcome, &self.error_type) {
            (ErrorOutcome::Error, Some(t)) => format!("error ({t})"),
            (ErrorOutcome::Error, None) => "error".to_owned(),
            (ErrorOutcome::Panic, _) => "panic".to_owned(),
        }
    }
}

/// Whether an [`ErrorReport`] is an `Err` or a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorOutcome {
    /// The call returned `Err`.
    Error,
    /// The call panicked.
    Panic,
}

/// Process memory over the run, in bytes. A field is absent when it was not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMemory {
    /// RSS when the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_start: Option<u64>,
    /// RSS when the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_end: Option<u64>,
    /// Highest RSS seen during the run (step peaks, memory readings, start and end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<u64>,
    /// Highest live heap seen during the run (needs the tracking allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_peak: Option<u64>,
}

/// Step and query calls and memory readings over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The first step and query calls of the run (bounded), in the order they finished.
    #[serde(default)]
    pub calls: Vec<CallSpan>,
    /// Calls past the bound (still counted in each site's figures).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls_not_kept: u64,
    /// Memory readings, sorted by time (bounded).
    #[serde(default)]
    pub memory: Vec<MemorySample>,
    /// Memory readings past the bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub memory_not_kept: u64,
}

/// One step or query call on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSpan {
    /// The step or query name.
    pub name: String,
    /// `step` or `query`.
    pub kind: crate::Kind,
    /// Start, in milliseconds from the run's start.
    pub start_ms: f64,
    /// Wall time of the call.
    pub duration_ms: f64,
    /// `ok`, `error`, `panic` or `cancelled`.
    pub outcome: String,
    /// Rows out of this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Peak RSS during this call, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<u64>,
    /// Peak live heap during this call, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_peak: Option<u64>,
}

/// One memory reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    /// Milliseconds from the run's start.
    pub at_ms: f64,
    /// RSS, bytes.
    pub rss: u64,
    /// Live heap, bytes (with the tracking allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<u64>,
    /// `run_start`, `call_start`, `call_end`, `sample` or `run_end`.
    pub source: String,
}

/// One chunk of chunked processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// The chunked job's name.
    pub name: String,
    /// Chunk number, from 0.
    pub index: u64,
    /// Line of the input file where the chunk's first record starts (1-based).
    pub first_line: u64,
    /// Records read.
    pub rows_in: u64,
    /// Records written.
    pub rows_out: u64,
    /// Malformed records skipped (only when skipping is enabled).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// Start, in milliseconds from the run's start.
    pub start_ms: f64,
    /// Wall time to read, transform and write the chunk.
    pub duration_ms: f64,
    /// Peak RSS while the chunk was processed, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<u64>,
}

/// Why a JSON document could not be read as a [`Report`].
#[derive(Debug)]
pub enum ReportError {
    /// The document is not valid JSON, or lacks a required field.
    Json(serde_json::Error),
    /// The document names a schema this version cannot read.
    UnsupportedSchema(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Json(e) => write!(f, "not a monitor report: {e}"),
            ReportError::UnsupportedSchema(s) => {
                write!(
                    f,
                    "unsupported report schema {s:?} (this version reads {SCHEMA:?})"
                )
            }
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Json(e) => Some(e),
            ReportError::UnsupportedSchema(_) => None,
        }
    }
}

impl Report {
    /// The report as pretty-printed JSON (`monitor.report/v1`).
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serialising plain structs with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a report written by [`Report::to_json`] (any `monitor.report/v1` document; unknown
    /// fields are ignored, so reports from newer `v1` writers read fine).
    ///
    /// # Errors
    /// [`ReportError::Json`] for malformed JSON or a missing field,
    /// [`ReportError::UnsupportedSchema`] for another schema.
    pub fn from_json(json: &str) -> Result<Report, ReportError> {
        #[derive(Deserialize)]
        struct Head {
            schema: String,
        }
        let head: Head = serde_json::from_str(json).map_err(ReportError::Json)?;
        if head.schema != SCHEMA {
            return Err(ReportError::UnsupportedSchema(head.schema));
        }
        serde_json::from_str(json).map_err(ReportError::Json)
    }

    /// The step named `name`, if it ran.
    #[must_use]
    pub fn step(&self, name: &str) -> Option<&SiteReport> {
        self.steps.iter().find(|s| s.site.name == name)
    }

    /// The query named `name`, if it ran.
    #[must_use]
    pub fn query(&self, name: &str) -> Option<&SiteReport> {
        self.queries.iter().find(|s| s.site.name == name)
    }
}
