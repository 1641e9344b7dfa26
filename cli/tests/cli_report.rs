//! `monitor report report.json --format text|md|html` renders a saved report with the library's
//! own renderers (byte for byte what `Report::to_text`, `to_markdown` and `to_html` give).

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::run_cli;
use serial_test::serial;

#[test]
#[serial]
fn renders_a_saved_report_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let report = history_support::record_real_runs(&dir.path().join("h.jsonl"), 1, |_| 1);
    let file = dir.path().join("report.json");
    std::fs::write(&file, report.to_json()).unwrap();
    let f = file.to_str().unwrap();

    let (code, out, err) = run_cli(&["report", f]);
    assert_eq!(code, 0, "{err}");
    // Not a terminal: the default width.
    assert_eq!(out, report.to_text_width(monitor::report::DEFAULT_WIDTH));
    assert!(out.contains("cli_extract"));

    let (code, out, _) = run_cli(&["report", f, "--format", "md"]);
    assert_eq!(code, 0);
    assert_eq!(out, report.to_markdown());

    let html = dir.path().join("report.html");
    let (code, out, _) = run_cli(&[
        "report",
        f,
        "--format",
        "html",
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.is_empty());
    assert_eq!(std::fs::read_to_string(&html).unwrap(), report.to_html());
}
