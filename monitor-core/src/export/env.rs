//! Switching exporters on from the environment alone, through the same [`ConfigError`] mechanism
//! as every other `MONITOR_*` variable.
//!
//! | variable | effect |
//! |---|---|
//! | `MONITOR_PROMETHEUS_ADDR` | serve `/metrics` there (`9464` alone means `127.0.0.1:9464`) |
//! | `MONITOR_PUSHGATEWAY_URL` | push to this Pushgateway at the end of each run |
//! | `MONITOR_DOGSTATSD_ADDR` | send DogStatsD datagrams to this `host:port` |
//! | `MONITOR_OTLP_ENDPOINT` | send OTLP/HTTP metrics to this base URL (`/v1/metrics` is added) |
//! | `MONITOR_PROMETHEUS_LINGER` | with `MONITOR_PROMETHEUS_ADDR`: at exit, keep serving until a scrape has read the last run's final figures, at most this long after the run ended (`0` to `10m`, default `0`: off) |
//! | `MONITOR_EXPORT_INTERVAL` | how often DogStatsD and OTLP flush between run ends, from `100ms` to `1h` (a value outside is clamped, with a warning; default `10s`) |

use crate::config::{env_duration_within, report_errors, ConfigError, Lookup};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Default flush interval for the push-style exporters.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// The longest `MONITOR_PROMETHEUS_LINGER` (a scrape interval is rarely over a minute or two).
pub const LINGER_BOUNDS: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(600));
/// The shortest and longest flush interval (`MONITOR_EXPORT_INTERVAL`, and the `start_interval`
/// methods): below 100 ms a flush thread would flood the collector (a busy loop at `1ns`), above
/// an hour the figures between run ends would be stale.
pub const INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(3600));

/// What the environment asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportEnv {
    /// `MONITOR_PROMETHEUS_ADDR`.
    pub prometheus_addr: Option<SocketAddr>,
    /// `MONITOR_PROMETHEUS_LINGER` (zero: off).
    pub prometheus_linger: Duration,
    /// `MONITOR_PUSHGATEWAY_URL`.
    pub pushgateway_url: Option<String>,
    /// `MONITOR_DOGSTATSD_ADDR` (`host:port`, resolved when sending).
    pub dogstatsd_addr: Option<String>,
    /// `MONITOR_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// `MONITOR_EXPORT_INTERVAL`.
    pub interval: Duration,
}

fn bad(var: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        variable: var.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
        kept: "that exporter off".to_owned(),
    }
}

fn non_empty(lookup: Lookup<'_>, var: &str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Parses a listen address: `host:port`, `[v6]:port`, or a bare port (loopback).
#[must_use]
pub fn parse_listen_addr(v: &str) -> Option<SocketAddr> {
    if let Ok(port) = v.parse::<u16>() {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    v.parse().ok()
}

fn parse_url(v: &str) -> Option<String> {
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.starts_with('/')).then(|| v.trim_end_matches('/').to_owned())
}

fn parse_host_port(v: &str) -> Option<String> {
    let (host, port) = v.rsplit_once(':')?;
    (!host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0)).then(|| v.to_owned())
}

impl ExportEnv {
    /// Reads the exporter variables through `lookup`; bad values are returned, that exporter off.
    #[must_use]
    pub fn from_lookup(lookup: Lookup<'_>) -> (ExportEnv, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let mut env = ExportEnv {
            interval: env_duration_within(
                lookup,
                "MONITOR_EXPORT_INTERVAL",
                DEFAULT_INTERVAL,
                INTERVAL_BOUNDS,
                &mut errors,
            ),
            prometheus_linger: env_duration_within(
                lookup,
                "MONITOR_PROMETHEUS_LINGER",
                Duration::ZERO,
                LINGER_BOUNDS,
                &mut errors,
            ),
            ..ExportEnv::default()
        };
        if let Some(v) = non_empty(lookup, "MONITOR_PROMETHEUS_ADDR") {
            env.prometheus_addr = parse_listen_addr(&v);
            if env.prometheus_addr.is_none() {
                errors.push(bad(
                    "MONITOR_PROMETHEUS_ADDR",
                    &v,
                    "an address to listen on such as 127.0.0.1:9464, [::1]:9464 or 9464",
                ));
            }
        }
        for (var, slot) in [
            ("MONITOR_PUSHGATEWAY_URL", &mut env.pushgateway_url),
            ("MONITOR_OTLP_ENDPOINT", &mut env.otlp_endpoint),
        ] {
            if let Some(v) = non_empty(lookup, var) {
                *slot = parse_url(&v);
                if slot.is_none() {
                    errors.push(bad(var, &v, "an http:// or https:// URL with a host"));
                }
            }
        }
        if let Some(v) = non_empty(lookup, "MONITOR_DOGSTATSD_ADDR") {
            env.dogstatsd_addr = parse_host_port(&v);
            if env.dogstatsd_addr.is_none() {
                errors.push(bad(
                    "MONITOR_DOGSTATSD_ADDR",
                    &v,
                    "host:port, such as 127.0.0.1:8125",
                ));
            }
        }
        (env, errors)
    }
}

