//! Run history and regressions: every finished run leaves a compact [`RunRecord`] in a
//! [`HistoryStore`], and each new run is compared with a robust baseline of the previous
//! successful runs of the same pipeline.
//!
//! One concept per module:
//!
//! - [`record`](mod@record): the record ([`RunRecord`], [`SiteRecord`], [`Metric`]);
//! - [`line`](mod@line): one record as one line of JSON, and the parser that reads it back;
//! - [`store`]: the [`HistoryStore`] trait; [`jsonl`] (the default file), `sqlite` and
//!   `postgres` (features of the same names) implement it;
//! - [`retention`]: which runs a store keeps;
//! - [`baseline`]: median, MAD and the median's confidence interval;
//! - [`verdict`]: the regression rule and its result ([`Comparison`], [`MetricVerdict`]);
//! - [`settings`]: `MONITOR_HISTORY*` variables and the builder;
//! - [`recorder`]: what the end of a run does (compare, append, retain, warn);
//! - [`run_report`]: a [`Report`](crate::Report) to a record, and a comparison back into the
//!   report;
//! - [`part`]: what a fleet run (one run across many worker processes) leaves besides whole runs:
//!   its opening and one part per worker;
//! - [`merge`]: the whole of a fleet run from its parts, exactly;
//! - [`fleet`]: a fleet worker's end, and the whole run's report, verdict and record.
//!
//! May import: `base`, `config`, `site`, `call`, `report`, `run`.

pub mod baseline;
pub mod fleet;
pub mod jsonl;
pub mod line;
pub mod merge;
pub mod part;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod record;
pub mod recorder;
pub mod retention;
pub mod run_report;
mod safe_file;
pub mod settings;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
pub mod verdict;

pub use fleet::{fleet_report, fleet_report_in, new_run_id, open_run, record_whole_run};
pub use jsonl::{JsonlStore, DEFAULT_HISTORY_PATH};
pub use line::{encode_line, parse_line, LineError};
pub use merge::FleetMerge;
pub use part::{encode_fleet_line, parse_fleet_line, FleetEntry, FleetOpening, WorkerPart};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use record::{Metric, RunRecord, RunStatus, SiteRecord, RECORD_VERSION};
pub use recorder::{record_run, Recorded};
pub use retention::Retention;
pub use run_report::{annotate, on_run_finished};
pub use settings::{HistoryLocation, HistorySettings, HistorySettingsBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{
    FleetRunLoad, HistoryError, HistoryStore, LoadedRuns, RetentionOutcome, RunFilter, SkippedEntry,
};
#[allow(deprecated)]
pub use verdict::Finding;
pub use verdict::{
    compare, BaselineSettings, Comparison, Direction, Evidence, MetricVerdict, SiteComparison,
    Thresholds, Verdict,
};

/// This machine's host name (empty when it cannot be read).
#[must_use]
pub fn host_name() -> String {
    crate::base::host::name().unwrap_or_default().to_owned()
}
