//! A bridge into the [`metrics`] facade, for programs that already run a `metrics` exporter.
//!
//! Each [`MetricsBridge::publish`] reads the sites and hands the figures to the installed
//! `metrics` recorder, under the Prometheus names and labels of [`super::catalog`]:
//!
//! - counters (`monitor_calls_total`, `monitor_errors_total`, …) with
//!   [`Counter::absolute`](metrics::Counter::absolute): the recorder holds our cumulative totals,
//!   so publishing twice never double-counts;
//! - gauges (`monitor_peak_rss_bytes`, `monitor_pipeline_*`) with `set`;
//! - `monitor_call_duration_seconds` as a `metrics` histogram: the calls recorded **since the
//!   previous publish**, each of our 720 buckets replayed with `record_many(midpoint, count)`, so
//!   the recorder's own summaries or buckets see every call once, within ±3.2 %.
//!
//! Nothing is published on the per-call path: call `publish` yourself, at an interval
//! ([`MetricsBridge::start_interval`]), or at the end of each run ([`super::add_run_hook`]).

use super::catalog::{for_each_scalar, MetricType, CALL_DURATION};
use super::figures::{Figures, RunSummary};
use super::periodic::Periodic;
use super::RunHook;
use crate::call::callsite::Kind;
use crate::call::histogram::{bucket_bounds, HistogramCounts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Publishes the figures into the `metrics` facade; remembers what it already replayed.
#[derive(Debug, Default)]
pub struct MetricsBridge {
    replayed: Mutex<HashMap<(Kind, String), HistogramCounts>>,
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<metrics::Label> {
    pairs
        .iter()
        .map(|(k, v)| metrics::Label::new(*k, (*v).to_owned()))
        .collect()
}

impl MetricsBridge {
    /// A bridge that has published nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the sites now and publishes them.
    pub fn publish(&self) {
        self.publish_figures(&super::collect());
    }

    /// Publishes given figures.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn publish_figures(&self, figures: &Figures) {
        for_each_scalar(figures, |d, pairs, v| {
            let l = labels(pairs);
            match d.kind {
                // Our counters are whole numbers held in f64 only for transport.
                MetricType::Counter => metrics::counter!(d.prometheus, l).absolute(v as u64),
                _ => metrics::gauge!(d.prometheus, l).set(v),
            }
        });
        let mut replayed = self.replayed.lock().unwrap_or_else(PoisonError::into_inner);
        for s in &figures.sites {
            let key = (s.kind, s.name.to_owned());
            let mut delta = s.histogram.clone();
            if let Some(prev) = replayed.get(&key) {
                delta.subtract(prev);
            }
            if delta.count() > 0 {
                let h = metrics::histogram!(
                    CALL_DURATION.prometheus,
                    labels(&[
                        ("pipeline", &figures.pipeline),
                        ("kind", s.kind.as_str()),
                        ("name", s.name),
                    ])
                );
                for (i, c) in delta.iter() {
                    let (lo, hi) = bucket_bounds(i);
                    #[allow(clippy::cast_precision_loss)]
                    let mid = (lo as f64 + hi as f64) / 2e9;
                    h.record_many(mid, usize::try_from(c).unwrap_or(usize::MAX));
                }
            }
            replayed.insert(key, s.histogram.clone());
        }
    }

    /// Publishes every `interval` on a background thread until the returned handle is dropped.
    /// The interval is clamped to [`INTERVAL_BOUNDS`](super::env::INTERVAL_BOUNDS) (100 ms to
    /// 1 h), with a warning.
    #[must_use]
    pub fn start_interval(self, interval: Duration) -> MetricsBridgeExporter {
        let bridge = Arc::new(self);
        let b = Arc::clone(&bridge);
        MetricsBridgeExporter {
            bridge,
            _periodic: Periodic::start("monitor-metrics-bridge", interval, move || b.publish()),
        }
    }
}

impl RunHook for MetricsBridge {
    fn run_finished(&self, figures: &Figures, _run: &RunSummary<'_>) {
        self.publish_figures(figures);
    }
}

/// A [`MetricsBridge`] publishing on an interval.
#[derive(Debug)]
pub struct MetricsBridgeExporter {
    bridge: Arc<MetricsBridge>,
    _periodic: Periodic,
}

impl MetricsBridgeExporter {
    /// Publishes now.
    pub fn publish(&self) {
        self.bridge.publish();
    }
}

impl RunHook for MetricsBridgeExporter {
    fn run_finished(&self, figures: &Figures, run: &RunSummary<'_>) {
        self.bridge.run_finished(figures, run);
    }
}
