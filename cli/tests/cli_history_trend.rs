//! `monitor history` and `monitor trend` on a real history file (steady runs, then a slow run
//! of a real pipeline).

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::run_cli;
use history_support::{record_real_runs, record_steady_runs};
use serial_test::serial;

#[test]
#[serial]
fn history_table_and_trend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let p = path.to_str().unwrap();
    // Steady runs, then one slow run of the real pipeline.
    record_steady_runs(&path, 8);
    record_real_runs(&path, 1, |_| 80);

    let (code, out, err) = run_cli(&["--history", p, "history", "--last", "3"]);
    assert_eq!(code, 0, "{err}");
    for header in ["started (UTC)", "pipeline", "status", "duration", "version"] {
        assert!(out.contains(header), "{out}");
    }
    assert_eq!(out.matches("cli_etl").count(), 3, "{out}");
    assert!(
        out.contains("real-0") && out.contains("v1.7") && out.contains("v1.6"),
        "{out}"
    );
    assert!(!out.contains("v1.5"), "{out}");

    let (code, out, _) = run_cli(&["--history", p, "history", "--pipeline", "other"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());

    let (code, out, err) = run_cli(&["--history", p, "trend", "cli_extract"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("cli_extract · duration_total_ms · cli_etl (last 9 runs)"),
        "{out}"
    );
    // Nine bars, the last one the highest.
    assert_eq!(lines[1].chars().count(), 9, "{out}");
    assert!(lines[1].ends_with('█'), "{out}");
    assert!(lines[2].starts_with("min "), "{out}");
    assert!(
        out.contains("regression: "),
        "the slow run is marked: {out}"
    );

    let (code, out, _) = run_cli(&["--history", p, "trend", "cli_transform", "--metric", "rows"]);
    assert_eq!(code, 0);
    assert!(out.contains("1,000 rows"), "{out}");

    let html = dir.path().join("trend.html");
    let (code, out, err) = run_cli(&[
        "--history",
        p,
        "trend",
        "cli_extract",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote "), "{out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<circle class=\"point").count(), 9);
    assert_eq!(page.matches("class=\"point regression\"").count(), 1);
    assert!(
        !page.contains("<script") && !page.contains("http://")
            || page.contains("xmlns=\"http://www.w3.org/2000/svg\"")
    );
}
