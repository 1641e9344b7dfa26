//! One run across many workers (issue 18): eight worker processes of one fleet run, each handling
//! a shard, write their parts to a real shared history (a PostgreSQL server; a JSON Lines file and
//! a SQLite database shared by the processes of this machine); one worker is much slower and one is killed
//! before it finishes. The whole run's report, merged from what the store holds, has the exact
//! calls and rows of the workers that reported, quantiles within the histogram's stated error of
//! those of every raw duration the workers measured, the slow worker named as the slowest and the
//! killed one listed as missing. A last test runs fleet runs in one process to check the two
//! verdicts: the whole run against earlier whole runs, each worker against its own id's history.

use monitor::history::{
    fleet_report_in, record_whole_run, BaselineSettings, HistorySettings, HistoryStore, JsonlStore,
    PostgresStore, RunFilter, SqliteStore,
};
use monitor::{monitor_query, monitor_step, Pipeline, Report, RunStatus};
use monitor_test_support::{child_test, postgres::PostgresServer};
use serial_test::serial;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

const PIPELINE: &str = "fleet_etl";
const WORKERS: u64 = 8;
/// The worker killed before it finishes.
const KILLED: u64 = 5;
/// The worker that takes far longer than the others.
const SLOW: u64 = 6;
/// The histogram's stated error (±3.2 %), plus 1 % for the time between the worker's own clock
/// reads inside the call and the guard's around it.
const QUANTILE_TOLERANCE: f64 = 0.032 + 0.01;

#[monitor_step(rows)]
fn load_shard(rows: usize, pause: Duration) -> Vec<u32> {
    std::thread::sleep(pause);
    vec![7; rows]
}

/// Waits `wait` and returns how long it really took, measured inside the call.
#[monitor_query("fleet_lookup")]
fn lookup(wait: Duration) -> Duration {
    let t = Instant::now();
    std::thread::sleep(wait);
    t.elapsed()
}

fn rows_of(shard: u64) -> u64 {
    1_000 * (shard + 1)
}

fn lookups_of(shard: u64) -> u64 {
    60 + 10 * shard
}

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is set by the parent"))
        .parse()
        .unwrap()
}

/// One worker process: joins the fleet run through `MONITOR_RUN_ID`, handles its shard, and
/// writes every duration it measured to `durations-<shard>` in `FLEET_OUT`.
#[test]
#[ignore = "a worker process started by the fleet tests"]
fn fleet_worker() {
    let shard = env_u64("FLEET_SHARD");
    let out = PathBuf::from(std::env::var("FLEET_OUT").unwrap());
    let run = Pipeline::start(PIPELINE);
    assert_eq!(run.run_id(), std::env::var("MONITOR_RUN_ID").unwrap());
    assert_eq!(run.worker_id(), Some(shard.to_string().as_str()));
    std::fs::write(out.join(format!("started-{shard}")), b"").unwrap();
    if std::env::var_os("FLEET_HANG").is_some() {
        // Killed by the parent while here: its part is never written.
        std::thread::sleep(Duration::from_secs(120));
    }
    let pause = if std::env::var_os("FLEET_SLOW").is_some() {
        Duration::from_millis(1_500)
    } else {
        Duration::from_millis(20)
    };
    let rows = load_shard(usize::try_from(rows_of(shard)).unwrap(), pause);
    assert_eq!(rows.len() as u64, rows_of(shard));
    let mut raw = Vec::new();
    for i in 0..lookups_of(shard) {
        let wait = Duration::from_micros(300 + (i * 7_919 + shard * 104_729) % 2_700);
        raw.push(lookup(wait).as_nanos().to_string());
    }
    let report = run.finish();
    assert_eq!(report.worker.as_ref().unwrap().id, shard.to_string());
    assert_eq!(report.status, RunStatus::Ok);
    std::fs::write(out.join(format!("durations-{shard}")), raw.join("\n")).unwrap();
}

