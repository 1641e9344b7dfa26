//! With no `MONITOR_HISTORY`, a finished run is recorded in `.monitor/history.jsonl` under the
//! working directory. Tested in a child process whose working directory is a temporary one, so
//! the checkout's own history is never touched (every other test keeps its runs out of the
//! history with `monitor::testing::without_history` or a temporary path of its own).
use monitor::monitor_step;
use monitor_test_support::{child_test, output_of};

#[monitor_step(rows)]
fn default_path_step() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
fn a_run_is_recorded_in_the_working_directory_by_default() {
    let cwd = tempfile::tempdir().unwrap();
    output_of(
        child_test("child_finishes_a_run")
            .current_dir(cwd.path())
            .env_remove("MONITOR_HISTORY_RECORD"),
    );
    let history = cwd.path().join(".monitor/history.jsonl");
    let text =
        std::fs::read_to_string(&history).unwrap_or_else(|e| panic!("{}: {e}", history.display()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let record: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(record["pipeline"], "default_path_pipeline");
    assert!(
        text.contains("\"default_path_step\""),
        "the step's figures are in the record: {text}"
    );
}

#[test]
#[ignore = "run by a_run_is_recorded_in_the_working_directory_by_default in a child process"]
fn child_finishes_a_run() {
    let run = monitor::Pipeline::start("default_path_pipeline");
    assert_eq!(default_path_step().len(), 3);
    run.finish();
}
