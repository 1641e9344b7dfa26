//! Every finished run appends its record on its own, and a run that is slower than its history
//! comes back with the regression in its report (JSON `regressions`, each step's `baseline`,
//! the text report's "vs baseline" column). A switch turns the recording off.

use monitor::history::{HistorySettings, HistoryStore, JsonlStore, Metric, RunFilter};
use monitor::{monitor_step, Pipeline};
use serial_test::serial;
use std::time::Duration;

#[monitor_step]
fn extract(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[monitor_step(rows)]
fn transform(n: usize) -> Vec<u8> {
    vec![0; n]
}

fn one_run(extract_ms: u64, rows: usize) -> monitor::Report {
    let run = Pipeline::builder("recorded_etl")
        .label("version", "v1.4.2")
        .start();
    extract(extract_ms);
    transform(rows);
    run.finish()
}

#[test]
#[serial]
fn runs_are_recorded_and_a_slower_run_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    HistorySettings::builder()
        .path(&path)
        .record(true)
        .install();

    for _ in 0..8 {
        one_run(20, 5_000);
    }
    let mut store = JsonlStore::new(&path);
    let runs = store.load(&RunFilter::all()).unwrap().runs;
    assert_eq!(runs.len(), 8);
    assert_eq!(runs[0].pipeline, "recorded_etl");
    assert_eq!(runs[0].version.as_deref(), Some("v1.4.2"));
    assert!(!runs[0].host.is_empty());
    let extract = runs[7].site(monitor::Kind::Step, "extract").unwrap();
    assert!(extract.total_ms >= 20.0, "{extract:?}");

    // Ten times slower (far beyond what a loaded machine does to a 20 ms sleep), and half the
    // rows.
    let report = one_run(200, 2_500);
    let flagged: Vec<(&str, &str)> = report
        .regressions
        .iter()
        .map(|r| (r.name.as_str(), r.comparison.metric.as_str()))
        .collect();
    assert!(
        flagged.contains(&("extract", "duration_total_ms")),
        "{flagged:?}"
    );
    assert!(flagged.contains(&("transform", "rows")), "{flagged:?}");
    let slow = report
        .regressions
        .iter()
        .find(|r| r.name == "extract" && r.comparison.metric == Metric::DurationTotal.as_str())
        .unwrap();
    assert_eq!(slow.runs_used, 8);
    assert_eq!(slow.comparison.verdict, "regression");
    assert!(slow.comparison.change_pct > 100.0, "{slow:?}");
    let evidence = slow.evidence.as_ref().unwrap();
    assert_eq!(evidence.run_ids.len(), 8);
    assert!(evidence.flag_above < slow.comparison.current);

    // The JSON carries it, and the text report shows the column.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert!(json["regressions"].as_array().unwrap().len() >= 2);
    assert_eq!(json["steps"][0]["baseline"]["runs_used"], 8);
    let text = report.to_text();
    assert!(text.contains("vs baseline"), "{text}");
    assert!(text.contains("regression"), "{text}");

    // The slow run itself is recorded too: the history now holds 9 runs.
    assert_eq!(store.load(&RunFilter::all()).unwrap().runs.len(), 9);
}

#[test]
#[serial]
fn recording_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    HistorySettings::builder()
        .path(&path)
        .record(false)
        .install();
    let report = one_run(1, 10);
    assert!(report.step("extract").unwrap().baseline.is_none());
    assert!(!path.exists(), "nothing written with recording off");

    // From the environment alone.
    monitor::history::settings::uninstall();
    std::env::set_var("MONITOR_HISTORY", &path);
    std::env::set_var("MONITOR_HISTORY_RECORD", "0");
    one_run(1, 10);
    assert!(!path.exists());
    std::env::set_var("MONITOR_HISTORY_RECORD", "1");
    one_run(1, 10);
    assert_eq!(
        JsonlStore::new(&path)
            .load(&RunFilter::all())
            .unwrap()
            .runs
            .len(),
        1,
        "MONITOR_HISTORY chose the file"
    );
    std::env::remove_var("MONITOR_HISTORY");
    std::env::remove_var("MONITOR_HISTORY_RECORD");
}
