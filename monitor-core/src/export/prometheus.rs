//! Prometheus: the text exposition of [`super::figures`], a [`MonitorCollector`] for users who keep their
//! own `prometheus::Registry`, and a `/metrics` endpoint.
//!
//! The format is text 0.0.4, written by [`super::exposition`] (the endpoint and the Pushgateway);
//! [`families`] builds the same samples as the `prometheus` crate's `MetricFamily` values for a
//! `Registry`, and the tests hold both to the same samples. `prometheus-client` was the first
//! choice, but it writes only OpenMetrics text, where a counter family `x` carries samples
//! `x_total`: Debian's `promtool check metrics` (2.42) and the Pushgateway (1.5) read the 0.0.4
//! format and see those samples as a second, untyped family without HELP, so they reject the
//! exposition. The 0.0.4 text is accepted by both, and by every Prometheus version.
//!
//! The endpoint is a `tiny_http` server on its own thread; each scrape reads the sites afresh
//! (nothing is cached, nothing is added to the per-call path).
//!
//! **Linger.** A batch run shorter than the scrape interval ends before Prometheus looks: its
//! final totals are never scraped (push them with the Pushgateway instead). For an endpoint started
//! from the environment, `MONITOR_PROMETHEUS_LINGER` (e.g. `15s`) keeps the process serving at
//! exit until one scrape that began after the last run ended has been answered, or until the
//! linger has passed since that run ended, whichever is first ([`linger`]). A process that ran no
//! pipeline run, or whose last run was scraped already, exits at once.

use super::buckets::{cumulative, LE_SECONDS};
use super::catalog::{for_each_scalar, ns_to_seconds, MetricDef, MetricType, CALL_DURATION};
use super::figures::{collect, Figures};
use super::ExportError;
use prometheus::proto;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
                label("name", s.name),
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
    let mut buf = String::new();
    super::exposition::write(figures, &mut buf);
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
        defs.push((
            &super::catalog::ERRORS,
            vec![
                "pipeline".into(),
                "kind".into(),
                "name".into(),
                "error_type".into(),
            ],
        ));
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

/// Runs ended and scrapes answered, for [`linger`].
#[derive(Debug, Default)]
struct Scrapes {
    /// Pipeline runs finished in this process.
    runs_ended: u64,
    /// When the last one finished.
    last_end: Option<Instant>,
    /// The `runs_ended` count seen when the latest answered scrape began.
    answered_after: u64,
}

static SCRAPES: Mutex<Scrapes> = Mutex::new(Scrapes {
    runs_ended: 0,
    last_end: None,
    answered_after: 0,
});
static ANSWERED: Condvar = Condvar::new();

fn scrapes() -> std::sync::MutexGuard<'static, Scrapes> {
    SCRAPES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Notes that a pipeline run finished (its figures are final): a scrape must begin after this
/// for [`linger`] to stop waiting.
pub(crate) fn run_ended() {
    let mut s = scrapes();
    s.runs_ended += 1;
    s.last_end = Some(Instant::now());
}

