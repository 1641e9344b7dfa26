//! Shared by the history tests: sample records, and a conformance check every store must pass.
#![allow(dead_code)] // each test file uses part of it

use monitor::history::{
    HistoryStore, Metric, Retention, RunFilter, RunRecord, RunStatus, SiteRecord, RECORD_VERSION,
};
use monitor::Kind;

/// Run number `i` of `pipeline`: two steps and a query, figures growing slightly with `i`.
pub fn sample_run(pipeline: &str, i: u64) -> RunRecord {
    let site = |name: &str, kind: Kind, ms: f64| SiteRecord {
        name: name.to_owned(),
        kind,
        calls: 3,
        errors: 0,
        total_ms: ms,
        p95_ms: ms / 2.0,
        rows: Some(1000 + i),
        rows_in: None,
        rss_peak: Some(100 << 20),
        heap_peak: None,
    };
    RunRecord {
        v: RECORD_VERSION,
        run_id: format!("{pipeline}-{i:05}"),
        pipeline: pipeline.to_owned(),
        status: RunStatus::Ok,
        started_at_ms: 1_700_000_000_000 + i * 60_000,
        duration_ms: 500.0 + i as f64,
        host: "test-host".to_owned(),
        version: Some(format!("v{i}")),
        sites: vec![
            site("load", Kind::Step, 100.0 + i as f64),
            site("transform", Kind::Step, 300.0),
            site("customer_aggregation", Kind::Query, 50.0),
        ],
    }
}

/// What every store must do the same way: keep runs in order, filter them, keep whole
/// records, and apply retention per pipeline.
pub fn check_store(store: &mut dyn HistoryStore) {
    assert!(
        store.load(&RunFilter::all()).unwrap().runs.is_empty(),
        "a new store is empty"
    );
    for i in 0..30 {
        store.append(&sample_run("nightly", i)).unwrap();
        if i % 3 == 0 {
            store.append(&sample_run("hourly", i)).unwrap();
        }
    }
    let mut failed = sample_run("nightly", 30);
    failed.status = RunStatus::Failed;
    store.append(&failed).unwrap();

    let all = store.load(&RunFilter::all()).unwrap();
    assert!(all.skipped.is_empty());
    assert_eq!(all.runs.len(), 41);
    assert_eq!(
        all.runs[0],
        sample_run("nightly", 0),
        "records come back whole"
    );
    assert_eq!(all.runs[40], failed);

    let last5 = store
        .load(&RunFilter {
            pipeline: Some("nightly".into()),
            successful_only: true,
            last: Some(5),
        })
        .unwrap()
        .runs;
    let ids: Vec<&str> = last5.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "nightly-00025",
            "nightly-00026",
            "nightly-00027",
            "nightly-00028",
            "nightly-00029"
        ],
        "the most recent successful runs, oldest first"
    );
    assert_eq!(
        last5[4]
            .site(Kind::Step, "load")
            .unwrap()
            .value(Metric::DurationTotal),
        Some(129.0)
    );

    let out = store.retain(&Retention::last_runs(4), 0).unwrap();
    assert_eq!(out.kept, 8, "4 nightly + 4 hourly: {out:?}");
    assert_eq!(out.removed, 33);
    let left = store.load(&RunFilter::all()).unwrap().runs;
    let ids: Vec<&str> = left.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hourly-00018",
            "hourly-00021",
            "hourly-00024",
            "nightly-00027",
            "hourly-00027",
            "nightly-00028",
            "nightly-00029",
            "nightly-00030"
        ]
    );

    // Age: runs that started more than 5 minutes before "now" go.
    let now = sample_run("x", 29).started_at_ms + 4 * 60_000;
    let out = store
        .retain(
            &Retention::max_age(std::time::Duration::from_secs(300)),
            now,
        )
        .unwrap();
    let left = store.load(&RunFilter::all()).unwrap().runs;
    let ids: Vec<&str> = left.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        ["nightly-00028", "nightly-00029", "nightly-00030"],
        "{out:?}"
    );
}

#[monitor::monitor_step]
fn cli_extract(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

#[monitor::monitor_step(rows)]
fn cli_transform(n: usize) -> Vec<u8> {
    vec![0; n]
}

/// A real history: `runs` runs of pipeline `cli_etl` through `Pipeline::finish`, each step
/// `extract` taking `extract_ms(i)` milliseconds. Returns the last run's report.
pub fn record_real_runs(
    path: &std::path::Path,
    runs: u64,
    extract_ms: impl Fn(u64) -> u64,
) -> monitor::Report {
    monitor::history::HistorySettings::builder()
        .path(path)
        .record(true)
        .install();
    let mut last = None;
    for i in 0..runs {
        let run = monitor::Pipeline::builder("cli_etl")
            .label("version", format!("real-{i}"))
            .start();
        cli_extract(extract_ms(i));
        cli_transform(1_000);
        last = Some(run.finish());
    }
    monitor::history::settings::uninstall();
    last.expect("at least one run")
}

/// Steady past runs of `cli_etl` written through the real file store: `extract` about 20 ms
/// (±3 %, deterministic), `transform` 1,000 rows. Runs measured under a loaded CI machine
/// would be too noisy to make "within the baseline" a reliable assertion.
pub fn record_steady_runs(path: &std::path::Path, runs: u64) {
    let mut store = monitor::history::JsonlStore::new(path);
    for i in 0..runs {
        let wobble = [1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97][(i % 7) as usize];
        let site = |name: &str, ms: f64, rows: Option<u64>| SiteRecord {
            name: name.to_owned(),
            kind: Kind::Step,
            calls: 1,
            errors: 0,
            total_ms: ms,
            p95_ms: ms,
            rows,
            rows_in: None,
            rss_peak: None,
            heap_peak: None,
        };
        let record = RunRecord {
            v: RECORD_VERSION,
            run_id: format!("steady-{i:03}"),
            pipeline: "cli_etl".to_owned(),
            status: RunStatus::Ok,
            started_at_ms: 1_763_900_000_000 + i * 3_600_000,
            duration_ms: 21.0 * wobble,
            host: "ci".to_owned(),
            version: Some(format!("v1.{i}")),
            sites: vec![
                site("cli_extract", 20.0 * wobble, None),
                site("cli_transform", 0.02, Some(1_000)),
            ],
        };
        store.append(&record).unwrap();
    }
}
