//! [`ExplainPlan`] for DuckDB (feature `duckdb`, the `duckdb` crate with its bundled library):
//! `explain(conn = conn, sql = SQL)` on a `duckdb::Connection` or `duckdb::Transaction`.
//!
//! The plan is `EXPLAIN (FORMAT JSON)`; under `analyze`, a statement without parameters that
//! only reads ([`sql::is_read_only`]) is run again as `EXPLAIN (ANALYZE, FORMAT JSON)`, whose JSON
//! profile has each operator's actual rows and time and the query's temporary-directory peak
//! (outside a transaction of the caller's, inside one of ours that is rolled back). A statement
//! with `?` or `$n` parameters is explained with each parameter bound to the text `'0'`, which
//! DuckDB casts to the column's type for numbers and text (so an `=` filter still shows as a
//! filter, where `NULL` would fold it away); if that binding fails, to `NULL`. The tables' row
//! counts, columns and indexed columns come from `duckdb_tables()`, `duckdb_columns()`,
//! `duckdb_indexes()` and `duckdb_constraints()`; the analysis is `Plan::from_duckdb_json`
//! (`super::duckdb_plan`).
//!
//! ```
//! use monitor_core::explain::{ExplainOptions, ExplainPlan};
//!
//! let mut conn = duckdb::Connection::open_in_memory().unwrap();
//! conn.execute_batch(
//!     "CREATE TABLE orders AS SELECT range AS id, range % 5000 AS customer_id FROM range(300000)",
//! )
//! .unwrap();
//! let sql = "SELECT id FROM orders WHERE customer_id = ?";
//! let plan = conn.explain_plan(sql, ExplainOptions::default()).unwrap();
//! let scan = &plan.findings[0];
//! assert_eq!(
//!     scan.suggestion.as_deref(),
//!     Some("CREATE INDEX idx_orders_customer_id ON orders (customer_id);")
//! );
//! ```

use super::duckdb_plan::DuckdbIndexes;
use crate::query::explain::{single_statement, ExplainError, ExplainOptions, ExplainPlan};
use crate::query::plan::{Plan, TableInfo, TableInfos};
use crate::query::sql;
use duckdb::Connection;

/// The `explain_value` column of an `EXPLAIN` statement's first row.
fn explain_json(
    conn: &Connection,
    text: &str,
    params: usize,
    bind: Option<&str>,
) -> Result<serde_json::Value, ExplainError> {
    let mut stmt = conn.prepare(text).map_err(ExplainError::new)?;
    for i in 1..=params {
        match bind {
            Some(v) => stmt.raw_bind_parameter(i, v),
            None => stmt.raw_bind_parameter(i, duckdb::types::Null),
        }
        .map_err(ExplainError::new)?;
    }
    stmt.raw_execute().map_err(ExplainError::new)?;
    let mut rows = stmt.raw_query();
    let row = rows
        .next()
        .map_err(ExplainError::new)?
        .ok_or_else(|| ExplainError::new("EXPLAIN returned no plan"))?;
    let value: String = row.get(1).map_err(ExplainError::new)?;
    serde_json::from_str(&value).map_err(ExplainError::new)
}

fn explain(
    conn: &Connection,
    sql_text: &str,
    options: ExplainOptions,
) -> Result<Plan, ExplainError> {
    let stmt = single_statement(sql_text)?;
    // Preparing binds the statement (and counts its parameters) without running it.
    let params = conn
        .prepare(stmt)
        .map_err(ExplainError::new)?
        .parameter_count();
    let analyze = options.analyze && params == 0 && sql::is_read_only(stmt);
    let json = if analyze {
        analyzed(conn, stmt)?
    } else {
        let text = format!("EXPLAIN (FORMAT JSON) {stmt}");
        match explain_json(conn, &text, params, Some("0")) {
            Ok(j) => j,
            Err(_) if params > 0 => explain_json(conn, &text, params, None)?,
            Err(e) => return Err(e),
        }
    };
    let (infos, indexes) = tables(conn, stmt);
    Ok(Plan::from_duckdb_json(sql_text, &json, &infos, &indexes))
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)`, inside a transaction rolled back afterwards when the caller
/// has none open.
fn analyzed(conn: &Connection, stmt: &str) -> Result<serde_json::Value, ExplainError> {
    let ours = conn.is_autocommit();
    if ours {
        conn.execute_batch("BEGIN TRANSACTION")
            .map_err(ExplainError::new)?;
    }
    let result = explain_json(
        conn,
        &format!("EXPLAIN (ANALYZE, FORMAT JSON) {stmt}"),
        0,
        None,
    );
    if ours {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

/// Row counts and columns of the statement's tables, and the columns that lead an index (an
/// index, a primary key or a unique constraint).
fn tables(conn: &Connection, stmt: &str) -> (TableInfos, DuckdbIndexes) {
    let mut infos = TableInfos::new();
    let mut indexes = DuckdbIndexes::new();
    for t in sql::tables(stmt) {
        if infos.contains_key(&t.name) {
            continue;
        }
        let rows: Option<i64> = conn
            .query_row(
                "SELECT estimated_size FROM duckdb_tables() WHERE table_name = ? LIMIT 1",
                [&t.name],
                |r| r.get(0),
            )
            .ok();
        let columns: Vec<String> = conn
            .prepare(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            )
            .and_then(|mut s| {
                s.query_map([&t.name], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default();
        let mut leading: Vec<String> = conn
            .prepare("SELECT sql FROM duckdb_indexes() WHERE table_name = ?")
            .and_then(|mut s| {
                s.query_map([&t.name], |r| r.get::<_, Option<String>>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter_map(|sql| first_index_column(&sql))
            .collect();
        leading.extend(
            conn.prepare(
                "SELECT constraint_column_names[1] FROM duckdb_constraints() \
                 WHERE table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
            )
            .and_then(|mut s| {
                s.query_map([&t.name], |r| r.get::<_, Option<String>>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_default()
            .into_iter()
            .flatten(),
        );
        if !leading.is_empty() {
            indexes.insert(
                t.name.to_lowercase(),
                leading.iter().map(|c| c.to_lowercase()).collect(),
            );
        }
        #[allow(clippy::cast_precision_loss)]
        if rows.is_some() || !columns.is_empty() {
            infos.insert(
                t.name.clone(),
                TableInfo {
                    columns,
                    estimated_rows: rows.map(|r| r as f64),
                },
            );
        }
    }
    (infos, indexes)
}

/// `customer_id` from `CREATE INDEX i ON orders(customer_id, status);`.
fn first_index_column(create: &str) -> Option<String> {
    let inner = create.split_once('(')?.1;
    let first = inner.split([',', ')']).next()?.trim().trim_matches('"');
    (!first.is_empty()).then(|| first.to_owned())
}

impl ExplainPlan for Connection {
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError> {
        explain(self, sql, options)
    }
}

impl ExplainPlan for &Connection {
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError> {
        explain(self, sql, options)
    }
}

impl ExplainPlan for duckdb::Transaction<'_> {
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError> {
        explain(self, sql, options)
    }
}

impl ExplainPlan for &duckdb::Transaction<'_> {
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError> {
        explain(self, sql, options)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn index_columns_from_their_statement() {
        assert_eq!(
            super::first_index_column("CREATE INDEX i ON orders(customer_id, status);").as_deref(),
            Some("customer_id")
        );
        assert_eq!(super::first_index_column("nonsense"), None);
    }
}
