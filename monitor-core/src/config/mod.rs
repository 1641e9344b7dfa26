//! Runtime configuration: environment variables first, then a [`ConfigBuilder`] that overrides
//! them. Settings live in atomics so the hot path reads them with one relaxed load.
//!
//! Every setting is declared once, in the `settings!` table below: its `MONITOR_*` variable and
//! reader, its default, its [`Config`] field, its [`ConfigBuilder`] method, its atomic and its row
//! of [`VARIABLES`], which the README's "Configuration" table must match (a test says so).
//!
//! A bad value never panics: it produces one [`ConfigError`] naming the variable and the value,
//! logged as a `warn` event, and the default stays in force.
//!
//! May import: `base`.

pub(crate) mod panic_text;
pub(crate) mod stderr_events;

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Once;
use std::time::Duration;

static INIT: Once = Once::new();

/// Default slow-query threshold: 30 s, as in the seed notes.
pub const DEFAULT_SLOW_QUERY_NS: u64 = 30_000_000_000;
/// Default memory warning threshold: 1 GiB, as in the seed notes.
pub const DEFAULT_MEMORY_WARN: u64 = 1 << 30;
/// Default RSS sampling interval: 10 ms.
pub const DEFAULT_SAMPLE_INTERVAL_NS: u64 = 10_000_000;
/// The shortest and longest RSS sampling interval (`MONITOR_SAMPLE_INTERVAL`): below 1 ms the
/// sampler thread would spin a core; above a minute the memory timeline and the watchdog (which
/// ticks with the sampler) would be too coarse to use.
pub const SAMPLE_INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(60));

/// A rejected configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (or builder setting).
    pub variable: String,
    /// The value as given.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
    /// The value kept instead, as text.
    pub kept: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is not valid: expected {}; keeping {}",
            self.variable, self.value, self.expected, self.kept
        )
    }
}

impl std::error::Error for ConfigError {}

/// Looks up environment variables; a function so tests can feed their own.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The one reader behind every `env_*` function: a missing variable gives `default`; a value
/// `parse` rejects (returning what it expected) is reported into `errors` with `kept` and also
/// gives `default`.
fn env_parsed<T: Copy>(
    lookup: Lookup<'_>,
    var: &str,
    default: T,
    errors: &mut Vec<ConfigError>,
    parse: impl FnOnce(&str) -> Result<T, String>,
    kept: impl FnOnce(T) -> String,
) -> T {
    let Some(value) = lookup(var) else {
        return default;
    };
    match parse(&value) {
        Ok(v) => v,
        Err(expected) => {
            errors.push(ConfigError {
                variable: var.to_owned(),
                value,
                expected,
                kept: kept(default),
            });
            default
        }
    }
}

/// Reads a duration variable (`"500ms"`), reporting a bad value into `errors`.
pub fn env_duration(
    lookup: Lookup<'_>,
    var: &str,
    default: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    env_parsed(
        lookup,
        var,
        default,
        errors,
        |v| {
            monitor_units::parse_duration_nanos(v)
                .map(Duration::from_nanos)
                .map_err(|e| e.expected().to_owned())
        },
        |d| format!("{d:?}"),
    )
}

/// Reads a duration variable that must lie within `bounds` (inclusive): a value outside them is
/// reported into `errors` (naming the variable and the value) and clamped to the nearest bound;
/// a value that does not parse is reported and gives `default`.
pub fn env_duration_within(
    lookup: Lookup<'_>,
    var: &str,
    default: Duration,
    bounds: (Duration, Duration),
    errors: &mut Vec<ConfigError>,
) -> Duration {
    let d = env_duration(lookup, var, default, errors);
    match out_of_bounds(var, d, bounds) {
        Some((clamped, e)) => {
            errors.push(ConfigError {
                value: lookup(var).unwrap_or_default(),
                ..e
            });
            clamped
        }
        None => d,
    }
}

