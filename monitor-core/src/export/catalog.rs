//! The one list of exported metrics: names per protocol, help text, type, and where each value
//! comes from. Every way out walks this list, so a metric is defined once.
//!
//! | Prometheus name | type | labels | meaning |
//! |---|---|---|---|
//! | `monitor_call_duration_seconds` | histogram | pipeline, kind, name | wall time per call |
//! | `monitor_calls_total` | counter | pipeline, kind, name | finished calls |
//! | `monitor_errors_total` | counter | pipeline, kind, name, error_type | calls that returned `Err`, by the error's kind (its `ErrorLabel`, else `std::any::type_name`; at most 4 per site, then `__other__`) |
//! | `monitor_panics_total` | counter | pipeline, kind, name | calls that panicked |
//! | `monitor_cancelled_total` | counter | pipeline, kind, name | async calls dropped before completion |
//! | `monitor_slow_calls_total` | counter | pipeline, kind, name | calls past their slow threshold |
//! | `monitor_rows_total` | counter | pipeline, kind, name | rows out |
//! | `monitor_rows_in_total` | counter | pipeline, kind, name | rows in |
//! | `monitor_peak_rss_bytes` | gauge | pipeline, kind, name | largest peak RSS of one call |
//! | `monitor_peak_heap_bytes` | gauge | pipeline, kind, name | largest peak live heap of one call |
//! | `monitor_pipeline_runs_total` | counter | pipeline, status | finished runs (`success`/`failed`) |
//! | `monitor_pipeline_last_run_success` | gauge | pipeline | 1 if the last run succeeded, else 0 |
//! | `monitor_pipeline_last_run_timestamp_seconds` | gauge | pipeline | end of the last run (Unix) |
//! | `monitor_pipeline_last_success_timestamp_seconds` | gauge | pipeline | end of the last successful run |
//! | `monitor_pipeline_last_run_duration_seconds` | gauge | pipeline | wall time of the last run |
//! | `monitor_label_overflow_sites` | gauge | | sites folded into `name="__other__"` |

use super::figures::{Figures, RunFigures, SiteFigures};

/// The type of an exported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only goes up (cumulative since the process started).
    Counter,
    /// A value that can go down.
    Gauge,
    /// Duration distribution with the fixed bounds of [`super::buckets::LE_SECONDS`].
    Histogram,
}

/// One exported metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Prometheus name (with unit and `_total` suffixes).
    pub prometheus: &'static str,
    /// OpenTelemetry name (dotted, unit carried separately).
    pub otel: &'static str,
    /// UCUM unit for OpenTelemetry.
    pub unit: &'static str,
    /// DogStatsD name (dotted).
    pub statsd: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricType,
}

const fn def(
    prometheus: &'static str,
    otel: &'static str,
    unit: &'static str,
    statsd: &'static str,
    kind: MetricType,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        prometheus,
        otel,
        unit,
        statsd,
        help,
        kind,
    }
}

use MetricType::{Counter, Gauge, Histogram};

/// Wall time per call.
pub const CALL_DURATION: MetricDef = def(
    "monitor_call_duration_seconds",
    "monitor.call.duration",
    "s",
    "monitor.call.duration",
    Histogram,
    "Wall time of monitored calls (steps and queries), in seconds.",
);

/// Reads one value of a site's figures (`None`: no sample, e.g. rows never reported).
pub type SiteReader = fn(&SiteFigures) -> Option<f64>;
/// Reads one value of a pipeline's run figures.
pub type RunReader = fn(&RunFigures) -> Option<f64>;

/// Per-site scalar metrics and how to read each from a site's figures.
pub const SITE_SCALARS: [(MetricDef, SiteReader); 8] = [
    (
        def(
            "monitor_calls_total",
            "monitor.calls",
            "{call}",
            "monitor.calls",
            Counter,
            "Finished monitored calls, all outcomes.",
        ),
        |s| Some(u(s.calls)),
    ),
    (
        def(
            "monitor_panics_total",
            "monitor.panics",
            "{call}",
            "monitor.panics",
            Counter,
            "Monitored calls that panicked.",
        ),
        |s| Some(u(s.panics)),
    ),
    (
        def(
            "monitor_cancelled_total",
            "monitor.cancelled",
            "{call}",
            "monitor.cancelled",
            Counter,
            "Async monitored calls dropped before they completed.",
        ),
        |s| Some(u(s.cancelled)),
    ),
    (
        def(
            "monitor_slow_calls_total",
            "monitor.slow_calls",
            "{call}",
            "monitor.slow_calls",
            Counter,
            "Monitored calls that passed their slow threshold.",
        ),
        |s| Some(u(s.slow)),
    ),
    (
        def(
            "monitor_rows_total",
            "monitor.rows",
            "{row}",
            "monitor.rows",
            Counter,
            "Rows produced by monitored calls.",
        ),
        |s| s.rows.map(u),
    ),
    (
        def(
            "monitor_rows_in_total",
            "monitor.rows_in",
            "{row}",
            "monitor.rows_in",
            Counter,
            "Rows consumed by monitored calls that report their input.",
        ),
        |s| s.rows_in.map(u),
    ),
    (
        def(
            "monitor_peak_rss_bytes",
            "monitor.peak_rss",
            "By",
            "monitor.peak_rss",
            Gauge,
            "Largest peak resident set size seen during one call, in bytes.",
        ),
        |s| s.rss_peak.map(u),
    ),
    (
        def(
            "monitor_peak_heap_bytes",
            "monitor.peak_heap",
            "By",
            "monitor.peak_heap",
            Gauge,
            "Largest peak live heap seen during one call, in bytes (needs the tracking allocator).",
        ),
        |s| s.heap_peak.map(u),
    ),
];

