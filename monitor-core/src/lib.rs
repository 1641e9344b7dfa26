//! The runtime behind `monitor`'s attributes.
//!
//! Users depend on the `monitor` facade crate; this crate holds the mechanisms, one concept per
//! folder, in layers that import downwards only (`docs/ARCHITECTURE.md` draws them):
//!
//! | layer | module | owns |
//! |---|---|---|
//! | 0 | `base` | the hot-path clock, the RSS reading, the host name, bounded lock-free storage |
//! | 1 | [`config`] | settings, the panic hook, where `monitor`'s own warnings go |
//! | 2 | `site`, `redact` | what a call site is; SQL and error text as `monitor` shows it |
//! | 3 | `background` | the sampler thread (running registered tasks), the tables of running calls |
//! | 4 | [`memory`] | high-water marks, the heap tracker, a call's true peak, scopes |
//! | 5 | `call` | call sites, their stats, guards and futures, events, budgets, run attachment |
//! | 6 | `query` | plan capture and analysis per database, SQL parsing, `pg_stat_statements` |
//! | 7 | [`report`] | snapshots and run reports, and their renderings |
//! | 8 | `run` | pipeline runs and the one list of what hears about them |
//! | 9 | [`history`], [`export`], [`lineage`] | the listeners of runs |
//! | 10 | `init`, [`testing`], `chunked`, `arrow` | start-up, test support, integrations |
//!
//! This file only declares the modules, re-exports what the facade shows, and hands the layers
//! below the one start-up (`start_up`).
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
mod init;
pub mod lineage;
pub mod memory;
mod query;
mod redact;
pub mod report;
mod run;
mod site;
pub mod testing;

/// The one named initialisation ([`init::start_up`]), for the layers below it to trigger: the
/// first call site, pipeline, memory scope, report sink or sampler thread. The crate root hands
/// it down, so no
/// folder names a folder above its own (`docs/ARCHITECTURE.md`).
pub(crate) fn start_up() {
    init::start_up();
}

pub use base::rss;
pub use call::{histogram, probe, rows};
pub use memory::scope as memory_scope;
#[cfg(feature = "datafusion")]
pub use query::datafusion;
pub use query::{explain, explain_site, pg_stat, plan, sql};

pub use call::attach::RunLimits;
pub use call::callsite::Callsite;
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
    last_report, EnteredRun, FleetIdError, Instrumented, Pipeline, PipelineBuilder, Run, RunHandle,
};
pub use run::{add_report_sink, remove_report_sink, SinkId};
pub use site::{DatasetName, Kind, Metadata};

/// Not public API: what this crate's own tests, benchmarks and the workspace's test programs
/// read from inside the runtime (the in-flight table, the sampler, high-water marks). May change
/// in any release.
#[doc(hidden)]
pub mod __internals {
    pub use crate::background::{inflight, sampler};
    pub use crate::call::{callsite, stats};
    pub use crate::memory::{hwm, peak};
}
