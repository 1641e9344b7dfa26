//! Eight processes appending to one history file at once: every record arrives whole, on its
//! own line, none lost, none interleaved, even though each line is larger than the pipe buffer
//! size that would make a bare `write` atomic.

mod history_support;

use monitor::history::{HistoryStore, JsonlStore, RunFilter, SiteRecord};
use monitor::Kind;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

const PROCESSES: usize = 8;
const RECORDS_EACH: u64 = 60;

/// The child side: started by `eight_processes_never_interleave` with the file in the
/// environment; does nothing when run directly.
#[test]
#[ignore = "run as a child process by eight_processes_never_interleave"]
fn child_appender() {
    let (Ok(path), Ok(id)) = (
        std::env::var("HISTORY_CHILD_FILE"),
        std::env::var("HISTORY_CHILD_ID"),
    ) else {
        return;
    };
    let mut store = JsonlStore::new(path);
    for i in 0..RECORDS_EACH {
        let mut r = history_support::sample_run(&format!("p{id}"), i);
        // About 9 KiB per line: well past PIPE_BUF (4 KiB).
        r.sites.extend((0..60).map(|k| SiteRecord {
            name: format!("padding_site_{k:03}_{}", "x".repeat(80)),
            kind: Kind::Query,
            calls: k,
            errors: 0,
            total_ms: 1.0,
            p95_ms: 1.0,
            rows: None,
            rows_in: None,
            rss_peak: None,
            heap_peak: None,
        }));
        store.append(&r).unwrap();
    }
}

#[test]
fn eight_processes_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "child_appender", "--ignored", "--test-threads=1"])
                .env("HISTORY_CHILD_FILE", &path)
                .env("HISTORY_CHILD_ID", id.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child process")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), PROCESSES * RECORDS_EACH as usize);
    assert!(
        text.lines().all(|l| l.len() > 8192),
        "lines are larger than PIPE_BUF"
    );
    let loaded = JsonlStore::new(&path).load(&RunFilter::all()).unwrap();
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped.first());
    let ids: BTreeSet<&str> = loaded.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids.len(),
        PROCESSES * RECORDS_EACH as usize,
        "every record exactly once"
    );
    // Each process's records keep their order.
    for id in 0..PROCESSES {
        let mine: Vec<&str> = loaded
            .runs
            .iter()
            .filter(|r| r.pipeline == format!("p{id}"))
            .map(|r| r.run_id.as_str())
            .collect();
        let mut sorted = mine.clone();
        sorted.sort_unstable();
        assert_eq!(mine, sorted);
    }
}
