//! What a report says about a fleet run (one logical run across many worker processes): the
//! worker a part's report came from ([`FleetWorker`]), a site's exact durations that parts are
//! merged with ([`DurationHistogram`]), and the whole run's per-worker breakdown
//! ([`FleetSummary`]), with the lines and rows the text, Markdown and HTML renderings show.

use super::units::{bytes, count, duration_ms};
use super::{Regression, Report, RunStatus};
use crate::call::histogram::HistogramCounts;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// How many workers the text and Markdown renderings list, slowest first (the JSON and the HTML
/// keep all).
pub(crate) const WORKERS_SHOWN: usize = 50;

/// The worker a report comes from, when its run is one part of a fleet run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetWorker {
    /// The worker's id within the run (`MONITOR_WORKER_ID`, else `<host>-<pid>`).
    pub id: String,
    /// The workers the run expects, when this worker was told (`MONITOR_EXPECTED_WORKERS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_workers: Option<u32>,
}

/// A site's durations, exactly: the sum, the extremes and the histogram's bucket counts, in
/// nanoseconds. Parts of a fleet run carry it so that the whole run's figures are merged exactly
/// (counts, sums, extremes, buckets) and its quantiles read from the merged histogram, never
/// averaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationHistogram {
    /// Sum of all calls' wall times.
    pub total_ns: u64,
    /// Shortest call (0 when there was none).
    pub min_ns: u64,
    /// Longest call.
    pub max_ns: u64,
    /// The bucket counts (see [`crate::histogram`] for the buckets and their precision).
    pub buckets: HistogramCounts,
}

impl DurationHistogram {
    /// Adds another part's durations into these.
    pub fn merge(&mut self, other: &DurationHistogram) {
        let (empty, other_empty) = (self.buckets.count() == 0, other.buckets.count() == 0);
        self.total_ns = self.total_ns.saturating_add(other.total_ns);
        self.min_ns = match (empty, other_empty) {
            (true, _) => other.min_ns,
            (false, true) => self.min_ns,
            (false, false) => self.min_ns.min(other.min_ns),
        };
        self.max_ns = self.max_ns.max(other.max_ns);
        self.buckets.merge(&other.buckets);
    }

    /// The number of calls.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.buckets.count()
    }

    /// The duration at quantile `q` (0.0..=1.0), nanoseconds, from the buckets (within ±3.2 % of
    /// a value recorded at that rank), clamped to the exact extremes.
    #[must_use]
    pub fn quantile_ns(&self, q: f64) -> u64 {
        self.buckets
            .quantile(q, self.min_ns, self.max_ns)
            .unwrap_or(0)
    }
}

/// The whole of a fleet run: which workers reported, each one's figures, and the slowest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// The workers the run expected, when the coordinator (or a worker) said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_workers: Option<u32>,
    /// Every worker that reported its part, slowest first.
    pub workers: Vec<WorkerSummary>,
    /// Expected workers that did not report, by id: named when the coordinator listed the ids,
    /// or when the workers are numbered `0` to `expected_workers - 1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// How many expected workers did not report (named in `missing` or not).
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub missing_count: u32,
    /// The slowest worker against the median worker, when two or more reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowest: Option<Straggler>,
}

/// One worker's part of a fleet run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// The worker's id.
    pub worker_id: String,
    /// The machine it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How its part ended.
    pub status: RunStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Its start, milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Its wall time.
    pub duration_ms: f64,
    /// Step and query calls.
    pub calls: u64,
    /// Rows out, summed over its steps (absent when no step reported rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Its highest RSS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_peak: Option<u64>,
    /// Errors and panics of its steps and queries.
    pub errors: u64,
    /// Its regressions against the earlier runs of the same worker id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regressions: Vec<Regression>,
}

impl WorkerSummary {
    /// The summary of one worker's part (its report).
    #[must_use]
    pub fn of_part(worker_id: &str, part: &Report) -> WorkerSummary {
        let sites = || part.steps.iter().chain(&part.queries);
        let rows = part
            .steps
            .iter()
            .filter_map(|s| s.site.rows)
            .fold(None, |acc: Option<u64>, r| {
                Some(acc.unwrap_or(0).saturating_add(r))
            });
        WorkerSummary {
            worker_id: worker_id.to_owned(),
            host: part.host.clone(),
            status: part.status,
            failure: part.failure.clone(),
            started_at_unix_ms: part.started_at_unix_ms,
            duration_ms: part.duration_ms,
            calls: sites().map(|s| s.site.calls).sum(),
            rows,
            rss_peak: part.memory.rss_peak,
            errors: sites().map(|s| s.site.errors + s.site.panics).sum(),
            regressions: part.regressions.clone(),
        }
    }
}

/// The slowest worker of a fleet run, against the median worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Straggler {
    /// Its id.
    pub worker_id: String,
    /// Its wall time.
    pub duration_ms: f64,
    /// The median wall time of the workers that reported.
    pub median_ms: f64,
    /// How much slower than the median, in percent.
    pub slower_pct: f64,
}

impl FleetSummary {
    /// The slowest of `workers` against their median (`None` with fewer than two).
    #[must_use]
    pub fn straggler(workers: &[WorkerSummary]) -> Option<Straggler> {
        if workers.len() < 2 {
            return None;
        }
        let mut durations: Vec<f64> = workers.iter().map(|w| w.duration_ms).collect();
        durations.sort_by(f64::total_cmp);
        let n = durations.len();
        let median = if n % 2 == 1 {
            durations[n / 2]
        } else {
            (durations[n / 2 - 1] + durations[n / 2]) / 2.0
        };
        let slowest = workers
            .iter()
            .max_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms))?;
        Some(Straggler {
            worker_id: slowest.worker_id.clone(),
            duration_ms: slowest.duration_ms,
            median_ms: median,
            slower_pct: if median > 0.0 {
                (slowest.duration_ms / median - 1.0) * 100.0
            } else {
                0.0
            },
        })
    }
}

