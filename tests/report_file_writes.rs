//! A report file is written whole or not at all: when the disk fills up mid-write (here a
//! file-size limit, `setrlimit(RLIMIT_FSIZE)` with `SIGXFSZ` ignored, in a child process), the
//! destination is the previous complete file, or absent if there was none, no temporary file is
//! left behind, and the error names the path. `std::fs::write`, which the example pipeline used,
//! leaves a truncated file under the same limit.

use monitor::report::Format;
use monitor::{monitor_step, Pipeline};
use monitor_test_support::{child_test, names_in, output_of};
use std::path::Path;

/// The file-size limit in the child: well below the report's size.
const LIMIT: u64 = 16 * 1024;

#[monitor_step(rows)]
fn load_batch(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

/// The child: a report of a few hundred calls (its JSON well over `LIMIT`), then, under the
/// limit, `REPORT_WRITE_MODE` `write_to` (the library) or `fs_write` (what the example did).
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_write_under_a_size_limit() {
    let Ok(dest) = std::env::var("REPORT_WRITE_DEST") else {
        return;
    };
    let run = Pipeline::start("report_file_writes");
    for i in 0..400 {
        load_batch(i);
    }
    let report = run.finish();
    let json = report.to_json();
    assert!(json.len() as u64 > 4 * LIMIT, "{} bytes", json.len());

    // SAFETY: plain libc calls on this thread; ignoring SIGXFSZ makes a write past the limit
    // fail with EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: LIMIT,
            rlim_max: LIMIT,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let result = match std::env::var("REPORT_WRITE_MODE").as_deref() {
        Ok("fs_write") => std::fs::write(&dest, &json).map_err(|e| e.to_string()),
        _ => report
            .write_to(&dest, Format::Json)
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => println!("WROTE"),
        Err(e) => println!("ERROR {e}"),
    }
}

/// Runs the child writing to `dest`; returns its stdout.
fn child(dest: &Path, mode: &str) -> String {
    output_of(
        child_test("child_write_under_a_size_limit")
            .env("REPORT_WRITE_DEST", dest)
            .env("REPORT_WRITE_MODE", mode),
    )
    .0
}

#[test]
fn a_failed_write_keeps_the_previous_report_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("report.json");
    let previous = "{\"schema\":\"monitor.report/v1\",\"previous\":true}\n";
    std::fs::write(&dest, previous).unwrap();

    let stdout = child(&dest, "write_to");
    assert!(
        stdout.contains(&format!(
            "ERROR cannot write {}: File too large (os error 27)\n",
            dest.display()
        )),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), previous);
    assert_eq!(
        names_in(dir.path()),
        ["report.json"],
        "no temporary file left"
    );
}

#[test]
fn a_failed_first_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("report.json");
    let stdout = child(&dest, "write_to");
    assert!(stdout.contains("ERROR cannot write "), "{stdout}");
    assert!(!dest.exists());
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn fs_write_under_the_same_limit_leaves_a_truncated_file() {
    // The control: the limit does cut a write short; a plain write keeps the cut-off part.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("report.json");
    std::fs::write(&dest, "previous").unwrap();
    let stdout = child(&dest, "fs_write");
    assert!(
        stdout.contains("ERROR File too large (os error 27)"),
        "{stdout}"
    );
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), LIMIT);
}
