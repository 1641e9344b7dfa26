//! Where OpenLineage events go and how long a run may wait for them: [`OpenLineage`], from code
//! or from the `MONITOR_OPENLINEAGE_*` variables.
//!
//! | variable | meaning |
//! |---|---|
//! | `MONITOR_OPENLINEAGE_URL` | `http://host:port` (events are POSTed to [`LINEAGE_PATH`] unless the URL has a path of its own), or `file:PATH` to append them to a JSON Lines file |
//! | `MONITOR_OPENLINEAGE_API_KEY` | sent as `Authorization: Bearer <key>`; never logged |
//! | `MONITOR_OPENLINEAGE_NAMESPACE` | the jobs' namespace (default: the pipeline's name) |
//! | `MONITOR_OPENLINEAGE_TIMEOUT` | the most a run's end waits for its events, [`TIMEOUT_BOUNDS`] (default [`DEFAULT_TIMEOUT`]) |

use crate::config::{env_duration_within, report_errors, ConfigError, Lookup};
use crate::export::ExportError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The path events are POSTed to when the URL has none (Marquez's and the OpenLineage
/// clients' default).
pub const LINEAGE_PATH: &str = "/api/v1/lineage";
/// The default time limit: the most a run's end waits for its events to be delivered.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest and longest time limit (`MONITOR_OPENLINEAGE_TIMEOUT`, [`OpenLineage::timeout`]);
/// a value outside is clamped to the nearest bound (from the environment, with a warning).
pub const TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(60));
/// Events waiting to be sent at most; past it, events are dropped and counted in the warning.
pub const QUEUE_EVENTS: usize = 1024;

/// Where events go.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// POST to `url`; `shown` is the URL without user information, for messages.
    Http { url: String, shown: String },
    /// Append one JSON line per event.
    File(PathBuf),
}

// Shows the endpoint without user information.
impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Endpoint {
    /// The endpoint as messages name it (never with a password or the API key).
    pub(crate) fn shown(&self) -> String {
        match self {
            Endpoint::Http { shown, .. } => shown.clone(),
            Endpoint::File(p) => format!("file:{}", p.display()),
        }
    }
}

