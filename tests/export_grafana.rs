//! Grafana and alerting: `promtool check rules` accepts the generated rules, and every query of
//! the generated dashboard is valid PromQL for a real Prometheus that scrapes our metrics.

use monitor::export::grafana::{alert_rules, dashboard, AlertOptions};
use monitor::export::prometheus::MetricsServer;
use monitor::monitor_step;
use monitor_test_support::prometheus::{check_rules, Prometheus};
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
