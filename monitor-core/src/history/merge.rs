//! The whole of a fleet run from its workers' parts: [`FleetMerge`] folds one part at a time
//! into one [`Report`] of the same schema, so merging a thousand parts holds one part and the
//! merged sites in memory, never all the parts.
//!
//! What is exact: calls, errors, panics, cancellations, slow calls, rows, rows in, the duration
//! sum, shortest and longest call, and every histogram bucket. Quantiles are read from the merged
//! histogram (within its ±3.2 %), never averaged. Peaks (RSS, heap) are the highest of any
//! worker. The timeline stays in each worker's own report.

use super::part::{FleetOpening, WorkerPart};
use crate::base::clock::ms;
use crate::call::callsite::Kind;
use crate::report::snapshot::{DurationSummary, MaxLastBytes};
use crate::report::{
    ErrorReport, FleetSummary, OwnCost, Report, RunMemory, RunStatus, SiteReport, Timeline,
    WorkerSummary, MAX_PLANS_PER_SITE, SCHEMA,
};
use std::collections::{BTreeMap, HashMap};

/// How many errors the merged report keeps with their message (as a run keeps by default); the
/// rest are counted in `errors_not_kept`.
pub const MERGED_ERRORS_KEPT: usize = 100;

/// One site as merged so far.
#[derive(Debug)]
struct MergedSite {
    site: SiteReport,
    /// Whether every part carried its histogram (else the quantiles are the highest of the
    /// parts', an upper bound).
    exact: bool,
    /// End of the part whose memory figures are `last` (the latest to finish).
    last_end_ms: u64,
}

/// Folds worker parts into one report: [`add`](Self::add) each part, then
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct FleetMerge {
    run_id: String,
    pipeline: Option<String>,
    sites: Vec<MergedSite>,
    index: HashMap<(Kind, String), usize>,
    workers: Vec<WorkerSummary>,
    errors: Vec<(u64, ErrorReport)>,
    errors_not_kept: u64,
    started_ms: Option<u64>,
    ended_ms: u64,
    rss_peak: Option<u64>,
    heap_peak: Option<u64>,
    labels: Option<BTreeMap<String, String>>,
    sites_not_tracked: u64,
    calls_not_kept: u64,
    memory_not_kept: u64,
    chunks_not_kept: u64,
    /// The largest `expected_workers` a worker was told.
    expected_told: Option<u32>,
    /// Parts of another pipeline under the same run id, left out.
    other_pipelines: usize,
    /// Every worker's own cost, summed.
    own_cost: OwnCost,
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.max(b)
}

/// The larger maximum; `last` from the later part.
fn max_last(
    a: Option<MaxLastBytes>,
    b: Option<MaxLastBytes>,
    b_is_later: bool,
) -> Option<MaxLastBytes> {
    match (a, b) {
        (Some(a), Some(b)) => Some(MaxLastBytes {
            max: a.max.max(b.max),
            last: if b_is_later { b.last } else { a.last },
        }),
        (a, b) => a.or(b),
    }
}

impl MergedSite {
    fn new(site: SiteReport, end_ms: u64) -> Self {
        MergedSite {
            exact: site.duration_histogram.is_some(),
            site,
            last_end_ms: end_ms,
        }
    }

