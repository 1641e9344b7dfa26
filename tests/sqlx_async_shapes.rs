//! `explain(..)` on sqlx in every async shape: `#[async_trait]` methods (timed over the awaited
//! call, plan captured after it), `Send` futures spawned on a multi-thread tokio runtime (every
//! call counted, every plan captured), and cancellation: a future dropped mid-query counts as
//! cancelled and takes no plan (SQLite and PostgreSQL).
use monitor::testing::capture_async;
use monitor::{monitor_query, FindingKind};
use monitor_test_support::postgres::PostgresServer;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};

const BY_CUSTOMER: &str = "SELECT count(*) FROM orders WHERE customer_id = ?1";

#[async_trait::async_trait]
trait Orders: Send + Sync {
    async fn count(&self, conn: &mut SqliteConnection, customer: i64) -> sqlx::Result<i64>;
    async fn count_pooled(&self, pool: &SqlitePool, customer: i64) -> sqlx::Result<i64>;
}

struct Repo;

#[async_trait::async_trait]
impl Orders for Repo {
    #[monitor_query("trait_conn", explain(conn = conn, sql = BY_CUSTOMER, mode = "always"))]
    async fn count(&self, conn: &mut SqliteConnection, customer: i64) -> sqlx::Result<i64> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        sqlx::query_scalar(BY_CUSTOMER)
            .bind(customer)
            .fetch_one(conn)
            .await
    }

    #[monitor_query("trait_pool", explain(conn = pool, sql = BY_CUSTOMER, mode = "always"))]
    async fn count_pooled(&self, pool: &SqlitePool, customer: i64) -> sqlx::Result<i64> {
        sqlx::query_scalar(BY_CUSTOMER)
            .bind(customer)
            .fetch_one(pool)
            .await
    }
}

#[monitor_query("spawned", explain(conn = pool, sql = BY_CUSTOMER, mode = "always"))]
async fn spawned(pool: &SqlitePool, customer: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(BY_CUSTOMER)
        .bind(customer)
        .fetch_one(pool)
        .await
}

const SLOW_SQLITE: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                           WHERE x < 5000000) SELECT count(*) FROM c";

#[monitor_query("cancelled_sqlite", explain(conn = conn, sql = SLOW_SQLITE, mode = "always"))]
async fn slow_sqlite(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(SLOW_SQLITE).fetch_one(conn).await
}

const SLOW_PG: &str = "SELECT count(*) FROM pg_sleep(10)";

#[monitor_query("cancelled_pg", explain(conn = conn, sql = SLOW_PG, mode = "always"))]
async fn slow_pg(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(SLOW_PG).fetch_one(conn).await
}

async fn sqlite(dir: &tempfile::TempDir) -> (SqlitePool, SqliteConnectOptions) {
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("shapes.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(16)
        .connect_with(options.clone())
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO orders (customer_id, amount) SELECT i % 100, i FROM n;",
    )
    .execute(&pool)
    .await
    .unwrap();
    (pool, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trait_methods_capture_after_the_awaited_call() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, options) = sqlite(&dir).await;
    let repo: Box<dyn Orders> = Box::new(Repo);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();

    // Created first, awaited later: only the awaited part is the call.
    let pending = repo.count(&mut conn, 7);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(pending.await.unwrap(), 50);
    assert_eq!(repo.count_pooled(&pool, 7).await.unwrap(), 50);
    // The connection the method borrowed is usable again.
    assert_eq!(repo.count(&mut conn, 8).await.unwrap(), 50);

    let snap = monitor::snapshot();
    let site = snap.site("trait_conn").unwrap();
    assert_eq!(site.calls, 2);
    let wall = site.duration_ms.max;
    assert!(
        (30.0..150.0).contains(&wall),
        "timed over the awaited call: {wall} ms"
    );
    for name in ["trait_conn", "trait_pool"] {
        let plans = &snap.site(name).unwrap().plans;
        assert_eq!(plans.len(), 1, "{name}: {plans:#?}");
        assert!(
            plans[0]
                .plan
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::FullScan),
            "{name}: {}",
            plans[0].plan.text
        );
    }
    assert_eq!(snap.site("trait_conn").unwrap().plans[0].times_seen, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_futures_spawned_on_a_multi_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, _) = sqlite(&dir).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = pool.clone();
            // `tokio::spawn` requires the monitored future, capture included, to be `Send`.
            tokio::spawn(async move { spawned(&pool, i).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 50);
    }
    let snap = monitor::snapshot();
    let site = snap.site("spawned").unwrap();
    assert_eq!((site.calls, site.errors, site.cancelled), (8, 0, 0));
    assert_eq!(site.plans.len(), 1, "{:#?}", site.plans);
    assert_eq!(site.plans[0].times_seen, 8, "every call's plan captured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_dropped_mid_query_counts_as_cancelled_and_takes_no_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (_pool, options) = sqlite(&dir).await;
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let pg = PostgresServer::start();
    let mut pg_conn = PgConnection::connect(&pg.url()).await.unwrap();

    let started = Instant::now();
    let ((sqlite_out, pg_out), events) = capture_async(async {
        let a = tokio::time::timeout(Duration::from_millis(100), slow_sqlite(&mut conn)).await;
        let b = tokio::time::timeout(Duration::from_millis(100), slow_pg(&mut pg_conn)).await;
        (a.is_err(), b.is_err())
    })
    .await;
    assert!(sqlite_out && pg_out, "both timed out");
    assert!(started.elapsed() < Duration::from_secs(5));

    let snap = monitor::snapshot();
    for name in ["cancelled_sqlite", "cancelled_pg"] {
        let site = snap.site(name).unwrap();
        assert_eq!(
            (site.calls, site.cancelled, site.errors),
            (1, 1, 0),
            "{name}"
        );
        assert!(site.plans.is_empty(), "{name}: no plan for a dropped call");
        assert!(
            !events
                .iter()
                .any(|e| e.str("name") == Some(name) && e.message.starts_with("query plan")),
            "{name}: no capture attempted: {events:#?}"
        );
    }
}
