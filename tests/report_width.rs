//! The text report fits the terminal: at 80, 100 and 160 columns no line is wider, no cell is
//! wrapped (columns that do not fit move to a continuation table), and the baseline column reads
//! as words. Rendered from a saved report (`tests/fixtures/report.json`, the example pipeline's
//! with a regression, a plan and a short history added), so the snapshots are stable.
use monitor::Report;
use serial_test::serial;
use unicode_width::UnicodeWidthStr;

fn fixture() -> Report {
    Report::from_json(include_str!("fixtures/report.json")).expect("the fixture parses")
}

fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.width() <= width,
            "{} columns > {width}: {line}",
            line.width()
        );
    }
}

#[test]
fn text_report_at_80_100_and_160_columns() {
    let r = fixture();
    for width in [80_u16, 100, 160] {
        let text = r.to_text_width(width);
        assert_fits(&text, usize::from(width));
        // Every site is named in every table its figures are in.
        let tables = text.matches("╭").count();
        for site in r.steps.iter().map(|s| &s.site.name) {
            let rows = text
                .lines()
                .filter(|l| l.starts_with(&format!("│ {site} ")))
                .count();
            assert!(rows >= 1, "{site} at {width}");
        }
        assert!(tables >= 2, "steps and queries at {width}");
        insta::assert_snapshot!(format!("text_{width}_columns"), text);
    }
    // At 160 columns both tables are whole.
    assert!(!r.to_text_width(160).contains("(continued)"));
    assert!(r.to_text_width(80).contains("Steps (continued)"));
}

#[test]
fn the_baseline_column_speaks_to_people() {
    let text = fixture().to_text_width(160);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("│ {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{text}"))
            .to_owned()
    };
    assert!(row("clean_orders").contains("total time +31% slower (regression)"));
    assert!(row("load_orders").contains("2 of 5 runs needed for a verdict"));
    assert!(row("generate_orders").contains("within noise"));
    for internal in ["duration_total_ms", "insufficient_history", "unchanged"] {
        assert!(!text.contains(internal), "{internal} shown:\n{text}");
    }
    assert!(
        text.contains("customer_aggregation: 1 of 1 calls slow (over 250 ms), max 10.3 ms"),
        "the slow query with its threshold:\n{text}"
    );
    assert!(
        text.contains("clean_orders: total time +31% slower (regression),"),
        "the regression section in words:\n{text}"
    );
}

#[test]
#[serial]
fn monitor_report_width_sets_the_width_and_a_bad_value_is_named() {
    let r = fixture();
    // SAFETY: #[serial]: no other test of this binary reads the environment meanwhile.
    unsafe { std::env::set_var("MONITOR_REPORT_WIDTH", "90") };
    let text = r.to_text();
    assert_eq!(text, r.to_text_width(90));
    assert_fits(&text, 90);

    unsafe { std::env::set_var("MONITOR_REPORT_WIDTH", "wide") };
    let (text, events) = monitor::testing::capture(|| r.to_text());
    unsafe { std::env::remove_var("MONITOR_REPORT_WIDTH") };
    let warning = events
        .iter()
        .find(|e| e.str("variable") == Some("MONITOR_REPORT_WIDTH"))
        .unwrap_or_else(|| panic!("no warning naming the variable: {events:#?}"));
    assert_eq!(warning.level, tracing::Level::WARN);
    assert_eq!(warning.str("value"), Some("wide"));
    assert!(
        warning.message.contains("MONITOR_REPORT_WIDTH=\"wide\""),
        "{}",
        warning.message
    );
    // The bad value is ignored: the terminal's width or 100 columns, never a panic.
    assert!(text.contains("Steps"));
}
