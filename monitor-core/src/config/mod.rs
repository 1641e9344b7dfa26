//! Runtime configuration: environment variables first, then a [`ConfigBuilder`] that overrides
//! them. Settings live in atomics so the hot path reads them with one relaxed load.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `MONITOR_DISABLE` | `1`/`true`: record nothing, log nothing (the annotated code still runs) | off |
//! | `MONITOR_SLOW_QUERY` | slow-query threshold, e.g. `500ms` | `30s` |
//! | `MONITOR_MEMORY_WARN` | warn when a step's peak RSS passes this, e.g. `512MiB` | `1GiB` |
//! | `MONITOR_SAMPLE_INTERVAL` | RSS sampler interval while a step runs, from `1ms` to `1m` (a value outside is clamped, with a warning) | `10ms` |
//! | `MONITOR_ENFORCE_BUDGETS` | `1`: a passed `max_peak`/`max_duration` budget panics after the call | off |
//! | `MONITOR_SPANS` | `1`: open a `tracing` span per monitored call | off |
//! | `MONITOR_WATCHDOG` | `0`: do not report queries still running past their slow threshold | on |
//! | `MONITOR_RESET_HWM` | `0`: never reset the kernel's RSS high-water mark (`VmHWM`) | on |
//! | `MONITOR_PANIC_TEXT` | `0`: install no panic hook; panics are reported as `panicked`, without their message | on |
//! | `MONITOR_STDERR_WARNINGS` | `0`: with no `tracing` subscriber installed, drop monitor's `warn` and `error` events instead of writing them to stderr | on |
//!
//! A bad value never panics: it produces one [`ConfigError`] naming the variable and the value,
//! logged as a `warn` event, and the default stays in force.
//!
//! May import: `base`.

pub(crate) mod panic_text;
pub(crate) mod stderr_events;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Once;
use std::time::Duration;

static DISABLED: AtomicBool = AtomicBool::new(false);
static SLOW_QUERY_NS: AtomicU64 = AtomicU64::new(DEFAULT_SLOW_QUERY_NS);
static MEMORY_WARN: AtomicU64 = AtomicU64::new(DEFAULT_MEMORY_WARN);
static SAMPLE_INTERVAL_NS: AtomicU64 = AtomicU64::new(DEFAULT_SAMPLE_INTERVAL_NS);
static ENFORCE_BUDGETS: AtomicBool = AtomicBool::new(false);
static SPANS: AtomicBool = AtomicBool::new(false);
static WATCHDOG: AtomicBool = AtomicBool::new(true);
static RESET_HWM: AtomicBool = AtomicBool::new(true);
static PANIC_TEXT: AtomicBool = AtomicBool::new(true);
static STDERR_WARNINGS: AtomicBool = AtomicBool::new(true);
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

/// The runtime settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Record nothing (the annotated code still runs).
    pub disabled: bool,
    /// Global slow-query threshold.
    pub slow_query: Duration,
    /// Global memory warning threshold, bytes.
    pub memory_warn: u64,
    /// RSS sampler interval, within [`SAMPLE_INTERVAL_BOUNDS`] (clamped when installed).
    pub sample_interval: Duration,
    /// Panic after a call that passed its budget.
    pub enforce_budgets: bool,
    /// Open a `tracing` span per call.
    pub spans: bool,
    /// Let the sampler reset the kernel's RSS high-water mark (Linux `/proc/self/clear_refs`)
    /// after folding it into the running calls, so that every sampling interval has its own
    /// mark. Turn off when something else reads `VmHWM` of this process.
    pub reset_hwm: bool,
    /// Report queries still running past their slow threshold (see `crate::call::watchdog`).
    pub watchdog: bool,
    /// Chain a panic hook that keeps each panic's message for the run's error list and the
    /// `call panicked` event (see `crate::config::panic_text`). Once installed the hook stays; turned off
    /// later, the texts it keeps are no longer used.
    pub panic_text: bool,
    /// With no `tracing` subscriber installed, write monitor's `warn` and `error` events to
    /// stderr, one line each (see `MONITOR_STDERR_WARNINGS`). Has no effect once the program
    /// installs a subscriber: the events go there.
    pub stderr_warnings: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            disabled: false,
            slow_query: Duration::from_nanos(DEFAULT_SLOW_QUERY_NS),
            memory_warn: DEFAULT_MEMORY_WARN,
            sample_interval: Duration::from_nanos(DEFAULT_SAMPLE_INTERVAL_NS),
            enforce_budgets: false,
            spans: false,
            reset_hwm: true,
            watchdog: true,
            panic_text: true,
            stderr_warnings: true,
        }
    }
}

