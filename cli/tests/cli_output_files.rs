//! Files the CLI writes (`report -o`, `trend --html`, `dashboard -o`, `alerts -o`) are whole or
//! absent: when the disk fills up mid-write (here a file-size limit: `ulimit -f` with `SIGXFSZ`
//! ignored), the previous file stays as it was, no temporary file is left, and the one message
//! names the path; exit code 2.

mod cli_support;
#[path = "../../tests/history_support/mod.rs"]
mod history_support;

use history_support::{record_real_runs, record_steady_runs};
use monitor_test_support::names_in;
use serial_test::serial;
use std::process::Command;

/// `ulimit -f` in `sh`'s blocks of 512 bytes (dash; bash counts 1024): 512 bytes or 1 KiB, below the
/// size of every file written here.
const ULIMIT_BLOCKS: u32 = 1;

/// Runs the CLI under the file-size limit; returns (exit code, stderr).
fn run_limited(args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {ULIMIT_BLOCKS}; exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_monitor"))
        .args(args)
        .env_remove("MONITOR_HISTORY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[serial]
fn a_write_cut_short_keeps_the_previous_file_and_names_the_path() {
    let inputs = tempfile::tempdir().unwrap();
    let history = inputs.path().join("history.jsonl");
    record_steady_runs(&history, 8);
    let report = record_real_runs(&history, 1, |_| 1);
    let report_json = inputs.path().join("report.json");
    std::fs::write(&report_json, report.to_json()).unwrap();
    let (h, r) = (history.to_str().unwrap(), report_json.to_str().unwrap());

    let cases: [(&str, Vec<&str>); 4] = [
        ("report.html", vec!["report", r, "--format", "html", "-o"]),
        (
            "trend.html",
            vec!["--history", h, "trend", "cli_extract", "--html"],
        ),
        ("dashboard.json", vec!["dashboard", "-o"]),
        ("rules.yml", vec!["alerts", "-o"]),
    ];
    for (name, args) in cases {
        // Unlimited, the file is well over the limit (so the limit does cut the write short).
        let free = tempfile::tempdir().unwrap();
        let path = free.path().join(name);
        let mut all = args.clone();
        all.push(path.to_str().unwrap());
        let (code, _, err) = cli_support::run_cli(&all);
        assert_eq!(code, 0, "{all:?}: {err}");
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size > 1024, "{name}: {size} bytes");

        // Limited, over a previous file: kept whole.
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join(name);
        std::fs::write(&path, "previous complete file\n").unwrap();
        let mut all = args.clone();
        all.push(path.to_str().unwrap());
        let (code, err) = run_limited(&all);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert_eq!(
            err,
            format!(
                "monitor: cannot write {}: File too large (os error 27)\n",
                path.display()
            ),
            "{all:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "previous complete file\n",
            "{name}"
        );
        assert_eq!(names_in(out.path()), [name], "no temporary file left");

        // Limited, no previous file: none is left.
        std::fs::remove_file(&path).unwrap();
        let (code, _) = run_limited(&all);
        assert_eq!(code, 2);
        assert!(
            names_in(out.path()).is_empty(),
            "{:?}",
            names_in(out.path())
        );
    }
}