/// Reads the process environment, logs bad values once each, and starts what it asks for.
pub(crate) fn start_from_env() {
    let (env, errors) = ExportEnv::from_lookup(&|k| std::env::var(k).ok());
    report_errors(&errors);
    super::start(&env);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> (ExportEnv, Vec<ConfigError>) {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ExportEnv::from_lookup(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn reads_every_variable() {
        let (env, errors) = with(&[
            ("MONITOR_PROMETHEUS_ADDR", "9464"),
            ("MONITOR_PUSHGATEWAY_URL", "http://gw:9091/"),
            ("MONITOR_DOGSTATSD_ADDR", "localhost:8125"),
            ("MONITOR_OTLP_ENDPOINT", "https://collector:4318"),
            ("MONITOR_EXPORT_INTERVAL", "2s"),
            ("MONITOR_PROMETHEUS_LINGER", "15s"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(env.prometheus_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(env.pushgateway_url.as_deref(), Some("http://gw:9091"));
        assert_eq!(env.dogstatsd_addr.as_deref(), Some("localhost:8125"));
        assert_eq!(env.otlp_endpoint.as_deref(), Some("https://collector:4318"));
        assert_eq!(env.interval, Duration::from_secs(2));
        assert_eq!(env.prometheus_linger, Duration::from_secs(15));
        let (env, errors) = with(&[("MONITOR_PROMETHEUS_LINGER", "2h")]);
        assert_eq!(env.prometheus_linger, LINGER_BOUNDS.1, "clamped");
        assert_eq!(errors[0].variable, "MONITOR_PROMETHEUS_LINGER");
        assert_eq!(
            with(&[]).0,
            ExportEnv {
                interval: DEFAULT_INTERVAL,
                ..ExportEnv::default()
            }
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_turn_that_exporter_off() {
        let (env, errors) = with(&[
            ("MONITOR_PROMETHEUS_ADDR", "localhost"),
            ("MONITOR_PUSHGATEWAY_URL", "gw:9091"),
            ("MONITOR_DOGSTATSD_ADDR", "statsd"),
            ("MONITOR_EXPORT_INTERVAL", "0s"),
        ]);
        assert_eq!(env.prometheus_addr, None);
        assert_eq!(env.pushgateway_url, None);
        assert_eq!(env.dogstatsd_addr, None);
        assert_eq!(
            env.interval, INTERVAL_BOUNDS.0,
            "0s is clamped to the lower bound"
        );
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(
            text[1].starts_with("MONITOR_PROMETHEUS_ADDR=\"localhost\" is not valid"),
            "{text:?}"
        );
        assert!(
            text[2].starts_with("MONITOR_PUSHGATEWAY_URL=\"gw:9091\" is not valid"),
            "{text:?}"
        );
        assert!(
            text[3].contains("MONITOR_DOGSTATSD_ADDR=\"statsd\""),
            "{text:?}"
        );
        assert_eq!(
            text[0],
            "MONITOR_EXPORT_INTERVAL=\"0s\" is not valid: expected a duration from 100ms to 1h; \
             keeping 100ms, the nearest bound"
        );
    }

    #[test]
    fn intervals_outside_their_bounds_are_clamped_and_named() {
        for (value, clamped) in [
            ("1ns", Duration::from_millis(100)),
            ("99ms", Duration::from_millis(100)),
            ("100ms", Duration::from_millis(100)),
            ("1h", Duration::from_secs(3600)),
            ("2h", Duration::from_secs(3600)),
        ] {
            let (env, errors) = with(&[("MONITOR_EXPORT_INTERVAL", value)]);
            assert_eq!(env.interval, clamped, "{value}");
            let inside = value == "100ms" || value == "1h";
            assert_eq!(errors.len(), usize::from(!inside), "{value}: {errors:?}");
            if let Some(e) = errors.first() {
                assert_eq!(e.variable, "MONITOR_EXPORT_INTERVAL");
                assert_eq!(e.value, value);
            }
        }
    }
}
