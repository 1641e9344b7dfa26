//! The environment alone switches the exporters on: `MONITOR_PROMETHEUS_ADDR`,
//! `MONITOR_DOGSTATSD_ADDR` (with `MONITOR_EXPORT_INTERVAL`) and `MONITOR_PUSHGATEWAY_URL`, read
//! on the first monitored call, with no exporter code in the program.

use monitor::{monitor_step, Pipeline};
use monitor_test_support::free_port;
use monitor_test_support::prometheus::Pushgateway;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[monitor_step]
fn env_step() {}

#[test]
fn environment_variables_start_the_exporters() {
    monitor::testing::without_history();
    let gateway = Pushgateway::start();
    let statsd = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = free_port();
    // This test binary is its own process and nothing has been monitored yet: the variables are
    // read on the first call below.
    std::env::set_var("MONITOR_PROMETHEUS_ADDR", port.to_string());
    std::env::set_var(
        "MONITOR_DOGSTATSD_ADDR",
        statsd.local_addr().unwrap().to_string(),
    );
    std::env::set_var("MONITOR_EXPORT_INTERVAL", "100ms");
    std::env::set_var("MONITOR_PUSHGATEWAY_URL", gateway.url());

    env_step();
    env_step();

    // Prometheus: a bare port means loopback.
    let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .expect("the endpoint MONITOR_PROMETHEUS_ADDR asked for")
        .into_string()
        .unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with("monitor_calls_total{") && l.contains("name=\"env_step\""))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(line.ends_with(" 2"), "{line}");

    // DogStatsD: the interval thread sends without being asked.
    statsd
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let started = Instant::now();
    let mut seen = false;
    while !seen && started.elapsed() < Duration::from_secs(5) {
        let n = statsd.recv(&mut buf).expect("a DogStatsD datagram");
        seen = std::str::from_utf8(&buf[..n])
            .unwrap()
            .lines()
            .any(|l| l.starts_with("monitor.calls:2|c|") && l.contains("name:env_step"));
    }
    assert!(seen, "no monitor.calls line for env_step");

    // Pushgateway: pushed at the end of the run.
    let run = Pipeline::start("env_pipeline");
    env_step();
    let report = run.finish();
    assert_eq!(report.status, monitor::RunStatus::Ok);
    let pushed = gateway.metrics();
    assert!(
        pushed.lines().any(|l| l.starts_with("monitor_calls_total{")
            && l.contains("name=\"env_step\"")
            && l.contains("pipeline=\"env_pipeline\"")
            && l.ends_with(" 3")),
        "{pushed}"
    );
}
