//! OpenTelemetry: the same figures as OTLP/HTTP protobuf metrics (`POST {endpoint}/v1/metrics`).
//!
//! Built on `opentelemetry-proto` (the generated OTLP messages) and `prost`, with the same small
//! HTTP client as the Pushgateway, rather than the OpenTelemetry SDK's metrics pipeline: our
//! figures are already aggregated in the call sites, so the SDK's instruments, aggregators and
//! async runtime would only copy them again; this keeps tonic, hyper and tokio out of the build.
//!
//! Each export sends every series with cumulative temporality (start time = when the exporter was
//! created): counters as monotonic sums, gauges as gauges, durations as an explicit-bucket
//! histogram with the bounds of [`super::buckets::LE_SECONDS`]. Names are the dotted
//! OpenTelemetry names of [`super::catalog`] (`monitor.call.duration` in `s`, `monitor.calls`,
//! …), with attributes `pipeline`, `kind`, `name` (and `error.type` on `monitor.errors`, the
//! semantic conventions' name for it). The resource's `service.name` is the pipeline.
//!
//! A collector that is down or hanging gets 3 tries within 5 s, then one `warn` (until an export
//! succeeds again); the pipeline is never failed.
//!
//! Steps and queries also appear as spans: with `MONITOR_SPANS=1` every call opens a `tracing`
//! span named `monitor` with `otel.name` set to the step or query name, which
//! `tracing-opentelemetry` uses as the span name.

use super::buckets::LE_SECONDS;
use super::catalog::{for_each_scalar, ns_to_seconds, MetricType, CALL_DURATION};
use super::figures::{Figures, RunSummary};
use super::periodic::Periodic;
use super::RunHook;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The content type of an OTLP/HTTP protobuf request.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// Exports the figures to one OTLP/HTTP endpoint.
#[derive(Debug)]
pub struct Otlp {
    url: String,
    start_unix_nano: u64,
    warned: AtomicBool,
}

