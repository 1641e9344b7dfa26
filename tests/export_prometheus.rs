//! Prometheus: the exposition passes `promtool check metrics`, a real Prometheus scrapes the
//! `/metrics` endpoint and answers our values through its query API, and a port already taken is
//! a clear error.

use monitor::export::prometheus::{render, MetricsServer};
use monitor::export::{self, ExportError};
use monitor::{monitor_query, monitor_step};
use monitor_test_support::prometheus::{check_metrics, Prometheus};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

#[monitor_step(rows)]
fn exposed_load(n: usize) -> Vec<u32> {
    vec![7; n]
}

#[monitor_query("exposed_lookup")]
fn exposed_lookup(fail: bool) -> Result<u32, std::io::Error> {
    if fail {
        Err(std::io::Error::other(
            "connection reset by peer at 10.0.0.7",
        ))
    } else {
        Ok(1)
    }
}

#[monitor_step]
fn scraped_step() -> u32 {
    std::thread::sleep(Duration::from_millis(2));
    3
}

fn sample<'a>(text: &'a str, metric: &str, name: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")) && l.contains(&format!("name=\"{name}\"")))
        .and_then(|l| l.rsplit(' ').next())
}

#[test]
fn exposition_follows_conventions_and_passes_promtool() {
    export::set_pipeline_name("exposition_test");
    for _ in 0..3 {
        exposed_load(10);
    }
    let _ = exposed_lookup(false);
    let _ = exposed_lookup(true);
    let text = render();

    assert_eq!(
        sample(&text, "monitor_calls_total", "exposed_load"),
        Some("3")
    );
    assert_eq!(
        sample(&text, "monitor_rows_total", "exposed_load"),
        Some("30")
    );
    assert_eq!(
        sample(&text, "monitor_calls_total", "exposed_lookup"),
        Some("2")
    );
    assert_eq!(
        sample(&text, "monitor_errors_total", "exposed_lookup"),
        Some("1")
    );
    assert_eq!(
        sample(
            &text,
            "monitor_call_duration_seconds_count",
            "exposed_lookup"
        ),
        Some("2")
    );
    let inf = text
        .lines()
        .find(|l| {
            l.starts_with("monitor_call_duration_seconds_bucket{")
                && l.contains("name=\"exposed_load\"")
                && l.contains("le=\"+Inf\"")
        })
        .expect("+Inf bucket");
    assert!(inf.ends_with(" 3"), "{inf}");
    assert!(text.contains("kind=\"query\""));
    assert!(text.contains("pipeline=\"exposition_test\""));
    assert!(text.contains("# TYPE monitor_call_duration_seconds histogram"));
    assert!(text.contains("# HELP monitor_errors_total "));
    assert!(text.contains("# TYPE monitor_peak_rss_bytes gauge"));
    // The error's type is the error counter's label.
    assert!(
        text.lines().any(|l| l.starts_with("monitor_errors_total{")
            && l.contains("name=\"exposed_lookup\"")
            && l.contains("error_type=\"std::io::error::Error\"")
            && l.ends_with(" 1")),
        "{text}"
    );
    // The error's message never becomes a label (or anything else in the exposition).
    assert!(!text.contains("connection reset"), "{text}");

    if let Err(complaints) = check_metrics(&text) {
        panic!("promtool rejected the exposition:\n{complaints}\n---\n{text}");
    }
}

#[test]
fn real_prometheus_scrapes_the_endpoint() {
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap()).expect("start /metrics");
    for _ in 0..5 {
        scraped_step();
    }
    let prometheus = Prometheus::start(&server.local_addr().to_string());
    let calls = prometheus.wait_for_value(
        "monitor_calls_total{name=\"scraped_step\", kind=\"step\"}",
        Duration::from_secs(30),
    );
    assert_eq!(calls, 5.0);
    let count = prometheus.wait_for_value(
        "monitor_call_duration_seconds_count{name=\"scraped_step\"}",
        Duration::from_secs(10),
    );
    assert_eq!(count, 5.0);
    // All five calls slept 2 ms: none can be under le=0.001, all are under le=0.01 unless the
    // machine stalled for 8 ms.
    let fast = prometheus.wait_for_value(
        "monitor_call_duration_seconds_bucket{name=\"scraped_step\", le=\"0.001\"}",
        Duration::from_secs(10),
    );
    assert_eq!(fast, 0.0);
    let sum = prometheus.wait_for_value(
        "monitor_call_duration_seconds_sum{name=\"scraped_step\"}",
        Duration::from_secs(10),
    );
    assert!(sum >= 0.010, "5 calls of at least 2 ms: {sum}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = taken.local_addr().unwrap();
    let err = MetricsServer::start(addr).expect_err("the port is taken");
    assert!(
        matches!(err, ExportError::Bind { addr: a, .. } if a == addr),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot serve metrics on {addr}: ")),
        "{msg}"
    );
}

#[test]
fn only_metrics_is_served() {
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/other", server.local_addr());
    match ureq::get(&url).call() {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    let url = format!("http://{}/metrics", server.local_addr());
    let resp = ureq::get(&url).call().expect("scrape");
    assert_eq!(
        resp.header("Content-Type"),
        Some("text/plain; version=0.0.4")
    );
}

#[monitor_query("collected_lookup")]
fn collected_lookup(fail: bool) -> Result<u32, std::num::ParseIntError> {
    if fail {
        "x".parse()
    } else {
        Ok(2)
    }
}

/// A program that already serves a `prometheus::Registry` registers monitor's collector in it:
/// the registry accepts the descriptions, gathers the same samples the endpoint serves (error
/// types included), and its own encoder's text passes promtool.
#[test]
fn the_collector_serves_a_users_registry() {
    let registry = prometheus::Registry::new();
    registry
        .register(Box::new(
            monitor::export::prometheus::MonitorCollector::new(),
        ))
        .expect("the collector's descriptions are valid");
    let _ = collected_lookup(false);
    let _ = collected_lookup(true);
    let _ = collected_lookup(true);

    let mut text = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), &mut text)
        .expect("the registry encodes what it gathered");
    assert_eq!(
        sample(&text, "monitor_calls_total", "collected_lookup"),
        Some("3")
    );
    let errors = text
        .lines()
        .find(|l| l.starts_with("monitor_errors_total{") && l.contains("name=\"collected_lookup\""))
        .unwrap_or_else(|| panic!("no error series:\n{text}"));
    assert!(
        errors.contains("error_type=\"core::num::error::ParseIntError\"") && errors.ends_with(" 2"),
        "{errors}"
    );
    if let Err(complaints) = check_metrics(&text) {
        panic!("promtool rejected the registry's exposition:\n{complaints}\n---\n{text}");
    }
}
