//! The runtime behind `monitor`'s attributes.
//!
//! Users depend on the `monitor` facade crate; this crate holds the mechanisms, one concept per
//! folder, in layers that import downwards only (`docs/ARCHITECTURE.md` draws them):
//!
//! | layer | folder | owns |
//! |---|---|---|
//! | 0 | `base` | the hot-path clock, bounded lock-free storage |
//! | 1 | [`config`] | settings, where `monitor`'s own warnings go |
//! | 2 | `background` | the sampler thread and the tables of running calls |
//! | 3 | [`memory`] | RSS, high-water marks, the heap tracker, a call's true peak, scopes |
//! | 4 | `call` | call sites, their stats, guards and futures, events, budgets, run attachment |
//! | 5 | `query` | SQL redaction and parsing, plan capture and analysis per database |
//! | 6 | [`report`] | snapshots and run reports, and their renderings |
//! | 7 | `run` | pipeline runs and the listeners of finished runs |
//! | 8 | [`history`], [`export`], [`lineage`] | what listens to runs and calls |
//! | 9 | `init`, [`testing`], `chunked`, `arrow` | start-up, test support, integrations |
//!
//! This file only declares the folders and re-exports what the facade shows.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "arrow")]
pub mod arrow;
mod background;
mod base;
mod call;
#[cfg(feature = "chunked")]
pub mod chunked;
pub mod config;
pub mod export;
pub mod history;
pub mod lineage;
pub mod memory;
mod query;
pub mod report;
mod run;
pub mod testing;

pub use call::{histogram, probe, rows};
pub use memory::{rss, scope as memory_scope};
pub use query::{explain, explain_site, pg_stat, plan, sql};

pub use call::attach::RunLimits;
pub use call::callsite::{Callsite, DatasetName, Kind, Metadata};
pub use call::future::{ExplainedFuture, MonitoredFuture};
pub use call::guard::{
    call_once, CallGuard, CallSummary, Guard, MemoryMode, TimedGuard, Tracked, Untracked,
};
pub use call::probe::ErrorLabel;
pub use call::rows::{record_rows, record_rows_in, RowCount};
pub use call::stats::{CallRecord, ErrorText, MemoryFigures, Outcome};
pub use config::{Config, ConfigBuilder, ConfigError};
pub use memory::alloc::TrackingAllocator;
pub use memory::scope::{memory_scope, MemoryReport, MemoryScopeGuard};
pub use query::explain::{
    ExplainError, ExplainOptions, ExplainPlan, ExplainPlanAsync, ExplainPlanAsyncMut,
};
pub use query::explain_site::{CapturedPlan, ExplainMode, ExplainSite};
pub use query::plan::{Finding, FindingKind, Plan, PlanSource};
pub use report::snapshot::{
    reset, snapshot, DurationSummary, MaxLastBytes, MemorySummary, SiteSnapshot, Snapshot,
};
pub use report::{Report, ReportError, RunStatus};
pub use run::pipeline::{
    add_report_sink, last_report, remove_report_sink, EnteredRun, Instrumented, Pipeline,
    PipelineBuilder, Run, RunHandle, SinkId,
};

/// Not public API: what this crate's own tests, benchmarks and the workspace's test programs
/// read from inside the runtime (the in-flight table, the sampler, high-water marks). May change
/// in any release.
#[doc(hidden)]
pub mod __internals {
    pub use crate::background::{inflight, sampler};
    pub use crate::call::{callsite, stats};
    pub use crate::memory::{hwm, peak};
}
