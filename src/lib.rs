//! # monitor
//!
//! See inside a Rust data pipeline. Annotate a step with [`monitor_step`] and a database call
//! with [`monitor_query`], and every call records its wall time (and busy time when async), its
//! memory (RSS at entry and exit and the true peak in between), its rows, its errors and panics,
//! and whether it was slow, into lock-free per-call-site stats that [`snapshot()`] reads.
//!
//! ```
//! use monitor::{monitor_query, monitor_step};
//!
//! #[monitor_step(rows)]
//! fn load_orders(n: usize) -> Vec<u64> {
//!     (0..n as u64).collect()
//! }
//!
//! #[monitor_query("customer_aggregation", slow = "250ms")]
//! fn aggregate(orders: &[u64]) -> Result<u64, std::io::Error> {
//!     Ok(orders.iter().sum())
//! }
//!
//! let orders = load_orders(1000);
//! assert_eq!(aggregate(&orders).unwrap(), 499_500);
//!
//! let snap = monitor::snapshot();
//! let step = snap.site("load_orders").unwrap();
//! assert_eq!((step.calls, step.rows), (1, Some(1000)));
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use monitor_core::{
    config, histogram, record_rows, record_rows_in, reset, rss, snapshot, Config, ConfigBuilder,
    ConfigError, DurationSummary, Kind, MaxLastBytes, MemorySummary, RowCount, SiteSnapshot,
    Snapshot,
};

/// Name an error's kind for the `error_type` label (an enum's variant) instead of its Rust type;
/// `#[derive(monitor::ErrorLabel)]` names an enum's variants `Type::Variant`.
pub use monitor_core::probe::ErrorLabel;
pub use monitor_macros::ErrorLabel;

/// Memory: the exact heap tracker (install it as the `#[global_allocator]`), and the memory
/// mechanisms in detail ([`memory`] explains how a call's peak is found).
pub use monitor_core::{
    memory, memory_scope, MemoryFigures, MemoryReport, MemoryScopeGuard, TrackingAllocator,
};

/// Run history and regressions: records, stores, baselines and verdicts (see the README's
/// "History and regressions").
pub use monitor_core::history;

/// Test support: capture the `tracing` events `monitor` emits and assert on their fields.
pub use monitor_core::testing;

#[cfg(feature = "chunked")]
pub use monitor_core::chunked;

/// Arrow record batches: `rows` counts them by `num_rows()`; [`arrow::batch_bytes`] is their
/// Arrow memory size. Feature `arrow`.
#[cfg(feature = "arrow")]
pub use monitor_core::arrow;

/// Pipeline runs and their reports: [`Pipeline::start`], [`Run::finish`], [`Report`].
///
/// How calls attach to runs is described at [`Pipeline`].
pub use monitor_core::{
    add_report_sink, last_report, remove_report_sink, report, EnteredRun, FleetIdError,
    Instrumented, Pipeline, PipelineBuilder, Report, ReportError, Run, RunHandle, RunLimits,
    RunStatus, SinkId,
};

/// Exporters: Prometheus `/metrics` and Pushgateway, DogStatsD, OTLP, the `metrics` bridge,
/// Grafana dashboards and alert rules. See the README's "Exporters" section.
pub use monitor_core::export;

/// OpenLineage run events: the run, its steps and queries as jobs, and the datasets they read
/// and write (`input`/`output` at run time; `inputs = ".."`/`outputs = ".."` on the attributes).
/// Sending them needs the `openlineage` feature; see the README's "OpenLineage".
pub use monitor_core::lineage;

/// DataFusion: a `DataFrame` (or a SQL statement) run as a monitored query, with its logical and
/// physical plans and the physical plan's metrics after execution. Feature `datafusion`; see the
/// README's "DataFusion".
#[cfg(feature = "datafusion")]
pub use monitor_core::datafusion;

/// Query plans: capture (`explain(..)`), analysis, redaction.
pub use monitor_core::{
    explain, explain_site, pg_stat, plan, sql, CapturedPlan, ExplainError, ExplainMode,
    ExplainOptions, ExplainPlan, ExplainPlanAsync, ExplainPlanAsyncMut, Finding, FindingKind, Plan,
    PlanSource,
};

