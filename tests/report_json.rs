//! The report's JSON form: the documented `monitor.report/v1` fields, and a lossless round trip.
use monitor::{monitor_query, monitor_step, Pipeline, Report, ReportError};
use serial_test::serial;

#[monitor_step(rows)]
fn load(n: usize) -> Vec<u8> {
    vec![1; n]
}

#[monitor_step]
fn dedup(rows: &[u8]) -> Vec<u8> {
    monitor::record_rows_in(rows.len() as u64);
    let mut out = rows.to_vec();
    out.dedup();
    monitor::record_rows(out.len() as u64);
    out
}

#[monitor_query("customer_aggregation")]
fn aggregate(fail: bool) -> Result<u64, std::io::Error> {
    if fail {
        Err(std::io::Error::other("connection reset"))
    } else {
        Ok(3)
    }
}

fn sample_report() -> Report {
    // No history: this test checks that the fields the history fills stay absent without it.
    monitor::history::HistorySettings::builder()
        .record(false)
        .install();
    let run = Pipeline::start("json_pipeline");
    let rows = load(1_000);
    dedup(&rows);
    aggregate(false).unwrap();
    aggregate(true).unwrap_err();
    run.finish()
}

#[test]
#[serial]
fn json_has_the_documented_top_level_fields() {
    let report = sample_report();
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["schema"], "monitor.report/v1");
    assert_eq!(v["pipeline"], "json_pipeline");
    assert_eq!(v["status"], "ok");
    for key in [
        "run_id",
        "started_at",
        "duration_ms",
        "steps",
        "queries",
        "errors",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["name"], "load", "steps in order of first call");
    assert_eq!(steps[0]["kind"], "step");
    assert_eq!(steps[0]["rows"], 1_000);
    assert!(steps[0]["rows_per_sec"].as_f64().unwrap() > 0.0);
    assert!(steps[0]["duration_ms"]["p95"].is_f64());
    assert_eq!(steps[1]["name"], "dedup");
    assert_eq!(steps[1]["rows_in"], 1_000);
    assert_eq!(steps[1]["rows"], 1);
    assert_eq!(steps[1]["rows_dropped"], 999);
    let q = &v["queries"][0];
    assert_eq!(
        (
            q["name"].as_str(),
            q["calls"].as_u64(),
            q["errors"].as_u64()
        ),
        (Some("customer_aggregation"), Some(2), Some(1))
    );
    let e = &v["errors"][0];
    assert_eq!(e["site"], "customer_aggregation");
    assert_eq!(e["kind"], "query");
    assert_eq!(e["outcome"], "error");
    assert_eq!(e["message"], "connection reset");
    // Optional fields for other modules are absent when empty, not null.
    assert!(v.get("regressions").is_none());
    assert!(q.get("plans").is_none() && q.get("baseline").is_none());
}

#[test]
#[serial]
fn json_round_trips() {
    let report = sample_report();
    let back = Report::from_json(&report.to_json()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn other_schemas_and_garbage_are_refused_with_a_clear_error() {
    let err = Report::from_json(r#"{"schema": "monitor.report/v9"}"#).unwrap_err();
    assert!(matches!(err, ReportError::UnsupportedSchema(ref s) if s == "monitor.report/v9"));
    assert!(err.to_string().contains("monitor.report/v9"));
    let err = Report::from_json("{not json").unwrap_err();
    assert!(matches!(err, ReportError::Json(_)));
    let err = Report::from_json(r#"{"schema": "monitor.report/v1"}"#).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}

#[test]
fn unknown_fields_from_newer_writers_are_ignored() {
    let json = r#"{"schema":"monitor.report/v1","pipeline":"p","run_id":"r","started_at":"2026-01-01T00:00:00.000Z",
        "started_at_unix_ms":0,"duration_ms":1.5,"status":"failed","steps":[],"queries":[],"errors":[],
        "something_new":{"x":1}}"#;
    let r = Report::from_json(json).unwrap();
    assert_eq!(r.status, monitor::RunStatus::Failed);
    assert_eq!(r.duration_ms, 1.5);
}
