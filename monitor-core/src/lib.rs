//! The runtime behind `monitor`'s attributes.
//!
//! Users depend on the `monitor` facade crate; this crate holds the mechanisms, split by what
//! they do: [`clock`], [`histogram`], [`callsite`], [`stats`], [`rss`], [`memory`], [`config`],
//! [`snapshot`](mod@snapshot).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod alloc;
#[cfg(feature = "arrow")]
pub mod arrow;
mod budget;
pub mod callsite;
#[cfg(feature = "chunked")]
pub mod chunked;
pub mod clock;
pub mod config;
pub mod error_types;
mod events;
pub mod explain;
pub mod explain_site;
pub mod export;
mod future;
mod guard;
pub mod histogram;
pub mod history;
pub mod hwm;
pub mod inflight;
pub mod lineage;
pub mod memory;
pub mod memory_scope;
mod panic_text;
pub mod peak;
pub mod pg_stat;
pub mod pipeline;
pub mod plan;
pub mod probe;
mod query;
pub mod report;
pub mod rows;
pub mod rss;
pub mod run;
mod running;
pub mod sampler;
mod slots;
pub mod snapshot;
pub mod sql;
pub mod stats;
mod stderr_events;
pub mod testing;
pub mod watchdog;

pub use alloc::TrackingAllocator;
pub use callsite::{Callsite, DatasetName, Kind, Metadata};
pub use config::{Config, ConfigBuilder, ConfigError};
pub use explain::{
    ExplainError, ExplainOptions, ExplainPlan, ExplainPlanAsync, ExplainPlanAsyncMut,
};
pub use explain_site::{CapturedPlan, ExplainMode, ExplainSite};
pub use future::{ExplainedFuture, MonitoredFuture};
pub use guard::{
    call_once, CallGuard, CallSummary, Guard, MemoryMode, TimedGuard, Tracked, Untracked,
};
pub use memory_scope::{memory_scope, MemoryReport, MemoryScopeGuard};
pub use pipeline::{
    add_report_sink, last_report, remove_report_sink, EnteredRun, Instrumented, Pipeline,
    PipelineBuilder, Run, RunHandle, SinkId,
};
pub use plan::{Finding, FindingKind, Plan, PlanSource};
pub use probe::ErrorLabel;
pub use report::{Report, ReportError, RunStatus};
pub use rows::{record_rows, record_rows_in, RowCount};
pub use run::RunLimits;
pub use snapshot::{
    reset, snapshot, DurationSummary, MaxLastBytes, MemorySummary, SiteSnapshot, Snapshot,
};
pub use stats::{CallRecord, ErrorText, MemoryFigures, Outcome};