    fn add(&mut self, other: SiteReport, end_ms: u64) {
        let later = end_ms >= self.last_end_ms;
        if later {
            self.last_end_ms = end_ms;
        }
        let (a, b) = (&mut self.site.site, &other.site);
        a.calls = a.calls.saturating_add(b.calls);
        a.errors = a.errors.saturating_add(b.errors);
        for (kind, n) in &b.error_types {
            let e = a.error_types.entry(kind.clone()).or_insert(0);
            *e = e.saturating_add(*n);
        }
        a.panics = a.panics.saturating_add(b.panics);
        a.cancelled = a.cancelled.saturating_add(b.cancelled);
        a.slow = a.slow.saturating_add(b.slow);
        a.slow_threshold_ms = a.slow_threshold_ms.or(b.slow_threshold_ms);
        a.busy_ms = match (a.busy_ms, b.busy_ms) {
            (None, None) => None,
            (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
        };
        a.rows = add_opt(a.rows, b.rows);
        a.rows_in = add_opt(a.rows_in, b.rows_in);
        let (ma, mb) = (&mut a.memory, &b.memory);
        ma.rss_start = max_last(ma.rss_start, mb.rss_start, later);
        ma.rss_end = max_last(ma.rss_end, mb.rss_end, later);
        ma.rss_peak = max_last(ma.rss_peak, mb.rss_peak, later);
        ma.heap_peak = max_last(ma.heap_peak, mb.heap_peak, later);
        ma.allocated = max_last(ma.allocated, mb.allocated, later);
        ma.peak_approximate_calls = ma
            .peak_approximate_calls
            .saturating_add(mb.peak_approximate_calls);
        // Durations: exact from the histograms; without one, the totals still add and the
        // extremes still hold, and each quantile is the highest of the parts' (an upper bound).
        let (da, db) = (&mut a.duration_ms, &b.duration_ms);
        da.total += db.total;
        da.min = da.min.min(db.min);
        da.max = da.max.max(db.max);
        da.p50 = da.p50.max(db.p50);
        da.p95 = da.p95.max(db.p95);
        da.p99 = da.p99.max(db.p99);
        da.stddev = da.stddev.max(db.stddev);
        match (&mut self.site.duration_histogram, &other.duration_histogram) {
            (Some(h), Some(o)) => h.merge(o),
            _ => self.exact = false,
        }
        self.site.rows_dropped = add_opt(self.site.rows_dropped, other.rows_dropped);
        self.site.plans.extend(other.plans);
        self.site
            .plans
            .sort_by(|x, y| y.duration_ms.total_cmp(&x.duration_ms));
        self.site.plans.truncate(MAX_PLANS_PER_SITE);
    }

    fn finish(mut self) -> SiteReport {
        let s = &mut self.site;
        if !self.exact {
            s.duration_histogram = None;
        }
        if let Some(h) = &s.duration_histogram {
            let calls = h.calls();
            #[allow(clippy::cast_precision_loss)]
            let mean = if calls == 0 {
                0.0
            } else {
                h.total_ns as f64 / calls as f64 / 1e6
            };
            s.site.duration_ms = DurationSummary {
                total: ms(h.total_ns),
                mean,
                stddev: h.buckets.stddev() / 1e6,
                min: ms(h.min_ns),
                p50: ms(h.quantile_ns(0.50)),
                p95: ms(h.quantile_ns(0.95)),
                p99: ms(h.quantile_ns(0.99)),
                max: ms(h.max_ns),
            };
        } else if s.site.calls > 0 {
            #[allow(clippy::cast_precision_loss)]
            let mean = s.site.duration_ms.total / s.site.calls as f64;
            s.site.duration_ms.mean = mean;
        }
        let total_s = s.site.duration_ms.total / 1e3;
        #[allow(clippy::cast_precision_loss)]
        let rate = s
            .site
            .rows
            .filter(|_| total_s > 0.0)
            .map(|r| r as f64 / total_s);
        s.rows_per_sec = rate;
        s.server = None;
        s.baseline = None;
        self.site
    }
}

impl FleetMerge {
    /// An empty merge of the fleet run `run_id`.
    #[must_use]
    pub fn new(run_id: &str) -> FleetMerge {
        FleetMerge {
            run_id: run_id.to_owned(),
            pipeline: None,
            sites: Vec::new(),
            index: HashMap::new(),
            workers: Vec::new(),
            errors: Vec::new(),
            errors_not_kept: 0,
            started_ms: None,
            ended_ms: 0,
            rss_peak: None,
            heap_peak: None,
            labels: None,
            sites_not_tracked: 0,
            calls_not_kept: 0,
            memory_not_kept: 0,
            chunks_not_kept: 0,
            expected_told: None,
            other_pipelines: 0,
            own_cost: OwnCost::default(),
        }
    }

    /// How many parts were added.
    #[must_use]
    pub fn parts(&self) -> usize {
        self.workers.len()
    }

