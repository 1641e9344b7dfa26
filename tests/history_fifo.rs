//! A history path that names a FIFO (or anything else that is not a regular file) is refused
//! without blocking: the run finishes and exactly one warning names the path. Before, opening the
//! FIFO to read the history waited forever for a writer.

use monitor::history::{HistoryLocation, HistorySettings, HistoryStore, JsonlStore, RunFilter};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline, Report};
use serial_test::serial;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Far more than a refusal takes; the old code never returned.
const LIMIT: Duration = Duration::from_secs(20);

#[monitor_step(rows)]
fn load_orders(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// Runs `f` on its own thread; fails the test if it has not returned within [`LIMIT`].
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("still blocked after {LIMIT:?}: the FIFO was opened"))
}

fn run_with(location: HistoryLocation) -> (Report, Vec<CapturedEvent>) {
    HistorySettings::builder()
        .location(location)
        .record(true)
        .install();
    let (report, events) = within(|| {
        capture(|| {
            let run = Pipeline::start("fifo_history");
            assert_eq!(load_orders(100).len(), 100);
            run.finish()
        })
    });
    assert_eq!(report.status, monitor::report::RunStatus::Ok);
    assert_eq!(report.step("load_orders").unwrap().site.rows, Some(100));
    let warnings = events
        .into_iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    (report, warnings)
}

fn fifo_in_temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("history.jsonl");
    mkfifo(&fifo);
    (dir, fifo)
}

fn assert_still_a_fifo(path: &Path) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(meta.file_type().is_fifo(), "{path:?} was replaced");
}

#[test]
#[serial]
fn a_fifo_as_the_history_file_is_refused_without_blocking() {
    let (_dir, fifo) = fifo_in_temp_dir();
    let (_report, warnings) = run_with(HistoryLocation::File(fifo.clone()));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let file = fifo.display().to_string();
    assert_eq!(
        warnings[0].message,
        format!(
            "run history not updated: history file {file}: cannot append a run: \
             it is a named pipe (FIFO), not a regular file"
        )
    );
    assert_eq!(
        warnings[0].str("store"),
        Some(format!("history file {file}").as_str())
    );
    assert_still_a_fifo(&fifo);

    // Each operation on its own refuses it the same way, without blocking.
    let path = fifo.clone();
    let (load, retain) = within(move || {
        let mut store = JsonlStore::new(path);
        (
            store.load(&RunFilter::all()).map(|_| ()),
            store
                .retain(&monitor::history::Retention::last_runs(1), 0)
                .map(|_| ()),
        )
    });
    for result in [load, retain] {
        let msg = result.unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("history file {file}: cannot ")),
            "{msg}"
        );
        assert!(
            msg.ends_with("it is a named pipe (FIFO), not a regular file"),
            "{msg}"
        );
    }
    assert_still_a_fifo(&fifo);
}

#[test]
#[serial]
fn a_fifo_as_the_sqlite_history_is_refused_without_blocking() {
    let (_dir, fifo) = fifo_in_temp_dir();
    let (_report, warnings) = run_with(HistoryLocation::Sqlite(fifo.clone()));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let db = fifo.display().to_string();
    assert_eq!(
        warnings[0].message,
        format!(
            "run history not updated: SQLite history {db}: cannot open the store: \
             it is a named pipe (FIFO), not a regular file"
        )
    );
    assert_still_a_fifo(&fifo);
}

#[test]
#[serial]
fn a_directory_as_the_history_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_report, warnings) = run_with(HistoryLocation::File(dir.path().to_path_buf()));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0]
            .message
            .contains(&format!("history file {}: cannot ", dir.path().display())),
        "{}",
        warnings[0].message
    );
}
