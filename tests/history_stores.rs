//! Every history store keeps, filters and retains runs the same way: the JSON Lines file, SQLite
//! and a real PostgreSQL server.

mod history_support;

use history_support::check_store;
use monitor::history::{HistoryLocation, HistoryStore, JsonlStore, PostgresStore, SqliteStore};
use monitor_test_support::postgres::PostgresServer;

#[test]
fn jsonl_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = JsonlStore::new(dir.path().join(".monitor/history.jsonl"));
    check_store(&mut store);
    assert!(store.location().ends_with(".monitor/history.jsonl"));
}

#[test]
fn sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path().join("h/history.db")).unwrap();
    check_store(&mut store);
    // Reopening sees the same runs.
    drop(store);
    let mut again = HistoryLocation::parse(&format!(
        "sqlite:{}",
        dir.path().join("h/history.db").display()
    ))
    .unwrap()
    .open()
    .unwrap();
    assert_eq!(again.load(&Default::default()).unwrap().runs.len(), 3);
}

#[test]
fn postgres_database() {
    let server = PostgresServer::start();
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    check_store(&mut store);
    // A second connection (another machine's pipeline) sees the same runs, and the table is
    // created only once.
    let mut other = HistoryLocation::parse(&server.url())
        .unwrap()
        .open()
        .unwrap();
    assert_eq!(other.load(&Default::default()).unwrap().runs.len(), 3);
    assert!(other
        .location()
        .starts_with("PostgreSQL history postgresql://"));
}

#[test]
fn postgres_unreachable_is_a_clear_error_in_bounded_time() {
    let port = monitor_test_support::free_port();
    let started = std::time::Instant::now();
    let err = PostgresStore::connect(&format!("postgresql://monitor:secret@127.0.0.1:{port}/db"))
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "PostgreSQL history postgresql://monitor:***@127.0.0.1:{port}/db: cannot connect: "
        )),
        "{msg}"
    );
    assert!(!msg.contains("secret"), "{msg}");
}