    /// How many parts were left out for being of another pipeline than the first part's (a
    /// process that ran two pipelines under one `MONITOR_RUN_ID`).
    #[must_use]
    pub fn other_pipelines(&self) -> usize {
        self.other_pipelines
    }

    /// Folds one worker's part in. A second part of the same worker id is the caller's to
    /// avoid (the stores hand out the latest part of each worker only). A part of another
    /// pipeline than the first part's is left out and counted ([`other_pipelines`]).
    ///
    /// [`other_pipelines`]: Self::other_pipelines
    pub fn add(&mut self, part: WorkerPart) {
        if self.pipeline.as_ref().is_some_and(|p| *p != part.pipeline) {
            self.other_pipelines += 1;
            return;
        }
        let WorkerPart {
            worker_id, report, ..
        } = part;
        self.workers
            .push(WorkerSummary::of_part(&worker_id, &report));
        self.pipeline.get_or_insert_with(|| report.pipeline.clone());
        self.expected_told = self
            .expected_told
            .max(report.worker.as_ref().and_then(|w| w.expected_workers));
        let start = report.started_at_unix_ms;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let end = start.saturating_add(report.duration_ms.max(0.0).ceil() as u64);
        self.started_ms = Some(self.started_ms.map_or(start, |s| s.min(start)));
        self.ended_ms = self.ended_ms.max(end);
        self.rss_peak = max_opt(self.rss_peak, report.memory.rss_peak);
        self.heap_peak = max_opt(self.heap_peak, report.memory.heap_peak);
        self.own_cost.add(&report.own_cost);
        self.labels = Some(match self.labels.take() {
            None => report.labels.clone(),
            Some(mut shared) => {
                shared.retain(|k, v| report.labels.get(k) == Some(v));
                shared
            }
        });
        self.sites_not_tracked = self
            .sites_not_tracked
            .saturating_add(report.sites_not_tracked);
        self.calls_not_kept = self
            .calls_not_kept
            .saturating_add(report.timeline.calls_not_kept)
            .saturating_add(report.timeline.calls.len() as u64);
        self.memory_not_kept = self
            .memory_not_kept
            .saturating_add(report.timeline.memory_not_kept)
            .saturating_add(report.timeline.memory.len() as u64);
        self.chunks_not_kept = self
            .chunks_not_kept
            .saturating_add(report.chunks_not_kept)
            .saturating_add(report.chunks.len() as u64);
        self.errors_not_kept = self.errors_not_kept.saturating_add(report.errors_not_kept);
        for mut e in report.errors {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let at = start.saturating_add(e.at_ms.max(0.0) as u64);
            e.worker = Some(worker_id.clone());
            self.errors.push((at, e));
        }
        if self.errors.len() > 2 * MERGED_ERRORS_KEPT {
            self.trim_errors();
        }
        for site in report.steps.into_iter().chain(report.queries) {
            let key = (site.site.kind, site.site.name.clone());
            match self.index.get(&key) {
                Some(&i) => self.sites[i].add(site, end),
                None => {
                    self.index.insert(key, self.sites.len());
                    self.sites.push(MergedSite::new(site, end));
                }
            }
        }
    }

    /// Keeps the first errors in time, counting the rest.
    fn trim_errors(&mut self) {
        self.errors.sort_by_key(|(at, _)| *at);
        let dropped = self.errors.len().saturating_sub(MERGED_ERRORS_KEPT);
        self.errors.truncate(MERGED_ERRORS_KEPT);
        self.errors_not_kept = self.errors_not_kept.saturating_add(dropped as u64);
    }

