//! `monitor compare` as a CI gate on a real history file: exit 0 when the latest run is within
//! its baseline, exit 1 with `--fail-on-regression` after a real pipeline run that is slower,
//! and the regression named with its evidence.

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::run_cli;
use history_support::{record_real_runs, record_steady_runs};
use serial_test::serial;

#[test]
#[serial]
fn compare_passes_then_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let p = path.to_str().unwrap();
    record_steady_runs(&path, 8);

    let (code, out, err) = run_cli(&["--history", p, "compare", "--fail-on-regression"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("cli_etl run "), "{out}");
    assert!(out.contains("against 7 earlier successful run(s)"), "{out}");
    assert!(out.contains("cli_extract"), "{out}");
    assert!(out.trim_end().ends_with("no regressions"), "{out}");

    // One much slower run.
    record_real_runs(&path, 1, |_| 80);
    let (code, out, err) = run_cli(&["--history", p, "compare", "--fail-on-regression"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("REGRESSION (duration_total_ms"), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("cli_extract duration_total_ms:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("baseline of 8 runs"), "{line}");
    assert!(line.contains("flagged above"), "{line}");

    // Without the flag the same finding is reported but the exit code stays 0.
    let (code, out, _) = run_cli(&["--history", p, "compare"]);
    assert_eq!(code, 0);
    assert!(out.contains("Regressions ("), "{out}");

    // JSON for machines.
    let (code, out, _) = run_cli(&["--history", p, "compare", "--json", "--fail-on-regression"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pipeline"], "cli_etl");
    assert_eq!(v["regressions"][0]["step"], "cli_extract");
    assert_eq!(v["regressions"][0]["evidence"]["runs"], 8);

    // A generous threshold lets it through.
    let (code, _, _) = run_cli(&[
        "--history",
        p,
        "compare",
        "--threshold",
        "1000",
        "--fail-on-regression",
    ]);
    assert_eq!(code, 0);
}
