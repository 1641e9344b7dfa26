//! DogStatsD: the figures' changes since the last flush, as UDP datagrams with tags.
//!
//! Each flush sends, for every series:
//! - counters as deltas since the previous flush (`monitor.calls:3|c|#pipeline:etl,kind:step,name:load`),
//!   only when they moved;
//! - gauges as they stand (`monitor.peak_rss:1048576|g|#…`, the `monitor.pipeline.*` gauges);
//! - for sites called since the previous flush, the interval's duration figures in seconds as
//!   gauges: `monitor.call.duration.avg`, `.p50`, `.p95`, `.p99` (quantiles from the delta of the
//!   site's histogram, ±3.2 %).
//!
//! Lines are batched into datagrams of at most [`MAX_DATAGRAM`] bytes. Tag values have `,|#@`
//! and whitespace replaced by `_` (see [`tag_value`]). The host is resolved at each flush until it resolves; an unresolvable host or
//! a failed send is one `warn` (until it works again), never an error for the pipeline.

use super::catalog::{for_each_scalar, ns_to_seconds, MetricType, CALL_DURATION};
use super::figures::{Figures, RunSummary};
use super::labels::tag_value;
use super::periodic::Periodic;
use super::RunHook;
use crate::call::callsite::Kind;
use crate::call::histogram::HistogramCounts;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Largest datagram sent: fits a 1500-byte Ethernet MTU with IP and UDP headers.
pub const MAX_DATAGRAM: usize = 1432;

#[derive(Debug, Default)]
struct State {
    socket: Option<UdpSocket>,
    resolved: Option<SocketAddr>,
    warned: bool,
    /// Last value of each counter series, keyed by `name|tags`.
    counters: HashMap<String, f64>,
    /// Last histogram and sum of each site series.
    durations: HashMap<(Kind, String), (HistogramCounts, u64, u64)>,
}

/// A DogStatsD client that sends the figures' deltas.
#[derive(Debug)]
pub struct DogStatsD {
    target: String,
    state: Mutex<State>,
}

impl DogStatsD {
    /// A client for `host:port` (resolved when sending).
    #[must_use]
    pub fn new(target: &str) -> DogStatsD {
        DogStatsD {
            target: target.to_owned(),
            state: Mutex::new(State::default()),
        }
    }

    /// Reads the sites now and sends what changed.
    pub fn flush(&self) {
        self.flush_figures(&super::collect());
    }

    /// Sends what changed in `figures` since the previous flush.
    pub fn flush_figures(&self, figures: &Figures) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let lines = lines(&mut st, figures);
        if lines.is_empty() {
            return;
        }
        if let Err(reason) = send(&mut st, &self.target, &lines) {
            if !st.warned {
                st.warned = true;
                tracing::warn!(target: "monitor", address = %self.target, reason = %reason,
                    "DogStatsD: cannot send metrics to {}: {reason}", self.target);
            }
        } else {
            st.warned = false;
        }
    }

    /// Flushes every `interval` on a background thread (and at the end of each run once added
    /// with [`super::add_run_hook`]); the thread stops, after a last flush, when the returned
    /// exporter is dropped.
    /// The interval is clamped to [`INTERVAL_BOUNDS`](super::env::INTERVAL_BOUNDS) (100 ms to
    /// 1 h), with a warning.
    #[must_use]
    pub fn start_interval(self, interval: Duration) -> DogStatsDExporter {
        let client = Arc::new(self);
        let flusher = Arc::clone(&client);
        let periodic = Periodic::start("monitor-dogstatsd", interval, move || flusher.flush());
        DogStatsDExporter {
            client,
            _periodic: periodic,
        }
    }
}

/// A [`DogStatsD`] client flushing on an interval.
#[derive(Debug)]
pub struct DogStatsDExporter {
    client: Arc<DogStatsD>,
    _periodic: Periodic,
}

impl DogStatsDExporter {
    /// Flushes now.
    pub fn flush(&self) {
        self.client.flush();
    }
}

