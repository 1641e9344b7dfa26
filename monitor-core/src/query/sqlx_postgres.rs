//! PostgreSQL through sqlx 0.8 (feature `sqlx-postgres`): the same script as the `postgres` and
//! `tokio-postgres` clients (`crate::query::explain::pg`: `EXPLAIN (FORMAT JSON)`, `$n` parameters as a
//! generic plan, `ANALYZE` only for read-only statements, all under `SET TRANSACTION READ ONLY`),
//! sent with `raw_sql` on the call's own connection or on one the pool lends.
//!
//! The connection is left as it was found. Outside a transaction the script is one implicit
//! transaction (one message). Inside the caller's transaction (`&mut Transaction<Postgres>`, or a
//! connection sqlx knows to be in one) it runs under a savepoint that is rolled back afterwards,
//! so neither `READ ONLY` nor a refused `EXPLAIN` outlives the capture: the caller's transaction
//! goes on as if nothing had been sent. The table lookup is a parameterized catalog query that is
//! not cached on the connection (`persistent(false)`).

use crate::query::explain::{pg, ExplainError, ExplainOptions};
use crate::query::plan::{Plan, TableInfos};
use sqlx::postgres::{PgConnection, PgQueryResult, PgRow, Postgres};
use sqlx::{Column, Connection, Executor, Row};

async fn explain(
    conn: &mut PgConnection,
    sql_text: &str,
    options: ExplainOptions,
) -> Result<Plan, ExplainError> {
    let script = pg::script(sql_text, options)?;
    if !conn.is_in_transaction() {
        let result = run(conn, sql_text, &script.text).await;
        if let (Err(_), Some(cleanup)) = (&result, &script.cleanup) {
            // A failed message rolls back its implicit transaction but not `PREPARE`.
            let _ = conn.execute(sqlx::raw_sql(cleanup)).await;
        }
        return result;
    }
    let mut savepoint = conn.begin().await.map_err(ExplainError::new)?;
    let result = run(&mut savepoint, sql_text, &script.text).await;
    let _ = savepoint.rollback().await;
    if let (Err(_), Some(cleanup)) = (&result, &script.cleanup) {
        // `DEALLOCATE` is not undone by a rollback; under its own savepoint, so a statement that
        // was never prepared cannot abort the caller's transaction either.
        if let Ok(mut savepoint) = conn.begin().await {
            let _ = savepoint.execute(sqlx::raw_sql(cleanup)).await;
            let _ = savepoint.rollback().await;
        }
    }
    result
}

async fn run(conn: &mut PgConnection, sql_text: &str, script: &str) -> Result<Plan, ExplainError> {
    // `Executor` methods return boxed futures: the capture's future stays `Send` for every
    // lifetime (sqlx's generic `Query::fetch_all` trips rustc's higher-ranked `Send` check).
    let rows = conn
        .fetch_all(sqlx::raw_sql(script))
        .await
        .map_err(ExplainError::new)?;
    let json = plan_json(&rows)?;
    let names = pg::relations(&json);
    let infos = conn
        .fetch_all(
            sqlx::query(pg::TABLE_INFO_SQL)
                .bind(names)
                .persistent(false),
        )
        .await
        .map(|rows| table_infos(&rows))
        .unwrap_or_default();
    Ok(Plan::from_postgres_json(sql_text, &json, &infos))
}

/// The JSON document in the `QUERY PLAN` row.
fn plan_json(rows: &[PgRow]) -> Result<serde_json::Value, ExplainError> {
    let row = rows
        .iter()
        .find(|r| {
            r.columns()
                .first()
                .is_some_and(|c| c.name() == "QUERY PLAN")
        })
        .ok_or_else(|| ExplainError::new("EXPLAIN returned no plan"))?;
    let text: String = row.try_get_unchecked(0).map_err(ExplainError::new)?;
    serde_json::from_str(&text).map_err(ExplainError::new)
}

fn table_infos(rows: &[PgRow]) -> TableInfos {
    let mut infos = TableInfos::new();
    for r in rows {
        let (Ok(name), Ok(est), Ok(cols)) = (
            r.try_get::<String, _>(0),
            r.try_get::<f64, _>(1),
            r.try_get::<String, _>(2),
        ) else {
            continue;
        };
        infos.insert(name, pg::table_info(&cols, est));
    }
    infos
}

super::sqlx_pool::sqlx_client!(Postgres, PgConnection, PgQueryResult, explain);
