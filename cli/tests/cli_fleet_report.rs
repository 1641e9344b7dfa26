//! `monitor open-run` opens a fleet run and prints its id; `monitor report --run ID` renders the
//! whole run merged from its workers' parts in the history (byte for byte what the library's
//! `fleet_report_in` and renderers give), names the worker that never reported, and `--record`
//! appends the whole run to the history once. Bad or unknown run ids exit 2 with one message.

mod cli_support;

use cli_support::run_cli;
use monitor::history::{fleet_report_in, BaselineSettings, HistorySettings, JsonlStore};
use monitor::{monitor_step, Pipeline};
use serial_test::serial;

#[monitor_step(rows)]
fn cli_fleet_shard(rows: usize) -> Vec<u8> {
    std::thread::sleep(std::time::Duration::from_millis(2));
    vec![0; rows]
}

#[test]
#[serial]
fn open_run_then_report_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let h = history.to_str().unwrap();

    let (code, out, err) = run_cli(&[
        "--history",
        h,
        "open-run",
        "cli_fleet",
        "--workers",
        "4",
        "--run-id",
        "cli-fleet-1",
    ]);
    assert_eq!((code, out.as_str()), (0, "cli-fleet-1\n"), "{err}");

    // Workers 0, 1 and 2 report; worker 3 never does.
    HistorySettings::builder()
        .path(&history)
        .record(true)
        .install();
    for w in 0..3 {
        let run = Pipeline::builder("cli_fleet")
            .join("cli-fleet-1")
            .unwrap()
            .worker_id(w.to_string())
            .unwrap()
            .start();
        cli_fleet_shard(100 * (w + 1));
        run.finish();
    }
    monitor::history::settings::uninstall();

    let (code, out, err) = run_cli(&["--history", h, "report", "--run", "cli-fleet-1"]);
    assert_eq!(code, 0, "{err}");
    let whole = fleet_report_in(
        &mut JsonlStore::new(&history),
        "cli-fleet-1",
        &BaselineSettings::default(),
    )
    .unwrap();
    assert_eq!(out, whole.to_text_width(monitor::report::DEFAULT_WIDTH));
    assert!(
        out.contains("3 of 4 workers reported · missing: 3"),
        "{out}"
    );
    assert!(
        out.contains("failed: 1 of 4 workers did not report (3)"),
        "{out}"
    );
    assert_eq!(whole.step("cli_fleet_shard").unwrap().site.rows, Some(600));

    let (code, out, _) = run_cli(&[
        "--history",
        h,
        "report",
        "--run",
        "cli-fleet-1",
        "--format",
        "md",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, whole.to_markdown());

    // Recorded once, however often asked.
    let (code, _, err) = run_cli(&["--history", h, "report", "--run", "cli-fleet-1", "--record"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("monitor: recorded fleet run cli-fleet-1 in history file"),
        "{err}"
    );
    let (code, _, err) = run_cli(&["--history", h, "report", "--run", "cli-fleet-1", "--record"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("was already recorded"), "{err}");
    let lines = std::fs::read_to_string(&history).unwrap();
    assert_eq!(
        lines.lines().filter(|l| l.contains("cli-fleet-1")).count(),
        1
    );
    let (code, out, _) = run_cli(&["--history", h, "history"]);
    assert_eq!(code, 0);
    assert!(out.contains("cli_fleet"), "{out}");
}

#[test]
fn bad_and_unknown_run_ids_exit_2_with_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("history.jsonl");
    let h = h.to_str().unwrap();
    let (code, out, err) = run_cli(&["--history", h, "report", "--run", "a b"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("monitor: --run \"a b\": expected 1 to 128 ASCII letters"),
        "{err}"
    );
    let (code, _, err) = run_cli(&["--history", h, "report", "--run", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot build the report of a fleet run: no fleet run \"nope\""),
        "{err}"
    );
    let (code, _, err) = run_cli(&["--history", h, "open-run", "p", "--run-id", "x/y"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("monitor: --run-id \"x/y\": expected"),
        "{err}"
    );
    let (code, _, _) = run_cli(&["--history", h, "report"]);
    assert_eq!(code, 2, "a report file or --run is required");
}
