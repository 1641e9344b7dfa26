//! MySQL and MariaDB through sqlx 0.8 (feature `sqlx-mysql`): `EXPLAIN FORMAT=JSON` on the
//! call's own connection or on one the pool lends, read by [`Plan::from_mysql_json`]
//! (`super::mysql_plan`).
//!
//! **Placeholders.** MySQL computes a plan for the values a statement runs with; there is no
//! generic plan. A statement with `?` placeholders is explained as a server-side prepared
//! `EXPLAIN FORMAT=JSON <statement>` with every placeholder bound to the empty string `''`
//! (`LIMIT`/`OFFSET` ones to `1`/`0`): a value that no column holds a secret in, that both servers
//! compare with numbers, strings and dates, and for which an index on an `=` or range column is
//! still chosen, while `NULL` would make the server answer "Impossible WHERE" instead of a plan.
//! The statement is prepared and closed for this one capture (`persistent(false)`), so nothing is
//! left on the connection. A server that cannot prepare an `EXPLAIN` (error 1295) skips the
//! capture with a reason (`ExplainError::skipped`).
//!
//! **`analyze`** runs MariaDB's `ANALYZE FORMAT=JSON` (which runs the statement) only for a
//! read-only statement without placeholders, on a connection that is in no transaction (neither
//! by sqlx's count nor by the server's `@@in_transaction`), inside `START TRANSACTION READ ONLY`
//! rolled back afterwards; otherwise, and on MySQL, the plain `EXPLAIN` is kept.
//!
//! An `EXPLAIN` the server refuses fails only that statement: MySQL and MariaDB do not abort the
//! caller's transaction on an error, so no savepoint is needed.

use crate::query::explain::{single_statement, ExplainError, ExplainOptions};
use crate::query::plan::{Plan, PlanSource, TableInfo, TableInfos};
use crate::query::sql::{self, Tok};
use sqlx::mysql::{MySql, MySqlConnection, MySqlDatabaseError, MySqlQueryResult, MySqlRow};
use sqlx::{Connection, Executor, Row};

/// MySQL's "This command is not supported in the prepared statement protocol yet".
const ER_UNSUPPORTED_PS: u16 = 1295;

/// A value bound to one placeholder of the explained statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    EmptyText,
    Int(i64),
}

/// The values for the `?` placeholders of `stmt`, in order.
fn params(stmt: &str) -> Vec<Param> {
    let toks = sql::tokenize(stmt);
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if !matches!(t, Tok::Param("?")) {
            continue;
        }
        let before = |n: usize| i.checked_sub(n).and_then(|j| toks.get(j));
        let p = if before(1).is_some_and(|t| t.is_kw("limit")) {
            // `LIMIT ?` or the offset of `LIMIT ?, ?`.
            if toks.get(i + 1).is_some_and(|t| t.is_punct(",")) {
                Param::Int(0)
            } else {
                Param::Int(1)
            }
        } else if before(1).is_some_and(|t| t.is_kw("offset")) {
            Param::Int(0)
        } else if before(1).is_some_and(|t| t.is_punct(","))
            && before(2).is_some_and(|t| matches!(t, Tok::Param("?")))
            && before(3).is_some_and(|t| t.is_kw("limit"))
        {
            Param::Int(1)
        } else {
            Param::EmptyText
        };
        out.push(p);
    }
    out
}

fn is_mariadb(version: &str) -> bool {
    version.to_ascii_lowercase().contains("mariadb")
}

/// Columns and row estimates of the statement's tables, in one parameterized query.
fn table_info_sql(n: usize) -> String {
    format!(
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, t.TABLE_ROWS \
         FROM information_schema.COLUMNS c \
         JOIN information_schema.TABLES t \
           ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
         WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME IN ({}) \
         ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        vec!["?"; n].join(", ")
    )
}

fn table_infos(rows: &[MySqlRow]) -> TableInfos {
    let mut infos = TableInfos::new();
    for r in rows {
        let (Ok(table), Ok(column)) = (
            r.try_get_unchecked::<String, _>(0),
            r.try_get_unchecked::<String, _>(1),
        ) else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let rows = r
            .try_get_unchecked::<Option<u64>, _>(2)
            .ok()
            .flatten()
            .map(|n| n as f64);
        let info = infos.entry(table).or_insert_with(|| TableInfo {
            columns: Vec::new(),
            estimated_rows: rows,
        });
        info.columns.push(column);
    }
    infos
}