    /// The whole run's report: the merged sites, the workers slowest first, which expected
    /// workers did not report (from `opening`, else the largest `expected_workers` a worker was
    /// told), and the status: `failed` when a worker failed or did not report.
    #[must_use]
    pub fn finish(mut self, opening: Option<&FleetOpening>) -> Report {
        self.trim_errors();
        let started = self
            .started_ms
            .or(opening.map(|o| o.opened_at_ms))
            .unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let duration_ms = self.ended_ms.saturating_sub(started) as f64;
        let pipeline = self
            .pipeline
            .clone()
            .or_else(|| opening.map(|o| o.pipeline.clone()))
            .unwrap_or_default();

        let mut workers = std::mem::take(&mut self.workers);
        workers.sort_by(|a, b| {
            b.duration_ms
                .total_cmp(&a.duration_ms)
                .then_with(|| a.worker_id.cmp(&b.worker_id))
        });
        let expected = opening
            .and_then(|o| {
                o.expected_workers
                    .or_else(|| u32::try_from(o.workers.len()).ok().filter(|&n| n > 0))
            })
            .or(self.expected_told);
        let (missing, missing_count) = missing(opening, expected, &workers);
        let slowest = FleetSummary::straggler(&workers);

        let mut failures = Vec::new();
        if missing_count > 0 {
            let named = if missing.is_empty() {
                String::new()
            } else {
                format!(" ({})", missing.join(", "))
            };
            failures.push(format!(
                "{missing_count} of {} workers did not report{named}",
                expected.unwrap_or(0)
            ));
        }
        let failed: Vec<&WorkerSummary> = workers
            .iter()
            .filter(|w| w.status != RunStatus::Ok)
            .collect();
        match failed.as_slice() {
            [] => {}
            [one] => failures.push(format!(
                "worker {} failed{}",
                one.worker_id,
                one.failure
                    .as_deref()
                    .map_or_else(String::new, |f| format!(": {f}"))
            )),
            many => failures.push(format!(
                "{} workers failed ({})",
                many.len(),
                many.iter()
                    .map(|w| w.worker_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
        if workers.is_empty() {
            failures.push("no worker reported".to_owned());
        }

        let (mut steps, mut queries) = (Vec::new(), Vec::new());
        for s in self.sites {
            let s = s.finish();
            match s.site.kind {
                Kind::Step => steps.push(s),
                Kind::Query => queries.push(s),
            }
        }
        let errors: Vec<ErrorReport> = self
            .errors
            .into_iter()
            .map(|(at, mut e)| {
                #[allow(clippy::cast_precision_loss)]
                let at_ms = at.saturating_sub(started) as f64;
                e.at_ms = at_ms;
                e
            })
            .collect();
        let failure = (!failures.is_empty()).then(|| failures.join("; "));
        Report {
            schema: SCHEMA.to_owned(),
            pipeline,
            run_id: self.run_id,
            started_at: humantime::format_rfc3339_millis(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(started),
            )
            .to_string(),
            started_at_unix_ms: started,
            duration_ms,
            status: if failure.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Ok
            },
            failure,
            host: None,
            labels: self.labels.unwrap_or_default(),
            steps,
            queries,
            errors,
            errors_not_kept: self.errors_not_kept,
            memory: RunMemory {
                rss_start: None,
                rss_end: None,
                rss_peak: self.rss_peak,
                heap_peak: self.heap_peak,
            },
            timeline: Timeline {
                calls: Vec::new(),
                calls_not_kept: self.calls_not_kept,
                memory: Vec::new(),
                memory_not_kept: self.memory_not_kept,
            },
            chunks: Vec::new(),
            chunks_not_kept: self.chunks_not_kept,
            sites_not_tracked: self.sites_not_tracked,
            regressions: Vec::new(),
            improvements: Vec::new(),
            worker: None,
            fleet: Some(FleetSummary {
                expected_workers: expected,
                workers,
                missing,
                missing_count,
                slowest,
            }),
            own_cost: self.own_cost,
        }
    }
}

/// The expected workers that did not report: named from the opening's list, else from the
/// numbering `0..expected` when every worker that reported is numbered within it; else only
/// counted.
fn missing(
    opening: Option<&FleetOpening>,
    expected: Option<u32>,
    workers: &[WorkerSummary],
) -> (Vec<String>, u32) {
    let reported: std::collections::HashSet<&str> =
        workers.iter().map(|w| w.worker_id.as_str()).collect();
    if let Some(o) = opening.filter(|o| !o.workers.is_empty()) {
        let missing: Vec<String> = o
            .workers
            .iter()
            .filter(|w| !reported.contains(w.as_str()))
            .cloned()
            .collect();
        let count = u32::try_from(missing.len()).unwrap_or(u32::MAX);
        return (missing, count);
    }
    let Some(n) = expected else {
        return (Vec::new(), 0);
    };
    let count = n.saturating_sub(u32::try_from(reported.len()).unwrap_or(u32::MAX));
    let numbered = reported
        .iter()
        .all(|w| w.parse::<u32>().is_ok_and(|i| i < n && i.to_string() == *w));
    if count == 0 || !numbered {
        return (Vec::new(), count);
    }
    let named = (0..n)
        .map(|i| i.to_string())
        .filter(|i| !reported.contains(i.as_str()))
        .collect();
    (named, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(pipeline: &str, worker: &str, ms: f64, errors: usize) -> WorkerPart {
        let errors: Vec<String> = (0..errors)
            .map(|i| {
                format!(
                    r#"{{"site":"load","kind":"step","outcome":"error","message":"e{i}",
                        "at_ms":{i}.0,"time":"2026-01-01T00:00:00.000Z"}}"#
                )
            })
            .collect();
        let report = Report::from_json(&format!(
            r#"{{"schema":"monitor.report/v1","pipeline":"{pipeline}","run_id":"r",
                "started_at":"2026-01-01T00:00:00.000Z","started_at_unix_ms":1000,
                "duration_ms":{ms},"status":"ok","steps":[],"queries":[],
                "errors":[{}],"worker":{{"id":"{worker}","expected_workers":4}}}}"#,
            errors.join(",")
        ))
        .unwrap();
        WorkerPart::from_report(&report).unwrap()
    }

