//! The `MONITOR_OPENLINEAGE_*` variables, set in a real environment (a child process of this test
//! binary, read on the first pipeline run), switch OpenLineage on with no code; without them
//! nothing is sent; a bad value is one warning naming the variable, never the API key.
//!
//! Every child is an ignored test of this file run as `--exact child_.. --ignored`.
#![cfg(target_os = "linux")]

use monitor::testing::GlobalCapture;
use monitor::{monitor_step, Pipeline};
use monitor_test_support::{child_test, output_of};
use serde_json::Value;

/// Runs child test `name` with `vars` set (every other `MONITOR_*` unset); fails with its
/// output if it failed. Returns its stderr.
fn child(name: &str, vars: &[(&str, &str)]) -> String {
    let mut cmd = child_test(name);
    cmd.envs(vars.iter().copied());
    output_of(&mut cmd).1
}

#[monitor_step(rows, outputs = "file:env/out.csv")]
fn env_step(n: u64) -> Vec<u64> {
    (0..n).collect()
}

#[test]
fn the_variables_switch_it_on_with_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lineage.jsonl");
    let url = format!("file:{}", file.display());
    child(
        "child_one_run",
        &[
            ("MONITOR_OPENLINEAGE_URL", &url),
            ("MONITOR_OPENLINEAGE_NAMESPACE", "shop"),
            ("MONITOR_OPENLINEAGE_TIMEOUT", "2s"),
            ("MONITOR_OPENLINEAGE_API_KEY", "env-key-93ad"),
        ],
    );
    let events: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap(),
                e["job"]["namespace"].as_str().unwrap(),
                e["job"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("START", "shop", "env_etl"),
            ("COMPLETE", "shop", "env_etl"),
            ("COMPLETE", "shop", "env_etl.env_step"),
        ]
    );
    assert_eq!(
        events[2]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"],
        7
    );
}

#[test]
fn without_the_url_it_stays_off() {
    // The other variables alone switch nothing on.
    child(
        "child_one_run",
        &[
            ("MONITOR_OPENLINEAGE_NAMESPACE", "shop"),
            ("MONITOR_OPENLINEAGE_API_KEY", "env-key-93ad"),
        ],
    );
}

#[test]
fn monitor_disable_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lineage.jsonl");
    child(
        "child_disabled_run",
        &[
            (
                "MONITOR_OPENLINEAGE_URL",
                &format!("file:{}", file.display()),
            ),
            ("MONITOR_DISABLE", "1"),
        ],
    );
    assert!(!file.exists(), "events were written under MONITOR_DISABLE");
}

#[test]
fn a_bad_value_is_one_warning_naming_the_variable() {
    let stderr = child(
        "child_bad_url",
        &[
            ("MONITOR_OPENLINEAGE_URL", "https://lineage.example:5000"),
            ("MONITOR_OPENLINEAGE_API_KEY", "env-key-93ad"),
        ],
    );
    assert!(!stderr.contains("env-key-93ad"), "{stderr}");
}

#[test]
#[ignore = "run by the tests above in a child process"]
fn child_one_run() {
    let capture = GlobalCapture::install().expect("the only subscriber");
    // Read on the first run, not before.
    assert_eq!(monitor::lineage::endpoint(), None);
    let run = Pipeline::start("env_etl");
    let url = std::env::var("MONITOR_OPENLINEAGE_URL").ok();
    assert_eq!(monitor::lineage::endpoint(), url);
    env_step(7);
    let report = run.finish();
    assert_eq!(report.status, monitor::RunStatus::Ok);
    let warnings: Vec<_> = capture
        .take()
        .into_iter()
        .filter(|e| e.level <= tracing::Level::WARN)
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
#[ignore = "run by the tests above in a child process"]
fn child_disabled_run() {
    let run = Pipeline::start("env_etl");
    monitor::lineage::output("file", "/env/runtime.csv");
    env_step(7);
    run.finish();
}

#[test]
#[ignore = "run by the tests above in a child process"]
fn child_bad_url() {
    let capture = GlobalCapture::install().expect("the only subscriber");
    let run = Pipeline::start("env_etl");
    env_step(7);
    run.finish();
    let warnings: Vec<_> = capture
        .take()
        .into_iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].str("variable"), Some("MONITOR_OPENLINEAGE_URL"));
    assert!(
        warnings[0].message.contains("https is not built in"),
        "{}",
        warnings[0].message
    );
    for e in capture.take() {
        assert!(!format!("{e:?}").contains("env-key-93ad"));
    }
}
