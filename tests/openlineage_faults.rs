//! A lineage server that never answers, answers 500, or is absent never fails or stalls the run:
//! the run's end waits at most the time limit (`OpenLineage::timeout`, default 5 s), one warning
//! names the endpoint (and the next failing run adds none), and the run's report and history
//! record are what they are without OpenLineage. Real sockets on loopback: a listener that
//! accepts and never answers, an HTTP server answering 500, and a closed port.
#![cfg(target_os = "linux")]

mod openlineage_support;

use monitor::history::{parse_line, HistorySettings};
use monitor::lineage::{self, OpenLineage};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline, Report, RunStatus};
use openlineage_support::{closed_port, Receiver, Silent};
use serial_test::serial;
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "fault-key-0c4e91";

#[monitor_step(rows, outputs = "file:faults/out.csv")]
fn fault_step(n: u64) -> Vec<u64> {
    (0..n).collect()
}

/// A short pipeline; returns its report and how long `finish()` took.
fn run_once(name: &str) -> (Report, Duration) {
    let run = Pipeline::start(name);
    fault_step(10);
    fault_step(20);
    let t = Instant::now();
    let report = run.finish();
    (report, t.elapsed())
}

/// What must not change: status, failure, and each site's counts and rows.
fn shape(r: &Report) -> Vec<(String, u64, u64, Option<u64>)> {
    r.steps
        .iter()
        .chain(&r.queries)
        .map(|s| {
            (
                s.site.name.clone(),
                s.site.calls,
                s.site.errors,
                s.site.rows,
            )
        })
        .collect()
}

fn lineage_warnings(events: &[CapturedEvent]) -> Vec<&CapturedEvent> {
    events
        .iter()
        .filter(|e| {
            e.level == tracing::Level::WARN && e.fields.contains_key("events_not_delivered")
        })
        .collect()
}

fn history_runs(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let r = parse_line(l.as_bytes()).unwrap();
            (r.run_id, r.status.as_str().to_owned())
        })
        .collect()
}

/// Two runs against `endpoint` with time limit `limit` (None: the default); checks the promise
/// and returns how long each run's end took.
fn check_fault(endpoint: &str, limit: Option<Duration>, reason: &str) -> [Duration; 2] {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    HistorySettings::builder()
        .path(&history)
        .record(true)
        .install();
    let (baseline, _) = run_once("faults");
    assert!(baseline.regressions.is_empty());

    let mut ol = OpenLineage::new(endpoint).unwrap().api_key(KEY);
    if let Some(l) = limit {
        ol = ol.timeout(l);
    }
    ol.install();
    let ((first, second), events) = capture(|| (run_once("faults"), run_once("faults")));
    lineage::uninstall();
    monitor::testing::without_history();

    for (report, _) in [&first, &second] {
        assert_eq!(report.status, RunStatus::Ok);
        assert_eq!(report.failure, None);
        assert_eq!(shape(report), shape(&baseline));
    }
    // Every run is in the history, as it would be without OpenLineage.
    let ids: Vec<(String, String)> = [&baseline, &first.0, &second.0]
        .iter()
        .map(|r| (r.run_id.clone(), "ok".to_owned()))
        .collect();
    assert_eq!(history_runs(&history), ids);

    // One warning for both runs, naming the endpoint and why; never the key.
    let warned = lineage_warnings(&events);
    assert_eq!(warned.len(), 1, "{events:#?}");
    let shown = OpenLineage::new(endpoint).unwrap().endpoint();
    assert_eq!(warned[0].str("endpoint"), Some(shown.as_str()));
    assert!(warned[0].message.contains(&shown), "{}", warned[0].message);
    assert!(
        warned[0].str("reason").unwrap_or_default().contains(reason),
        "{:?}",
        warned[0]
    );
    for e in &events {
        assert!(!format!("{} {:?}", e.message, e.fields).contains(KEY));
    }
    [first.1, second.1]
}

#[test]
#[serial]
fn a_receiver_that_never_answers_costs_at_most_the_time_limit() {
    let silent = Silent::start();
    let limit = Duration::from_secs(1);
    let [a, b] = check_fault(&silent.base, Some(limit), "no answer within");
    for t in [a, b] {
        // The end waits for the run's events up to the limit, and no longer.
        assert!(
            t <= limit + Duration::from_millis(300),
            "run end took {t:?}"
        );
    }
    eprintln!("never answers, limit {limit:?}: run ends took {a:?} and {b:?}");
}

#[test]
#[serial]
fn a_receiver_that_answers_500_is_given_up_on_quickly() {
    let receiver = Receiver::start(500);
    let limit = Duration::from_secs(2);
    let [a, b] = check_fault(&receiver.base, Some(limit), "HTTP 500");
    for t in [a, b] {
        // One retry after 200 ms for the first event of the run's end; the rest of that batch is
        // dropped at once.
        assert!(t < Duration::from_secs(1), "run end took {t:?}");
    }
    // The server saw the tries, with the key.
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some(&*format!("Bearer {KEY}"))));
    eprintln!(
        "answers 500: run ends took {a:?} and {b:?}, {} requests",
        requests.len()
    );
}

#[test]
#[serial]
fn an_absent_receiver_is_given_up_on_quickly() {
    let url = closed_port();
    let [a, b] = check_fault(&url, Some(Duration::from_secs(2)), "onnection refused");
    for t in [a, b] {
        assert!(t < Duration::from_secs(1), "run end took {t:?}");
    }
    eprintln!("closed port: run ends took {a:?} and {b:?}");
}

#[test]
#[serial]
fn the_default_time_limit_is_five_seconds() {
    assert_eq!(lineage::DEFAULT_TIMEOUT, Duration::from_secs(5));
    let silent = Silent::start();
    let [a, b] = check_fault(&silent.base, None, "no answer within");
    for t in [a, b] {
        assert!(
            t <= lineage::DEFAULT_TIMEOUT + Duration::from_millis(300),
            "run end took {t:?}"
        );
    }
    eprintln!("never answers, default limit: run ends took {a:?} and {b:?}");
}

/// A full queue drops events instead of waiting: more runs start at once than the queue holds
/// events, while the receiver never answers; starting never blocks, and the end of a run still
/// waits at most the limit and warns once.
#[test]
#[serial]
fn a_full_queue_drops_events_and_the_runs_go_on() {
    monitor::testing::without_history();
    let silent = Silent::start();
    let limit = Duration::from_millis(500);
    OpenLineage::new(&silent.base)
        .unwrap()
        .timeout(limit)
        .install();
    let n = lineage::QUEUE_EVENTS + 50;
    let started = Instant::now();
    let mut runs: Vec<monitor::Run> = (0..n)
        .map(|_| Pipeline::builder("faults_flood").detached().start())
        .collect();
    let starting = started.elapsed();
    let last = runs.pop().unwrap();
    let t = Instant::now();
    let ((), events) = capture(|| drop(last));
    let ending = t.elapsed();
    lineage::uninstall();
    drop(runs);
    assert!(
        ending <= limit + Duration::from_millis(300),
        "the run's end took {ending:?}"
    );
    let warned = lineage_warnings(&events);
    assert_eq!(warned.len(), 1, "{events:#?}");
    // At least the 50 STARTs that found the queue full, and this run's own end.
    assert!(
        warned[0].u64("events_not_delivered").unwrap() >= 51,
        "{:?}",
        warned[0]
    );
    eprintln!("{n} runs started in {starting:?}; the last one's end took {ending:?}");
}
