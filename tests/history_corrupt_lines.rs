//! A truncated or corrupt line costs exactly that line: it is skipped with a warning naming the
//! file and the line number, every other run is still read, a later append starts on a fresh
//! line, and retention moves the bad line aside instead of deleting it.

mod history_support;

use history_support::sample_run;
use monitor::history::{encode_line, HistoryStore, JsonlStore, Retention, RunFilter};
use monitor::testing::capture;
use std::io::Write;

#[test]
#[serial_test::serial]
fn corrupt_and_truncated_lines_are_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let good = |i| encode_line(&sample_run("nightly", i)).unwrap();
    let truncated = &good(2)[..40];
    std::fs::write(
        &path,
        format!(
            "{}\n{}\nnot json at all\n{}\n\u{0}\u{1}garbage\n{}\n{}",
            good(0),
            good(1),
            good(3),
            good(4),
            truncated
        ),
    )
    .unwrap();
    let mut store = JsonlStore::new(&path);

    let (loaded, events) = capture(|| store.load(&RunFilter::all()).unwrap());
    let ids: Vec<&str> = loaded.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "nightly-00000",
            "nightly-00001",
            "nightly-00003",
            "nightly-00004"
        ]
    );
    let lines: Vec<u64> = loaded.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [3, 5, 7]);

    let warnings: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 3, "{events:#?}");
    let file = path.display().to_string();
    assert!(
        warnings[0].message.starts_with(&format!(
            "history file {file}, line 3: skipping unreadable history line: not a history record"
        )),
        "{}",
        warnings[0].message
    );
    assert_eq!(warnings[2].u64("line"), Some(7));

    // The next append does not glue itself onto the truncated tail.
    store.append(&sample_run("nightly", 5)).unwrap();
    let after = store.load(&RunFilter::all()).unwrap();
    assert_eq!(after.runs.len(), 5);
    assert_eq!(after.runs[4].run_id, "nightly-00005");
    assert_eq!(after.skipped.len(), 3, "still only the three bad lines");

    // Retention moves the bad lines to <file>.rejected and keeps every good run.
    let out = store.retain(&Retention::unlimited(), 0).unwrap();
    assert_eq!((out.kept, out.removed, out.rejected), (5, 0, 3));
    let clean = store.load(&RunFilter::all()).unwrap();
    assert!(clean.skipped.is_empty());
    assert_eq!(clean.runs.len(), 5);
    let rejected = std::fs::read_to_string(dir.path().join("history.jsonl.rejected")).unwrap();
    assert_eq!(rejected.lines().count(), 3);
    assert!(rejected.contains("not json at all"));
    assert!(rejected.contains(truncated));
}

#[test]
#[serial_test::serial]
fn a_newer_format_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let line = encode_line(&sample_run("n", 0))
        .unwrap()
        .replace("\"v\":1", "\"v\":2");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    // Not an unreadable line (a newer monitor wrote it): skipped with one note naming the
    // version, never listed among the unreadable ones (tests/history_newer_versions.rs).
    let (loaded, events) = capture(|| JsonlStore::new(&path).load(&RunFilter::all()).unwrap());
    assert!(loaded.runs.is_empty());
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].level, tracing::Level::INFO);
    assert!(
        events[0]
            .message
            .ends_with("1 line written in a newer record format (version 2) by a newer monitor was skipped and left in place"),
        "{}",
        events[0].message
    );
}