/// `Some((nearest bound, error))` when `d` lies outside `bounds`; the error's `value` is `d`.
pub(crate) fn out_of_bounds(
    var: &str,
    d: Duration,
    (low, high): (Duration, Duration),
) -> Option<(Duration, ConfigError)> {
    let clamped = d.clamp(low, high);
    (clamped != d).then(|| {
        (
            clamped,
            ConfigError {
                variable: var.to_owned(),
                value: format!("{d:?}"),
                expected: format!("a duration from {} to {}", human(low), human(high)),
                kept: format!("{}, the nearest bound", human(clamped)),
            },
        )
    })
}

/// `1ms`, `60s`, `1h`: the duration grammar of the variables.
pub(crate) fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Reads a byte-size variable (`"512MiB"`), reporting a bad value into `errors`.
pub fn env_bytes(
    lookup: Lookup<'_>,
    var: &str,
    default: u64,
    errors: &mut Vec<ConfigError>,
) -> u64 {
    env_parsed(
        lookup,
        var,
        default,
        errors,
        |v| monitor_units::parse_bytes(v).map_err(|e| e.expected().to_owned()),
        |b| format!("{b} bytes"),
    )
}

/// Reads a whole-number variable (`"20"`, `"1_000"`), reporting a bad value into `errors`.
pub fn env_count(
    lookup: Lookup<'_>,
    var: &str,
    default: u64,
    errors: &mut Vec<ConfigError>,
) -> u64 {
    env_parsed(
        lookup,
        var,
        default,
        errors,
        |v| {
            v.trim()
                .replace('_', "")
                .parse::<u64>()
                .map_err(|_| "a whole number such as 20".to_owned())
        },
        |n| n.to_string(),
    )
}

/// Reads a boolean variable (`1/true/yes/on`, `0/false/no/off`, any case).
pub fn env_bool(
    lookup: Lookup<'_>,
    var: &str,
    default: bool,
    errors: &mut Vec<ConfigError>,
) -> bool {
    env_parsed(
        lookup,
        var,
        default,
        errors,
        |v| match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err("one of 1, true, yes, on, 0, false, no, off".to_owned()),
        },
        |b| b.to_string(),
    )
}

/// Logs each error once as a `warn` event naming the variable and the value (on stderr when
/// no `tracing` subscriber is installed).
pub fn report_errors(errors: &[ConfigError]) {
    if errors.is_empty() {
        return;
    }
    crate::config::stderr_events::surfaced(|| {
        for e in errors {
            tracing::warn!(
                target: "monitor",
                variable = %e.variable,
                value = %e.value,
                "invalid configuration: {e}"
            );
        }
    });
}

/// One row of the configuration table: a `MONITOR_*` variable, what it does, and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// The environment variable.
    pub name: &'static str,
    /// What it does, as the README's "Configuration" table says.
    pub meaning: &'static str,
    /// Its default, as that table shows it.
    pub default: &'static str,
}

/// How a setting's value is kept: numbers and flags in an `AtomicU64`, so the hot path reads them
/// with one relaxed load; text (the fleet run's ids, read once when a run starts, never on the
/// hot path) behind a lock.
mod codec {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::time::Duration;

    /// The numeric codecs: each says how its type becomes the atomic's bits and back.
    macro_rules! atomic_codec {
        ($name:ident: $ty:ty, |$v:ident| $bits:expr, |$b:ident| $value:expr) => {
            pub(super) mod $name {
                #[allow(unused_imports)]
                use super::{AtomicU64, Duration, Relaxed};

                pub(crate) type Cell = AtomicU64;
                pub(crate) const fn cell($v: $ty) -> Cell {
                    AtomicU64::new($bits)
                }
                pub(crate) fn load(cell: &Cell) -> $ty {
                    let $b = cell.load(Relaxed);
                    $value
                }
                pub(crate) fn store(cell: &Cell, $v: &$ty) {
                    let $v = *$v;
                    cell.store($bits, Relaxed);
                }
            }
        };
    }

    atomic_codec!(flag: bool, |v| v as u64, |b| b != 0);
    atomic_codec!(bytes: u64, |v| v, |b| b);
    atomic_codec!(count: u64, |v| v, |b| b);
    // Nanoseconds, saturating at `u64::MAX` (584 years).
    atomic_codec!(
        duration: Duration,
        |v| {
            let ns = v.as_nanos();
            if ns > u64::MAX as u128 {
                u64::MAX
            } else {
                ns as u64
            }
        },
        |b| Duration::from_nanos(b)
    );

