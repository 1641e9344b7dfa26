//! Every history store keeps fleet runs the same way (the JSON Lines file, SQLite and a real
//! PostgreSQL server): the first opening stays, a retried worker's latest part is the one merged,
//! a worker's baseline is its own successful parts in order, a whole run is appended once,
//! retention drops old fleet runs; and a database written before fleet runs existed gains their
//! tables on its first open, its runs still read.

mod history_support;

use history_support::sample_run;
use monitor::history::{
    FleetOpening, HistoryStore, JsonlStore, PostgresStore, Retention, RunFilter, SqliteStore,
    WorkerPart,
};
use monitor::{Report, RunStatus};
use monitor_test_support::postgres::PostgresServer;

fn part(
    run: &str,
    pipeline: &str,
    worker: &str,
    status: &str,
    started: u64,
    ms: f64,
) -> WorkerPart {
    let report = Report::from_json(&format!(
        r#"{{"schema":"monitor.report/v1","pipeline":"{pipeline}","run_id":"{run}",
            "started_at":"2026-01-01T00:00:00.000Z","started_at_unix_ms":{started},
            "duration_ms":{ms},"status":"{status}","steps":[],"queries":[],"errors":[],
            "worker":{{"id":"{worker}"}}}}"#
    ))
    .unwrap();
    WorkerPart::from_report(&report).unwrap()
}

fn parts_of(store: &mut dyn HistoryStore, run: &str) -> (Option<FleetOpening>, Vec<WorkerPart>) {
    let mut parts = Vec::new();
    let loaded = store.load_fleet_run(run, &mut |p| parts.push(p)).unwrap();
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(loaded.parts, parts.len());
    parts.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
    (loaded.opening, parts)
}

fn check_fleet_store(store: &mut dyn HistoryStore) {
    let now = 1_800_000_000_000;
    // The first opening stays.
    let mut first = FleetOpening::new("run-1", "etl", Some(3));
    first.opened_at_ms = now;
    assert_eq!(store.open_fleet_run(&first).unwrap(), first);
    let second = FleetOpening::new("run-1", "other", Some(9));
    assert_eq!(store.open_fleet_run(&second).unwrap(), first);

    store
        .append_part(&part("run-1", "etl", "0", "ok", now, 10.0))
        .unwrap();
    store
        .append_part(&part("run-1", "etl", "1", "failed", now, 11.0))
        .unwrap();
    // Worker 1 retried: its latest part is the one that counts.
    store
        .append_part(&part("run-1", "etl", "1", "ok", now + 5, 12.0))
        .unwrap();
    store
        .append_part(&part("run-2", "etl", "0", "ok", now + 100, 20.0))
        .unwrap();

    let (opening, parts) = parts_of(store, "run-1");
    assert_eq!(opening, Some(first));
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].report.duration_ms, 12.0);
    assert_eq!(parts[1].status, RunStatus::Ok);
    assert_eq!(store.fleet_workers("run-1").unwrap(), ["0", "1"]);
    assert_eq!(store.fleet_workers("run-9").unwrap(), Vec::<String>::new());
    let (none, empty) = parts_of(store, "run-9");
    assert!(none.is_none() && empty.is_empty());

    // A worker's baseline: its successful parts in this pipeline, oldest first, the last N.
    let history = store.load_worker_parts("etl", "1", 20).unwrap();
    assert_eq!(history.len(), 1, "the failed part does not count");
    let history = store.load_worker_parts("etl", "0", 20).unwrap();
    let runs: Vec<&str> = history.iter().map(|p| p.run_id.as_str()).collect();
    assert_eq!(runs, ["run-1", "run-2"]);
    assert_eq!(
        store.load_worker_parts("etl", "0", 1).unwrap()[0].run_id,
        "run-2"
    );
    assert!(store
        .load_worker_parts("other", "0", 20)
        .unwrap()
        .is_empty());

    // A whole run is appended once.
    let mut whole = sample_run("etl", 1);
    whole.run_id = "run-1".into();
    assert!(store.append_run_once(&whole).unwrap());
    assert!(!store.append_run_once(&whole).unwrap());
    let runs = store.load(&RunFilter::all()).unwrap().runs;
    assert_eq!(runs.iter().filter(|r| r.run_id == "run-1").count(), 1);

    // Retention keeps the last fleet run of the pipeline (here: run-2) and drops run-1's parts.
    for i in 3..6 {
        store
            .append_part(&part(
                &format!("run-{i}"),
                "etl",
                "0",
                "ok",
                now + i * 100,
                1.0,
            ))
            .unwrap();
    }
    store.retain(&Retention::last_runs(1), now + 1_000).unwrap();
    assert!(parts_of(store, "run-1").1.is_empty(), "run-1 dropped");
    assert_eq!(parts_of(store, "run-5").1.len(), 1, "the last run kept");
}

#[test]
fn jsonl_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = JsonlStore::new(dir.path().join("history.jsonl"));
    check_fleet_store(&mut store);
    assert_eq!(store.fleet_path(), dir.path().join("history.fleet.jsonl"));
}

#[test]
fn sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path().join("history.db")).unwrap();
    check_fleet_store(&mut store);
}

#[test]
fn postgres_database() {
    let server = PostgresServer::start();
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    check_fleet_store(&mut store);
}

/// The tables and the run as version 0.1.0 wrote them, before fleet runs.
const OLD_SCHEMA: &str = "
CREATE TABLE monitor_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT    NOT NULL,
    pipeline      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    started_at_ms INTEGER NOT NULL,
    record        TEXT    NOT NULL
);
CREATE INDEX monitor_runs_pipeline ON monitor_runs (pipeline, id);
";

#[test]
fn an_older_sqlite_database_gains_the_fleet_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(OLD_SCHEMA).unwrap();
    let run = sample_run("etl", 1);
    old.execute(
        "INSERT INTO monitor_runs (run_id, pipeline, status, started_at_ms, record)
         VALUES (?1, 'etl', 'ok', 1, ?2)",
        rusqlite::params![run.run_id, monitor::history::encode_line(&run).unwrap()],
    )
    .unwrap();
    drop(old);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load(&RunFilter::all()).unwrap().runs, [run]);
    check_fleet_store(&mut store);
}

#[test]
fn an_older_postgres_database_gains_the_fleet_tables() {
    let server = PostgresServer::start();
    let mut old = postgres::Client::connect(&server.connection_string(), postgres::NoTls).unwrap();
    old.batch_execute(
        "CREATE TABLE monitor_runs (
            id            BIGSERIAL PRIMARY KEY,
            run_id        TEXT   NOT NULL,
            pipeline      TEXT   NOT NULL,
            status        TEXT   NOT NULL,
            started_at_ms BIGINT NOT NULL,
            record        JSONB  NOT NULL
        );
        CREATE INDEX monitor_runs_pipeline ON monitor_runs (pipeline, id);",
    )
    .unwrap();
    let run = sample_run("etl", 1);
    let text = monitor::history::encode_line(&run).unwrap();
    old.execute(
        "INSERT INTO monitor_runs (run_id, pipeline, status, started_at_ms, record)
         VALUES ($1, 'etl', 'ok', 1, $2::text::jsonb)",
        &[&run.run_id, &text],
    )
    .unwrap();
    let tables = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT COUNT(*) FROM pg_tables WHERE tablename IN ('monitor_fleet_runs', 'monitor_run_parts')",
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(tables(&mut old), 0);
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    assert_eq!(tables(&mut old), 2);
    assert_eq!(store.load(&RunFilter::all()).unwrap().runs, [run]);
    check_fleet_store(&mut store);
}
