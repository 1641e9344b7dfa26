//! sqlx on a real MariaDB (Debian's `mariadb-server`; no MySQL server is tested), through every
//! connection shape `explain(conn = ..)` takes (`&MySqlPool`, `&mut PoolConnection<MySql>`,
//! `&mut MySqlConnection`, `&mut Transaction<MySql>`): an unindexed look-up with a `?` placeholder
//! is flagged (`access_type` `ALL`) with a `CREATE INDEX` suggestion; the test runs it, and the
//! next plan of every shape uses the index and has no finding. Also: `ANALYZE FORMAT=JSON` under
//! `analyze`, a join without an index, a filesort, and `LIMIT ?`.
mod sqlx_support;

use monitor::{monitor_query, FindingKind, PlanSource};
use monitor_test_support::mariadb::MariadbServer;
use sqlx::mysql::{MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{Connection, MySql};
use sqlx_support::{full_scan, only_plan, plans};

const SQL: &str = "SELECT id, amount FROM orders WHERE customer_id = ? AND status = 'shipped'";
const SUGGESTION: &str =
    "CREATE INDEX idx_orders_customer_id_status ON orders (customer_id, status);";

sqlx_support::every_shape!(
    db = MySql,
    pool = MySqlPool,
    connection = MySqlConnection,
    customer = i32,
    sites = ["maria_pool", "maria_pool_conn", "maria_conn", "maria_tx"]
);

const BIG_SPENDERS: &str = "SELECT count(*) FROM orders WHERE amount > 7000";

#[monitor_query("maria_analyze", explain(conn = pool, sql = BIG_SPENDERS, mode = "always", analyze))]
async fn big_spenders(pool: &MySqlPool) -> sqlx::Result<i64> {
    sqlx::query_scalar(BIG_SPENDERS).fetch_one(pool).await
}

const JOIN: &str = "SELECT c.name, o.amount FROM customers c JOIN orders o ON o.note = c.name \
                    WHERE c.id < ? ORDER BY o.amount LIMIT ?";

#[monitor_query("maria_join", explain(conn = pool, sql = JOIN, mode = "always"))]
async fn joined(pool: &MySqlPool) -> sqlx::Result<Vec<(String, f64)>> {
    sqlx::query_as(JOIN).bind(3).bind(5).fetch_all(pool).await
}

async fn call_every_shape(pool: &MySqlPool, url: &str) {
    assert_eq!(via_pool(pool, 7).await.unwrap().len(), 10);
    let mut pooled = pool.acquire().await.unwrap();
    assert_eq!(via_pool_conn(&mut pooled, 7).await.unwrap().len(), 10);
    drop(pooled);
    let mut conn = MySqlConnection::connect(url).await.unwrap();
    assert_eq!(via_conn(&mut conn, 7).await.unwrap().len(), 10);
    let mut tx = conn.begin().await.unwrap();
    assert_eq!(via_tx(&mut tx, 7).await.unwrap().len(), 10);
    // The transaction goes on after the capture.
    sqlx::query("UPDATE orders SET note = note WHERE id = 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_plans_through_sqlx() {
    monitor::testing::without_history();
    let db = MariadbServer::start();
    let url = db.url();
    let pool = MySqlPoolOptions::new()
        .max_connections(3)
        .connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, status VARCHAR(20),
                              amount DOUBLE, note VARCHAR(20));
         INSERT INTO orders SELECT seq, seq % 500, 'shipped', seq * 1.5, CONCAT('c', seq % 50)
           FROM seq_1_to_5000;
         CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20));
         INSERT INTO customers SELECT seq, CONCAT('c', seq) FROM seq_0_to_1999;
         ANALYZE TABLE orders, customers;",
    )
    .execute(&pool)
    .await
    .unwrap();

    call_every_shape(&pool, &url).await;
    for site in SITES {
        let p = &only_plan(site);
        assert_eq!(p.source, PlanSource::Mariadb);
        assert!(
            p.text.contains("Full scan of orders (ALL)"),
            "{site}: {}",
            p.text
        );
        let scan = full_scan(site, p);
        assert_eq!(scan.suggestion.as_deref(), Some(SUGGESTION), "{site}");
        assert_eq!(
            p.sql,
            "SELECT id, amount FROM orders WHERE customer_id = ? AND status = ?"
        );
        assert!(!p.text.contains("shipped"), "{}", p.text);
        assert_eq!(monitor::snapshot().site(site).unwrap().rows, Some(10));
    }

    sqlx::raw_sql(SUGGESTION).execute(&pool).await.unwrap();
    call_every_shape(&pool, &url).await;
    for site in SITES {
        let plans = plans(site);
        let after = plans
            .iter()
            .find(|p| p.plan.text.contains("using idx_orders_customer_id_status"))
            .unwrap_or_else(|| panic!("{site}: no plan with the index: {plans:#?}"));
        assert!(
            after.plan.findings.is_empty(),
            "{site}: {:#?}",
            after.plan.findings
        );
    }

    // `analyze`: MariaDB's ANALYZE FORMAT=JSON, with actual rows.
    assert_eq!(big_spenders(&pool).await.unwrap(), 334);
    let p = &plans("maria_analyze")[0].plan;
    assert!(p.analyzed, "{}", p.text);
    assert!(p.text.contains("actual rows=5000"), "{}", p.text);
    assert!(p
        .findings
        .iter()
        .any(|f| f.suggestion.as_deref()
            == Some("CREATE INDEX idx_orders_amount ON orders (amount);")));

    // A join on an unindexed column, a sort, and `LIMIT ?`.
    assert_eq!(joined(&pool).await.unwrap().len(), 5);
    let p = &plans("maria_join")[0].plan;
    let join = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::NestedLoopScan)
        .unwrap_or_else(|| panic!("join without an index: {}\n{:#?}", p.text, p.findings));
    assert_eq!(
        join.suggestion.as_deref(),
        Some("CREATE INDEX idx_orders_note ON orders (note);"),
        "{}",
        p.text
    );
    assert!(
        p.findings.iter().any(|f| f.kind == FindingKind::TempSort),
        "{}\n{:#?}",
        p.text,
        p.findings
    );
    pool.close().await;
}
