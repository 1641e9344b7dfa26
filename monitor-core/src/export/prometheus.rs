//! Prometheus: the text exposition of [`super::figures`], a [`MonitorCollector`] for users who keep their
//! own `prometheus::Registry`, and a `/metrics` endpoint.
//!
//! The encoding is the `prometheus` crate's `TextEncoder` (text format 0.0.4). `prometheus-client`
//! was the first choice, but it writes only OpenMetrics text, where a counter family `x` carries
//! samples `x_total`: Debian's `promtool check metrics` (2.42) and the Pushgateway (1.5) read the
//! 0.0.4 format and see those samples as a second, untyped family without HELP, so they reject
//! the exposition. The 0.0.4 text is accepted by both, and by every Prometheus version.
//!
//! The endpoint is a `tiny_http` server on its own thread; each scrape reads the sites afresh
//! (nothing is cached, nothing is added to the per-call path).

use super::buckets::{cumulative, LE_SECONDS};
use super::catalog::{for_each_scalar, ns_to_seconds, MetricDef, MetricType, CALL_DURATION};
use super::figures::{collect, Figures};
use super::ExportError;
use prometheus::proto;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

fn label(name: &str, value: &str) -> proto::LabelPair {
    let mut l = proto::LabelPair::default();
    l.set_name(name.to_owned());
    l.set_value(value.to_owned());
    l
}

fn family(d: &MetricDef) -> proto::MetricFamily {
    let mut mf = proto::MetricFamily::default();
    mf.set_name(d.prometheus.to_owned());
    mf.set_help(d.help.to_owned());
    mf.set_field_type(match d.kind {
        MetricType::Counter => proto::MetricType::COUNTER,
        MetricType::Gauge => proto::MetricType::GAUGE,
        MetricType::Histogram => proto::MetricType::HISTOGRAM,
    });
    mf
}

/// The figures as Prometheus metric families (families without samples left out).
#[must_use]
pub fn families(figures: &Figures) -> Vec<proto::MetricFamily> {
    let mut out: Vec<proto::MetricFamily> = Vec::new();
    if !figures.sites.is_empty() {
        let mut mf = family(&CALL_DURATION);
        for s in &figures.sites {
            let mut h = proto::Histogram::default();
            h.set_sample_count(s.calls);
            h.set_sample_sum(ns_to_seconds(s.duration_sum_ns));
            let cum = cumulative(&s.le_counts);
            h.set_bucket(
                LE_SECONDS
                    .iter()
                    .zip(cum)
                    .map(|(&le, c)| {
                        let mut b = proto::Bucket::default();
                        b.set_upper_bound(le);
                        b.set_cumulative_count(c);
                        b
                    })
                    .collect(),
            );
            let mut m = proto::Metric::from_label(vec![
                label("pipeline", &figures.pipeline),
                label("kind", s.kind.as_str()),
                label("name", &s.name),
            ]);
            m.set_histogram(h);
            mf.mut_metric().push(m);
        }
        out.push(mf);
    }
    for_each_scalar(figures, |d, labels, v| {
        if out.last().map(proto::MetricFamily::name) != Some(d.prometheus) {
            out.push(family(d));
        }
        let mut m = proto::Metric::from_label(labels.iter().map(|(k, v)| label(k, v)).collect());
        if d.kind == MetricType::Counter {
            let mut c = proto::Counter::default();
            c.set_value(v);
            m.set_counter(c);
        } else {
            let mut g = proto::Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
        if let Some(mf) = out.last_mut() {
            mf.mut_metric().push(m);
        }
    });
    out
}

/// Renders every site (and recorded run) in the Prometheus text format, reading them now.
#[must_use]
pub fn render() -> String {
    render_figures(&collect())
}

/// Renders given figures in the Prometheus text format.
#[must_use]
pub fn render_figures(figures: &Figures) -> String {
    let mut buf = String::with_capacity(4096 + figures.sites.len() * 4096);
    // The families are built here with valid names and at least one sample each, so the
    // encoder's checks cannot fail; an error would leave what was written so far.
    if let Err(e) = prometheus::TextEncoder::new().encode_utf8(&families(figures), &mut buf) {
        tracing::warn!(target: "monitor", error = %e, "could not encode the metrics");
    }
    buf
}

/// A `prometheus` crate [`Collector`](prometheus::core::Collector) that reads monitor's sites at
/// each gather, for programs that already expose a `prometheus::Registry`:
///
/// ```ignore
/// registry.register(Box::new(monitor::export::prometheus::MonitorCollector::new()))?;
/// ```
#[derive(Debug)]
pub struct MonitorCollector {
    descs: Vec<prometheus::core::Desc>,
}

impl Default for MonitorCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl MonitorCollector {
    /// A collector describing every monitor metric.
    #[must_use]
    pub fn new() -> Self {
        let mut defs: Vec<(&MetricDef, Vec<String>)> = vec![(
            &CALL_DURATION,
            vec!["pipeline".into(), "kind".into(), "name".into()],
        )];
        for (d, _) in &super::catalog::SITE_SCALARS {
            defs.push((d, vec!["pipeline".into(), "kind".into(), "name".into()]));
        }
        defs.push((
            &super::catalog::RUNS_TOTAL,
            vec!["pipeline".into(), "status".into()],
        ));
        for (d, _) in &super::catalog::RUN_SCALARS {
            defs.push((d, vec!["pipeline".into()]));
        }
        defs.push((&super::catalog::OVERFLOWED, vec![]));
        let descs = defs
            .into_iter()
            .filter_map(|(d, labels)| {
                prometheus::core::Desc::new(
                    d.prometheus.to_owned(),
                    d.help.to_owned(),
                    labels,
                    std::collections::HashMap::new(),
                )
                .ok()
            })
            .collect();
        MonitorCollector { descs }
    }
}

impl prometheus::core::Collector for MonitorCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        families(&collect())
    }
}

/// A running `/metrics` endpoint; stops (and frees the port) when dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Serves `GET /metrics` on `addr` (use `127.0.0.1:PORT` to stay on loopback; port 0 picks a
    /// free one). Any other path answers 404.
    ///
    /// # Errors
    /// [`ExportError::Bind`] when the address cannot be bound (port taken, no such interface).
    pub fn start(addr: SocketAddr) -> Result<MetricsServer, ExportError> {
        let bind_err = |e: &dyn std::fmt::Display| ExportError::Bind {
            addr,
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(addr).map_err(|e| bind_err(&e))?;
        let addr = listener.local_addr().map_err(|e| bind_err(&e))?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(|e| bind_err(&e))?;
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("monitor-metrics".into())
            .spawn(move || serve(&serving))
            .map_err(|e| bind_err(&e))?;
        tracing::info!(target: "monitor", %addr, "serving Prometheus metrics at /metrics");
        Ok(MetricsServer {
            server,
            addr,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn serve(server: &tiny_http::Server) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let response = if path == "/metrics" {
            let header = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE)
                .map_or_else(|()| Vec::new(), |h| vec![h]);
            let body = render();
            tiny_http::Response::new(
                tiny_http::StatusCode(200),
                header,
                std::io::Cursor::new(body.into_bytes()),
                None,
                None,
            )
        } else {
            tiny_http::Response::new(
                tiny_http::StatusCode(404),
                Vec::new(),
                std::io::Cursor::new(b"not found: try /metrics\n".to_vec()),
                None,
                None,
            )
        };
        // A scraper that hung up is its own problem.
        let _ = request.respond(response);
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