/// The attribute name of a label: OpenTelemetry's semantic conventions call the error type
/// `error.type`; the other labels keep their names.
fn otel_attribute(label: &str) -> &str {
    if label == "error_type" {
        "error.type"
    } else {
        label
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn now_unix_nano() -> u64 {
    crate::base::clock::unix_millis().saturating_mul(1_000_000)
}

impl Otlp {
    /// An exporter for `endpoint` (`http://collector:4318`; `/v1/metrics` is added unless the
    /// URL already ends with it).
    #[must_use]
    pub fn new(endpoint: &str) -> Otlp {
        let base = endpoint.trim_end_matches('/');
        let url = if base.ends_with("/v1/metrics") {
            base.to_owned()
        } else {
            format!("{base}/v1/metrics")
        };
        Otlp {
            url,
            start_unix_nano: now_unix_nano(),
            warned: AtomicBool::new(false),
        }
    }

    /// The URL requests go to.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OTLP request for `figures`.
    #[must_use]
    pub fn request(&self, figures: &Figures) -> ExportMetricsServiceRequest {
        let now = now_unix_nano();
        let start = self.start_unix_nano;
        let cumulative = AggregationTemporality::Cumulative as i32;
        let mut metrics: Vec<Metric> = Vec::new();
        if !figures.sites.is_empty() {
            let points = figures
                .sites
                .iter()
                .map(|s| HistogramDataPoint {
                    attributes: vec![
                        kv("pipeline", &figures.pipeline),
                        kv("kind", s.kind.as_str()),
                        kv("name", s.name),
                    ],
                    start_time_unix_nano: start,
                    time_unix_nano: now,
                    count: s.calls,
                    sum: Some(ns_to_seconds(s.duration_sum_ns)),
                    bucket_counts: s.le_counts.to_vec(),
                    explicit_bounds: LE_SECONDS.to_vec(),
                    min: (s.calls > 0).then(|| ns_to_seconds(s.min_ns)),
                    max: (s.calls > 0).then(|| ns_to_seconds(s.max_ns)),
                    ..Default::default()
                })
                .collect();
            metrics.push(Metric {
                name: CALL_DURATION.otel.to_owned(),
                description: CALL_DURATION.help.to_owned(),
                unit: CALL_DURATION.unit.to_owned(),
                data: Some(metric::Data::Histogram(Histogram {
                    data_points: points,
                    aggregation_temporality: cumulative,
                })),
                ..Default::default()
            });
        }
        for_each_scalar(figures, |d, labels, v| {
            if metrics.last().map(|m| m.name.as_str()) != Some(d.otel) {
                let data = match d.kind {
                    MetricType::Counter => metric::Data::Sum(Sum {
                        data_points: Vec::new(),
                        aggregation_temporality: cumulative,
                        is_monotonic: true,
                    }),
                    _ => metric::Data::Gauge(Gauge {
                        data_points: Vec::new(),
                    }),
                };
                metrics.push(Metric {
                    name: d.otel.to_owned(),
                    description: d.help.to_owned(),
                    unit: d.unit.to_owned(),
                    data: Some(data),
                    ..Default::default()
                });
            }
            let point = NumberDataPoint {
                attributes: labels
                    .iter()
                    .map(|&(k, v)| kv(otel_attribute(k), v))
                    .collect(),
                start_time_unix_nano: if d.kind == MetricType::Counter {
                    start
                } else {
                    0
                },
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            };
            match metrics.last_mut().and_then(|m| m.data.as_mut()) {
                Some(metric::Data::Sum(s)) => s.data_points.push(point),
                Some(metric::Data::Gauge(g)) => g.data_points.push(point),
                _ => {}
            }
        });
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", &figures.pipeline)],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "monitor".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// Sends `figures` now.
    ///
    /// # Errors
    /// The last failure's description, after 3 tries within 5 s.
    pub fn export(&self, figures: &Figures) -> Result<(), String> {
        let body = self.request(figures).encode_to_vec();
        super::http::post(
            &self.url,
            CONTENT_TYPE,
            &body,
            super::http::Retry {
                attempts: 3,
                deadline: Duration::from_secs(5),
            },
        )
    }

    /// Sends `figures`, logging a failure once (until an export succeeds again).
    pub fn export_or_warn(&self, figures: &Figures) {
        match self.export(figures) {
            Ok(()) => self.warned.store(false, Ordering::Relaxed),
            Err(reason) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(target: "monitor", url = %self.url, reason = %reason,
                        "OTLP: could not export metrics to {}: {reason}", self.url);
                }
            }
        }
    }

    /// Exports every `interval` on a background thread (and at each run end once added with
    /// [`super::add_run_hook`]); stops after a last export when the returned value is dropped.
    /// The interval is clamped to [`INTERVAL_BOUNDS`](super::env::INTERVAL_BOUNDS) (100 ms to
    /// 1 h), with a warning.
    #[must_use]
    pub fn start_interval(self, interval: Duration) -> OtlpExporter {
        let otlp = Arc::new(self);
        let o = Arc::clone(&otlp);
        OtlpExporter {
            otlp,
            _periodic: Periodic::start("monitor-otlp", interval, move || {
                o.export_or_warn(&super::collect());
            }),
        }
    }
}

impl RunHook for Otlp {
    fn run_finished(&self, figures: &Figures, _run: &RunSummary<'_>) {
        self.export_or_warn(figures);
    }
}

/// An [`Otlp`] exporter sending on an interval.
#[derive(Debug)]
pub struct OtlpExporter {
    otlp: Arc<Otlp>,
    _periodic: Periodic,
}

impl OtlpExporter {
    /// Exports now.
    pub fn export_now(&self) {
        self.otlp.export_or_warn(&super::collect());
    }
}

impl RunHook for OtlpExporter {
    fn run_finished(&self, figures: &Figures, run: &RunSummary<'_>) {
        self.otlp.run_finished(figures, run);
    }
}