    /// Optional text behind a lock.
    pub(super) mod text {
        use std::sync::{PoisonError, RwLock};

        pub(crate) type Cell = RwLock<Option<String>>;
        pub(crate) const fn cell(v: Option<String>) -> Cell {
            RwLock::new(v)
        }
        pub(crate) fn load(cell: &Cell) -> Option<String> {
            cell.read().unwrap_or_else(PoisonError::into_inner).clone()
        }
        pub(crate) fn store(cell: &Cell, v: &Option<String>) {
            cell.write()
                .unwrap_or_else(PoisonError::into_inner)
                .clone_from(v);
        }
    }
}

/// Declares every setting once: `field: Type [codec] = default, "VARIABLE" read reader,
/// "meaning", default "shown";`, with extra `///` lines for the field. From it come the
/// [`Config`] field (documented with its variable, meaning and default), `Config::default`, the
/// environment reader, the setting's atomic and its getter (`config::field()`), the
/// [`ConfigBuilder`] method and the row of [`VARIABLES`].
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty [$codec:ident] = $default:expr,
        $var:literal read $read:path,
        $meaning:literal, default $shown:literal;
    )*) => {
        /// The runtime settings, one field per `MONITOR_*` variable.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Config {
            $(
                #[doc = concat!("`", $var, "`: ", $meaning, " (default: ", $shown, ").")]
                $(#[doc = ""] #[doc = $doc])*
                pub $field: $ty,
            )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $($field: $default,)* }
            }
        }

        /// The settings in force, one atomic each.
        #[allow(non_upper_case_globals)]
        mod stored {
            use super::*;
            $(
                pub(super) static $field: codec::$codec::Cell = codec::$codec::cell($default);
            )*
        }

        impl Config {
            /// Reads every `MONITOR_*` variable through `lookup`; bad values are returned,
            /// defaults kept.
            #[must_use]
            pub fn from_lookup(lookup: Lookup<'_>) -> (Config, Vec<ConfigError>) {
                let d = Config::default();
                let mut errors = Vec::new();
                let c = Config {
                    $($field: $read(lookup, $var, d.$field, &mut errors),)*
                };
                (c, errors)
            }

            /// The settings in force now.
            #[must_use]
            pub fn current() -> Config {
                ensure_init();
                Config {
                    $($field: codec::$codec::load(&stored::$field),)*
                }
            }

            fn store_values(&self) {
                $(codec::$codec::store(&stored::$field, &self.$field);)*
            }
        }

        impl ConfigBuilder {
            $(
                #[doc = concat!("Sets [`Config::", stringify!($field), "`] (`", $var, "`).")]
                pub fn $field(mut self, value: $ty) -> Self {
                    self.config.$field = value;
                    self
                }
            )*
        }

        $(
            #[doc = concat!("The `", $var, "` setting in force (one relaxed load).")]
            #[inline]
            #[allow(dead_code)]
            pub(crate) fn $field() -> $ty {
                codec::$codec::load(&stored::$field)
            }
        )*

        /// Every variable of [`Config`], in the order of the README's "Configuration" table.
        pub const VARIABLES: &[Variable] = &[
            $(Variable { name: $var, meaning: $meaning, default: $shown },)*
        ];
    };
}

/// `MONITOR_SAMPLE_INTERVAL`'s reader: a duration within [`SAMPLE_INTERVAL_BOUNDS`].
fn env_sample_interval(
    lookup: Lookup<'_>,
    var: &str,
    default: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    env_duration_within(lookup, var, default, SAMPLE_INTERVAL_BOUNDS, errors)
}

/// The longest fleet run id or worker id (`MONITOR_RUN_ID`, `MONITOR_WORKER_ID`).
pub const MAX_FLEET_ID_LEN: usize = 128;