    fn opening(workers: &[&str]) -> FleetOpening {
        let mut o = FleetOpening::new("r", "etl", None);
        o.workers = workers.iter().map(|w| (*w).to_owned()).collect();
        o
    }

    #[test]
    fn missing_workers_are_named_when_their_ids_are_known() {
        // Numbered 0..4, expected 4 (as the workers were told): 1 and 3 are named.
        let mut m = FleetMerge::new("r");
        m.add(part("etl", "0", 10.0, 0));
        m.add(part("etl", "2", 30.0, 0));
        let r = m.finish(None);
        let f = r.fleet.unwrap();
        assert_eq!(
            (f.missing, f.missing_count),
            (vec!["1".into(), "3".into()], 2)
        );
        assert_eq!(
            r.failure.as_deref(),
            Some("2 of 4 workers did not report (1, 3)")
        );
        assert_eq!(f.slowest.unwrap().worker_id, "2");
        // Ids that are not a numbering: only counted.
        let mut m = FleetMerge::new("r");
        m.add(part("etl", "pod-a", 10.0, 0));
        let f = m.finish(None).fleet.unwrap();
        assert_eq!((f.missing.len(), f.missing_count), (0, 3));
        // The coordinator's list names them whatever they are.
        let mut m = FleetMerge::new("r");
        m.add(part("etl", "pod-a", 10.0, 0));
        let r = m.finish(Some(&opening(&["pod-a", "pod-b"])));
        let f = r.fleet.unwrap();
        assert_eq!(
            (f.missing, f.expected_workers),
            (vec!["pod-b".into()], Some(2))
        );
    }

    #[test]
    fn parts_of_another_pipeline_are_left_out_and_errors_are_bounded_in_time_order() {
        let mut m = FleetMerge::new("r");
        for w in 0..4 {
            m.add(part("etl", &w.to_string(), 10.0, 60));
        }
        m.add(part("other", "9", 10.0, 0));
        assert_eq!(m.other_pipelines(), 1);
        let r = m.finish(None);
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.failure);
        assert_eq!(r.fleet.as_ref().unwrap().workers.len(), 4);
        assert_eq!(r.errors.len(), MERGED_ERRORS_KEPT);
        assert_eq!(r.errors_not_kept, 240 - MERGED_ERRORS_KEPT as u64);
        assert!(r.errors.windows(2).all(|e| e[0].at_ms <= e[1].at_ms));
        assert!(r.errors.iter().all(|e| e.worker.is_some()));
    }
}
