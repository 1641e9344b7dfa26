//! Two versions of `monitor` sharing one history: a line written in a newer record format
//! (`"v":2`) is skipped by this build with one note per read, and kept byte for byte in place by
//! appends and retention rewrites (it is not "unreadable", so it is never moved to `.rejected`).

mod history_support;

use history_support::sample_run;
use monitor::history::{
    encode_line, HistorySettings, HistoryStore, JsonlStore, Retention, RunFilter, SqliteStore,
};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline};
use serial_test::serial;
use tracing::Level;

#[monitor_step(rows)]
fn load_orders(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

/// Run `i` of `fleet` as a newer `monitor` would write it: format version 2, with a field this
/// build does not know.
fn newer_line(i: u64) -> String {
    let line = encode_line(&sample_run("fleet", i)).unwrap();
    assert!(line.starts_with("{\"v\":1,"), "{line}");
    format!(
        "{{\"v\":2,{},\"energy_joules\":12.5}}",
        &line["{\"v\":1,".len()..line.len() - 1]
    )
}

fn notes_about_newer_lines(events: &[CapturedEvent]) -> Vec<&CapturedEvent> {
    events
        .iter()
        .filter(|e| e.message.contains("newer"))
        .collect()
}

#[test]
#[serial]
fn newer_lines_survive_appends_and_retention_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let good = |i| encode_line(&sample_run("fleet", i)).unwrap();
    let (newer_a, newer_b) = (newer_line(100), newer_line(101));
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n{newer_a}\n{}\n{}\n{newer_b}\nnot json at all\n{}\n",
            good(0),
            good(1),
            good(2),
            good(3),
            good(4)
        ),
    )
    .unwrap();

    // A run of this build: it reads the history (one note), appends its run, and retention (2
    // runs kept) rewrites the file, moving the corrupt line aside.
    HistorySettings::builder()
        .path(&path)
        .retention(Retention::last_runs(2))
        .record(true)
        .install();
    let (report, events) = capture(|| {
        let run = Pipeline::start("fleet");
        assert_eq!(load_orders(10).len(), 10);
        run.finish()
    });

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        [lines[0], lines[1], lines[2]],
        [newer_a.as_str(), newer_b.as_str(), good(4).as_str()],
        "the newer lines stay, byte for byte, in their order"
    );
    assert!(lines[3].contains(&format!("\"run_id\":\"{}\"", report.run_id)));
    let rejected = std::fs::read_to_string(dir.path().join("history.jsonl.rejected")).unwrap();
    assert_eq!(rejected, "not json at all\n");

    // One note for the read (not one per line), naming the file, the count and the version; no
    // warning about them (the only warning is the corrupt line's).
    let notes = notes_about_newer_lines(&events);
    assert_eq!(notes.len(), 1, "{events:#?}");
    assert_eq!(notes[0].level, Level::INFO);
    assert_eq!(
        notes[0].message,
        format!(
            "history file {}: 2 lines written in a newer record format (version 2) by a newer \
             monitor were skipped and left in place",
            path.display()
        )
    );
    assert_eq!(notes[0].u64("records"), Some(2));
    let warnings: Vec<&CapturedEvent> = events.iter().filter(|e| e.level == Level::WARN).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].message.contains("line 7: skipping unreadable"),
        "{}",
        warnings[0].message
    );

    // A later read skips them again with one note, and they are not "unreadable" entries.
    let mut store = JsonlStore::new(&path);
    let (loaded, events) = capture(|| store.load(&RunFilter::all()).unwrap());
    assert_eq!(loaded.runs.len(), 2);
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(notes_about_newer_lines(&events).len(), 1, "{events:#?}");
    assert!(events.iter().all(|e| e.level != Level::WARN), "{events:#?}");

    // Retention with nothing else to do never rewrites the file on their account, and one that
    // does rewrite (everything past its age) still keeps them.
    let out = store.retain(&Retention::last_runs(1), 0).unwrap();
    assert_eq!(out.rejected, 0);
    let out = store
        .retain(
            &Retention::max_age(std::time::Duration::from_secs(1)),
            u64::MAX / 2,
        )
        .unwrap();
    assert_eq!((out.kept, out.rejected), (0, 0));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{newer_a}\n{newer_b}\n")
    );
}

#[test]
fn newer_rows_in_a_database_are_skipped_with_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let mut store = SqliteStore::open(&db).unwrap();
    store.append(&sample_run("fleet", 0)).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for i in [100, 101, 102] {
        conn.execute(
            "INSERT INTO monitor_runs (run_id, pipeline, status, started_at_ms, record)
             VALUES (?1, 'fleet', 'ok', 0, ?2)",
            rusqlite::params![format!("newer-{i}"), newer_line(i)],
        )
        .unwrap();
    }
    let (loaded, events) = capture(|| store.load(&RunFilter::all()).unwrap());
    assert_eq!(loaded.runs.len(), 1);
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert!(events.iter().all(|e| e.level != Level::WARN), "{events:#?}");
    let notes = notes_about_newer_lines(&events);
    assert_eq!(notes.len(), 1, "{events:#?}");
    assert_eq!(notes[0].level, Level::INFO);
    assert_eq!(
        notes[0].message,
        format!(
            "SQLite history {}: 3 rows written in a newer record format (version 2) by a newer \
             monitor were skipped and left in place",
            db.display()
        )
    );
}
