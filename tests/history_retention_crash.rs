//! Retention rewrites the history atomically (temp file, fsync, rename, fsync of the
//! directory): a process killed at any moment, also between writing the new file and renaming
//! it, loses nothing that was written. Leftover temporary files are cleaned by the next
//! retention.

mod history_support;

use monitor::history::{HistoryStore, JsonlStore, Retention, RunFilter, SiteRecord};
use monitor::Kind;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEEP: usize = 10;

/// The child: appends runs forever, applying retention after each, and prints the number of
/// every run whose append returned.
#[test]
#[ignore = "run as a child process by killed_retention_loses_nothing"]
fn child_retention_loop() {
    let (Ok(path), Ok(start)) = (
        std::env::var("HISTORY_CHILD_FILE"),
        std::env::var("HISTORY_CHILD_START"),
    ) else {
        return;
    };
    let mut store = JsonlStore::new(path);
    let start: u64 = start.parse().unwrap();
    for i in start.. {
        let mut r = history_support::sample_run("nightly", i);
        // Big records make the rewrite (and so the window before the rename) long.
        r.sites.extend((0..1000).map(|k| SiteRecord {
            name: format!("site_{k:04}"),
            kind: Kind::Step,
            calls: 1,
            errors: 0,
            total_ms: 1.0,
            p95_ms: 1.0,
            rows: Some(k),
            rows_in: None,
            rss_peak: None,
            heap_peak: None,
        }));
        store.append(&r).unwrap();
        println!("appended {i}");
        store.retain(&Retention::last_runs(KEEP), 0).unwrap();
    }
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn killed_retention_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let exe = std::env::current_exe().unwrap();
    let mut next = 0u64;
    let mut killed_mid_rewrite = 0;
    for round in 0..8u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_retention_loop",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HISTORY_CHILD_FILE", &path)
            .env("HISTORY_CHILD_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                // The harness may print "test child_retention_loop ... " before the first line.
                .filter_map(|l| {
                    l.split("appended ")
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                })
                .last()
        });
        // Kill it the moment a new temporary file appears: after the new history was created,
        // before it was renamed into place (on odd rounds, let it run a little first).
        let stale = temp_files(dir.path());
        let started = Instant::now();
        if round % 2 == 1 {
            std::thread::sleep(Duration::from_millis(100));
        }
        while started.elapsed() < Duration::from_secs(20)
            && temp_files(dir.path()).iter().all(|t| stale.contains(t))
        {
            std::thread::yield_now();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let leftover = temp_files(dir.path());
        if leftover.iter().any(|t| !stale.contains(t)) {
            killed_mid_rewrite += 1;
        }
        let acknowledged = reader.join().unwrap();

        let loaded = JsonlStore::new(&path).load(&RunFilter::all()).unwrap();
        assert!(
            loaded.skipped.is_empty(),
            "round {round}: {:?}",
            loaded.skipped.first()
        );
        let ids: Vec<u64> = loaded
            .runs
            .iter()
            .map(|r| r.run_id.trim_start_matches("nightly-").parse().unwrap())
            .collect();
        // Nothing acknowledged is lost, the runs are the most recent ones in order, and
        // retention never drops below what it keeps.
        if let Some(ack) = acknowledged {
            assert!(
                ids.contains(&ack),
                "round {round}: acknowledged run {ack} lost: {ids:?}"
            );
            assert!(
                ids.len() >= KEEP.min(ack as usize + 1),
                "round {round}: {ids:?}"
            );
        }
        assert!(
            ids.windows(2).all(|w| w[1] == w[0] + 1),
            "round {round}: {ids:?}"
        );
        next = ids.last().map_or(0, |l| l + 1);
    }
    println!("killed mid-rewrite in {killed_mid_rewrite} of 8 rounds, {next} runs appended");
    // Retention had to rewrite: more runs were appended than it keeps.
    assert!(
        next > KEEP as u64 + 1,
        "the children made too little progress: {next} runs"
    );
    // At least one kill landed between creating the new file and renaming it (the leftover
    // temporary file proves it), and the next retention removed it.
    assert!(
        killed_mid_rewrite > 0,
        "no kill hit the rewrite window; make the records bigger"
    );
    let mut store = JsonlStore::new(&path);
    store
        .append(&history_support::sample_run("nightly", next))
        .unwrap();
    store.retain(&Retention::last_runs(1), 0).unwrap();
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}