/// OpenLineage run events for every pipeline run: a `START` when it begins, a `COMPLETE` or
/// `FAIL` when it ends, and one event per step and query (see the README's "OpenLineage").
///
/// ```no_run
/// use monitor_core::lineage::OpenLineage;
/// use std::time::Duration;
///
/// OpenLineage::new("http://marquez:5000")?
///     .namespace("shop")
///     .api_key(&std::env::var("LINEAGE_TOKEN").unwrap_or_default())
///     .timeout(Duration::from_secs(2))
///     .install();
/// # Ok::<(), monitor_core::export::ExportError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct OpenLineage {
    pub(crate) endpoint: Endpoint,
    pub(crate) namespace: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for OpenLineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenLineage")
            .field("endpoint", &self.endpoint.shown())
            .field("namespace", &self.namespace)
            .field(
                "api_key",
                &self.api_key.as_ref().map(|_| "<set, not shown>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn bad_address(value: &str, reason: &str) -> ExportError {
    ExportError::BadAddress {
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

impl OpenLineage {
    /// Events to `url`: `http://host:port` (POSTed to [`LINEAGE_PATH`] unless the URL has a
    /// path of its own), or `file:PATH` (one JSON line per event, appended). Default namespace:
    /// the pipeline's name; time limit [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// [`ExportError::BadAddress`] for anything else, `https://` included: this build has no TLS
    /// (send to a collector or proxy on `http://`, or to a file).
    pub fn new(url: &str) -> Result<OpenLineage, ExportError> {
        let url = url.trim();
        let endpoint = if let Some(path) = url.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad_address(
                    url,
                    "file: needs a path, such as file:/var/lineage/events.jsonl",
                ));
            }
            Endpoint::File(PathBuf::from(path))
        } else if let Some(rest) = url.strip_prefix("http://") {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host.is_empty() {
                return Err(bad_address(url, "the URL has no host"));
            }
            let path = match path.trim_end_matches('/') {
                "" => LINEAGE_PATH,
                p => p,
            };
            Endpoint::Http {
                url: format!("http://{authority}{path}"),
                shown: format!("http://{host}{path}"),
            }
        } else if url.starts_with("https://") {
            return Err(bad_address(
                url,
                "https is not built in (no TLS library): send to an http:// collector or proxy, \
                 or to a file with file:PATH",
            ));
        } else {
            return Err(bad_address(url, "expected http://host:port or file:PATH"));
        };
        Ok(OpenLineage {
            endpoint,
            namespace: None,
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The jobs' namespace (default: each pipeline's own name).
    pub fn namespace(mut self, namespace: &str) -> Self {
        let ns = namespace.trim();
        self.namespace = (!ns.is_empty()).then(|| ns.to_owned());
        self
    }

    /// An API key, sent as `Authorization: Bearer <key>` (HTTP only); never logged. An empty key
    /// sends none.
    pub fn api_key(mut self, key: &str) -> Self {
        let key = key.trim();
        self.api_key = (!key.is_empty()).then(|| key.to_owned());
        self
    }

    /// The most a run's end waits for its events (the `START` sent when it began included);
    /// clamped to [`TIMEOUT_BOUNDS`]. Events not delivered by then are dropped and counted in
    /// one warning.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit.clamp(TIMEOUT_BOUNDS.0, TIMEOUT_BOUNDS.1);
        self
    }

    /// Where events go, as messages name it (no password, no key).
    #[must_use]
    pub fn endpoint(&self) -> String {
        self.endpoint.shown()
    }

    /// Sends every pipeline run's events from now on, replacing an emitter installed before
    /// (from code or from the environment). The events are sent by one background thread
    /// (`monitor-openlineage`); a run's end waits for them at most [`OpenLineage::timeout`].
    pub fn install(self) {
        super::emitter::install(self);
    }

    /// Reads the `MONITOR_OPENLINEAGE_*` variables through `lookup`: `None` when
    /// `MONITOR_OPENLINEAGE_URL` is unset or bad (bad values are returned, OpenLineage off).
    #[must_use]
    pub fn from_lookup(lookup: Lookup<'_>) -> (Option<OpenLineage>, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let timeout = env_duration_within(
            lookup,
            "MONITOR_OPENLINEAGE_TIMEOUT",
            DEFAULT_TIMEOUT,
            TIMEOUT_BOUNDS,
            &mut errors,
        );
        let Some(url) = lookup("MONITOR_OPENLINEAGE_URL").filter(|v| !v.trim().is_empty()) else {
            return (None, errors);
        };
        let ol = match OpenLineage::new(&url) {
            Ok(ol) => ol,
            Err(e) => {
                let reason = match &e {
                    ExportError::BadAddress { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                errors.push(ConfigError {
                    variable: "MONITOR_OPENLINEAGE_URL".to_owned(),
                    value: url,
                    expected: reason,
                    kept: "OpenLineage off".to_owned(),
                });
                return (None, errors);
            }
        };
        let mut ol = ol.timeout(timeout);
        if let Some(ns) = lookup("MONITOR_OPENLINEAGE_NAMESPACE") {
            ol = ol.namespace(&ns);
        }
        if let Some(key) = lookup("MONITOR_OPENLINEAGE_API_KEY") {
            ol = ol.api_key(&key);
        }
        (Some(ol), errors)
    }
}

/// Stops sending events (an emitter installed from code or the environment); events already
/// queued are still sent within their time limit.
pub fn uninstall() {
    super::emitter::uninstall();
}

/// Where events go right now, as messages name it (no password, no key); `None` when
/// OpenLineage is off. The environment is read on the first pipeline run, so before it this says
/// only what code installed.
#[must_use]
pub fn endpoint() -> Option<String> {
    super::emitter::current().map(|e| e.settings.endpoint.shown())
}

/// Installs what the environment asks for, once, unless code installed an emitter first.
pub(crate) fn install_from_env() {
    let (ol, errors) = OpenLineage::from_lookup(&|k| std::env::var(k).ok());
    report_errors(&errors);
    if let Some(ol) = ol {
        super::emitter::install_unless_present(ol);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> (Option<OpenLineage>, Vec<ConfigError>) {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OpenLineage::from_lookup(&move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn urls() {
        let e = |u: &str| OpenLineage::new(u).map(|o| o.endpoint);
        assert_eq!(
            e("http://marquez:5000").unwrap(),
            Endpoint::Http {
                url: "http://marquez:5000/api/v1/lineage".into(),
                shown: "http://marquez:5000/api/v1/lineage".into()
            }
        );
        assert_eq!(
            e("http://h:1/custom/events/").unwrap().shown(),
            "http://h:1/custom/events"
        );
        let with_user = e("http://user:secret@h:1").unwrap();
        assert_eq!(with_user.shown(), "http://h:1/api/v1/lineage");
        assert!(matches!(with_user, Endpoint::Http { url, .. } if url.contains("user:secret@")));
        assert_eq!(
            e("file:/tmp/ol.jsonl").unwrap(),
            Endpoint::File("/tmp/ol.jsonl".into())
        );
        assert_eq!(
            e("file:///tmp/ol.jsonl").unwrap(),
            Endpoint::File("/tmp/ol.jsonl".into())
        );
        assert_eq!(
            e("file:ol.jsonl").unwrap(),
            Endpoint::File("ol.jsonl".into())
        );
        for bad in ["https://h", "file:", "http://", "marquez:5000", "ftp://h/x"] {
            assert!(e(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn variables() {
        let (ol, errors) = env(&[
            ("MONITOR_OPENLINEAGE_URL", "http://h:5000"),
            ("MONITOR_OPENLINEAGE_API_KEY", "k-123"),
            ("MONITOR_OPENLINEAGE_NAMESPACE", "shop"),
            ("MONITOR_OPENLINEAGE_TIMEOUT", "2s"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        let ol = ol.unwrap();
        assert_eq!(ol.namespace.as_deref(), Some("shop"));
        assert_eq!(ol.api_key.as_deref(), Some("k-123"));
        assert_eq!(ol.timeout, Duration::from_secs(2));
        assert!(!format!("{ol:?}").contains("k-123"));

        assert!(env(&[]).0.is_none());
        let (ol, errors) = env(&[("MONITOR_OPENLINEAGE_URL", "https://h")]);
        assert!(ol.is_none());
        assert_eq!(errors[0].variable, "MONITOR_OPENLINEAGE_URL");
        assert!(errors[0].expected.contains("https"), "{}", errors[0]);

        let (ol, errors) = env(&[
            ("MONITOR_OPENLINEAGE_URL", "file:/x"),
            ("MONITOR_OPENLINEAGE_TIMEOUT", "1h"),
        ]);
        assert_eq!(ol.unwrap().timeout, TIMEOUT_BOUNDS.1);
        assert_eq!(errors[0].variable, "MONITOR_OPENLINEAGE_TIMEOUT");
    }
}
