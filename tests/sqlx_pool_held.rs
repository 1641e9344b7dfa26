//! A pool of size 1 whose only connection the pipeline holds: the capture waits for it at most
//! `monitor::explain::POOL_WAIT`, then is skipped with one `debug` event. The call's own result
//! is returned unchanged, its recorded time does not include the wait, and once the connection is
//! free again the next capture works. For SQLite, PostgreSQL and MariaDB through sqlx.
use monitor::explain::POOL_WAIT;
use monitor::monitor_query;
use monitor::testing::{capture_async, CapturedEvent};
use monitor_test_support::mariadb::MariadbServer;
use monitor_test_support::postgres::PostgresServer;
use sqlx::pool::PoolConnection;
use sqlx::{MySql, MySqlPool, PgPool, Postgres, Sqlite, SqlitePool};
use std::time::{Duration, Instant};

const SQL: &str = "SELECT count(*) FROM orders WHERE customer_id = 7";

/// Runs the query on the pool's only connection and hands that connection back to the caller,
/// which keeps it: while the plan is captured, the pool has nothing to lend.
#[monitor_query("held_sqlite", slow = "1us", explain(conn = pool, sql = SQL, mode = "always"))]
async fn sqlite_keeping(pool: &SqlitePool) -> sqlx::Result<(i64, PoolConnection<Sqlite>)> {
    let mut conn = pool.acquire().await?;
    let n = sqlx::query_scalar(SQL).fetch_one(&mut *conn).await?;
    Ok((n, conn))
}

#[monitor_query("held_sqlite_free", explain(conn = pool, sql = SQL, mode = "always"))]
async fn sqlite_count(pool: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar(SQL).fetch_one(pool).await
}

#[monitor_query("held_pg", explain(conn = pool, sql = SQL, mode = "always"))]
async fn pg_keeping(pool: &PgPool) -> sqlx::Result<(i64, PoolConnection<Postgres>)> {
    let mut conn = pool.acquire().await?;
    let n = sqlx::query_scalar(SQL).fetch_one(&mut *conn).await?;
    Ok((n, conn))
}

#[monitor_query("held_maria", explain(conn = pool, sql = SQL, mode = "always"))]
async fn maria_keeping(pool: &MySqlPool) -> sqlx::Result<(i64, PoolConnection<MySql>)> {
    let mut conn = pool.acquire().await?;
    let n = sqlx::query_scalar(SQL).fetch_one(&mut *conn).await?;
    Ok((n, conn))
}

const SEED: &str = "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER);
                    INSERT INTO orders (id, customer_id) VALUES (1, 7), (2, 7), (3, 8);";

/// What every database must show for one held call (`site`), given the wall time the caller saw.
fn assert_skipped_without_waiting(site: &str, events: &[CapturedEvent], waited: Duration) {
    let mine: Vec<&CapturedEvent> = events
        .iter()
        .filter(|e| e.str("name") == Some(site))
        .collect();
    let skipped: Vec<&&CapturedEvent> = mine
        .iter()
        .filter(|e| e.message == "query plan capture skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{site}: one skip event: {mine:#?}");
    assert_eq!(skipped[0].level, tracing::Level::DEBUG);
    let reason = skipped[0].str("reason").unwrap();
    assert!(
        reason.contains("no free connection in the pool within 50 ms"),
        "{site}: {reason}"
    );
    assert!(
        !mine
            .iter()
            .any(|e| e.message == "query plan capture failed"),
        "{site}: a skip is not a failure: {mine:#?}"
    );

    let snap = monitor::snapshot();
    let s = snap.site(site).unwrap();
    assert_eq!((s.calls, s.errors, s.cancelled), (1, 0, 0), "{site}");
    assert!(s.plans.is_empty(), "{site}: no plan: {:#?}", s.plans);
    // The call's time is the query's own: the wait for the pool came after it was recorded.
    let recorded = Duration::from_secs_f64(s.duration_ms.max / 1e3);
    assert!(
        recorded + POOL_WAIT <= waited + Duration::from_millis(1),
        "{site}: recorded {recorded:?} + the wait {POOL_WAIT:?} <= the caller's {waited:?}"
    );
    // Nothing waited longer than the documented limit (plus scheduling slack).
    assert!(
        waited < recorded + POOL_WAIT + Duration::from_millis(250),
        "{site}: the caller waited {waited:?} for a {recorded:?} call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pool_held_by_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("held.db"))
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::raw_sql(SEED).execute(&pool).await.unwrap();

    let started = Instant::now();
    let (result, events) = capture_async(sqlite_keeping(&pool)).await;
    let waited = started.elapsed();
    let (n, held) = result.unwrap();
    assert_eq!(n, 2, "the call's own result");
    assert_skipped_without_waiting("held_sqlite", &events, waited);
    // A slow call still gets its warning, without a plan.
    let slow = events
        .iter()
        .find(|e| e.message == "slow query" && e.str("name") == Some("held_sqlite"))
        .expect("the slow-query warning");
    assert_eq!(slow.str("plan"), None, "{slow:?}");

    // Free again: a capture through the same pool works.
    drop(held);
    assert_eq!(sqlite_count(&pool).await.unwrap(), 2);
    assert_eq!(
        monitor::snapshot()
            .site("held_sqlite_free")
            .unwrap()
            .plans
            .len(),
        1
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pool_held_by_the_pipeline() {
    let pg = PostgresServer::start();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&pg.url())
        .await
        .unwrap();
    sqlx::raw_sql(SEED).execute(&pool).await.unwrap();

    let started = Instant::now();
    let (result, events) = capture_async(pg_keeping(&pool)).await;
    let waited = started.elapsed();
    let (n, held) = result.unwrap();
    assert_eq!(n, 2, "the call's own result");
    assert_skipped_without_waiting("held_pg", &events, waited);
    drop(held);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_pool_held_by_the_pipeline() {
    let db = MariadbServer::start();
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&db.url())
        .await
        .unwrap();
    sqlx::raw_sql(SEED).execute(&pool).await.unwrap();

    let started = Instant::now();
    let (result, events) = capture_async(maria_keeping(&pool)).await;
    let waited = started.elapsed();
    let (n, held) = result.unwrap();
    assert_eq!(n, 2, "the call's own result");
    assert_skipped_without_waiting("held_maria", &events, waited);
    drop(held);
    pool.close().await;
}
