//! Where the history lives and what the end of a run does with it: environment variables first,
//! then [`HistorySettingsBuilder`] overrides them in code.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `MONITOR_HISTORY` | the store: a file path (JSON Lines), `sqlite:PATH`, or a `postgres://` URL | `.monitor/history.jsonl` |
//! | `MONITOR_HISTORY_RECORD` | `0`: finished runs are not recorded (nor compared) | on |
//! | `MONITOR_HISTORY_KEEP_RUNS` | runs kept per pipeline; `0` keeps all | `1000` |
//! | `MONITOR_HISTORY_MAX_AGE` | drop runs older than this (`720h`) | none |
//! | `MONITOR_BASELINE_RUNS` | successful runs a baseline uses | `20` |
//! | `MONITOR_VERSION_TAG` | version tag stored with each run (when the report has none) | none |

use super::jsonl::{JsonlStore, DEFAULT_HISTORY_PATH};
use super::retention::{Retention, DEFAULT_KEEP_RUNS};
use super::store::{HistoryError, HistoryStore};
use super::verdict::{BaselineSettings, Thresholds, DEFAULT_BASELINE_RUNS};
use crate::config::{env_bool, env_count, env_duration, report_errors, ConfigError, Lookup};
use std::path::PathBuf;
use std::sync::{Once, RwLock};
use std::time::Duration;

/// Which store holds the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryLocation {
    /// A JSON Lines file.
    File(PathBuf),
    /// A SQLite database file (feature `sqlite`).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (feature `postgres`).
    Postgres(String),
}

impl Default for HistoryLocation {
    fn default() -> Self {
        HistoryLocation::File(PathBuf::from(DEFAULT_HISTORY_PATH))
    }
}

impl HistoryLocation {
    /// Reads `MONITOR_HISTORY`'s syntax: `sqlite:PATH`, `postgres://…`/`postgresql://…`, or a
    /// file path.
    ///
    /// # Errors
    /// An empty value, or `sqlite:` with no path.
    pub fn parse(value: &str) -> Result<HistoryLocation, String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("a file path, sqlite:PATH or a postgres:// URL".to_owned());
        }
        if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            return Ok(HistoryLocation::Postgres(v.to_owned()));
        }
        if let Some(path) = v.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite:PATH with a database file path".to_owned());
            }
            return Ok(HistoryLocation::Sqlite(PathBuf::from(path)));
        }
        Ok(HistoryLocation::File(PathBuf::from(v)))
    }

    /// Opens the store (for a file: nothing is touched until the first read or write).
    ///
    /// # Errors
    /// The database cannot be opened or reached, or its feature was not compiled in.
    pub fn open(&self) -> Result<Box<dyn HistoryStore>, HistoryError> {
        match self {
            HistoryLocation::File(p) => Ok(Box::new(JsonlStore::new(p.clone()))),
            #[cfg(feature = "sqlite")]
            HistoryLocation::Sqlite(p) => Ok(Box::new(super::sqlite::SqliteStore::open(p)?)),
            #[cfg(not(feature = "sqlite"))]
            HistoryLocation::Sqlite(p) => Err(HistoryError::other(
                format!("SQLite history {}", p.display()),
                "open the store",
                "this build of monitor has no SQLite support (enable the `sqlite` feature)",
            )),
            #[cfg(feature = "postgres")]
            HistoryLocation::Postgres(url) => {
                Ok(Box::new(super::postgres::PostgresStore::connect(url)?))
            }
            #[cfg(not(feature = "postgres"))]
            HistoryLocation::Postgres(url) => Err(HistoryError::other(
                super::store::postgres_location(url),
                "open the store",
                "this build of monitor has no PostgreSQL support (enable the `postgres` feature)",
            )),
        }
    }
}

/// Everything the history does at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySettings {
    /// Record each finished run (and compare it with its baseline).
    pub record: bool,
    /// The store.
    pub location: HistoryLocation,
    /// What the store keeps.
    pub retention: Retention,
    /// How baselines are built and judged.
    pub baseline: BaselineSettings,
    /// Version tag stored with runs whose report carries none.
    pub version_tag: Option<String>,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            record: true,
            location: HistoryLocation::default(),
            retention: Retention::default(),
            baseline: BaselineSettings::default(),
            version_tag: None,
        }
    }
}

static INSTALLED: RwLock<Option<HistorySettings>> = RwLock::new(None);
static ENV_REPORTED: Once = Once::new();

impl HistorySettings {
    /// Reads the `MONITOR_HISTORY*` variables through `lookup`; bad values are returned and the
    /// defaults kept.
    #[must_use]
    pub fn from_lookup(lookup: Lookup<'_>) -> (HistorySettings, Vec<ConfigError>) {
        let d = HistorySettings::default();
        let mut errors = Vec::new();
        let location = match lookup("MONITOR_HISTORY") {
            None => d.location.clone(),
            Some(v) => HistoryLocation::parse(&v).unwrap_or_else(|expected| {
                errors.push(ConfigError {
                    variable: "MONITOR_HISTORY".to_owned(),
                    value: v,
                    expected,
                    kept: DEFAULT_HISTORY_PATH.to_owned(),
                });
                d.location.clone()
            }),
        };
        let keep = env_count(
            lookup,
            "MONITOR_HISTORY_KEEP_RUNS",
            DEFAULT_KEEP_RUNS as u64,
            &mut errors,
        );
        let max_age = lookup("MONITOR_HISTORY_MAX_AGE")
            .map(|_| {
                env_duration(
                    lookup,
                    "MONITOR_HISTORY_MAX_AGE",
                    Duration::ZERO,
                    &mut errors,
                )
            })
            .filter(|d| !d.is_zero());
        let runs = env_count(
            lookup,
            "MONITOR_BASELINE_RUNS",
            DEFAULT_BASELINE_RUNS as u64,
            &mut errors,
        );
        let s = HistorySettings {
            record: env_bool(lookup, "MONITOR_HISTORY_RECORD", d.record, &mut errors),
            location,
            retention: Retention {
                keep_runs: (keep > 0).then(|| usize::try_from(keep).unwrap_or(usize::MAX)),
                max_age,
            },
            baseline: BaselineSettings {
                runs: usize::try_from(runs.max(1)).unwrap_or(usize::MAX),
                thresholds: Thresholds::default(),
            },
            version_tag: lookup("MONITOR_VERSION_TAG").filter(|v| !v.trim().is_empty()),
        };
        (s, errors)
    }

