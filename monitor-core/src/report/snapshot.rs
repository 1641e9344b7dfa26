//! Reading every site's stats in process: [`snapshot`] and [`reset`].

use crate::call::callsite::{for_each_site, Kind, Metadata};
use crate::call::stats::StatsValues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every registered site's stats at one moment.
///
/// Serialises as `{"sites": [{"name", "kind", "calls", "errors", "panics", "cancelled",
/// "duration_ms": {...}, "memory": {...}, ...}]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// One entry per annotated function that has been called, sorted by kind then name.
    pub sites: Vec<SiteSnapshot>,
}

impl Snapshot {
    /// The first site with this name, if any.
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&SiteSnapshot> {
        self.sites.iter().find(|s| s.name == name)
    }
}

/// Duration figures in milliseconds. Quantiles come from the site's histogram (within ±3.2 %);
/// `total`, `mean`, `min` and `max` are exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DurationSummary {
    /// Sum of all calls.
    pub total: f64,
    /// Mean call.
    pub mean: f64,
    /// Standard deviation (from the histogram).
    pub stddev: f64,
    /// Shortest call.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest call.
    pub max: f64,
}

/// A memory figure's largest value over calls and its value in the last call, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxLastBytes {
    /// Largest over all calls.
    pub max: u64,
    /// The most recent call.
    pub last: u64,
}

/// Memory figures of a site, in bytes. A field is absent (not zero) when it was not measured:
/// `heap_peak` and `allocated` need [`TrackingAllocator`](crate::TrackingAllocator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySummary {
    /// RSS at entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_start: Option<MaxLastBytes>,
    /// RSS at exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_end: Option<MaxLastBytes>,
    /// Peak RSS during the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<MaxLastBytes>,
    /// Peak live heap (whole process) during the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_peak: Option<MaxLastBytes>,
    /// Bytes allocated by the calling thread during the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated: Option<MaxLastBytes>,
    /// Calls whose peaks are approximate: more calls were running than the in-flight table
    /// holds, so the sampler could not follow them (entry, exit and the kernel's high-water mark
    /// still count). Absent when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub peak_approximate_calls: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One site's stats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSnapshot {
    /// Step or query name.
    pub name: String,
    /// `"step"` or `"query"`.
    pub kind: Kind,
    /// Module of the annotated function.
    pub module: String,
    /// Source file of the annotated function.
    pub file: String,
    /// Line of the annotated function.
    pub line: u32,
    /// Finished calls (all outcomes).
    pub calls: u64,
    /// Calls that returned `Err`.
    pub errors: u64,
    /// Those errors by kind (the error's `ErrorLabel`, else its type), `__other__` past the
    /// first four kinds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_types: BTreeMap<String, u64>,
    /// Calls that panicked.
    pub panics: u64,
    /// Async calls dropped before completion.
    pub cancelled: u64,
    /// Calls past the slow threshold.
    pub slow: u64,
    /// The slow threshold, milliseconds: the site's own `slow = ".."`, else `MONITOR_SLOW_QUERY`
    /// for a query; absent for a step without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_threshold_ms: Option<f64>,
    /// Wall-time figures.
    pub duration_ms: DurationSummary,
    /// Total time inside `poll` (async sites only), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_ms: Option<f64>,
    /// Rows out (absent when never reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Rows in (absent when never reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<u64>,
    /// Memory figures.
    pub memory: MemorySummary,
    /// Captured query plans, slowest first (sites with `explain(..)` only; see
    /// [`crate::query::explain_site`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<crate::query::explain_site::CapturedPlan>,
}

fn ml(v: Option<(u64, u64)>) -> Option<MaxLastBytes> {
    v.map(|(max, last)| MaxLastBytes { max, last })
}

impl SiteSnapshot {
    /// Builds the serialisable form from a site's metadata and loaded numbers.
    #[must_use]
    pub fn from_values(meta: &Metadata, v: &StatsValues) -> Self {
        let ms = crate::call::events::ms;
        SiteSnapshot {
            name: meta.name.to_owned(),
            kind: meta.kind,
            module: meta.module_path.to_owned(),
            file: meta.file.to_owned(),
            line: meta.line,
            calls: v.calls,
            errors: v.errors,
            error_types: v
                .errors_by_type()
                .into_iter()
                .map(|(t, n)| (t.to_owned(), n))
                .collect(),
            panics: v.panics,
            cancelled: v.cancelled,
            slow: v.slow,
            slow_threshold_ms: Some(meta.slow_threshold_ns())
                .filter(|&t| t != u64::MAX)
                .map(ms),
            duration_ms: DurationSummary {
                total: ms(v.total_ns),
                mean: v.mean_ns() / 1e6,
                stddev: v.histogram.stddev() / 1e6,
                min: ms(v.min_ns),
                p50: ms(v.quantile_ns(0.50)),
                p95: ms(v.quantile_ns(0.95)),
                p99: ms(v.quantile_ns(0.99)),
                max: ms(v.max_ns),
            },
            busy_ms: v.busy_ns.map(ms),
            rows: v.rows,
            rows_in: v.rows_in,
            memory: MemorySummary {
                rss_start: ml(v.rss_start),
                rss_end: ml(v.rss_end),
                rss_peak: ml(v.rss_peak),
                heap_peak: ml(v.heap_peak),
                allocated: ml(v.allocated),
                peak_approximate_calls: v.peak_approximate,
            },
            plans: Vec::new(),
        }
    }
}

/// Every registered site's process-wide stats, sorted by kind then name.
#[must_use]
pub fn snapshot() -> Snapshot {
    let mut sites = Vec::new();
    for_each_site(|site| {
        let v = site.stats().load();
        if v.calls > 0 {
            let mut s = SiteSnapshot::from_values(site.metadata(), &v);
            s.plans = crate::query::explain_site::plans_of(site);
            sites.push(s);
        }
    });
    sites.sort_by(|a, b| {
        (a.kind.as_str(), &a.name, &a.module, a.line).cmp(&(
            b.kind.as_str(),
            &b.name,
            &b.module,
            b.line,
        ))
    });
    Snapshot { sites }
}

/// Zeroes every site's process-wide stats.
///
/// Meant for tests and for long-lived processes that want per-interval numbers; calls running
/// concurrently with the reset may be half-counted.
pub fn reset() {
    for_each_site(|site| site.stats().reset());
    crate::query::explain_site::for_each_explain_site(
        crate::query::explain_site::ExplainSite::reset,
    );
}
