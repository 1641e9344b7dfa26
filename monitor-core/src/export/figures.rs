//! The figures every way out exports, read from the sites at scrape or flush time.
//!
//! [`collect`] walks the site registry once, merges sites that share a kind and name (two
//! functions annotated with the same step name are one series), applies the label bound of
//! [`super::labels`], and folds each histogram into the fixed `le` bounds of [`super::buckets`].
//! Nothing here runs on the per-call path: the sites are read with relaxed loads, as
//! [`crate::snapshot()`] does.

use super::buckets::{fold_into, LE_BUCKETS};
use super::labels::{max_names, max_pipelines, OVERFLOW};
use crate::call::callsite::{for_each_site, Callsite, Kind};
use crate::call::error_types::ERROR_TYPE_SLOTS;
use crate::call::histogram::HistogramCounts;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// One exported series set: a (kind, name) pair, possibly merged from several sites.
#[derive(Debug, Clone)]
pub struct SiteFigures {
    /// Step or query.
    pub kind: Kind,
    /// The `name` label: the step or query name, or [`OVERFLOW`].
    pub name: &'static str,
    /// Finished calls.
    pub calls: u64,
    /// Calls that returned `Err`.
    pub errors: u64,
    /// Those errors by kind (the error's `ErrorLabel`, else its type): at most
    /// `ERROR_TYPE_SLOTS` named kinds in first-seen order, then [`OVERFLOW`] for errors of
    /// further kinds. Sums to `errors`; empty when there were none.
    pub error_types: Vec<(&'static str, u64)>,
    /// Calls that panicked.
    pub panics: u64,
    /// Async calls dropped before completion.
    pub cancelled: u64,
    /// Calls past the slow threshold.
    pub slow: u64,
    /// Rows out (absent when never reported).
    pub rows: Option<u64>,
    /// Rows in (absent when never reported).
    pub rows_in: Option<u64>,
    /// Sum of wall durations, nanoseconds (exact).
    pub duration_sum_ns: u64,
    /// Shortest call, nanoseconds.
    pub min_ns: u64,
    /// Longest call, nanoseconds.
    pub max_ns: u64,
    /// Calls per exported bound (not cumulative), the last one being `+Inf`.
    pub le_counts: [u64; LE_BUCKETS],
    /// The full-resolution histogram (for interval quantiles).
    pub histogram: HistogramCounts,
    /// Largest peak RSS of one call, bytes (absent when memory is not tracked).
    pub rss_peak: Option<u64>,
    /// Largest peak live heap of one call, bytes (needs the tracking allocator).
    pub heap_peak: Option<u64>,
}

/// What is known about one pipeline's runs in this process.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// The `pipeline` label (or [`OVERFLOW`]).
    pub pipeline: String,
    /// Runs that finished successfully.
    pub succeeded: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Whether the most recent run succeeded.
    pub last_succeeded: bool,
    /// When the most recent run ended, Unix milliseconds.
    pub last_end_unix_ms: u64,
    /// When the most recent successful run ended, Unix milliseconds.
    pub last_success_unix_ms: Option<u64>,
    /// Wall time of the most recent run.
    pub last_duration: Duration,
}

/// Everything an exporter sends, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// The `pipeline` label of the site series (see [`super::pipeline_name`]).
    pub pipeline: String,
    /// One entry per exported (kind, name), in registration order.
    pub sites: Vec<SiteFigures>,
    /// One entry per pipeline that finished a run in this process.
    pub runs: Vec<RunFigures>,
    /// Sites whose names were folded into [`OVERFLOW`].
    pub overflowed_sites: u64,
}