    /// Reads the process environment.
    #[must_use]
    pub fn from_env() -> (HistorySettings, Vec<ConfigError>) {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The settings in force: those installed with [`HistorySettingsBuilder::install`], else the
    /// environment's (a bad value is logged once, naming the variable and the value).
    #[must_use]
    pub fn current() -> HistorySettings {
        let installed = INSTALLED
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(s) = installed {
            return s;
        }
        let (s, errors) = Self::from_env();
        ENV_REPORTED.call_once(|| report_errors(&errors));
        s
    }

    /// A builder starting from [`HistorySettings::current`].
    pub fn builder() -> HistorySettingsBuilder {
        HistorySettingsBuilder {
            settings: HistorySettings::current(),
        }
    }
}

/// Overrides the history settings in code.
#[derive(Debug, Clone)]
#[must_use]
pub struct HistorySettingsBuilder {
    settings: HistorySettings,
}

impl HistorySettingsBuilder {
    /// Records finished runs (`true`, the default) or not.
    pub fn record(mut self, on: bool) -> Self {
        self.settings.record = on;
        self
    }

    /// Keeps the history in this JSON Lines file.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.location = HistoryLocation::File(path.into());
        self
    }

    /// Keeps the history in this store.
    pub fn location(mut self, location: HistoryLocation) -> Self {
        self.settings.location = location;
        self
    }

    /// Sets the retention policy.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.settings.retention = retention;
        self
    }

    /// Sets how baselines are built and judged.
    pub fn baseline(mut self, baseline: BaselineSettings) -> Self {
        self.settings.baseline = baseline;
        self
    }

    /// Sets the version tag stored with each run.
    pub fn version_tag(mut self, tag: impl Into<String>) -> Self {
        self.settings.version_tag = Some(tag.into());
        self
    }

    /// The settings, without installing them.
    #[must_use]
    pub fn build(self) -> HistorySettings {
        self.settings
    }

    /// Installs the settings process-wide (used by every run that finishes from now on).
    pub fn install(self) -> HistorySettings {
        *INSTALLED
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(self.settings.clone());
        self.settings
    }
}

/// Forgets settings installed in code: the environment's apply again.
pub fn uninstall() {
    *INSTALLED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> (HistorySettings, Vec<ConfigError>) {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        HistorySettings::from_lookup(&move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults() {
        let (s, e) = with(&[]);
        assert!(e.is_empty());
        assert_eq!(s, HistorySettings::default());
        assert_eq!(
            s.location,
            HistoryLocation::File(PathBuf::from(".monitor/history.jsonl"))
        );
    }

    #[test]
    fn reads_every_variable() {
        let (s, e) = with(&[
            ("MONITOR_HISTORY", "sqlite:/tmp/h.db"),
            ("MONITOR_HISTORY_RECORD", "0"),
            ("MONITOR_HISTORY_KEEP_RUNS", "0"),
            ("MONITOR_HISTORY_MAX_AGE", "48h"),
            ("MONITOR_BASELINE_RUNS", "7"),
            ("MONITOR_VERSION_TAG", "v1.2"),
        ]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            s.location,
            HistoryLocation::Sqlite(PathBuf::from("/tmp/h.db"))
        );
        assert!(!s.record);
        assert_eq!(s.retention.keep_runs, None);
        assert_eq!(s.retention.max_age, Some(Duration::from_secs(48 * 3600)));
        assert_eq!(s.baseline.runs, 7);
        assert_eq!(s.version_tag.as_deref(), Some("v1.2"));
    }

    #[test]
    fn bad_values_name_the_variable_and_keep_defaults() {
        let (s, e) = with(&[
            ("MONITOR_HISTORY", "  "),
            ("MONITOR_HISTORY_KEEP_RUNS", "lots"),
            ("MONITOR_HISTORY_MAX_AGE", "a week"),
        ]);
        assert_eq!(s.retention, Retention::default());
        assert_eq!(s.location, HistoryLocation::default());
        let text: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].starts_with("MONITOR_HISTORY=\"  \" is not valid"),
            "{text:?}"
        );
        assert!(
            text[1].starts_with(
                "MONITOR_HISTORY_KEEP_RUNS=\"lots\" is not valid: expected a whole number"
            ),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("MONITOR_HISTORY_MAX_AGE=\"a week\" is not valid"),
            "{text:?}"
        );
    }

    #[test]
    fn postgres_urls() {
        assert_eq!(
            HistoryLocation::parse("postgresql://u@h/db"),
            Ok(HistoryLocation::Postgres("postgresql://u@h/db".into()))
        );
        assert!(HistoryLocation::parse("sqlite:").is_err());
    }
}
