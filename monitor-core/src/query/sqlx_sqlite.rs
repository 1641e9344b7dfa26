//! SQLite through sqlx 0.8 (feature `sqlx-sqlite`): `EXPLAIN QUERY PLAN` on the call's own
//! connection (`&mut SqliteConnection`, `&mut PoolConnection<Sqlite>`, `&mut Transaction<Sqlite>`)
//! or on one the pool lends (`&SqlitePool`), read by the same analysis as `rusqlite`'s
//! ([`Plan::from_sqlite`]). Parameters are left unbound (SQLite reads them as `NULL`), so no value
//! is needed or shown, and nothing is cached on the connection (`raw_sql`, `persistent(false)`).

use crate::query::explain::{single_statement, ExplainError, ExplainOptions};
use crate::query::plan::{Plan, SqlitePlanRow, TableInfo, TableInfos};
use crate::query::sql;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteQueryResult};
use sqlx::{Executor, Row};

/// `options` has nothing to choose for SQLite: `EXPLAIN QUERY PLAN` neither runs the statement
/// nor takes its parameters.
async fn explain(
    conn: &mut SqliteConnection,
    sql_text: &str,
    _options: ExplainOptions,
) -> Result<Plan, ExplainError> {
    let stmt = single_statement(sql_text)?;
    let text = format!("EXPLAIN QUERY PLAN {stmt}");
    // `Executor` methods return boxed futures: the capture's future stays `Send` for every
    // lifetime (sqlx's generic `Query::fetch_all` trips rustc's higher-ranked `Send` check).
    let rows = conn
        .fetch_all(sqlx::raw_sql(&text))
        .await
        .map_err(ExplainError::new)?;
    let mut plan_rows = Vec::with_capacity(rows.len());
    for r in &rows {
        plan_rows.push(SqlitePlanRow {
            id: r.try_get_unchecked(0).map_err(ExplainError::new)?,
            parent: r.try_get_unchecked(1).map_err(ExplainError::new)?,
            detail: r.try_get_unchecked(3).map_err(ExplainError::new)?,
        });
    }
    let mut infos = TableInfos::new();
    for t in sql::tables(stmt) {
        if infos.contains_key(&t.name) {
            continue;
        }
        let columns: Vec<String> = conn
            .fetch_all(
                sqlx::query("SELECT name FROM pragma_table_info(?1)")
                    .bind(t.name.as_str())
                    .persistent(false),
            )
            .await
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r.try_get_unchecked::<String, _>(0).ok())
                    .collect()
            })
            .unwrap_or_default();
        if !columns.is_empty() {
            infos.insert(
                t.name.clone(),
                TableInfo {
                    columns,
                    estimated_rows: None,
                },
            );
        }
    }
    Ok(Plan::from_sqlite(sql_text, &plan_rows, &infos))
}

super::sqlx_pool::sqlx_client!(Sqlite, SqliteConnection, SqliteQueryResult, explain);