impl RunHook for DogStatsDExporter {
    fn run_finished(&self, figures: &Figures, _run: &RunSummary<'_>) {
        self.client.flush_figures(figures);
    }
}

impl RunHook for DogStatsD {
    fn run_finished(&self, figures: &Figures, _run: &RunSummary<'_>) {
        self.flush_figures(figures);
    }
}

fn tags(labels: &[(&str, &str)]) -> String {
    let mut t = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        let _ = write!(t, "{k}:{}", tag_value(v));
    }
    t
}

fn line(out: &mut Vec<String>, name: &str, value: f64, kind: &str, tags: &str) {
    let mut l = format!("{name}:{value}|{kind}");
    if !tags.is_empty() {
        l.push_str("|#");
        l.push_str(tags);
    }
    out.push(l);
}

fn lines(st: &mut State, figures: &Figures) -> Vec<String> {
    let mut out = Vec::new();
    for_each_scalar(figures, |d, labels, v| {
        let t = tags(labels);
        match d.kind {
            MetricType::Counter => {
                let key = format!("{}|{t}", d.statsd);
                let prev = st.counters.insert(key, v).unwrap_or(0.0);
                // A counter below its last value was reset: count from zero.
                let delta = if v >= prev { v - prev } else { v };
                if delta > 0.0 {
                    line(&mut out, d.statsd, delta, "c", &t);
                }
            }
            _ => line(&mut out, d.statsd, v, "g", &t),
        }
    });
    for s in &figures.sites {
        let key = (s.kind, s.name.to_owned());
        let (prev_h, prev_sum, prev_calls) = st.durations.remove(&key).unwrap_or_default();
        let calls = s.calls.saturating_sub(prev_calls);
        if calls > 0 && s.calls >= prev_calls {
            let mut delta = s.histogram.clone();
            delta.subtract(&prev_h);
            let t = tags(&[
                ("pipeline", &figures.pipeline),
                ("kind", s.kind.as_str()),
                ("name", s.name),
            ]);
            let base = CALL_DURATION.statsd;
            #[allow(clippy::cast_precision_loss)]
            let avg = ns_to_seconds(s.duration_sum_ns.saturating_sub(prev_sum)) / calls as f64;
            line(&mut out, &format!("{base}.avg"), avg, "g", &t);
            for (suffix, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
                let v = delta.quantile(q, 0, u64::MAX).unwrap_or(0);
                line(
                    &mut out,
                    &format!("{base}.{suffix}"),
                    ns_to_seconds(v),
                    "g",
                    &t,
                );
            }
        }
        st.durations
            .insert(key, (s.histogram.clone(), s.duration_sum_ns, s.calls));
    }
    out
}

fn send(st: &mut State, target: &str, lines: &[String]) -> Result<(), String> {
    let addr = match st.resolved {
        Some(a) => a,
        None => {
            let a = target
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {target}: {e}"))?
                .next()
                .ok_or_else(|| format!("{target} resolves to no address"))?;
            st.resolved = Some(a);
            a
        }
    };
    if st.socket.is_none() {
        let local = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        st.socket =
            Some(UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?);
    }
    let Some(socket) = st.socket.as_ref() else {
        return Err("no UDP socket".into());
    };
    let mut datagram = String::with_capacity(MAX_DATAGRAM);
    for l in lines {
        if !datagram.is_empty() && datagram.len() + 1 + l.len() > MAX_DATAGRAM {
            socket
                .send_to(datagram.as_bytes(), addr)
                .map_err(|e| format!("send to {addr}: {e}"))?;
            datagram.clear();
        }
        if !datagram.is_empty() {
            datagram.push('\n');
        }
        datagram.push_str(l);
    }
    if !datagram.is_empty() {
        socket
            .send_to(datagram.as_bytes(), addr)
            .map_err(|e| format!("send to {addr}: {e}"))?;
    }
    Ok(())
}