impl Config {
    /// Reads every `MONITOR_*` variable through `lookup`; bad values are returned, defaults kept.
    #[must_use]
    pub fn from_lookup(lookup: Lookup<'_>) -> (Config, Vec<ConfigError>) {
        let d = Config::default();
        let mut errors = Vec::new();
        let c = Config {
            disabled: env_bool(lookup, "MONITOR_DISABLE", d.disabled, &mut errors),
            slow_query: env_duration(lookup, "MONITOR_SLOW_QUERY", d.slow_query, &mut errors),
            memory_warn: env_bytes(lookup, "MONITOR_MEMORY_WARN", d.memory_warn, &mut errors),
            sample_interval: env_duration_within(
                lookup,
                "MONITOR_SAMPLE_INTERVAL",
                d.sample_interval,
                SAMPLE_INTERVAL_BOUNDS,
                &mut errors,
            ),
            enforce_budgets: env_bool(
                lookup,
                "MONITOR_ENFORCE_BUDGETS",
                d.enforce_budgets,
                &mut errors,
            ),
            spans: env_bool(lookup, "MONITOR_SPANS", d.spans, &mut errors),
            watchdog: env_bool(lookup, "MONITOR_WATCHDOG", d.watchdog, &mut errors),
            reset_hwm: env_bool(lookup, "MONITOR_RESET_HWM", d.reset_hwm, &mut errors),
            panic_text: env_bool(lookup, "MONITOR_PANIC_TEXT", d.panic_text, &mut errors),
            stderr_warnings: env_bool(
                lookup,
                "MONITOR_STDERR_WARNINGS",
                d.stderr_warnings,
                &mut errors,
            ),
        };
        (c, errors)
    }

