//! Bad input to the `monitor` CLI gets one clear message on stderr and exit code 2: a missing
//! history, a corrupt one, an unknown step, a missing or malformed report, a bad argument.

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::run_cli;
use history_support::sample_run;
use monitor::history::{HistoryStore, JsonlStore};

#[test]
fn missing_history() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.jsonl");
    let (code, out, err) = run_cli(&["--history", p.to_str().unwrap(), "history"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        format!("monitor: no history at {}: run a pipeline first, or point --history (or MONITOR_HISTORY) at one", p.display())
    );
}

#[test]
fn corrupt_history() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.jsonl");
    std::fs::write(&p, "PK\u{3}\u{4} this is a zip file\n").unwrap();
    let (code, _, err) = run_cli(&["--history", p.to_str().unwrap(), "compare"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "monitor: history file {} is not a monitor history: line 1: not a history record",
            p.display()
        )),
        "{err}"
    );

    // A history with one bad line among good ones still works, with a warning naming the line.
    let mut store = JsonlStore::new(dir.path().join("mixed.jsonl"));
    store.append(&sample_run("n", 0)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(store.path())
        .unwrap();
    let mut text = std::fs::read_to_string(store.path()).unwrap();
    text.push_str("{\"v\":1,\"run_id\":\n");
    std::fs::write(store.path(), text).unwrap();
    store.append(&sample_run("n", 1)).unwrap();
    let (code, out, err) = run_cli(&["--history", store.path().to_str().unwrap(), "history"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("line 2: skipped unreadable line"), "{err}");
    assert_eq!(out.matches("n-0000").count(), 2, "{out}");
}

#[test]
fn unknown_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = JsonlStore::new(dir.path().join("h.jsonl"));
    for i in 0..3 {
        store.append(&sample_run("nightly", i)).unwrap();
    }
    let (code, out, err) = run_cli(&["--history", store.path().to_str().unwrap(), "trend", "lod"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        "monitor: no step or query named \"lod\" in the history (known: customer_aggregation, load, transform)"
    );
    let (code, _, err) = run_cli(&[
        "--history",
        store.path().to_str().unwrap(),
        "trend",
        "load",
        "--metric",
        "speed",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("expected one of duration_total_ms, duration_p95_ms, rows"),
        "{err}"
    );
}

#[test]
fn bad_report_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("report.json");
    let (code, _, err) = run_cli(&["report", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!(
            "monitor: cannot read {}: No such file",
            missing.display()
        )),
        "{err}"
    );

    std::fs::write(&missing, "{\"schema\": \"monitor.report/v9\"}").unwrap();
    let (code, _, err) = run_cli(&["report", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unsupported report schema \"monitor.report/v9\""),
        "{err}"
    );

    let (code, _, err) = run_cli(&["report", missing.to_str().unwrap(), "--format", "pdf"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'pdf'"), "{err}");
}

#[test]
fn bad_history_option() {
    let (code, _, err) = run_cli(&["--history", "sqlite:", "history"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        "monitor: --history \"sqlite:\": expected sqlite:PATH with a database file path"
    );
}
