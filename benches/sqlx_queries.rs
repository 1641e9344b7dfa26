//! What `#[monitor_query(.., explain(..))]` adds to a real sqlx query, in one run:
//!
//! ```sh
//! cargo bench --bench sqlx_queries --features sqlx-sqlite
//! ```
//!
//! `sqlx_sqlite_query/unmonitored` vs `sqlx_sqlite_query/monitored`: the same query through a
//! `SqlitePool` (in memory; a filtered aggregate over a 600-row table, ~60 µs with sqlx's
//! worker-thread round trip), awaited with `block_on` on a current-thread tokio runtime, plain
//! and under `#[monitor_query]` with `explain(conn = pool, sql = SQL)` in its default mode (plans
//! only for slow calls, so a fast call captures none), then plain again (`unmonitored_again`: the
//! order a group runs in moves the figures by a few per cent on a VM). Target: within 2 %.
//!
//! `sqlx_wrapper_only/unmonitored` vs `sqlx_wrapper_only/monitored`: the same two function
//! shapes with the query taken out, so the difference is what the attribute itself adds to each
//! call, free of the query's noise.
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use monitor::monitor_query;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use std::time::Duration;

const SQL: &str = "SELECT count(*), sum(amount) FROM orders WHERE customer_id % ?1 = 0";

async fn unmonitored(pool: &SqlitePool, m: i64) -> sqlx::Result<(i64, f64)> {
    sqlx::query_as(SQL).bind(m).fetch_one(pool).await
}

#[monitor_query("bench_sqlx_orders", explain(conn = pool, sql = SQL))]
async fn monitored(pool: &SqlitePool, m: i64) -> sqlx::Result<(i64, f64)> {
    sqlx::query_as(SQL).bind(m).fetch_one(pool).await
}

/// The same function shapes without the query: what the attribute itself costs per call.
async fn plain_wrapper(pool: &SqlitePool, m: i64) -> sqlx::Result<i64> {
    let _ = pool;
    Ok(black_box(m))
}

#[monitor_query("bench_sqlx_wrapper", explain(conn = pool, sql = SQL))]
async fn monitored_wrapper(pool: &SqlitePool, m: i64) -> sqlx::Result<i64> {
    let _ = pool;
    Ok(black_box(m))
}

fn sqlx_sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pool = rt.block_on(async {
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .test_before_acquire(false)
            .connect("sqlite::memory:")
            .await
            .expect("open");
        sqlx::raw_sql(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
             INSERT INTO orders (customer_id, amount) SELECT i % 700, i * 0.5 FROM n;",
        )
        .execute(&pool)
        .await
        .expect("load");
        pool
    });
    let mut g = c.benchmark_group("sqlx_sqlite_query");
    g.bench_function("unmonitored", |b| {
        b.iter(|| rt.block_on(unmonitored(&pool, black_box(7))))
    });
    g.bench_function("monitored", |b| {
        b.iter(|| rt.block_on(monitored(&pool, black_box(7))))
    });
    // The plain query again: the first one measured also warms the pool's worker thread, so the
    // monitored figure is compared with both.
    g.bench_function("unmonitored_again", |b| {
        b.iter(|| rt.block_on(unmonitored(&pool, black_box(7))))
    });
    g.finish();

    let mut g = c.benchmark_group("sqlx_wrapper_only");
    g.bench_function("unmonitored", |b| {
        b.iter(|| rt.block_on(plain_wrapper(&pool, black_box(7))))
    });
    g.bench_function("monitored", |b| {
        b.iter(|| rt.block_on(monitored_wrapper(&pool, black_box(7))))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(60);
    targets = sqlx_sqlite
}
criterion_main!(benches);
