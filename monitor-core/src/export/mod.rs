//! Ways out: Prometheus (scrape and Pushgateway), DogStatsD, OpenTelemetry (OTLP) and the
//! `metrics` facade, plus Grafana dashboards and Prometheus alert rules.
//!
//! Every exporter reads the call sites at scrape or flush time ([`figures::collect`]); none adds
//! anything to the per-call path. The metrics themselves are listed once, in [`catalog`].
//!
//! | way out | module | feature | switched on by |
//! |---|---|---|---|
//! | `/metrics` endpoint | `prometheus` | `prometheus` | `MONITOR_PROMETHEUS_ADDR`, or `prometheus::MetricsServer::start` |
//! | Pushgateway at the end of each run | `pushgateway` | `pushgateway` | `MONITOR_PUSHGATEWAY_URL`, or `add_run_hook(Pushgateway::new(url))` |
//! | DogStatsD over UDP | [`dogstatsd`] | (always built) | `MONITOR_DOGSTATSD_ADDR`, or [`dogstatsd::DogStatsD::start_interval`] |
//! | OTLP/HTTP metrics | `otlp` | `otlp` | `MONITOR_OTLP_ENDPOINT`, or `otlp::Otlp::start_interval` |
//! | `metrics` facade | `metrics_bridge` | `metrics` | `metrics_bridge::MetricsBridge::publish` |
//! | Grafana dashboard, alert rules | [`grafana`] | (always built) | [`grafana::dashboard`], [`grafana::alert_rules`] |
//!
//! Pipeline runs reach the exporters as one listener of runs (`ExportListener`, joined at
//! start-up): each finished [`Report`](crate::Report) becomes a [`RunSummary`] for
//! [`run_finished`], which records the `monitor_pipeline_*` figures and calls every [`RunHook`].
//!
//! May import: `base`, `config`, `site`, `call`, `report`, `run`.

pub mod buckets;
pub mod catalog;
pub mod dogstatsd;
pub mod env;
#[cfg(feature = "prometheus")]
pub mod exposition;
pub mod figures;
pub mod grafana;
#[cfg(any(feature = "pushgateway", feature = "otlp"))]
mod http;
pub mod labels;
mod periodic;
pub use periodic::Periodic;
#[cfg(feature = "metrics")]
pub mod metrics_bridge;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(feature = "pushgateway")]
pub mod pushgateway;

