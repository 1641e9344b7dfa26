//! Pushgateway: a real gateway receives the run's push and shows it on its `/metrics`; a gateway
//! that is down or hangs costs bounded time and one warning, and never fails the run.

use monitor::export::pushgateway::Pushgateway;
use monitor::export::{self, RunHook, RunSummary};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline, RunStatus};
use monitor_test_support::prometheus::Pushgateway as RealGateway;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[monitor_step(rows)]
fn pushed_step(n: usize) -> Vec<u8> {
    vec![0; n]
}

#[monitor_step]
fn pushed_failure() -> Result<(), std::num::ParseIntError> {
    "x".parse::<u8>().map(drop)
}

/// The warnings and errors logged on this thread while `f` runs.
fn captured<R>(f: impl FnOnce() -> R) -> (R, Vec<CapturedEvent>) {
    let (r, events) = capture(f);
    let kept = events
        .into_iter()
        .filter(|e| e.level <= tracing::Level::WARN)
        .collect();
    (r, kept)
}

fn run(pipeline: &str, succeeded: bool) -> RunSummary<'_> {
    RunSummary {
        pipeline,
        succeeded,
        ended_unix_ms: 1_700_000_000_000,
        duration: Duration::from_millis(1500),
    }
}

fn line_for<'a>(text: &'a str, metric: &str, needle: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")) && l.contains(needle))
}

#[test]
fn a_batch_pipeline_pushes_at_the_end_of_its_run_and_survives_a_dead_gateway() {
    monitor::testing::without_history();
    let mut gateway = RealGateway::start();
    export::add_run_hook(Arc::new(
        Pushgateway::new(&gateway.url())
            .job("etl")
            .instance("test-host")
            .deadline(Duration::from_secs(3)),
    ));

    let run = Pipeline::start("nightly_etl");
    pushed_step(5);
    pushed_step(7);
    let (report, logs) = captured(|| {
        pushed_failure().unwrap_err();
        run.finish()
    });
    assert_eq!(report.status, RunStatus::Ok);
    assert!(
        logs.iter().all(|e| e.message == "call returned an error"),
        "no warning expected: {logs:?}"
    );

    let text = gateway.metrics();
    let calls = line_for(&text, "monitor_calls_total", "name=\"pushed_step\"")
        .unwrap_or_else(|| panic!("pushed series missing:\n{text}"));
    for label in [
        "job=\"etl\"",
        "instance=\"test-host\"",
        "pipeline=\"nightly_etl\"",
        "kind=\"step\"",
    ] {
        assert!(calls.contains(label), "{label} missing: {calls}");
    }
    assert!(calls.ends_with(" 2"), "{calls}");
    let rows = line_for(&text, "monitor_rows_total", "name=\"pushed_step\"").unwrap();
    assert!(rows.ends_with(" 12"), "{rows}");
    // The error counter arrives labelled with the error's type.
    let errors = line_for(&text, "monitor_errors_total", "name=\"pushed_failure\"")
        .unwrap_or_else(|| panic!("error series missing:\n{text}"));
    assert!(
        errors.contains("error_type=\"core::num::error::ParseIntError\"") && errors.ends_with(" 1"),
        "{errors}"
    );
    let success = line_for(
        &text,
        "monitor_pipeline_last_success_timestamp_seconds",
        "nightly_etl",
    )
    .unwrap_or_else(|| panic!("last success missing:\n{text}"));
    let pushed_at: f64 = success.rsplit(' ').next().unwrap().parse().unwrap();
    let end_ms = report.started_at_unix_ms as f64 + report.duration_ms;
    assert!(
        (pushed_at * 1e3 - end_ms).abs() < 5.0,
        "{pushed_at} vs {end_ms}"
    );
    let status = line_for(&text, "monitor_pipeline_last_run_success", "nightly_etl").unwrap();
    assert!(status.ends_with(" 1"), "{status}");
    // The gateway stamps each push.
    assert!(line_for(&text, "push_time_seconds", "pipeline=\"nightly_etl\"").is_some());

    // The gateway goes down: the next run still finishes, in bounded time, with one warning.
    let url = gateway.url();
    gateway.stop();
    let run = Pipeline::start("nightly_etl");
    pushed_step(1);
    let started = Instant::now();
    let (report, logs) = captured(|| run.finish());
    let took = started.elapsed();
    assert_eq!(report.status, RunStatus::Ok);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let warnings: Vec<&CapturedEvent> = logs
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "exactly one warning: {logs:?}");
    assert!(
        warnings[0].message.contains("Pushgateway: could not push"),
        "{logs:?}"
    );
    assert!(
        warnings[0].str("url").is_some_and(|u| u.contains(&url)),
        "the warning names the gateway: {logs:?}"
    );
}

#[test]
fn a_hanging_gateway_is_given_up_on_at_the_deadline() {
    monitor::testing::without_history();
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(8) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let hook = Pushgateway::new(&format!("http://{addr}")).deadline(Duration::from_secs(1));
    let started = Instant::now();
    let (_, logs) = captured(|| hook.run_finished(&export::collect(), &run("hanging", true)));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1800), "took {took:?}");
    assert_eq!(logs.len(), 1, "exactly one warning: {logs:?}");
    assert!(
        logs[0].message.contains("Pushgateway: could not push"),
        "{logs:?}"
    );
    drop(held);
}

#[test]
fn the_defaults_are_three_tries_within_five_seconds() {
    monitor::testing::without_history();
    // A gateway that refuses every push with 500, counting the tries.
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = tries.clone();
    let refusing = std::thread::spawn(move || {
        while let Ok(Some(req)) = server.recv_timeout(Duration::from_secs(8)) {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = req.respond(tiny_http::Response::from_string("no").with_status_code(500));
        }
    });
    let hook = Pushgateway::new(&format!("http://{addr}"));
    let (_, logs) = captured(|| hook.run_finished(&export::collect(), &run("refused", true)));
    assert_eq!(
        tries.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "three tries"
    );
    assert_eq!(logs.len(), 1, "one warning after the last: {logs:?}");

    // One that never answers: the default deadline (5 s, every try included) ends the push.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(3).collect();
        std::thread::sleep(Duration::from_secs(7));
        drop(conns);
    });
    let hook = Pushgateway::new(&format!("http://{hanging}"));
    let started = Instant::now();
    let (_, logs) = captured(|| hook.run_finished(&export::collect(), &run("hanging", true)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_millis(6000),
        "the default deadline is 5 s: took {took:?}"
    );
    assert_eq!(logs.len(), 1, "{logs:?}");
    drop((refusing, held));
}
