//! A regression gate that has nothing to check says so and fails: a run under `MONITOR_DISABLE=1`
//! leaves the history untouched (so the gate still judges the last real run), and `monitor
//! compare --fail-on-regression` with no run, a latest run without steps or queries, or too few
//! earlier runs exits 3 with one message, unless `--allow-empty` is given.

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::run_cli;
use history_support::record_steady_runs;
use monitor::history::{HistoryStore, JsonlStore, RunRecord, RunStatus, RECORD_VERSION};
use std::path::Path;

#[monitor::monitor_step]
fn gate_extract(n: u64) -> u64 {
    (0..n).sum()
}

#[monitor::monitor_step(rows)]
fn gate_transform(n: usize) -> Vec<u8> {
    vec![0; n]
}

/// The child: one run of `cli_etl` with the environment it is given (`MONITOR_DISABLE`,
/// `MONITOR_HISTORY`).
#[test]
#[ignore = "run as a child process by a_disabled_run_records_nothing"]
fn child_pipeline_run() {
    if std::env::var_os("GATE_CHILD").is_none() {
        return;
    }
    let run = monitor::Pipeline::start("cli_etl");
    gate_extract(1_000);
    gate_transform(1_000);
    let report = run.finish();
    println!("REPORT steps={}", report.steps.len());
}

fn child_run(history: &Path, disable: bool) -> String {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_pipeline_run", "--ignored", "--nocapture"])
        .env("GATE_CHILD", "1")
        .env("MONITOR_HISTORY", history)
        .env_remove("MONITOR_HISTORY_RECORD");
    if disable {
        cmd.env("MONITOR_DISABLE", "1");
    } else {
        cmd.env_remove("MONITOR_DISABLE");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn a_disabled_run_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let p = path.to_str().unwrap();
    record_steady_runs(&path, 8);
    let before = std::fs::read_to_string(&path).unwrap();

    let stdout = child_run(&path, true);
    assert!(stdout.contains("REPORT steps=0"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "a disabled run leaves the history byte for byte as it was"
    );

    // So the gate still judges the last real run.
    let (code, out, err) = run_cli(&["--history", p, "compare", "--fail-on-regression"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("cli_etl run steady-007 "), "{out}");
    assert!(out.trim_end().ends_with("no regressions"), "{out}");

    // The same child, enabled, does record into this history (the check above is not vacuous).
    child_run(&path, false);
    let runs = JsonlStore::new(&path)
        .load(&monitor::history::RunFilter::all())
        .unwrap()
        .runs;
    assert_eq!(runs.len(), 9);
    assert_eq!(runs[8].sites.len(), 2);
}

/// Appends a run of `cli_etl` without steps or queries, as a disabled run used to be recorded.
fn append_empty_run(path: &Path) {
    JsonlStore::new(path)
        .append(&RunRecord {
            v: RECORD_VERSION,
            run_id: "empty-run".to_owned(),
            pipeline: "cli_etl".to_owned(),
            status: RunStatus::Ok,
            started_at_ms: 1_763_999_000_000,
            duration_ms: 1.0,
            host: "ci".to_owned(),
            version: None,
            sites: vec![],
        })
        .unwrap();
}

/// Runs `monitor --history PATH compare ARGS`; returns (exit code, stdout, stderr).
fn compare(path: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--history", path.to_str().unwrap(), "compare"];
    all.extend_from_slice(args);
    run_cli(&all)
}

#[test]
fn a_latest_run_without_steps_fails_the_gate_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    record_steady_runs(&path, 8);
    append_empty_run(&path);
    let reason = "cli_etl run empty-run has no steps or queries (a run with MONITOR_DISABLE=1 \
                  records none)";

    let (code, out, err) = compare(&path, &["--fail-on-regression"]);
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(
        err,
        format!(
            "monitor: nothing to compare: {reason}; the regression gate checked nothing \
             (--allow-empty accepts this)\n"
        )
    );
    assert!(!out.contains("no regressions"), "{out}");

    let (code, _, err) = compare(&path, &["--fail-on-regression", "--json"]);
    assert_eq!(code, 3, "{err}");

    let (code, out, err) = compare(&path, &["--fail-on-regression", "--allow-empty"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.trim_end()
            .ends_with(&format!("nothing to compare: {reason}")),
        "{out}"
    );

    // Without the gate: said, and exit 0.
    let (code, out, _) = compare(&path, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("\nnothing to compare: {reason}")),
        "{out}"
    );
    assert!(!out.contains("no regressions"), "{out}");
}

#[test]
fn too_few_runs_for_a_verdict_fail_the_gate_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    record_steady_runs(&path, 3);

    let (code, out, err) = compare(&path, &["--fail-on-regression"]);
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(
        err,
        "monitor: nothing to compare: cli_etl run steady-002 has 2 earlier successful run(s); \
         a verdict needs 5; the regression gate checked nothing (--allow-empty accepts this)\n"
    );
    let (code, out, err) = compare(&path, &["--fail-on-regression", "--allow-empty"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to compare: cli_etl run steady-002 has 2"));

    // A single run: no baseline at all.
    let one = dir.path().join("one.jsonl");
    record_steady_runs(&one, 1);
    let (code, _, err) = compare(&one, &["--fail-on-regression"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("cli_etl run steady-000 has no earlier successful run to compare with"),
        "{err}"
    );
}

#[test]
fn a_history_without_runs_fails_the_gate_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, "").unwrap();

    let (code, _, err) = compare(&path, &["--fail-on-regression"]);
    assert_eq!(code, 3);
    assert_eq!(
        err,
        "monitor: nothing to compare: the history holds no runs yet; the regression gate checked \
         nothing (--allow-empty accepts this)\n"
    );
    let (code, out, err) = compare(&path, &["--fail-on-regression", "--allow-empty"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "nothing to compare: the history holds no runs yet\n");
    // Not a gate: bad input, as before.
    let (code, _, err) = compare(&path, &[]);
    assert_eq!(code, 2);
    assert_eq!(err, "monitor: the history holds no runs yet\n");
}
