//! A broken history never breaks the run: with the history on a full disk, in a directory the
//! process may not write, behind a path that is not a directory, or corrupt, the pipeline
//! finishes, its report renders, and exactly one warning names the file and the reason.

use monitor::history::{HistorySettings, RunFilter};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline, Report};
use serial_test::serial;
use std::path::Path;
use std::process::Command;

#[monitor_step(rows)]
fn load_orders(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

/// Runs a small pipeline with the history at `path`; returns its report and the `warn` events.
fn run_with_history(path: &Path) -> (Report, Vec<CapturedEvent>) {
    HistorySettings::builder().path(path).record(true).install();
    let (report, events) = capture(|| {
        let run = Pipeline::start("faulty_history");
        assert_eq!(load_orders(100).len(), 100);
        run.finish()
    });
    let warnings = events
        .into_iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    (report, warnings)
}

fn assert_finished(report: &Report) {
    assert_eq!(report.status, monitor::report::RunStatus::Ok);
    assert_eq!(report.step("load_orders").unwrap().site.rows, Some(100));
    assert!(report.to_text().contains("load_orders"));
}

#[test]
#[serial]
fn disk_full() {
    let (report, warnings) = run_with_history(Path::new("/dev/full"));
    assert_finished(&report);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(
        warnings[0].message,
        "run history not updated: history file /dev/full: cannot append a run: No space left on device (os error 28)"
    );
    assert_eq!(warnings[0].str("store"), Some("history file /dev/full"));
}

#[test]
#[serial]
fn path_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not_a_dir"), "x").unwrap();
    let path = dir.path().join("not_a_dir/history.jsonl");
    let (report, warnings) = run_with_history(&path);
    assert_finished(&report);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let msg = &warnings[0].message;
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.ends_with("not_a_dir is not a directory"), "{msg}");
}

#[test]
#[serial]
fn corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, "\u{0}\u{0}\u{7f}ELF garbage\n").unwrap();
    let (report, warnings) = run_with_history(&path);
    assert_finished(&report);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let msg = &warnings[0].message;
    assert!(
        msg.starts_with(&format!(
            "history file {}, line 1: skipping unreadable history line: not a history record",
            path.display()
        )),
        "{msg}"
    );
    // The run was still recorded, and the bad line moved aside.
    let runs = monitor::history::JsonlStore::new(&path);
    let mut runs = runs;
    let loaded = monitor::history::HistoryStore::load(&mut runs, &RunFilter::all()).unwrap();
    assert_eq!(loaded.runs.len(), 1);
    assert!(loaded.skipped.is_empty());
    assert!(
        std::fs::read_to_string(dir.path().join("history.jsonl.rejected"))
            .unwrap()
            .contains("ELF garbage")
    );
}

/// The child side of `unwritable_directory`: runs the pipeline (as an unprivileged user) and
/// prints what happened.
#[test]
#[ignore = "run as a child process by unwritable_directory"]
fn child_unwritable() {
    let Ok(path) = std::env::var("HISTORY_CHILD_FILE") else {
        return;
    };
    let (report, warnings) = run_with_history(Path::new(&path));
    assert_finished(&report);
    for w in warnings {
        println!("WARNING: {}", w.message);
    }
    println!("REPORT: {} {}", report.pipeline, report.status);
}

#[test]
#[serial]
fn unwritable_directory() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let set_mode = |p: &Path, mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set_mode(dir.path(), 0o755);
    set_mode(&locked, 0o555);
    let path = locked.join("history.jsonl");
    let exe = std::env::current_exe().unwrap();
    let child_args = ["--exact", "child_unwritable", "--ignored", "--nocapture"];
    // Root writes anywhere, so as root the child runs as `nobody` (as the PostgreSQL helper does).
    let is_root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&exe).args(child_args);
        c
    } else {
        let mut c = Command::new(&exe);
        c.args(child_args);
        c
    };
    let out = cmd
        .env("HISTORY_CHILD_FILE", &path)
        .output()
        .expect("start the child (runuser is needed when running as root)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("REPORT: faulty_history ok"), "{stdout}");
    let warnings: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split("WARNING: ").nth(1))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "run history not updated: history file {}: cannot append a run: Permission denied (os error 13)",
            path.display()
        )],
        "{stdout}"
    );
    assert!(!path.exists());
}