/// Waits until a scrape that began after the last finished run has been answered, or until
/// `max` has passed since that run ended; returns at once when no run finished or the last one
/// was scraped already. Returns whether the final figures were scraped.
pub fn linger(max: Duration) -> bool {
    let mut s = scrapes();
    let Some(deadline) = s.last_end.map(|end| end + max) else {
        return true;
    };
    while s.answered_after < s.runs_ended {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s = ANSWERED
            .wait_timeout(s, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

fn serve(server: &tiny_http::Server) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let mut runs_seen = None;
        let response = if path == "/metrics" {
            runs_seen = Some(scrapes().runs_ended);
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
        if request.respond(response).is_ok() {
            if let Some(seen) = runs_seen {
                let mut s = scrapes();
                s.answered_after = s.answered_after.max(seen);
                ANSWERED.notify_all();
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::callsite::Kind;
    use crate::call::histogram::AtomicHistogram;
    use crate::export::figures::{RunFigures, SiteFigures};
    use std::collections::BTreeMap;

    type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

    /// Reads an exposition into `(name, sorted labels) -> value`, undoing label escapes.
    fn samples(text: &str) -> (Samples, Vec<String>) {
        let mut out = Samples::new();
        let mut comments = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                comments.push(line.to_owned());
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().expect(v),
            };
            let (name, mut rest) = series.split_once('{').unwrap_or((series, "}"));
            let mut labels = Vec::new();
            while let Some((k, r)) = rest.split_once("=\"") {
                let mut v = String::new();
                let mut chars = r.char_indices();
                let end = loop {
                    match chars.next().expect("closed label") {
                        (_, '\\') => match chars.next().expect("escape").1 {
                            'n' => v.push('\n'),
                            c => v.push(c),
                        },
                        (i, '"') => break i,
                        (_, c) => v.push(c),
                    }
                };
                labels.push((k.trim_start_matches(',').to_owned(), v));
                rest = &r[end + 1..];
            }
            labels.sort();
            assert!(
                out.insert((name.to_owned(), labels), value).is_none(),
                "{line}"
            );
        }
        comments.sort();
        (out, comments)
    }

    fn site(
        kind: Kind,
        name: &'static str,
        durations: &[u64],
        errors: Vec<(&'static str, u64)>,
    ) -> SiteFigures {
        let h = AtomicHistogram::new();
        for &d in durations {
            h.record(d);
        }
        let histogram = h.load();
        let mut le_counts = [0; crate::export::buckets::LE_BUCKETS];
        crate::export::buckets::fold_into(&histogram, &mut le_counts);
        SiteFigures {
            kind,
            name,
            calls: durations.len() as u64,
            errors: errors.iter().map(|e| e.1).sum(),
            error_types: errors,
            panics: 1,
            cancelled: 0,
            slow: 2,
            rows: Some(12_345_678_901),
            rows_in: None,
            duration_sum_ns: durations.iter().sum(),
            min_ns: durations.iter().copied().min().unwrap_or(0),
            max_ns: durations.iter().copied().max().unwrap_or(0),
            le_counts,
            histogram,
            rss_peak: Some(1 << 30),
            heap_peak: None,
        }
    }

    #[test]
    fn the_hand_written_exposition_has_the_crate_encoders_samples() {
        let figures = Figures {
            pipeline: "nightly \"orders\"\\eu".to_owned(),
            sites: vec![
                site(
                    Kind::Step,
                    "load\norders",
                    &[150, 90_000, 2_000_000_000, 7],
                    vec![],
                ),
                site(
                    Kind::Query,
                    "insert_batch",
                    &[1_000_000; 9],
                    vec![
                        ("std::io::error::Error", 3),
                        ("core::result::Result<u8, alloc::string::String>", 1),
                        ("__other__", 2),
                    ],
                ),
            ],
            runs: vec![RunFigures {
                pipeline: "p".to_owned(),
                succeeded: 4,
                failed: 1,
                last_succeeded: true,
                last_end_unix_ms: 1_764_000_000_123,
                last_success_unix_ms: Some(1_764_000_000_123),
                last_duration: std::time::Duration::from_millis(1_234),
            }],
            overflowed_sites: 0,
        };
        let ours = render_figures(&figures);
        let mut theirs = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&families(&figures), &mut theirs)
            .unwrap();
        let (a, ca) = samples(&ours);
        let (b, cb) = samples(&theirs);
        assert_eq!(ca, cb, "HELP/TYPE lines differ\n{ours}\n---\n{theirs}");
        assert_eq!(a, b, "samples differ\n{ours}\n---\n{theirs}");
        // The error types are labels of the error counter, one series each.
        let errors: Vec<_> = a
            .iter()
            .filter(|((n, _), _)| n == "monitor_errors_total")
            .map(|((_, l), v)| {
                (
                    l.iter().find(|(k, _)| k == "error_type").unwrap().1.clone(),
                    *v,
                )
            })
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.contains(&("std::io::error::Error".to_owned(), 3.0)));
        assert!(errors.contains(&("__other__".to_owned(), 2.0)));
    }
}
