//! sqlx on a real PostgreSQL, through every connection shape `explain(conn = ..)` takes
//! (`&PgPool`, `&mut PoolConnection<Postgres>`, `&mut PgConnection`, `&mut Transaction<Postgres>`):
//! an unindexed look-up (with a `$1` parameter, explained as a generic plan) is flagged with a
//! `CREATE INDEX` suggestion; the test runs it, and the next plan of every shape uses the index
//! and has no finding. Inside the caller's transaction the capture leaves no trace: the
//! transaction stays writable after `analyze` and after an `EXPLAIN` the server refuses.
mod sqlx_support;

use monitor::testing::capture_async;
use monitor::{monitor_query, PlanSource};
use monitor_test_support::postgres::PostgresServer;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};
use sqlx_support::{full_scan, only_plan, plans};

const SQL: &str = "SELECT id, amount FROM orders WHERE customer_id = $1 AND status = 'shipped'";
const SUGGESTION: &str =
    "CREATE INDEX idx_orders_customer_id_status ON orders (customer_id, status);";

sqlx_support::every_shape!(
    db = Postgres,
    pool = PgPool,
    connection = PgConnection,
    customer = i32,
    sites = ["pg_pool", "pg_pool_conn", "pg_conn", "pg_tx"]
);

const COUNT_SQL: &str = "SELECT count(*) FROM orders WHERE amount > 4000";

#[monitor_query("pg_tx_analyze", explain(conn = tx, sql = COUNT_SQL, mode = "always", analyze))]
async fn count_in_tx(tx: &mut Transaction<'_, Postgres>) -> sqlx::Result<i64> {
    sqlx::query_scalar(COUNT_SQL).fetch_one(&mut **tx).await
}

/// `SHOW` runs, but `EXPLAIN SHOW ..` is refused: the capture fails inside the transaction.
#[monitor_query("pg_tx_refused", explain(conn = tx, sql = sql, mode = "always"))]
async fn show_in_tx(tx: &mut Transaction<'_, Postgres>, sql: &str) -> sqlx::Result<String> {
    sqlx::query_scalar(sql).fetch_one(&mut **tx).await
}

async fn call_every_shape(pool: &PgPool, url: &str) {
    assert_eq!(via_pool(pool, 7).await.unwrap().len(), 100);
    let mut pooled = pool.acquire().await.unwrap();
    assert_eq!(via_pool_conn(&mut pooled, 7).await.unwrap().len(), 100);
    drop(pooled);
    let mut conn = PgConnection::connect(url).await.unwrap();
    assert_eq!(via_conn(&mut conn, 7).await.unwrap().len(), 100);
    let mut tx = conn.begin().await.unwrap();
    assert_eq!(via_tx(&mut tx, 7).await.unwrap().len(), 100);
    tx.rollback().await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unindexed_lookup_is_flagged_and_the_suggestion_fixes_it_on_every_shape() {
    monitor::testing::without_history();
    let pg = PostgresServer::start();
    let url = pg.url();
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text, amount float8);
         INSERT INTO orders SELECT g, g % 500, 'shipped', g * 1.5 FROM generate_series(1, 50000) g;
         ANALYZE orders;",
    )
    .execute(&pool)
    .await
    .unwrap();

    call_every_shape(&pool, &url).await;
    for site in SITES {
        let p = &only_plan(site);
        assert_eq!(p.source, PlanSource::Postgres);
        assert!(p.text.contains("Seq Scan on orders"), "{site}: {}", p.text);
        let scan = full_scan(site, p);
        assert_eq!(scan.suggestion.as_deref(), Some(SUGGESTION), "{site}");
        assert_eq!(
            p.sql,
            "SELECT id, amount FROM orders WHERE customer_id = $1 AND status = ?"
        );
        assert_eq!(monitor::snapshot().site(site).unwrap().rows, Some(100));
    }

    sqlx::raw_sql(&format!("{SUGGESTION} ANALYZE orders;"))
        .execute(&pool)
        .await
        .unwrap();
    call_every_shape(&pool, &url).await;
    for site in SITES {
        let plans = plans(site);
        let after = plans
            .iter()
            .find(|p| p.plan.text.contains("idx_orders_customer_id_status"))
            .unwrap_or_else(|| panic!("{site}: no plan with the index: {plans:#?}"));
        assert!(
            after.plan.findings.is_empty(),
            "{site}: {:#?}",
            after.plan.findings
        );
    }
    // No prepared statement of the captures is left on the pool's connections.
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__monitor%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_inside_the_callers_transaction_leaves_it_as_it_was() {
    monitor::testing::without_history();
    let pg = PostgresServer::start();
    let mut conn = PgConnection::connect(&pg.url()).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text, amount float8);
         INSERT INTO orders SELECT g, g % 500, 'shipped', g * 1.5 FROM generate_series(1, 5000) g;
         ANALYZE orders;",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let mut tx = conn.begin().await.unwrap();
    // `analyze` runs the read-only statement again, under a read-only savepoint.
    assert_eq!(count_in_tx(&mut tx).await.unwrap(), 2334);
    // A refused EXPLAIN: one warning, the call's own result, and the transaction not aborted.
    let (shown, events) =
        capture_async(show_in_tx(&mut tx, "SHOW standard_conforming_strings")).await;
    assert_eq!(shown.unwrap(), "on");
    assert!(
        events
            .iter()
            .any(|e| e.message == "query plan capture failed"),
        "{events:#?}"
    );
    // Still writable (not left READ ONLY), still in the same transaction.
    sqlx::query("INSERT INTO orders VALUES (100000, 1, 'new', 1.0)")
        .execute(&mut *tx)
        .await
        .expect("the transaction is neither read-only nor aborted after the captures");
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(mode, "auto");
    tx.commit().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 5001, "the insert after the captures was committed");

    let snap = monitor::snapshot();
    let p = &snap.site("pg_tx_analyze").unwrap().plans[0].plan;
    assert!(p.analyzed, "{}", p.text);
    assert!(p.text.contains("actual time="), "{}", p.text);
    assert_eq!(snap.site("pg_tx_refused").unwrap().plans.len(), 0);
}