    /// Reads the process environment.
    #[must_use]
    pub fn from_env() -> (Config, Vec<ConfigError>) {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The settings in force now.
    #[must_use]
    pub fn current() -> Config {
        ensure_init();
        Config {
            disabled: DISABLED.load(Relaxed),
            slow_query: Duration::from_nanos(SLOW_QUERY_NS.load(Relaxed)),
            memory_warn: MEMORY_WARN.load(Relaxed),
            sample_interval: Duration::from_nanos(SAMPLE_INTERVAL_NS.load(Relaxed)),
            enforce_budgets: ENFORCE_BUDGETS.load(Relaxed),
            spans: SPANS.load(Relaxed),
            watchdog: WATCHDOG.load(Relaxed),
            reset_hwm: RESET_HWM.load(Relaxed),
            panic_text: PANIC_TEXT.load(Relaxed),
            stderr_warnings: STDERR_WARNINGS.load(Relaxed),
        }
    }

    /// A builder starting from the environment's settings.
    pub fn builder() -> ConfigBuilder {
        ensure_init();
        ConfigBuilder {
            config: Config::current(),
        }
    }

    fn store(&self) {
        DISABLED.store(self.disabled, Relaxed);
        SLOW_QUERY_NS.store(saturating_nanos(self.slow_query), Relaxed);
        MEMORY_WARN.store(self.memory_warn, Relaxed);
        let (low, high) = SAMPLE_INTERVAL_BOUNDS;
        SAMPLE_INTERVAL_NS.store(
            saturating_nanos(self.sample_interval.clamp(low, high)),
            Relaxed,
        );
        ENFORCE_BUDGETS.store(self.enforce_budgets, Relaxed);
        SPANS.store(self.spans, Relaxed);
        WATCHDOG.store(self.watchdog, Relaxed);
        RESET_HWM.store(self.reset_hwm, Relaxed);
        PANIC_TEXT.store(self.panic_text, Relaxed);
        STDERR_WARNINGS.store(self.stderr_warnings, Relaxed);
        if self.panic_text {
            crate::config::panic_text::install();
        }
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Overrides the environment's settings in code; [`ConfigBuilder::install`] applies them.
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Turns recording off (or back on).
    pub fn disabled(mut self, off: bool) -> Self {
        self.config.disabled = off;
        self
    }

    /// Sets the global slow-query threshold.
    pub fn slow_query(mut self, threshold: Duration) -> Self {
        self.config.slow_query = threshold;
        self
    }

    /// Sets the global memory warning threshold in bytes.
    pub fn memory_warn(mut self, bytes: u64) -> Self {
        self.config.memory_warn = bytes;
        self
    }

    /// Sets the RSS sampler interval; outside [`SAMPLE_INTERVAL_BOUNDS`] (1 ms to 60 s) it is
    /// clamped to the nearest bound, with a warning.
    pub fn sample_interval(mut self, interval: Duration) -> Self {
        self.config.sample_interval = interval;
        self
    }

    /// Makes passed budgets panic after the call.
    pub fn enforce_budgets(mut self, on: bool) -> Self {
        self.config.enforce_budgets = on;
        self
    }

    /// Opens a `tracing` span per monitored call.
    pub fn spans(mut self, on: bool) -> Self {
        self.config.spans = on;
        self
    }

    /// Reports queries still running past their slow threshold (on by default).
    pub fn watchdog(mut self, on: bool) -> Self {
        self.config.watchdog = on;
        self
    }

    /// Lets the sampler reset the kernel's RSS high-water mark (on by default).
    pub fn reset_hwm(mut self, on: bool) -> Self {
        self.config.reset_hwm = on;
        self
    }

    /// Keeps each panic's message for reports and events (on by default; see
    /// [`Config::panic_text`]).
    pub fn panic_text(mut self, on: bool) -> Self {
        self.config.panic_text = on;
        self
    }

    /// Writes monitor's `warn` and `error` events to stderr when no `tracing` subscriber is
    /// installed (on by default; see [`Config::stderr_warnings`]).
    pub fn stderr_warnings(mut self, on: bool) -> Self {
        self.config.stderr_warnings = on;
        self
    }

    /// Applies the settings process-wide and returns them (a sample interval out of bounds
    /// clamped, with a warning).
    pub fn install(mut self) -> Config {
        if let Some((clamped, e)) = out_of_bounds(
            "Config::sample_interval",
            self.config.sample_interval,
            SAMPLE_INTERVAL_BOUNDS,
        ) {
            self.config.sample_interval = clamped;
            self.config.store();
            report_errors(&[e]);
        } else {
            self.config.store();
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

#[inline]
pub(crate) fn disabled() -> bool {
    DISABLED.load(Relaxed)
}

#[inline]
pub(crate) fn slow_query_ns() -> u64 {
    SLOW_QUERY_NS.load(Relaxed)
}

#[inline]
pub(crate) fn memory_warn() -> u64 {
    MEMORY_WARN.load(Relaxed)
}

#[inline]
pub(crate) fn sample_interval() -> Duration {
    Duration::from_nanos(SAMPLE_INTERVAL_NS.load(Relaxed))
}

#[inline]
pub(crate) fn enforce_budgets() -> bool {
    ENFORCE_BUDGETS.load(Relaxed)
}

#[inline]
pub(crate) fn reset_hwm() -> bool {
    RESET_HWM.load(Relaxed)
}

#[inline]
pub(crate) fn panic_text() -> bool {
    PANIC_TEXT.load(Relaxed)
}

#[inline]
pub(crate) fn spans() -> bool {
    SPANS.load(Relaxed)
}

/// Whether warnings go to stderr when no subscriber is installed (read on the warning path only).
#[inline]
pub(crate) fn stderr_warnings() -> bool {
    STDERR_WARNINGS.load(Relaxed)
}

#[inline]
pub(crate) fn watchdog() -> bool {
    WATCHDOG.load(Relaxed)
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
