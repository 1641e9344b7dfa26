//! The compact record one finished run leaves in the history: [`RunRecord`], one [`SiteRecord`]
//! per step and query, and the [`Metric`]s a baseline is computed over.

use crate::call::callsite::Kind;
pub use crate::report::baseline::{Metric, Polarity};
use crate::report::snapshot::SiteSnapshot;
use serde::{Deserialize, Serialize};

/// The version of the history line format this build writes (field `v`).
pub const RECORD_VERSION: u32 = 1;

/// How a run ended: the report's status, the same type.
pub use crate::report::RunStatus;

/// One step's or query's figures within one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// Step or query name.
    pub name: String,
    /// `"step"` or `"query"`.
    pub kind: Kind,
    /// Finished calls in the run.
    pub calls: u64,
    /// Calls that returned `Err` or panicked.
    #[serde(default)]
    pub errors: u64,
    /// Wall time of all calls together, milliseconds.
    pub total_ms: f64,
    /// 95th-percentile call, milliseconds.
    pub p95_ms: f64,
    /// Rows out (absent when the site never reported rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Rows in (absent when never reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<u64>,
    /// Peak RSS over the run's calls, bytes (absent when not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<u64>,
    /// Peak live heap over the run's calls, bytes (absent when not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_peak: Option<u64>,
}

impl SiteRecord {
    /// The compact form of a site's stats as `snapshot()` (or a run's report) shows them.
    #[must_use]
    pub fn from_site(site: &SiteSnapshot) -> Self {
        SiteRecord {
            name: site.name.clone(),
            kind: site.kind,
            calls: site.calls,
            errors: site.errors.saturating_add(site.panics),
            total_ms: site.duration_ms.total,
            p95_ms: site.duration_ms.p95,
            rows: site.rows,
            rows_in: site.rows_in,
            rss_peak: site.memory.rss_peak.map(|m| m.max),
            heap_peak: site.memory.heap_peak.map(|m| m.max),
        }
    }

    /// This site's value of `metric`, if it was measured.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // byte and row counts far below 2^53
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::DurationTotal => Some(self.total_ms),
            Metric::DurationP95 => Some(self.p95_ms),
            Metric::Rows => self.rows.map(|r| r as f64),
            Metric::RssPeak => self.rss_peak.map(|b| b as f64),
            Metric::HeapPeak => self.heap_peak.map(|b| b as f64),
        }
    }
}

/// One finished run, as one line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// Unique id of the run.
    pub run_id: String,
    /// The pipeline's name; baselines only compare runs of the same pipeline.
    pub pipeline: String,
    /// How the run ended.
    pub status: RunStatus,
    /// Start, milliseconds since the Unix epoch (UTC).
    pub started_at_ms: u64,
    /// Wall time of the whole run, milliseconds.
    pub duration_ms: f64,
    /// The machine that ran it.
    #[serde(default)]
    pub host: String,
    /// The version tag of the code that ran (from the report, or `MONITOR_VERSION_TAG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// One entry per step and query called in the run.
    #[serde(default)]
    pub sites: Vec<SiteRecord>,
}

impl RunRecord {
    /// The site with this kind and name, if the run called it.
    #[must_use]
    pub fn site(&self, kind: Kind, name: &str) -> Option<&SiteRecord> {
        self.sites.iter().find(|s| s.kind == kind && s.name == name)
    }

    /// The first site with this name, steps before queries.
    #[must_use]
    pub fn site_named(&self, name: &str) -> Option<&SiteRecord> {
        self.site(Kind::Step, name)
            .or_else(|| self.site(Kind::Query, name))
    }

    /// The start as `2026-11-24 16:05:12` (UTC).
    #[must_use]
    pub fn started_at_utc(&self) -> String {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.started_at_ms);
        humantime::format_rfc3339_seconds(t)
            .to_string()
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_owned()
    }

    /// Whether this run may feed a baseline.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.status == RunStatus::Ok
    }
}
