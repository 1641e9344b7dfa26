//! sqlx on SQLite, through every connection shape `explain(conn = ..)` takes (`&SqlitePool`,
//! `&mut PoolConnection<Sqlite>`, `&mut SqliteConnection`, `&mut Transaction<Sqlite>`): an
//! unindexed look-up is flagged with a `CREATE INDEX` suggestion; the test runs that suggestion,
//! and the next plan of every shape searches the index and has no finding.
mod sqlx_support;

use monitor::PlanSource;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, Sqlite};
use sqlx_support::{full_scan, only_plan, plans};

const SQL: &str = "SELECT id, amount FROM orders WHERE customer_id = ?1 AND status = 'shipped'";
const SUGGESTION: &str =
    "CREATE INDEX idx_orders_customer_id_status ON orders (customer_id, status);";

sqlx_support::every_shape!(
    db = Sqlite,
    pool = SqlitePool,
    connection = SqliteConnection,
    customer = i64,
    sites = [
        "sqlite_pool",
        "sqlite_pool_conn",
        "sqlite_conn",
        "sqlite_tx"
    ]
);

/// Calls every shape once; each returns the customer's 50 orders.
async fn call_every_shape(pool: &SqlitePool, options: &SqliteConnectOptions) {
    assert_eq!(via_pool(pool, 7).await.unwrap().len(), 50);
    let mut pooled = pool.acquire().await.unwrap();
    assert_eq!(via_pool_conn(&mut pooled, 7).await.unwrap().len(), 50);
    // The connection is still usable after the capture.
    assert_eq!(via_pool_conn(&mut pooled, 8).await.unwrap().len(), 50);
    drop(pooled);
    let mut conn = SqliteConnection::connect_with(options).await.unwrap();
    assert_eq!(via_conn(&mut conn, 7).await.unwrap().len(), 50);
    let mut tx = conn.begin().await.unwrap();
    assert_eq!(via_tx(&mut tx, 7).await.unwrap().len(), 50);
    tx.commit().await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unindexed_lookup_is_flagged_and_the_suggestion_fixes_it_on_every_shape() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("orders.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT, amount REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO orders (customer_id, status, amount) SELECT i % 100, 'shipped', i * 1.5 FROM n;",
    )
    .execute(&pool)
    .await
    .unwrap();

    call_every_shape(&pool, &options).await;
    for site in SITES {
        let p = &only_plan(site);
        assert_eq!(p.source, PlanSource::Sqlite);
        assert!(p.text.contains("SCAN orders"), "{site}: {}", p.text);
        let scan = full_scan(site, p);
        assert_eq!(scan.suggestion.as_deref(), Some(SUGGESTION), "{site}");
        assert_eq!(
            p.sql,
            "SELECT id, amount FROM orders WHERE customer_id = ?1 AND status = ?"
        );
        let snap = monitor::snapshot();
        let s = snap.site(site).unwrap();
        assert_eq!(
            s.rows,
            Some(if site == "sqlite_pool_conn" { 100 } else { 50 })
        );
    }

    // Apply the suggestion: every shape's next plan searches the index, with nothing flagged.
    sqlx::raw_sql(SUGGESTION).execute(&pool).await.unwrap();
    call_every_shape(&pool, &options).await;
    for site in SITES {
        let plans = plans(site);
        let after = plans
            .iter()
            .find(|p| {
                p.plan
                    .text
                    .contains("SEARCH orders USING INDEX idx_orders_customer_id_status")
            })
            .unwrap_or_else(|| panic!("{site}: no plan with the index: {plans:#?}"));
        assert!(
            after.plan.findings.is_empty(),
            "{site}: {:#?}",
            after.plan.findings
        );
        assert_eq!(monitor::snapshot().site(site).unwrap().errors, 0);
    }
    pool.close().await;
}