/// The JSON document in the first column of the first row (`EXPLAIN` or `ANALYZE`).
fn plan_json(rows: &[MySqlRow]) -> Result<serde_json::Value, ExplainError> {
    let row = rows
        .first()
        .ok_or_else(|| ExplainError::new("EXPLAIN returned no plan"))?;
    let text: String = row.try_get_unchecked(0).map_err(ExplainError::new)?;
    serde_json::from_str(&text).map_err(ExplainError::new)
}

fn error(e: &sqlx::Error) -> ExplainError {
    if let sqlx::Error::Database(db) = e {
        if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
            if my.number() == ER_UNSUPPORTED_PS {
                return ExplainError::skipped(format_args!(
                    "this server cannot explain a statement with `?` placeholders ({})",
                    my.message()
                ));
            }
        }
    }
    ExplainError::new(e)
}

async fn explain(
    conn: &mut MySqlConnection,
    sql_text: &str,
    options: ExplainOptions,
) -> Result<Plan, ExplainError> {
    let stmt = single_statement(sql_text)?;
    // `Executor` methods return boxed futures: the capture's future stays `Send` for every
    // lifetime (sqlx's generic `Query::fetch_all` trips rustc's higher-ranked `Send` check).
    let version: String = conn
        .fetch_one(sqlx::raw_sql("SELECT VERSION()"))
        .await
        .and_then(|r| r.try_get_unchecked(0))
        .map_err(|e| error(&e))?;
    let source = if is_mariadb(&version) {
        PlanSource::Mariadb
    } else {
        PlanSource::Mysql
    };
    let params = params(stmt);
    let rows = if params.is_empty() {
        let analyze = options.analyze
            && source == PlanSource::Mariadb
            && sql::is_read_only(stmt)
            && !conn.is_in_transaction()
            && !server_in_transaction(conn).await;
        if analyze {
            let text = format!("ANALYZE FORMAT=JSON {stmt}");
            let mut tx = conn
                .begin_with("START TRANSACTION READ ONLY")
                .await
                .map_err(|e| error(&e))?;
            let rows = tx.fetch_all(sqlx::raw_sql(&text)).await;
            let _ = tx.rollback().await;
            rows
        } else {
            let text = format!("EXPLAIN FORMAT=JSON {stmt}");
            conn.fetch_all(sqlx::raw_sql(&text)).await
        }
    } else {
        let text = format!("EXPLAIN FORMAT=JSON {stmt}");
        let mut q = sqlx::query(&text).persistent(false);
        for p in &params {
            q = match *p {
                Param::EmptyText => q.bind(""),
                Param::Int(n) => q.bind(n),
            };
        }
        conn.fetch_all(q).await
    }
    .map_err(|e| error(&e))?;
    let json = plan_json(&rows)?;
    let mut names: Vec<String> = sql::tables(stmt)
        .into_iter()
        .map(|t| {
            // `db.table` names the table in another schema: its columns are looked up by name.
            t.name.rsplit('.').next().unwrap_or(&t.name).to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    let infos = if names.is_empty() {
        TableInfos::new()
    } else {
        let text = table_info_sql(names.len());
        let mut q = sqlx::query(&text).persistent(false);
        for n in &names {
            q = q.bind(n.as_str());
        }
        conn.fetch_all(q)
            .await
            .map(|rows| table_infos(&rows))
            .unwrap_or_default()
    };
    Ok(Plan::from_mysql_json(source, sql_text, &json, &infos))
}

/// MariaDB's own word on whether the connection is in a transaction (a `BEGIN` sent as plain SQL
/// is invisible to sqlx's count); unsure counts as yes.
async fn server_in_transaction(conn: &mut MySqlConnection) -> bool {
    match conn
        .fetch_one(sqlx::raw_sql("SELECT @@in_transaction"))
        .await
    {
        Ok(r) => r.try_get_unchecked::<i64, _>(0).map_or(true, |n| n != 0),
        Err(_) => true,
    }
}

super::sqlx_pool::sqlx_client!(MySql, MySqlConnection, MySqlQueryResult, explain);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_get_neutral_values() {
        assert_eq!(
            params("SELECT * FROM t WHERE a = ? AND b > ? LIMIT ?, ? "),
            [
                Param::EmptyText,
                Param::EmptyText,
                Param::Int(0),
                Param::Int(1)
            ]
        );
        assert_eq!(
            params("SELECT '?' FROM t WHERE a IN (?, ?) LIMIT ? OFFSET ? -- ?"),
            [
                Param::EmptyText,
                Param::EmptyText,
                Param::Int(1),
                Param::Int(0)
            ]
        );
        assert!(params("SELECT 1").is_empty());
        assert!(is_mariadb("10.11.19-MariaDB-0+deb12u1"));
        assert!(!is_mariadb("8.0.36"));
    }
}
