//! The report's text, Markdown and HTML renderings show the run's real figures.
use monitor::{monitor_query, monitor_step, Pipeline, Report};
use serial_test::serial;

#[monitor_step(rows)]
fn extract_orders(n: usize) -> Vec<u64> {
    std::thread::sleep(std::time::Duration::from_millis(20));
    (0..n as u64).collect()
}

#[monitor_step]
fn drop_cancelled(rows: &[u64]) -> Vec<u64> {
    monitor::record_rows_in(rows.len() as u64);
    let out: Vec<u64> = rows.iter().copied().filter(|r| r % 10 != 0).collect();
    monitor::record_rows(out.len() as u64);
    out
}

#[monitor_query("customer_aggregation", slow = "5ms")]
fn aggregate(rows: &[u64], fail: bool) -> Result<u64, String> {
    std::thread::sleep(std::time::Duration::from_millis(8));
    if fail {
        return Err("database is locked | retry later".into());
    }
    Ok(rows.iter().sum())
}

fn run_pipeline() -> Report {
    let run = Pipeline::start("renderings");
    let rows = extract_orders(50_000);
    let kept = drop_cancelled(&rows);
    aggregate(&kept, false).unwrap();
    aggregate(&kept, true).unwrap_err();
    run.finish()
}

#[test]
#[serial]
fn text_table_shows_steps_queries_slow_and_errors() {
    monitor::testing::without_history();
    let r = run_pipeline();
    // Wide enough for every column in one table and each error on one line (narrower widths:
    // tests/report_width.rs).
    let text = r.to_text_width(200);
    println!("{text}");
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("Pipeline renderings · ok · "), "{first}");
    for header in [
        "step", "calls", "total", "p50", "p95", "max", "rows", "rows/s", "dropped", "RSS peak",
        "errors",
    ] {
        assert!(text.contains(header), "missing column {header}");
    }
    let extract = text.lines().find(|l| l.contains("extract_orders")).unwrap();
    assert!(extract.contains("50,000"), "{extract}");
    assert!(extract.contains("/s"), "rows per second: {extract}");
    assert!(extract.contains(" ms"), "durations with units: {extract}");
    assert!(extract.contains("MiB"), "RSS in MiB: {extract}");
    let dedup = text.lines().find(|l| l.contains("drop_cancelled")).unwrap();
    assert!(
        dedup.contains("45,000") && dedup.contains("5,000"),
        "rows out and dropped: {dedup}"
    );
    let q = text
        .lines()
        .find(|l| l.contains("customer_aggregation") && l.contains('│'))
        .unwrap();
    assert!(q.contains(" 2 "), "two calls: {q}");
    assert!(
        text.contains(
            "Slow queries and plans\n  customer_aggregation: 2 of 2 calls slow (over 5.0 ms)"
        ),
        "{text}"
    );
    assert!(text.contains("Errors (1)"));
    assert!(text.contains(
        "query customer_aggregation error (alloc::string::String): database is locked | retry later"
    ));
    // Every table line has the same width: columns fit their content.
    let widths: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with('│') || l.starts_with('╭'))
        .map(|l| l.chars().count())
        .collect();
    assert!(widths.len() >= 4);
    let narrow = r.to_text_width(80);
    assert!(
        narrow
            .lines()
            .all(|l| !l.starts_with('│') || l.chars().count() <= 80),
        "{narrow}"
    );
}

#[test]
#[serial]
fn markdown_has_tables_and_escapes_pipes() {
    monitor::testing::without_history();
    let r = run_pipeline();
    let md = r.to_markdown();
    println!("{md}");
    assert!(md.starts_with("### ✅ Pipeline `renderings`: ok in "));
    assert!(md.contains(
        "| step | calls | total | p50 | p95 | max | rows | rows/s | dropped | RSS peak | errors |"
    ));
    assert!(md.contains("|---|---:|"));
    assert!(md
        .lines()
        .any(|l| l.starts_with("| extract_orders | 1 |") && l.contains("50,000")));
    assert!(
        md.contains("database is locked \\| retry later"),
        "pipes escaped in cells"
    );
    assert!(md.contains("<details><summary>1 error</summary>"));
}

#[test]
#[serial]
fn html_is_self_contained_with_one_bar_per_step_call() {
    monitor::testing::without_history();
    let r = run_pipeline();
    let html = r.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<rect class=\"bar ").count(),
        r.timeline.calls.len()
    );
    assert_eq!(r.timeline.calls.len(), 4, "two steps and two queries");
    assert_eq!(html.matches("<rect class=\"bar query ").count(), 2);
    assert!(html.contains("data-step=\"extract_orders\""));
    assert!(html.contains("<svg id=\"memory\""));
    assert!(html.contains("class=\"rss-line\""));
    for forbidden in ["<script", "http://", "https://", "<link", "@import", "url("] {
        let hits: Vec<_> = html
            .match_indices(forbidden)
            .filter(|(i, _)| !html[*i..].starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(
            hits.is_empty(),
            "external reference {forbidden} in the HTML"
        );
    }
    assert!(html.contains("database is locked | retry later"));
}

#[test]
fn a_failed_empty_run_renders_without_tables() {
    monitor::testing::without_history();
    let run = Pipeline::builder("empty").detached().start();
    run.fail("input missing");
    let r = run.finish();
    let text = r.to_text();
    assert!(text.contains("Pipeline empty · failed"));
    assert!(text.contains("failed: input missing"));
    assert!(text.contains("No monitored step or query ran"));
    assert!(r
        .to_markdown()
        .starts_with("### ❌ Pipeline `empty`: failed"));
    assert!(r.to_html().contains("No step or query calls were recorded"));
}
