//! Grafana and alerting: `promtool check rules` accepts the generated rules, and every query of
//! the generated dashboard is valid PromQL for a real Prometheus that scrapes our metrics.

use monitor::export::grafana::{alert_rules, dashboard, AlertOptions};
use monitor::export::prometheus::MetricsServer;
use monitor::monitor_step;
use monitor_test_support::prometheus::{check_rules, test_rules, Prometheus};
use std::time::Duration;

#[monitor_step(rows)]
fn graphed_step() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
fn promtool_accepts_the_alert_rules() {
    for options in [
        AlertOptions::default(),
        AlertOptions {
            rate_window: Some("1h".into()),
            no_success_hours: 6,
            slower_factor: 2.0,
            ..AlertOptions::default()
        },
    ] {
        let rules = alert_rules(&options);
        match check_rules(&rules) {
            Ok(out) => assert!(out.contains("SUCCESS: 5 rules found"), "{out}\n{rules}"),
            Err(e) => panic!("{e}\n---\n{rules}"),
        }
    }
}

/// The error alert, evaluated by `promtool test rules` on series as Prometheus would scrape them:
/// a new error type whose first scrape already counts 1 (no earlier sample for `increase`), a
/// process whose first scrape already shows 3 errors, a site that panicked, an old series that
/// grows, and series that stopped growing or never did, which must not fire.
#[test]
fn the_error_alert_fires_on_new_and_growing_series_only() {
    let rules = alert_rules(&AlertOptions::default());
    let tests = r#"
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'monitor_errors_total{pipeline="p", kind="query", name="load", error_type="std::io::error::Error"}'
        values: '_x5 1x25 4x5'
      - series: 'monitor_errors_total{pipeline="p", kind="query", name="steady", error_type="std::io::error::Error"}'
        values: '3x40'
      - series: 'monitor_panics_total{pipeline="p", kind="step", name="parse"}'
        values: '0x9 2x30'
      - series: 'monitor_panics_total{pipeline="p", kind="step", name="calm"}'
        values: '0x40'
    alert_rule_test:
      - eval_time: 6m
        alertname: MonitorCallErrors
        exp_alerts:
          - exp_labels: {severity: warning, pipeline: p, kind: query, name: load}
            exp_annotations: {summary: "query load of p failed 1 times in 15 minutes"}
          - exp_labels: {severity: warning, pipeline: p, kind: query, name: steady}
            exp_annotations: {summary: "query steady of p failed 3 times in 15 minutes"}
      - eval_time: 12m
        alertname: MonitorCallErrors
        exp_alerts:
          - exp_labels: {severity: warning, pipeline: p, kind: query, name: load}
            exp_annotations: {summary: "query load of p failed 1 times in 15 minutes"}
          - exp_labels: {severity: warning, pipeline: p, kind: step, name: parse}
            exp_annotations: {summary: "step parse of p failed 2 times in 15 minutes"}
          - exp_labels: {severity: warning, pipeline: p, kind: query, name: steady}
            exp_annotations: {summary: "query steady of p failed 3 times in 15 minutes"}
      - eval_time: 28m
        alertname: MonitorCallErrors
        exp_alerts: []
      - eval_time: 32m
        alertname: MonitorCallErrors
        exp_alerts:
          - exp_labels: {severity: warning, pipeline: p, kind: query, name: load}
            exp_annotations: {summary: "query load of p failed 3 times in 15 minutes"}
"#;
    match test_rules(&rules, tests) {
        Ok(out) => assert!(out.contains("SUCCESS"), "{out}"),
        Err(e) => panic!("{e}\n---\n{rules}"),
    }
}

#[test]
fn every_dashboard_query_runs_on_a_real_prometheus() {
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    graphed_step();
    let prometheus = Prometheus::start(&server.local_addr().to_string());
    let calls = prometheus.wait_for_value(
        "monitor_calls_total{name=\"graphed_step\"}",
        Duration::from_secs(30),
    );
    assert_eq!(calls, 1.0);

    let d = dashboard();
    let mut queries = 0;
    for panel in d["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            // What Grafana substitutes before sending the query.
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$pipeline", ".*");
            // `query` asserts the API answered `success`, i.e. the PromQL parsed and ran.
            let _ = prometheus.query(&expr);
            queries += 1;
        }
    }
    assert!(queries >= 12, "{queries}");
    let rows = prometheus.wait_for_value(
        "sum by (name) (monitor_rows_total{kind=\"step\", name=\"graphed_step\"})",
        Duration::from_secs(10),
    );
    assert_eq!(rows, 3.0);
}
