#![deny(warnings)]
// `explain(..)` with sqlx 0.8 on every connection shape it takes, for each database: a pool
// (`&Pool<DB>`), a pool connection, a connection and a transaction (`&mut`); `sql` naming a
// `const`, a `static` or a path; an `#[async_trait]` method and a `Box::pin(async move ..)` body;
// `rows` on `Vec<T>` and on `execute`'s result. The futures stay `Send`.
use monitor::monitor_query;
use sqlx::mysql::{MySqlConnection, MySqlPool, MySqlQueryResult};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Postgres, Sqlite, Transaction};
use std::future::Future;
use std::pin::Pin;

#[derive(sqlx::FromRow)]
#[allow(dead_code)]
struct Order {
    id: i64,
    total: f64,
}

const SQL: &str = "SELECT id, total FROM orders WHERE customer_id = $1";

// The README's example, as written there.
#[monitor_query("orders_of_customer", slow = "100ms", rows, explain(conn = pool, sql = SQL))]
async fn orders_of_customer(pool: &PgPool, id: i64) -> sqlx::Result<Vec<Order>> {
    sqlx::query_as(SQL).bind(id).fetch_all(pool).await
}

mod queries {
    pub static BY_STATUS: &str = "SELECT count(*) FROM orders WHERE status = ?";
}

#[monitor_query("pg_conn", explain(conn = conn, sql = SQL, mode = "always", analyze))]
async fn pg_conn(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<Order>> {
    sqlx::query_as(SQL).bind(id).fetch_all(conn).await
}

#[monitor_query("pg_tx", explain(conn = tx, sql = sql, every = 10))]
async fn pg_tx(tx: &mut Transaction<'_, Postgres>, sql: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(sql).execute(&mut **tx).await?.rows_affected())
}

#[monitor_query("sqlite_pool", rows, explain(conn = pool, sql = queries::BY_STATUS))]
async fn sqlite_pool(pool: &SqlitePool, status: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(queries::BY_STATUS)
        .bind(status)
        .fetch_all(pool)
        .await
}

#[monitor_query("sqlite_pooled", explain(conn = conn, sql = queries::BY_STATUS))]
async fn sqlite_pooled(conn: &mut PoolConnection<Sqlite>, status: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(queries::BY_STATUS)
        .bind(status)
        .fetch_one(&mut **conn)
        .await
}

#[monitor_query("sqlite_tx", explain(conn = tx, sql = queries::BY_STATUS))]
async fn sqlite_tx(tx: &mut Transaction<'_, Sqlite>, status: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(queries::BY_STATUS)
        .bind(status)
        .fetch_one(&mut **tx)
        .await
}

#[monitor_query("mysql_write", rows, explain(conn = conn, sql = sql, mode = "always"))]
async fn mysql_write(conn: &mut MySqlConnection, sql: &str) -> sqlx::Result<MySqlQueryResult> {
    sqlx::query(sql).execute(conn).await
}

#[async_trait::async_trait]
trait Orders {
    async fn count(&self, conn: &mut SqliteConnection, status: &str) -> sqlx::Result<i64>;
    async fn on_pool(&self, pool: &MySqlPool) -> sqlx::Result<i64>;
}

struct Repo;

#[async_trait::async_trait]
impl Orders for Repo {
    #[monitor_query("trait_count", explain(conn = conn, sql = queries::BY_STATUS))]
    async fn count(&self, conn: &mut SqliteConnection, status: &str) -> sqlx::Result<i64> {
        sqlx::query_scalar(queries::BY_STATUS)
            .bind(status)
            .fetch_one(conn)
            .await
    }

    #[monitor_query("trait_pool", explain(conn = pool, sql = queries::BY_STATUS, mode = "always"))]
    async fn on_pool(&self, pool: &MySqlPool) -> sqlx::Result<i64> {
        sqlx::query_scalar(queries::BY_STATUS)
            .bind("new")
            .fetch_one(pool)
            .await
    }
}

#[monitor_query("boxed", explain(conn = conn, sql = SQL))]
fn boxed<'a>(
    conn: &'a mut PgConnection,
    id: i64,
) -> Pin<Box<dyn Future<Output = sqlx::Result<Vec<Order>>> + Send + 'a>> {
    Box::pin(async move { sqlx::query_as(SQL).bind(id).fetch_all(conn).await })
}

fn assert_send<T: Send>(_: &T) {}

#[allow(dead_code)]
fn futures_are_send(
    pg: &PgPool,
    pg_conn_: &mut PgConnection,
    sqlite: &SqlitePool,
    sqlite_conn: &mut SqliteConnection,
    my: &MySqlPool,
) {
    assert_send(&orders_of_customer(pg, 1));
    assert_send(&sqlite_pool(sqlite, "new"));
    assert_send(&Repo.on_pool(my));
    assert_send(&Repo.count(sqlite_conn, "new"));
    assert_send(&pg_conn(pg_conn_, 1));
}

fn main() {
    let _ = (pg_tx, sqlite_pooled, sqlite_tx, mysql_write, boxed);
}
