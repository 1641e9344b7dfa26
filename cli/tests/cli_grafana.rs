//! `monitor dashboard` prints a Grafana dashboard and `monitor alerts` prints rules that the real
//! `promtool check rules` accepts; bad options are one clear message and a non-zero exit.
use std::process::Command;

fn monitor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_monitor"))
        .args(args)
        .output()
        .expect("run the monitor binary")
}

#[test]
fn dashboard_is_grafana_json_with_panels() {
    let out = monitor(&["dashboard"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let panels = json["panels"].as_array().expect("panels");
    assert!(panels.len() >= 5, "{json}");
    let exprs = json.to_string();
    assert!(exprs.contains("monitor_call_duration_seconds_bucket"));
    assert!(exprs.contains("monitor_peak_rss_bytes"));
}

#[test]
fn alerts_pass_promtool_and_honour_options() {
    let out = monitor(&["alerts", "--no-success-hours", "6", "--slower-factor", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(rules.contains("6h") || rules.contains("21600"), "{rules}");
    let checked = monitor_test_support::prometheus::check_rules(&rules);
    assert!(
        checked.is_ok(),
        "promtool rejected the rules: {checked:?}\n{rules}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rules.yml");
    let out = monitor(&["alerts", "-o", file.to_str().expect("utf-8 path")]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&file)
        .expect("written")
        .contains("groups:"));
}

#[test]
fn bad_alert_options_are_one_clear_error() {
    let out = monitor(&["alerts", "--slower-factor", "0.5"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--slower-factor must be a number above 1"),
        "{err}"
    );
}