fn spawn_worker(history: &str, run_id: &str, out: &Path, shard: u64, expected: u64) -> Child {
    let mut cmd = child_test("fleet_worker");
    cmd.env("MONITOR_HISTORY", history)
        .env("MONITOR_HISTORY_RECORD", "1")
        .env("MONITOR_RUN_ID", run_id)
        .env("MONITOR_WORKER_ID", shard.to_string())
        .env("MONITOR_EXPECTED_WORKERS", expected.to_string())
        .env("FLEET_SHARD", shard.to_string())
        .env("FLEET_OUT", out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if shard == SLOW {
        cmd.env("FLEET_SLOW", "1");
    }
    if shard == KILLED {
        cmd.env("FLEET_HANG", "1");
    }
    cmd.spawn().expect("start a worker process")
}

/// Runs the eight workers of `run_id` at once against `history`; kills worker [`KILLED`] once it
/// has started its run, and waits for the others, which must all succeed.
fn run_fleet(history: &str, run_id: &str, out: &Path) {
    let mut children: Vec<(u64, Child)> = (0..WORKERS)
        .map(|shard| (shard, spawn_worker(history, run_id, out, shard, WORKERS)))
        .collect();
    let started = out.join(format!("started-{KILLED}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !started.exists() {
        assert!(
            Instant::now() < deadline,
            "worker {KILLED} never started its run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for (shard, child) in &mut children {
        if *shard == KILLED {
            child.kill().expect("kill the worker");
        }
    }
    for (shard, child) in children {
        let output = child.wait_with_output().expect("wait for a worker");
        if shard == KILLED {
            assert!(
                !output.status.success(),
                "the killed worker exited normally"
            );
            continue;
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("test result: ok. 1 passed"),
            "worker {shard} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every duration the workers that reported measured, sorted, in nanoseconds.
fn raw_durations(out: &Path) -> Vec<u64> {
    let mut all: Vec<u64> = (0..WORKERS)
        .filter(|&s| s != KILLED)
        .flat_map(|s| {
            std::fs::read_to_string(out.join(format!("durations-{s}")))
                .unwrap()
                .lines()
                .map(|l| l.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort_unstable();
    all
}

/// What the merged report of a fleet run with worker [`KILLED`] missing must say.
fn check_whole_run(store: &mut dyn HistoryStore, run_id: &str, out: &Path) -> Report {
    let reported: Vec<u64> = (0..WORKERS).filter(|&s| s != KILLED).collect();
    let ids: Vec<String> = reported.iter().map(u64::to_string).collect();
    // What the store holds: one part per worker that finished, none of the killed one.
    assert_eq!(store.fleet_workers(run_id).unwrap(), ids);

    let report = fleet_report_in(store, run_id, &BaselineSettings::default()).unwrap();
    assert_eq!(report.run_id, run_id);
    assert_eq!(report.pipeline, PIPELINE);
    let fleet = report.fleet.as_ref().expect("a fleet breakdown");
    assert_eq!(fleet.expected_workers, Some(8));
    assert_eq!(fleet.missing, ["5"]);
    assert_eq!(fleet.missing_count, 1);
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(
        report.failure.as_deref(),
        Some("1 of 8 workers did not report (5)")
    );
    let slowest = fleet.slowest.as_ref().expect("a slowest worker");
    assert_eq!(slowest.worker_id, SLOW.to_string());
    assert!(slowest.duration_ms > 1_500.0, "{slowest:?}");
    assert!(slowest.slower_pct > 100.0, "{slowest:?}");
    assert_eq!(
        fleet.workers[0].worker_id,
        SLOW.to_string(),
        "slowest first"
    );

    // Exact calls and rows, per worker and in the whole.
    let mut listed: Vec<&str> = fleet.workers.iter().map(|w| w.worker_id.as_str()).collect();
    listed.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(listed, want);
    for w in &fleet.workers {
        let shard: u64 = w.worker_id.parse().unwrap();
        assert_eq!(w.rows, Some(rows_of(shard)), "worker {shard}");
        assert_eq!(w.calls, 1 + lookups_of(shard), "worker {shard}");
        assert_eq!(w.errors, 0);
        assert_eq!(w.status, RunStatus::Ok);
        assert!(w.rss_peak.is_some_and(|p| p > 0), "worker {shard}");
    }
    let load = report.step("load_shard").unwrap();
    assert_eq!(load.site.calls, reported.len() as u64);
    assert_eq!(
        load.site.rows,
        Some(reported.iter().map(|&s| rows_of(s)).sum())
    );
    let lookups = report.query("fleet_lookup").unwrap();
    let raw = raw_durations(out);
    let calls: u64 = reported.iter().map(|&s| lookups_of(s)).sum();
    assert_eq!(lookups.site.calls, calls);
    assert_eq!(raw.len() as u64, calls);
    let histogram = lookups.duration_histogram.as_ref().expect("merged buckets");
    assert_eq!(histogram.calls(), calls);

    // Quantiles of the whole run from the merged histogram, against the raw durations.
    let d = &lookups.site.duration_ms;
    for (q, got_ms) in [(0.50, d.p50), (0.95, d.p95), (0.99, d.p99)] {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = ((q * raw.len() as f64).ceil() as usize).max(1);
        let exact = raw[rank - 1] as f64;
        let got = got_ms * 1e6;
        assert!(
            (got - exact).abs() / exact <= QUANTILE_TOLERANCE,
            "p{}: merged {got} ns, raw {exact} ns",
            q * 100.0
        );
    }
    let raw_total: u64 = raw.iter().sum();
    let (raw_min, raw_max) = (raw[0] as f64, raw[raw.len() - 1] as f64);
    assert!(
        (d.total * 1e6 - raw_total as f64).abs() / (raw_total as f64) < 0.01,
        "total {} ms, raw {raw_total} ns",
        d.total
    );
    assert!(
        (d.min * 1e6 - raw_min).abs() / raw_min < 0.01,
        "min {}",
        d.min
    );
    assert!(
        (d.max * 1e6 - raw_max).abs() / raw_max < 0.01,
        "max {}",
        d.max
    );

    // The same schema and renderings, with the workers.
    let back = Report::from_json(&report.to_json()).unwrap();
    assert_eq!(back, report);
    let text = report.to_text_width(120);
    assert!(text.contains("7 of 8 workers reported"), "{text}");
    assert!(text.contains("missing: 5"), "{text}");
    assert!(text.contains(&format!("slowest: {SLOW}, ")), "{text}");
    assert!(text.contains("Workers, slowest first"), "{text}");
    assert!(report.to_markdown().contains("#### Workers, slowest first"));
    assert!(report.to_html().contains("<table id=\"workers\">"));

    // A run with a missing worker is not recorded by its workers; recorded once on request.
    let recorded = |store: &mut dyn HistoryStore| {
        store
            .load(&RunFilter {
                pipeline: Some(PIPELINE.into()),
                ..RunFilter::all()
            })
            .unwrap()
            .runs
            .into_iter()
            .filter(|r| r.run_id == run_id)
            .collect::<Vec<_>>()
    };
    assert!(recorded(store).is_empty());
    let settings = HistorySettings::default();
    assert!(record_whole_run(store, &report, &settings).unwrap());
    assert!(!record_whole_run(store, &report, &settings).unwrap());
    let runs = recorded(store);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].site_named("fleet_lookup").unwrap().calls, calls);
    report
}

#[test]
fn eight_workers_share_one_run_in_postgresql() {
    let server = PostgresServer::start();
    let out = tempfile::tempdir().unwrap();
    let run_id = "fleet-pg-1";
    run_fleet(&server.url(), run_id, out.path());
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    check_whole_run(&mut store, run_id, out.path());
}

#[test]
fn eight_workers_share_one_run_in_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let out = tempfile::tempdir().unwrap();
    let run_id = "fleet-sqlite-1";
    run_fleet(&format!("sqlite:{}", db.display()), run_id, out.path());
    let mut store = SqliteStore::open(&db).unwrap();
    check_whole_run(&mut store, run_id, out.path());
}

#[test]
fn eight_workers_share_one_run_in_a_json_lines_file() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let out = tempfile::tempdir().unwrap();
    let run_id = "fleet-file-1";
    run_fleet(history.to_str().unwrap(), run_id, out.path());
    // The parts sit beside the history, which holds no run yet.
    assert!(dir.path().join("history.fleet.jsonl").exists());
    assert!(!history.exists());
    let mut store = JsonlStore::new(&history);
    check_whole_run(&mut store, run_id, out.path());

    // A second run where every worker reports: the last one records the whole run, exactly once
    // although eight processes finish at about the same time.
    let run_id = "fleet-file-2";
    let out = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..WORKERS)
        .filter(|&s| s != KILLED)
        .map(|shard| spawn_worker(history.to_str().unwrap(), run_id, out.path(), shard, 7))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = std::fs::read_to_string(&history).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(run_id)).collect();
    assert_eq!(lines.len(), 1, "{text}");
    let whole = monitor::history::parse_line(lines[0].as_bytes()).unwrap();
    assert_eq!(whole.status, RunStatus::Ok);
    assert_eq!(
        whole.site_named("load_shard").unwrap().rows,
        Some((0..WORKERS).filter(|&s| s != KILLED).map(rows_of).sum())
    );
}

#[monitor_step]
fn shard_step(pause: Duration) {
    std::thread::sleep(pause);
}

/// Fleet runs of two workers, one after the other in this process: after five steady runs, worker
/// `b` slows down. Its own report (and the whole run's workers table) flags it against `b`'s
/// earlier runs, `a` stays within noise, and the whole run is flagged against the earlier whole
/// runs, which its last worker recorded.
#[test]
#[serial]
fn verdicts_compare_whole_runs_and_each_worker_with_its_own_history() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.jsonl");
    HistorySettings::builder()
        .record(true)
        .path(&history)
        .install();
    let mut last = None;
    for i in 0..6 {
        let run_id = format!("verdicts-{i}");
        let mut parts = Vec::new();
        for (worker, ms) in [("a", 8), ("b", if i == 5 { 120 } else { 8 })] {
            let run = Pipeline::builder("fleet_verdicts")
                .join(&run_id)
                .unwrap()
                .worker_id(worker)
                .unwrap()
                .expected_workers(2)
                .start();
            for _ in 0..3 {
                shard_step(Duration::from_millis(ms));
            }
            parts.push(run.finish());
        }
        last = Some(parts);
    }
    monitor::history::settings::uninstall();
    let parts = last.unwrap();
    let (a, b) = (&parts[0], &parts[1]);
    assert!(a.regressions.is_empty(), "{:?}", a.regressions);
    assert!(
        b.regressions
            .iter()
            .any(|r| r.name == "shard_step" && r.comparison.metric == "duration_total_ms"),
        "{:?}",
        b.regressions
    );
    // Every run completed itself: six whole runs recorded.
    let mut store = JsonlStore::new(&history);
    let runs = store.load(&RunFilter::all()).unwrap().runs;
    assert_eq!(runs.len(), 6);
    assert!(runs.iter().all(|r| r.status == RunStatus::Ok));
    let whole = fleet_report_in(&mut store, "verdicts-5", &BaselineSettings::default()).unwrap();
    assert!(
        whole
            .regressions
            .iter()
            .any(|r| r.name == "shard_step" && r.comparison.metric == "duration_total_ms"),
        "{:?}",
        whole.regressions
    );
    let workers = &whole.fleet.as_ref().unwrap().workers;
    assert_eq!(workers[0].worker_id, "b");
    assert!(!workers[0].regressions.is_empty());
    assert!(workers[1].regressions.is_empty());
}

#[test]
fn a_malformed_run_id_is_refused_naming_the_value() {
    let err = Pipeline::join("p", "nightly run #3").unwrap_err();
    assert_eq!(
        err.to_string(),
        "fleet run id \"nightly run #3\" is not valid: expected 1 to 128 ASCII letters, digits, \
         '-', '_', '.' or ':' (such as a UUID or a shard index)"
    );
    let err = Pipeline::builder("p")
        .join("r1")
        .unwrap()
        .worker_id("")
        .unwrap_err();
    assert!(
        err.to_string().starts_with("worker id \"\" is not valid"),
        "{err}"
    );
    let (_, errors) = monitor::Config::from_lookup(&|k| match k {
        "MONITOR_RUN_ID" => Some("a/b".to_owned()),
        "MONITOR_WORKER_ID" => Some("x".repeat(129)),
        _ => None,
    });
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with("MONITOR_RUN_ID=\"a/b\" is not valid: expected 1 to 128")
            && text[0]
                .ends_with("keeping none: this process's run is its own, not part of a fleet run"),
        "{text:?}"
    );
    assert!(text[1].starts_with("MONITOR_WORKER_ID=\"xxx"), "{text:?}");
}

/// A worker whose shared store is down (nothing listens on the port) finishes its run as usual:
/// its report is whole, and one warning names the store and the reason.
#[test]
#[serial]
fn a_worker_whose_store_is_down_finishes_with_one_warning() {
    let port = monitor_test_support::free_port();
    HistorySettings::builder()
        .record(true)
        .location(
            monitor::history::HistoryLocation::parse(&format!(
                "postgresql://monitor@127.0.0.1:{port}/db"
            ))
            .unwrap(),
        )
        .install();
    let started = Instant::now();
    let (report, events) = monitor::testing::capture(|| {
        let run = Pipeline::builder(PIPELINE)
            .join("fleet-down-1")
            .unwrap()
            .worker_id("0")
            .unwrap()
            .start();
        load_shard(10, Duration::ZERO);
        run.finish()
    });
    monitor::history::settings::uninstall();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.status, RunStatus::Ok);
    assert_eq!(report.worker.as_ref().unwrap().id, "0");
    assert_eq!(report.step("load_shard").unwrap().site.rows, Some(10));
    let warnings: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].message.starts_with(&format!(
            "run history not updated: PostgreSQL history postgresql://monitor@127.0.0.1:{port}/db: cannot connect: "
        )),
        "{}",
        warnings[0].message
    );
}