pub use figures::{collect, Figures, RunFigures, RunSummary, SiteFigures};

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// An exporter that could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The metrics endpoint could not listen on its address (port taken, no such interface).
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        reason: String,
    },
    /// A URL or address that cannot be used.
    BadAddress {
        /// The address as given.
        value: String,
        /// Why not.
        reason: String,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Bind { addr, reason } => {
                write!(f, "cannot serve metrics on {addr}: {reason}")
            }
            ExportError::BadAddress { value, reason } => {
                write!(f, "cannot export to {value:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for ExportError {}

/// Something that wants to hear when a pipeline run finishes (Pushgateway push, DogStatsD and
/// OTLP flush). Given the figures collected once for all of them.
pub trait RunHook: Send + Sync + fmt::Debug {
    /// Called once per finished run, on the thread that finished it.
    fn run_finished(&self, figures: &Figures, run: &RunSummary<'_>);
}

static HOOKS: Mutex<Vec<Arc<dyn RunHook>>> = Mutex::new(Vec::new());
static PIPELINE: Mutex<Option<String>> = Mutex::new(None);

/// Keeps `hook` for the life of the process and calls it at the end of every run.
pub fn add_run_hook(hook: Arc<dyn RunHook>) {
    HOOKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(hook);
}

/// Sets the `pipeline` label of the site series (the steps and queries). By default it is the
/// name of the last pipeline run started or finished in this process, else the executable's name.
pub fn set_pipeline_name(name: &str) {
    *PIPELINE.lock().unwrap_or_else(PoisonError::into_inner) = Some(name.to_owned());
}

/// The `pipeline` label of the site series (see [`set_pipeline_name`]).
#[must_use]
pub fn pipeline_name() -> String {
    if let Some(p) = PIPELINE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    {
        return p;
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "monitor".to_owned())
}

/// Tells the exporters a run finished: records its status for the `monitor_pipeline_*` metrics,
/// then pushes to the Pushgateway and flushes DogStatsD and OTLP, if they are on. Never fails and
/// never blocks longer than the exporters' own time limits.
pub fn run_finished(run: &RunSummary<'_>) {
    set_pipeline_name(run.pipeline);
    figures::record_run(run);
    // The run's figures are final: a lingering endpoint waits for a scrape from now on.
    #[cfg(feature = "prometheus")]
    prometheus::run_ended();
    let hooks: Vec<Arc<dyn RunHook>> = HOOKS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if hooks.is_empty() {
        return;
    }
    let figures = collect();
    for h in hooks {
        h.run_finished(&figures, run);
    }
}

impl<'a> RunSummary<'a> {
    /// The summary of a finished run's report.
    #[must_use]
    pub fn from_report(report: &'a crate::report::Report) -> RunSummary<'a> {
        let duration = std::time::Duration::from_secs_f64(report.duration_ms.max(0.0) / 1e3);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ended_unix_ms = report.started_at_unix_ms + report.duration_ms.max(0.0) as u64;
        RunSummary {
            pipeline: &report.pipeline,
            succeeded: report.status == crate::report::RunStatus::Ok,
            ended_unix_ms,
            duration,
        }
    }
}

/// The exporters as a listener of pipeline runs (joined by the start-up): a run's start labels
/// the step and query series with its pipeline, its end goes to [`run_finished`].
pub(crate) struct ExportListener;

impl crate::run::listeners::RunListener for ExportListener {
    fn run_started(&self, run: &crate::call::attach::RunState) {
        set_pipeline_name(&run.name);
    }

    fn run_finished(&self, report: &mut crate::report::Report) {
        run_finished(&RunSummary::from_report(report));
    }
}

/// Exporters started from the environment, kept for the life of the process.
#[derive(Debug, Default)]
struct FromEnv {
    #[cfg(feature = "prometheus")]
    _server: Option<prometheus::MetricsServer>,
}

static FROM_ENV: Mutex<Option<FromEnv>> = Mutex::new(None);

// Unused when every exporter feature is on.
#[allow(dead_code)]
fn missing_feature(var: &str, feature: &str) {
    tracing::warn!(
        target: "monitor",
        variable = var,
        feature,
        "{var} is set but monitor was built without its `{feature}` feature; nothing is exported"
    );
}

/// How long the process lingers at exit for a final scrape (`MONITOR_PROMETHEUS_LINGER`), ms.
#[cfg(all(feature = "prometheus", unix))]
static LINGER_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes the process wait at exit, up to `linger` after its last run ended, until a scrape has
/// read that run's final figures (see [`prometheus::linger`]). Registered with `atexit` once;
/// nothing waits when `linger` is zero. Unix only.
#[cfg(feature = "prometheus")]
fn linger_at_exit(linger: std::time::Duration) {
    #[cfg(unix)]
    {
        use std::sync::atomic::Ordering::Relaxed;
        extern "C" fn at_exit() {
            let ms = LINGER_MS.load(Relaxed);
            if ms > 0 {
                // Never unwind into libc's exit.
                let _ = std::panic::catch_unwind(|| {
                    prometheus::linger(std::time::Duration::from_millis(ms))
                });
            }
        }
        static REGISTER: std::sync::Once = std::sync::Once::new();
        let ms = u64::try_from(linger.as_millis()).unwrap_or(u64::MAX);
        LINGER_MS.store(ms, Relaxed);
        if ms > 0 {
            // SAFETY: `at_exit` is an `extern "C" fn()` that does not unwind; registering it is
            // all `atexit` does.
            REGISTER.call_once(|| unsafe {
                libc::atexit(at_exit);
            });
        }
    }
    #[cfg(not(unix))]
    let _ = linger;
}

/// Starts what an [`env::ExportEnv`] asks for (the report sink that feeds [`run_finished`] is
/// installed by the environment path only, once). Failures are logged (`warn`), never returned: the
/// pipeline runs on without that exporter.
pub fn start(env: &env::ExportEnv) {
    // Mutated only when an exporter feature is compiled in.
    #[allow(unused_mut)]
    let mut kept = FromEnv::default();
    if let Some(addr) = env.prometheus_addr {
        #[cfg(feature = "prometheus")]
        match prometheus::MetricsServer::start(addr) {
            Ok(server) => {
                kept._server = Some(server);
                linger_at_exit(env.prometheus_linger);
            }
            Err(e) => tracing::warn!(
                target: "monitor",
                variable = "MONITOR_PROMETHEUS_ADDR",
                error = %e,
                "Prometheus endpoint not started: {e}"
            ),
        }
        #[cfg(not(feature = "prometheus"))]
        {
            let _ = addr;
            missing_feature("MONITOR_PROMETHEUS_ADDR", "prometheus");
        }
    }
    if let Some(url) = &env.pushgateway_url {
        #[cfg(feature = "pushgateway")]
        add_run_hook(Arc::new(pushgateway::Pushgateway::new(url)));
        #[cfg(not(feature = "pushgateway"))]
        {
            let _ = url;
            missing_feature("MONITOR_PUSHGATEWAY_URL", "pushgateway");
        }
    }
    if let Some(addr) = &env.dogstatsd_addr {
        let client = dogstatsd::DogStatsD::new(addr);
        add_run_hook(Arc::new(client.start_interval(env.interval)));
    }
    if let Some(endpoint) = &env.otlp_endpoint {
        #[cfg(feature = "otlp")]
        add_run_hook(Arc::new(
            otlp::Otlp::new(endpoint).start_interval(env.interval),
        ));
        #[cfg(not(feature = "otlp"))]
        {
            let _ = endpoint;
            missing_feature("MONITOR_OTLP_ENDPOINT", "otlp");
        }
    }
    *FROM_ENV.lock().unwrap_or_else(PoisonError::into_inner) = Some(kept);
}
