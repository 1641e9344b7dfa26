//! A batch run shorter than the scrape interval still reaches Prometheus with its final totals
//! when `MONITOR_PROMETHEUS_LINGER` is set: the process keeps its `/metrics` endpoint up at exit
//! until one scrape after the run has been answered (a real Prometheus scraping every second),
//! or until the linger passes. Without it, or without an endpoint, the process exits at once.
//!
//! The batch job is this test binary run again (`child_batch_job`), with the exporter switched on
//! from the environment as a user would.

use monitor::{monitor_step, Pipeline};
use monitor_test_support::prometheus::Prometheus;
use monitor_test_support::{child_test, free_port};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

#[monitor_step]
fn linger_step(i: u64) -> u64 {
    i + 1
}

/// The child: one short run of seven calls, then "FINISHED", then the end of the process.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_batch_job() {
    if std::env::var_os("LINGER_CHILD").is_none() {
        return;
    }
    let run = Pipeline::start("linger_batch");
    for i in 0..7 {
        linger_step(i);
    }
    let report = run.finish();
    assert_eq!(report.step("linger_step").unwrap().site.calls, 7);
    println!("FINISHED");
}

/// Starts the child with `env`.
fn spawn_child(env: &[(&str, String)]) -> Child {
    child_test("child_batch_job")
        .env("LINGER_CHILD", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child's "FINISHED" line, then for its exit; returns the time between the two.
fn time_from_run_end_to_exit(mut child: Child) -> Duration {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let finished = loop {
        match lines.next() {
            Some(Ok(line)) if line == "FINISHED" => break Instant::now(),
            Some(Ok(_)) => {}
            other => panic!("the child ended without finishing its run: {other:?}"),
        }
    };
    // Drain the rest so the child never blocks on a full pipe.
    for _ in lines {}
    let status = child.wait().unwrap();
    let elapsed = finished.elapsed();
    assert!(status.success(), "{status}");
    elapsed
}

#[test]
fn a_batch_run_is_scraped_with_its_final_totals_before_the_process_exits() {
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let prometheus = Prometheus::start(&target);
    let child = spawn_child(&[
        ("MONITOR_PROMETHEUS_ADDR", target.clone()),
        ("MONITOR_PROMETHEUS_LINGER", "15s".to_owned()),
    ]);
    let lingered = time_from_run_end_to_exit(child);
    // Scraped every second: the process left after that scrape, long before the 15 s linger.
    assert!(
        lingered < Duration::from_secs(10),
        "exited {lingered:?} after its run"
    );
    // What Prometheus stored from that scrape: the run's final totals.
    let calls = prometheus.wait_for_value(
        "monitor_calls_total{name=\"linger_step\", kind=\"step\"}",
        Duration::from_secs(10),
    );
    assert_eq!(calls, 7.0);
    let runs = prometheus.wait_for_value(
        "monitor_pipeline_runs_total{pipeline=\"linger_batch\", status=\"success\"}",
        Duration::from_secs(10),
    );
    assert_eq!(runs, 1.0);
}

#[test]
fn the_linger_ends_after_its_time_when_nobody_scrapes() {
    let child = spawn_child(&[
        (
            "MONITOR_PROMETHEUS_ADDR",
            format!("127.0.0.1:{}", free_port()),
        ),
        ("MONITOR_PROMETHEUS_LINGER", "1s".to_owned()),
    ]);
    let lingered = time_from_run_end_to_exit(child);
    assert!(
        lingered >= Duration::from_millis(800) && lingered < Duration::from_secs(5),
        "exited {lingered:?} after its run, linger 1 s"
    );
}

#[test]
fn without_a_linger_or_an_endpoint_the_process_exits_at_once() {
    // The endpoint without a linger (the default) ...
    let child = spawn_child(&[(
        "MONITOR_PROMETHEUS_ADDR",
        format!("127.0.0.1:{}", free_port()),
    )]);
    let exit = time_from_run_end_to_exit(child);
    assert!(
        exit < Duration::from_millis(500),
        "exited {exit:?} after its run"
    );
    // ... and a linger without an endpoint: nothing to wait for.
    let child = spawn_child(&[("MONITOR_PROMETHEUS_LINGER", "15s".to_owned())]);
    let exit = time_from_run_end_to_exit(child);
    assert!(
        exit < Duration::from_millis(500),
        "exited {exit:?} after its run"
    );
}
