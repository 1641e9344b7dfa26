//! What a report says about a run against its baseline: the figures a baseline is kept for
//! ([`Metric`]), which way is bad ([`Polarity`]), and the [`Evidence`] behind a verdict. The
//! history computes them (`crate::history`); reports carry and render them.

use crate::report::units;
use serde::{Deserialize, Serialize};

/// Whether a rise in a metric is bad news, good news, or just news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// Durations and memory: higher is a regression, lower an improvement.
    LowerIsBetter,
    /// Rows: a significant change either way is flagged (a step that suddenly moves half the
    /// rows, or twice as many, is news).
    ChangeIsNews,
}

/// A figure a baseline is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total wall time of the site in the run, milliseconds.
    #[serde(rename = "duration_total_ms")]
    DurationTotal,
    /// 95th-percentile call duration, milliseconds.
    #[serde(rename = "duration_p95_ms")]
    DurationP95,
    /// Rows out.
    Rows,
    /// Peak RSS, bytes.
    #[serde(rename = "rss_peak_bytes")]
    RssPeak,
    /// Peak live heap, bytes.
    #[serde(rename = "heap_peak_bytes")]
    HeapPeak,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 5] = [
        Metric::DurationTotal,
        Metric::DurationP95,
        Metric::Rows,
        Metric::RssPeak,
        Metric::HeapPeak,
    ];

    /// The name used in JSON and on the command line.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::DurationTotal => "duration_total_ms",
            Metric::DurationP95 => "duration_p95_ms",
            Metric::Rows => "rows",
            Metric::RssPeak => "rss_peak_bytes",
            Metric::HeapPeak => "heap_peak_bytes",
        }
    }

    /// The metric as people name it in a report: `total time`, `p95`, `rows`, `peak RSS`,
    /// `peak heap`.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Metric::DurationTotal => "total time",
            Metric::DurationP95 => "p95",
            Metric::Rows => "rows",
            Metric::RssPeak => "peak RSS",
            Metric::HeapPeak => "peak heap",
        }
    }

    /// Parses [`Metric::as_str`] back.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether a rise is bad.
    #[must_use]
    pub const fn polarity(self) -> Polarity {
        match self {
            Metric::Rows => Polarity::ChangeIsNews,
            _ => Polarity::LowerIsBetter,
        }
    }

    /// Formats a value of this metric for people, with the report's units (`"1.24 s"`,
    /// `"340.2 MiB"`, `"1,204 rows"`).
    #[must_use]
    pub fn format_value(self, v: f64) -> String {
        // Medians of counts can be fractional (.5); people read whole rows and bytes.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = v.max(0.0).round() as u64;
        match self {
            Metric::DurationTotal | Metric::DurationP95 => units::duration_ms(v),
            Metric::Rows => format!("{} rows", units::count(whole)),
            Metric::RssPeak | Metric::HeapPeak => units::bytes(whole),
        }
    }
}

/// The evidence behind a finding: which runs, and the statistics computed from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// How many baseline runs measured this metric.
    pub runs: usize,
    /// Their run ids, oldest first.
    pub run_ids: Vec<String>,
    /// Median absolute deviation of the baseline runs (the metric's unit).
    pub mad: f64,
    /// The history's noise: the robust standard deviation of the log values (≈ the relative
    /// noise, 0.05 = 5 %) when every value is positive, else of the values themselves.
    pub noise: f64,
    /// Whether `noise` and `z` are on the log scale (multiplicative noise) or linear.
    pub log_scale: bool,
    /// Confidence interval of the baseline median.
    pub median_ci: [f64; 2],
    /// The interval's coverage (≥ 0.95 with 6 runs or more).
    pub ci_coverage: f64,
    /// A value above this would have been flagged (regression).
    pub flag_above: f64,
    /// A value below this would have been flagged (improvement, or for rows a regression).
    pub flag_below: f64,
    /// Robust z-score of the current value against the history (absent when the noise is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
}