/// Checks a fleet run id or worker id: 1 to [`MAX_FLEET_ID_LEN`] ASCII letters, digits, `-`, `_`,
/// `.` and `:` (a UUID, `nightly-2026-11-24`, a Kubernetes job name, a Slurm `JOBID_TASKID`), so
/// that it is safe in a file, a label, a URL and a log line. `Err` says what is expected.
///
/// # Errors
/// The value is empty, too long, or holds another character.
pub fn check_fleet_id(value: &str) -> Result<(), String> {
    let expected = || {
        format!(
            "1 to {MAX_FLEET_ID_LEN} ASCII letters, digits, '-', '_', '.' or ':' (such as a UUID or \
             a shard index)"
        )
    };
    if value.is_empty() || value.len() > MAX_FLEET_ID_LEN {
        return Err(expected());
    }
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        Ok(())
    } else {
        Err(expected())
    }
}

/// `MONITOR_RUN_ID`'s and `MONITOR_WORKER_ID`'s reader: an id [`check_fleet_id`] accepts (an empty
/// value is the same as none).
fn env_fleet_id(
    lookup: Lookup<'_>,
    var: &str,
    default: Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    let Some(value) = lookup(var) else {
        return default;
    };
    if value.is_empty() {
        return default;
    }
    match check_fleet_id(&value) {
        Ok(()) => Some(value),
        Err(expected) => {
            errors.push(ConfigError {
                variable: var.to_owned(),
                value,
                expected,
                kept: if var == "MONITOR_RUN_ID" {
                    "none: this process's run is its own, not part of a fleet run".to_owned()
                } else {
                    "none: the worker is named after its host and process id".to_owned()
                },
            });
            default
        }
    }
}

settings! {
    disabled: bool [flag] = false,
        "MONITOR_DISABLE" read env_bool,
        "`1`: record and log nothing, nor add the run to the history (the code still runs)",
        default "off";
    slow_query: Duration [duration] = Duration::from_nanos(DEFAULT_SLOW_QUERY_NS),
        "MONITOR_SLOW_QUERY" read env_duration,
        "slow-query threshold (`500ms`, `2s`, …)", default "`30s`";
    memory_warn: u64 [bytes] = DEFAULT_MEMORY_WARN,
        "MONITOR_MEMORY_WARN" read env_bytes,
        "warn when a step's peak RSS passes this (`512MiB`, `2GB`, …)", default "`1GiB`";
    /// Within [`SAMPLE_INTERVAL_BOUNDS`]: [`ConfigBuilder::install`] clamps a value outside them
    /// to the nearest bound, with a warning.
    sample_interval: Duration [duration] = Duration::from_nanos(DEFAULT_SAMPLE_INTERVAL_NS),
        "MONITOR_SAMPLE_INTERVAL" read env_sample_interval,
        "RSS sampler interval while steps run (and the watchdog's tick), `1ms` to `1m`; a value \
         outside is clamped to the nearest bound, with a warning",
        default "`10ms`";
    /// Linux `/proc/self/clear_refs`, after the mark is folded into the running calls, so that
    /// every sampling interval has its own mark. Turn off when something else reads `VmHWM` of
    /// this process.
    reset_hwm: bool [flag] = true,
        "MONITOR_RESET_HWM" read env_bool,
        "`0`: never reset the kernel's RSS high-water mark (`VmHWM`)", default "on";
    enforce_budgets: bool [flag] = false,
        "MONITOR_ENFORCE_BUDGETS" read env_bool,
        "`1`: a passed `max_peak`/`max_duration` budget panics after the call", default "off";
    spans: bool [flag] = false,
        "MONITOR_SPANS" read env_bool,
        "`1`: open a `tracing` span per monitored call", default "off";
    watchdog: bool [flag] = true,
        "MONITOR_WATCHDOG" read env_bool,
        "`0`: do not report queries still running past their threshold", default "on";
    /// The hook keeps each panic's message for the run's error list and the `call panicked`
    /// event. Once installed it stays; turned off later, the texts it keeps are no longer used.
    panic_text: bool [flag] = true,
        "MONITOR_PANIC_TEXT" read env_bool,
        "`0`: chain no panic hook; panics are reported as `panicked`, without their message",
        default "on";
    /// Has no effect once the program installs a subscriber: the events go there.
    stderr_warnings: bool [flag] = true,
        "MONITOR_STDERR_WARNINGS" read env_bool,
        "`0`: with no `tracing` subscriber installed, drop monitor's `warn` and `error` events \
         instead of writing them to stderr, one line each (see [Events](#events))",
        default "on";
    /// A worker whose run id is set joins that run instead of starting its own: its report is one
    /// part of the run, written to the history as it finishes (see `Pipeline::start`).
    run_id: Option<String> [text] = None,
        "MONITOR_RUN_ID" read env_fleet_id,
        "join this fleet run: each worker process given the same id reports its part of one run \
         (see [Fleet runs](#fleet-runs))",
        default "none";
    worker_id: Option<String> [text] = None,
        "MONITOR_WORKER_ID" read env_fleet_id,
        "this worker's id within a fleet run (a shard index); each worker is compared with the \
         same id's earlier runs",
        default "host name and process id";
    expected_workers: u64 [count] = 0,
        "MONITOR_EXPECTED_WORKERS" read env_count,
        "workers a fleet run expects (`0`: unknown); its report lists those that did not report",
        default "unknown";
}