/// Marks a pipeline step: times every call, tracks its memory and rows, counts errors and panics.
///
/// Options (all optional, comma-separated):
///
/// | option | meaning |
/// |---|---|
/// | `name = "load_orders"` | the step's name (default: the function's name) |
/// | `rows` | take the row count from the return value (`Vec`, slices, `usize`, `u64`, and `Result`/`Option` of those) |
/// | `memory_warn = "512MiB"` | warn when a call's peak RSS passes this (default `MONITOR_MEMORY_WARN`, 1 GiB) |
/// | `max_peak = "2GiB"`, `max_duration = "10m"` | budgets: warn when passed, panic under `MONITOR_ENFORCE_BUDGETS=1` |
/// | `slow = "1s"` | warn when a call takes longer |
/// | `inputs = "file:/data/orders.csv"`, `outputs = "postgres://db:5432/shop.public.orders, file:out.csv"` | the datasets it reads and writes, for OpenLineage: `namespace:name` or `scheme://authority/name`, comma-separated, split at compile time into the call site's static metadata (see [`lineage`]) |
/// | `crate = path` | where to find the `monitor` crate if you renamed it |
///
/// It works on free functions, methods with any receiver, generic functions, `async fn` (also in
/// traits), `#[async_trait]` methods, `unsafe fn`, and functions returning `impl Trait` or `!`.
/// The function behaves exactly as before: same value, same error, same panic, same `Send`-ness.
///
/// ```
/// #[monitor::monitor_step(name = "load")]
/// async fn load(n: u32) -> Result<u32, String> {
///     if n == 0 { return Err("empty".into()) }
///     Ok(n * 2)
/// }
/// ```
///
/// A `const fn` is refused at compile time:
///
/// ```compile_fail
/// #[monitor::monitor_step]
/// const fn nope() -> u32 { 1 }
/// ```
pub use monitor_macros::monitor_step;

/// Marks a database call: like [`monitor_step`], plus a slow-query threshold.
///
/// The query name comes first and is required: `#[monitor_query("customer_aggregation")]`.
///
/// | option | meaning |
/// |---|---|
/// | `slow = "250ms"` | slow threshold for this query (default `MONITOR_SLOW_QUERY`, 30 s); a slower call logs `warn` |
/// | `memory` | also track RSS (queries time only by default) |
/// | `memory_warn = "512MiB"`, `max_peak = "2GiB"` | as for steps; they need `memory` (a compile error says so otherwise) |
/// | `rows` | take the row count from the return value |
/// | `max_duration = "1m"` | a duration budget |
/// | `explain(conn = conn, sql = sql)` | capture the plan of slow calls, with findings and index suggestions; `conn` a connection, pool or transaction argument (rusqlite, postgres, tokio-postgres, sqlx), `sql` an argument or a `const`/`static`; also `mode = "always"`, `every = N`, `analyze` (see the README's "Queries") |
/// | `inputs = "file:/data/orders.csv"`, `outputs = "postgres://db:5432/shop.public.orders, file:out.csv"` | the datasets it reads and writes, for OpenLineage: `namespace:name` or `scheme://authority/name`, comma-separated, split at compile time into the call site's static metadata (see [`lineage`]) |
/// | `crate = path` | where to find the `monitor` crate if you renamed it |
///
/// ```
/// #[monitor::monitor_query("count_orders", slow = "500ms")]
/// fn count_orders(orders: &[u32]) -> usize {
///     orders.len()
/// }
/// assert_eq!(count_orders(&[1, 2]), 2);
/// ```
pub use monitor_macros::monitor_query;

/// Not public API: what the generated code calls. May change in any release.
#[doc(hidden)]
pub mod __private {
    pub use ::core::option::Option;
    pub use ::core::{file, line, module_path};
    pub use monitor_core::probe::{Probe, ProbeAny, ProbeDebug, ProbeDisplay, ProbeLabel};
    pub use monitor_core::rows::{RowProbe, RowsOfBatches, RowsOfOther};
    pub use monitor_core::{
        call_once, CallGuard, Callsite, DatasetName, ExplainMode, ExplainSite, ExplainedFuture,
        Kind, Metadata, MonitoredFuture, RowCount, TimedGuard, Tracked, Untracked,
    };
}

// The README's code is compiled and run as doc tests, so the front page cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
