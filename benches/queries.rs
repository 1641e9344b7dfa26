//! What `#[monitor_query]` adds to a real query, and what the watchdog's in-flight slot adds to
//! a timing-only call, all in one run:
//!
//! ```sh
//! cargo bench --bench queries
//! ```
//!
//! - `sqlite_50us/unmonitored` vs `sqlite_50us/monitored`: the same prepared SQLite query (in
//!   memory, ~50 µs: a filtered aggregate over a 600-row table), plain and under
//!   `#[monitor_query]` with `explain(..)` in its default mode (plans only for slow calls, so a fast
//!   call captures none). Target: under 2 % added.
//! - `timing_only/watchdog_off` vs `timing_only/watchdog_on`: an empty timing-only query without
//!   and with the in-flight slot the watchdog needs (toggled with `Config::builder().watchdog()`).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use monitor::monitor_query;
use rusqlite::{CachedStatement, Connection};
use std::time::Duration;

const SQL: &str = "SELECT count(*), sum(amount) FROM orders WHERE customer_id % ?1 = 0";

fn database() -> Connection {
    let conn = Connection::open_in_memory().expect("open");
    conn.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
         INSERT INTO orders (customer_id, amount) SELECT i % 700, i * 0.5 FROM n;",
    )
    .expect("load");
    conn
}

fn run(stmt: &mut CachedStatement<'_>, m: i64) -> rusqlite::Result<(i64, f64)> {
    stmt.query_row([m], |r| Ok((r.get(0)?, r.get(1)?)))
}

fn unmonitored(conn: &Connection, sql: &str, m: i64) -> rusqlite::Result<(i64, f64)> {
    run(&mut conn.prepare_cached(sql)?, m)
}

#[monitor_query("bench_orders", explain(conn = conn, sql = sql))]
fn monitored(conn: &Connection, sql: &str, m: i64) -> rusqlite::Result<(i64, f64)> {
    run(&mut conn.prepare_cached(sql)?, m)
}

#[monitor_query("bench_empty")]
fn empty(x: u64) -> u64 {
    x
}

fn sqlite(c: &mut Criterion) {
    let conn = database();
    let mut g = c.benchmark_group("sqlite_50us");
    g.bench_function("unmonitored", |b| {
        b.iter(|| unmonitored(&conn, SQL, black_box(7)))
    });
    g.bench_function("monitored", |b| {
        b.iter(|| monitored(&conn, SQL, black_box(7)))
    });
    g.finish();
}

fn watchdog_slot(c: &mut Criterion) {
    let mut g = c.benchmark_group("timing_only");
    monitor::Config::builder().watchdog(false).install();
    g.bench_function("watchdog_off", |b| b.iter(|| empty(black_box(1))));
    monitor::Config::builder().watchdog(true).install();
    g.bench_function("watchdog_on", |b| b.iter(|| empty(black_box(1))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = sqlite, watchdog_slot
}
criterion_main!(benches);