impl Config {
    /// Reads the process environment.
    #[must_use]
    pub fn from_env() -> (Config, Vec<ConfigError>) {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// A builder starting from the settings in force.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::current(),
        }
    }

    fn store(&self) {
        self.store_values();
        if self.panic_text {
            crate::config::panic_text::install();
        }
    }
}

/// Overrides the environment's settings in code; [`ConfigBuilder::install`] applies them.
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Applies the settings process-wide and returns them (a sample interval out of bounds
    /// clamped, with a warning).
    pub fn install(mut self) -> Config {
        let clamped = out_of_bounds(
            "Config::sample_interval",
            self.config.sample_interval,
            SAMPLE_INTERVAL_BOUNDS,
        );
        if let Some((nearest, _)) = &clamped {
            self.config.sample_interval = *nearest;
        }
        self.config.store();
        if let Some((_, e)) = clamped {
            report_errors(&[e]);
        }
        self.config
    }
}

/// Reads the environment once (at the runtime's start-up, or the first config call), and
/// installs the panic hook it asks for.
pub fn ensure_init() {
    INIT.call_once(|| {
        // The clock's one-time calibration now, so that no monitored call pays for it.
        crate::base::clock::calibrate();
        let (c, errors) = Config::from_env();
        c.store();
        report_errors(&errors);
    });
}

/// The slow-query threshold in nanoseconds, as the hot path compares it (the setting's bits).
#[inline]
pub(crate) fn slow_query_ns() -> u64 {
    stored::slow_query.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> (Config, Vec<ConfigError>) {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn reads_good_values() {
        let (c, e) = with(&[
            ("MONITOR_SLOW_QUERY", "250ms"),
            ("MONITOR_DISABLE", "true"),
            ("MONITOR_MEMORY_WARN", "512MiB"),
        ]);
        assert!(e.is_empty());
        assert_eq!(c.slow_query, Duration::from_millis(250));
        assert!(c.disabled);
        assert_eq!(c.memory_warn, 512 << 20);
    }

    #[test]
    fn bad_value_names_variable_and_value_and_keeps_default() {
        let (c, e) = with(&[("MONITOR_SLOW_QUERY", "soon"), ("MONITOR_DISABLE", "maybe")]);
        assert_eq!(c.slow_query, Duration::from_secs(30));
        assert!(!c.disabled);
        assert_eq!(e.len(), 2);
        let msg = e
            .iter()
            .find(|e| e.variable == "MONITOR_SLOW_QUERY")
            .unwrap()
            .to_string();
        assert!(
            msg.starts_with("MONITOR_SLOW_QUERY=\"soon\" is not valid: expected a number"),
            "{msg}"
        );
        assert!(msg.ends_with("keeping 30s"), "{msg}");
        let msg = e
            .iter()
            .find(|e| e.variable == "MONITOR_DISABLE")
            .unwrap()
            .to_string();
        assert!(
            msg.contains("MONITOR_DISABLE=\"maybe\" is not valid"),
            "{msg}"
        );
    }
}