/// The fleet's line under the title: `7 of 8 workers reported · missing: 5 · slowest: 3, 12.1 s
/// (+140% over the median 5.0 s)`. For a part's report: `worker 3 of a fleet run of 8`.
pub(crate) fn fleet_line(r: &Report) -> Option<String> {
    if let Some(f) = &r.fleet {
        let reported = f.workers.len() as u64;
        let mut line = match f.expected_workers {
            Some(n) => format!(
                "{} of {} workers reported",
                count(reported),
                count(n.into())
            ),
            None => format!(
                "{} worker{} reported",
                count(reported),
                if reported == 1 { "" } else { "s" }
            ),
        };
        if f.missing_count > 0 {
            if f.missing.is_empty() {
                let _ = write!(line, " · {} missing", count(f.missing_count.into()));
            } else {
                let _ = write!(line, " · missing: {}", f.missing.join(", "));
            }
        }
        if let Some(s) = &f.slowest {
            let _ = write!(
                line,
                " · slowest: {}, {} ({:+.0}% over the median {})",
                s.worker_id,
                duration_ms(s.duration_ms),
                s.slower_pct,
                duration_ms(s.median_ms)
            );
        }
        return Some(line);
    }
    r.worker.as_ref().map(|w| match w.expected_workers {
        Some(n) => format!("worker {} of a fleet run of {n} workers", w.id),
        None => format!("worker {} of a fleet run", w.id),
    })
}

/// The workers table's columns.
pub(crate) const WORKER_HEADER: [&str; 8] = [
    "worker",
    "status",
    "duration",
    "calls",
    "rows",
    "RSS peak",
    "errors",
    "vs its history",
];

/// One row per worker, slowest first (at most `limit`), and how many were left out.
pub(crate) fn worker_rows(r: &Report, limit: usize) -> (Vec<Vec<String>>, usize) {
    let Some(f) = &r.fleet else {
        return (Vec::new(), 0);
    };
    let rows = f
        .workers
        .iter()
        .take(limit)
        .map(|w| {
            let status = match &w.failure {
                Some(why) => format!("{} ({why})", w.status),
                None => w.status.to_string(),
            };
            let history = match w.regressions.as_slice() {
                [] => "-".to_owned(),
                [one] => format!(
                    "{}: {}",
                    one.name,
                    super::text::change_in_words(&one.comparison)
                ),
                many => format!("{} regressions", many.len()),
            };
            vec![
                w.worker_id.clone(),
                status,
                duration_ms(w.duration_ms),
                count(w.calls),
                w.rows.map_or_else(|| "-".to_owned(), count),
                w.rss_peak.map_or_else(|| "-".to_owned(), bytes),
                count(w.errors),
                history,
            ]
        })
        .collect();
    (rows, f.workers.len().saturating_sub(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::histogram::AtomicHistogram;

    fn histogram(values: &[u64]) -> DurationHistogram {
        let h = AtomicHistogram::new();
        for &v in values {
            h.record(v);
        }
        DurationHistogram {
            total_ns: values.iter().sum(),
            min_ns: values.iter().copied().min().unwrap_or(0),
            max_ns: values.iter().copied().max().unwrap_or(0),
            buckets: h.load(),
        }
    }

    #[test]
    fn merged_durations_are_those_of_all_values() {
        let a: Vec<u64> = (1..=500).map(|i| i * 10_000).collect();
        let b: Vec<u64> = (1..=1500).map(|i| 3_000_000 + i * 7_000).collect();
        let mut merged = histogram(&a);
        merged.merge(&histogram(&b));
        merged.merge(&DurationHistogram::default());
        let all: Vec<u64> = a.iter().chain(&b).copied().collect();
        assert_eq!(merged, histogram(&all));
        let mut from_empty = DurationHistogram::default();
        from_empty.merge(&histogram(&b));
        assert_eq!(from_empty, histogram(&b));
        // Round trip through JSON, and a span past the last bucket is refused.
        let json = serde_json::to_string(&merged).unwrap();
        assert_eq!(
            serde_json::from_str::<DurationHistogram>(&json).unwrap(),
            merged
        );
        let bad = r#"{"total_ns":1,"min_ns":1,"max_ns":1,"buckets":{"first":719,"counts":[1,1]}}"#;
        let err = serde_json::from_str::<DurationHistogram>(bad).unwrap_err();
        assert!(
            err.to_string().contains("reach past the last bucket"),
            "{err}"
        );
    }

    #[test]
    fn the_straggler_is_the_slowest_against_the_median() {
        let w = |id: &str, d: f64| WorkerSummary {
            worker_id: id.into(),
            host: None,
            status: RunStatus::Ok,
            failure: None,
            started_at_unix_ms: 0,
            duration_ms: d,
            calls: 1,
            rows: None,
            rss_peak: None,
            errors: 0,
            regressions: vec![],
        };
        let s = FleetSummary::straggler(&[w("a", 100.0), w("b", 400.0), w("c", 120.0)]).unwrap();
        assert_eq!(s.worker_id, "b");
        assert_eq!(s.median_ms, 120.0);
        assert!((s.slower_pct - 233.333).abs() < 0.01, "{}", s.slower_pct);
        assert!(FleetSummary::straggler(&[w("a", 1.0)]).is_none());
    }
}