/// Calls that returned `Err`, per error type (label `error_type`; see
/// [`SiteFigures::error_types`]).
pub const ERRORS: MetricDef = def(
    "monitor_errors_total",
    "monitor.errors",
    "{call}",
    "monitor.errors",
    Counter,
    "Monitored calls that returned Err, by the error's type.",
);

/// Finished runs per pipeline and status.
pub const RUNS_TOTAL: MetricDef = def(
    "monitor_pipeline_runs_total",
    "monitor.pipeline.runs",
    "{run}",
    "monitor.pipeline.runs",
    Counter,
    "Finished pipeline runs, by status (success or failed).",
);

/// Per-pipeline gauges and how to read each from a pipeline's run figures.
pub const RUN_SCALARS: [(MetricDef, RunReader); 4] = [
    (
        def(
            "monitor_pipeline_last_run_success",
            "monitor.pipeline.last_run.success",
            "1",
            "monitor.pipeline.last_run.success",
            Gauge,
            "1 if the pipeline's most recent run succeeded, 0 if it failed.",
        ),
        |r| Some(if r.last_succeeded { 1.0 } else { 0.0 }),
    ),
    (
        def(
            "monitor_pipeline_last_run_timestamp_seconds",
            "monitor.pipeline.last_run.timestamp",
            "s",
            "monitor.pipeline.last_run.timestamp",
            Gauge,
            "When the pipeline's most recent run ended, Unix time in seconds.",
        ),
        |r| Some(secs(r.last_end_unix_ms)),
    ),
    (
        def(
            "monitor_pipeline_last_success_timestamp_seconds",
            "monitor.pipeline.last_success.timestamp",
            "s",
            "monitor.pipeline.last_success.timestamp",
            Gauge,
            "When the pipeline's most recent successful run ended, Unix time in seconds.",
        ),
        |r| r.last_success_unix_ms.map(secs),
    ),
    (
        def(
            "monitor_pipeline_last_run_duration_seconds",
            "monitor.pipeline.last_run.duration",
            "s",
            "monitor.pipeline.last_run.duration",
            Gauge,
            "Wall time of the pipeline's most recent run, in seconds.",
        ),
        |r| Some(r.last_duration.as_secs_f64()),
    ),
];

/// Sites whose names were folded into the overflow label.
pub const OVERFLOWED: MetricDef = def(
    "monitor_label_overflow_sites",
    "monitor.label_overflow_sites",
    "{site}",
    "monitor.label_overflow_sites",
    Gauge,
    "Monitored sites exported under name=\"__other__\" because the label bound was reached.",
);

#[allow(clippy::cast_precision_loss)]
fn u(v: u64) -> f64 {
    v as f64
}

#[allow(clippy::cast_precision_loss)]
fn secs(unix_ms: u64) -> f64 {
    unix_ms as f64 / 1e3
}

/// Nanoseconds as seconds.
#[allow(clippy::cast_precision_loss)]
#[must_use]
pub fn ns_to_seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Labels of one scalar sample, in a fixed order.
pub type LabelPairs<'a> = &'a [(&'static str, &'a str)];

/// Calls `f(metric, labels, value)` for every counter and gauge sample of `figures`, metric by
/// metric (so each metric's samples come together). Histograms are not included: see
/// [`CALL_DURATION`] and [`SiteFigures::le_counts`].
pub fn for_each_scalar(figures: &Figures, mut f: impl FnMut(&MetricDef, LabelPairs<'_>, f64)) {
    // A site with no error has no `monitor_errors_total` series: the label set names a type, and
    // none is known yet. The alert rules count a series' first appearance as an increase.
    for s in &figures.sites {
        for &(ty, n) in &s.error_types {
            f(
                &ERRORS,
                &[
                    ("pipeline", &figures.pipeline),
                    ("kind", s.kind.as_str()),
                    ("name", s.name),
                    ("error_type", ty),
                ],
                u(n),
            );
        }
    }
    for (d, read) in &SITE_SCALARS {
        for s in &figures.sites {
            if let Some(v) = read(s) {
                f(
                    d,
                    &[
                        ("pipeline", &figures.pipeline),
                        ("kind", s.kind.as_str()),
                        ("name", s.name),
                    ],
                    v,
                );
            }
        }
    }
    for r in &figures.runs {
        for (status, n) in [("success", r.succeeded), ("failed", r.failed)] {
            f(
                &RUNS_TOTAL,
                &[("pipeline", &r.pipeline), ("status", status)],
                u(n),
            );
        }
    }
    for (d, read) in &RUN_SCALARS {
        for r in &figures.runs {
            if let Some(v) = read(r) {
                f(d, &[("pipeline", &r.pipeline)], v);
            }
        }
    }
    f(&OVERFLOWED, &[], u(figures.overflowed_sites));
}
