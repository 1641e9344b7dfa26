//! Standard output that fails never makes the CLI panic: a closed pipe (`monitor compare |
//! head -c 100`) ends the output quietly with the exit code unchanged (0 here), and stdout on a
//! full disk (`monitor history > /dev/full`) is one message and exit code 2.

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use cli_support::monitor_cli;
use history_support::{record_real_runs, record_steady_runs};
use serial_test::serial;
use std::process::Stdio;

/// A history with some runs, and a saved report, for the commands to print.
fn fixture() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    record_steady_runs(&history, 8);
    let report = record_real_runs(&history, 1, |_| 1);
    let report_path = dir.path().join("report.json");
    std::fs::write(&report_path, report.to_json()).unwrap();
    (
        dir,
        history.to_str().unwrap().to_owned(),
        report_path.to_str().unwrap().to_owned(),
    )
}

/// Every command that prints to stdout.
fn commands<'a>(history: &'a str, report: &'a str) -> Vec<Vec<&'a str>> {
    vec![
        vec!["--history", history, "history"],
        vec!["--history", history, "compare"],
        vec!["--history", history, "compare", "--json"],
        vec!["--history", history, "trend", "cli_extract"],
        vec!["report", report],
        vec!["report", report, "--format", "html"],
        vec!["dashboard"],
        vec!["alerts"],
    ]
}

/// Runs the CLI with `stdout`; returns (exit code, stderr).
fn run_with_stdout(args: &[&str], stdout: impl Into<Stdio>) -> (i32, String) {
    let out = monitor_cli()
        .args(args)
        .env_remove("MONITOR_HISTORY")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run the monitor binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[serial]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let (_dir, history, report) = fixture();
    for args in commands(&history, &report) {
        // The reading end is closed before the CLI starts: its first write gets EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (code, stderr) = run_with_stdout(&args, writer);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: nothing on stderr, no panic");
    }
}

#[test]
#[serial]
fn a_full_disk_is_one_message_and_exit_2() {
    let (_dir, history, report) = fixture();
    for args in commands(&history, &report) {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let (code, stderr) = run_with_stdout(&args, full);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(
            stderr,
            "monitor: cannot write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}