impl Figures {
    /// The series of this kind and name, if exported.
    #[must_use]
    pub fn site(&self, kind: Kind, name: &str) -> Option<&SiteFigures> {
        self.sites.iter().find(|s| s.kind == kind && s.name == name)
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

fn site_figures(kind: Kind, name: &'static str, site: &Callsite) -> SiteFigures {
    let v = site.stats().load();
    let mut le_counts = [0; LE_BUCKETS];
    fold_into(&v.histogram, &mut le_counts);
    SiteFigures {
        kind,
        name,
        calls: v.calls,
        errors: v.errors,
        error_types: v.errors_by_type(),
        panics: v.panics,
        cancelled: v.cancelled,
        slow: v.slow,
        rows: v.rows,
        rows_in: v.rows_in,
        duration_sum_ns: v.total_ns,
        min_ns: v.min_ns,
        max_ns: v.max_ns,
        le_counts,
        histogram: v.histogram,
        rss_peak: v.rss_peak.map(|(max, _)| max),
        heap_peak: v.heap_peak.map(|(max, _)| max),
    }
}

fn merge(into: &mut SiteFigures, from: SiteFigures) {
    if into.calls == 0 {
        into.min_ns = from.min_ns;
    } else if from.calls > 0 {
        into.min_ns = into.min_ns.min(from.min_ns);
    }
    into.calls += from.calls;
    into.errors += from.errors;
    merge_error_types(&mut into.error_types, from.error_types);
    into.panics += from.panics;
    into.cancelled += from.cancelled;
    into.slow += from.slow;
    into.rows = add_opt(into.rows, from.rows);
    into.rows_in = add_opt(into.rows_in, from.rows_in);
    into.duration_sum_ns += from.duration_sum_ns;
    into.max_ns = into.max_ns.max(from.max_ns);
    for (a, b) in into.le_counts.iter_mut().zip(from.le_counts) {
        *a += b;
    }
    into.histogram.merge(&from.histogram);
    into.rss_peak = max_opt(into.rss_peak, from.rss_peak);
    into.heap_peak = max_opt(into.heap_peak, from.heap_peak);
}

/// Adds `from`'s per-type error counts into `into`, keeping at most [`ERROR_TYPE_SLOTS`] named
/// types (first seen first) and folding the rest into [`OVERFLOW`], which stays last.
fn merge_error_types(into: &mut Vec<(&'static str, u64)>, from: Vec<(&'static str, u64)>) {
    let mut other = match into.last() {
        Some(&(OVERFLOW, n)) => {
            into.pop();
            n
        }
        _ => 0,
    };
    for (ty, n) in from {
        if let Some(e) = into.iter_mut().find(|(t, _)| *t == ty) {
            e.1 += n;
        } else if ty != OVERFLOW && into.len() < ERROR_TYPE_SLOTS {
            into.push((ty, n));
        } else {
            other += n;
        }
    }
    if other > 0 {
        into.push((OVERFLOW, other));
    }
}

/// Reads every registered site (and the recorded runs) into exportable figures.
///
/// Sites never called are left out. Sites are taken in registration order; the first
/// [`super::labels::set_max_names`] distinct names of each kind keep their name, later ones are
/// merged into one [`OVERFLOW`] series per kind.
#[must_use]
pub fn collect() -> Figures {
    let mut sites: Vec<&'static Callsite> = Vec::new();
    for_each_site(|s| sites.push(s));
    // The registry lists newest first; ids are dense in registration order.
    sites.sort_by_key(|s| s.id().unwrap_or(u32::MAX));

    let limit = max_names();
    let mut index: HashMap<(Kind, &'static str), usize> = HashMap::new();
    let mut distinct = [0usize; 2];
    let mut overflow_at: [Option<usize>; 2] = [None, None];
    let mut out: Vec<SiteFigures> = Vec::new();
    let mut overflowed_sites = 0;
    for site in sites {
        let meta = site.metadata();
        let k = usize::from(meta.kind == Kind::Query);
        if let Some(&i) = index.get(&(meta.kind, meta.name)) {
            let f = site_figures(meta.kind, meta.name, site);
            merge(&mut out[i], f);
            continue;
        }
        if distinct[k] < limit {
            distinct[k] += 1;
            index.insert((meta.kind, meta.name), out.len());
            out.push(site_figures(meta.kind, meta.name, site));
        } else {
            overflowed_sites += 1;
            let f = site_figures(meta.kind, OVERFLOW, site);
            match overflow_at[k] {
                Some(i) => merge(&mut out[i], f),
                None => {
                    overflow_at[k] = Some(out.len());
                    out.push(f);
                }
            }
        }
    }
    out.retain(|s| s.calls > 0);
    Figures {
        pipeline: super::pipeline_name(),
        sites: out,
        runs: runs(),
        overflowed_sites,
    }
}

/// A finished run, as the exporters need it.
#[derive(Debug, Clone, Copy)]
pub struct RunSummary<'a> {
    /// The pipeline's name.
    pub pipeline: &'a str,
    /// Whether the run succeeded.
    pub succeeded: bool,
    /// When it ended, Unix milliseconds.
    pub ended_unix_ms: u64,
    /// How long it took.
    pub duration: Duration,
}

static RUNS: Mutex<Vec<RunFigures>> = Mutex::new(Vec::new());

/// Records a finished run into the per-pipeline figures (bounded by
/// [`super::labels::set_max_pipelines`]).
pub(crate) fn record_run(run: &RunSummary<'_>) {
    let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let known = runs.iter().position(|r| r.pipeline == run.pipeline);
    let i = match known {
        Some(i) => i,
        None => {
            let named = runs.iter().filter(|r| r.pipeline != OVERFLOW).count();
            let label = if named < max_pipelines() {
                run.pipeline
            } else {
                OVERFLOW
            };
            match runs.iter().position(|r| r.pipeline == label) {
                Some(i) => i,
                None => {
                    runs.push(RunFigures {
                        pipeline: label.to_owned(),
                        succeeded: 0,
                        failed: 0,
                        last_succeeded: false,
                        last_end_unix_ms: 0,
                        last_success_unix_ms: None,
                        last_duration: Duration::ZERO,
                    });
                    runs.len() - 1
                }
            }
        }
    };
    let r = &mut runs[i];
    if run.succeeded {
        r.succeeded += 1;
        r.last_success_unix_ms = Some(run.ended_unix_ms);
    } else {
        r.failed += 1;
    }
    r.last_succeeded = run.succeeded;
    r.last_end_unix_ms = run.ended_unix_ms;
    r.last_duration = run.duration;
}

fn runs() -> Vec<RunFigures> {
    RUNS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}
