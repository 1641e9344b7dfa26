//! Capturing a query's plan from the connection it ran on.
//!
//! [`ExplainPlan`] (sync, `&mut self`) and [`ExplainPlanAsync`] (async, `&self`) are what
//! `#[monitor_query("name", explain(conn = conn, sql = sql))]` calls after a call that should be
//! explained. Implementations ship behind features:
//!
//! | feature | type | statement |
//! |---|---|---|
//! | `sqlite` | `rusqlite::Connection`, `rusqlite::Transaction` (sync and async) | `EXPLAIN QUERY PLAN` |
//! | `postgres` | `postgres::Client` | `EXPLAIN (FORMAT JSON)` |
//! | `tokio-postgres` | `tokio_postgres::Client` | `EXPLAIN (FORMAT JSON)` |
//! | `sqlx-postgres` | `sqlx` `PgPool`, `PoolConnection<Postgres>`, `PgConnection`, `Transaction<Postgres>` | `EXPLAIN (FORMAT JSON)` |
//! | `sqlx-sqlite` | `sqlx` `SqlitePool`, `PoolConnection<Sqlite>`, `SqliteConnection`, `Transaction<Sqlite>` | `EXPLAIN QUERY PLAN` |
//! | `sqlx-mysql` | `sqlx` `MySqlPool`, `PoolConnection<MySql>`, `MySqlConnection`, `Transaction<MySql>` | `EXPLAIN FORMAT=JSON` (MySQL, MariaDB) |
//!
//! The `sqlx` implementations live in `crate::query` (one file per database). A pool lends a
//! connection for the capture only if one is free within [`POOL_WAIT`]; otherwise the capture is
//! skipped ([`ExplainError::is_skipped`]) with one `debug` event, and the pipeline never waits
//! longer than that.
//!
//! Explaining never changes what the user's call returned, and never leaves state behind on the
//! connection: PostgreSQL statements with `$n` parameters are explained as a *generic* plan
//! (`PREPARE` + `EXPLAIN EXECUTE` under `plan_cache_mode = force_generic_plan`, parameters bound
//! to `NULL`, so no value is needed and none is shown), all in one read-only implicit transaction
//! sent as one message, so a client shared between tasks sees nothing in between. `ANALYZE` (which
//! runs the statement again) is used only when asked, only for statements [`sql::is_read_only`]
//! accepts, only without parameters, and inside a `READ ONLY` transaction that the server enforces.
//! A statement holding more than one `;`-separated statement is never explained.

use crate::query::plan::Plan;
#[cfg(feature = "sqlite")]
use crate::query::plan::TableInfo;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "tokio-postgres"))]
use crate::query::plan::TableInfos;
use crate::query::sql;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The longest a capture waits for a pool (`&Pool<DB>` as `conn`) to lend it a connection; past
/// it the capture is skipped, so a pool the pipeline holds is never waited on for longer.
pub const POOL_WAIT: Duration = Duration::from_millis(50);

/// How to explain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplainOptions {
    /// PostgreSQL: `EXPLAIN ANALYZE` (runs the statement again, read-only statements only).
    pub analyze: bool,
}

/// Why a plan could not be captured. The text has its literals redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainError(String, bool);

impl ExplainError {
    /// An error with this message (literals in it are replaced by `?`).
    #[must_use]
    pub fn new(message: impl fmt::Display) -> Self {
        ExplainError(
            sql::truncate(
                &sql::redact_literals(&message.to_string()),
                sql::MAX_SQL_CHARS,
            ),
            false,
        )
    }

    /// A capture that was not attempted, for this reason (no free connection in the pool within
    /// [`POOL_WAIT`], a statement the server cannot explain with placeholders): logged at `debug`
    /// as `query plan capture skipped`, not counted as a failure.
    #[must_use]
    pub fn skipped(reason: impl fmt::Display) -> Self {
        ExplainError(ExplainError::new(reason).0, true)
    }

    /// A skipped capture whose reason `monitor` wrote itself from its own figures (no server
    /// text, no SQL), so its numbers are kept.
    #[cfg_attr(
        not(any(
            feature = "sqlx-postgres",
            feature = "sqlx-sqlite",
            feature = "sqlx-mysql"
        )),
        allow(dead_code)
    )]
    pub(crate) fn skipped_by_monitor(reason: String) -> Self {
        ExplainError(reason, true)
    }

    /// Whether the capture was skipped rather than refused (see [`ExplainError::skipped`]).
    #[must_use]
    pub fn is_skipped(&self) -> bool {
        self.1
    }
}

impl fmt::Display for ExplainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExplainError {}

/// A future returned by [`ExplainPlanAsync`].
pub type ExplainFuture<'a> = Pin<Box<dyn Future<Output = Result<Plan, ExplainError>> + Send + 'a>>;

/// A connection that can explain a statement, from synchronous code.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot capture query plans for `explain(conn = ..)`",
    label = "this connection type has no `monitor::ExplainPlan` implementation",
    note = "implemented for `rusqlite::Connection` (feature `sqlite`) and `postgres::Client` (feature `postgres`); in an `async fn`, `tokio_postgres::Client` (feature `tokio-postgres`)"
)]
pub trait ExplainPlan {
    /// Explains `sql` (as the user wrote it, placeholders and all) on this connection.
    ///
    /// # Errors
    /// When the database refuses the `EXPLAIN`; the caller logs it and carries on.
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError>;
}

impl<T: ExplainPlan + ?Sized> ExplainPlan for &mut T {
    fn explain_plan(&mut self, sql: &str, options: ExplainOptions) -> Result<Plan, ExplainError> {
        (**self).explain_plan(sql, options)
    }
}

/// A connection that can explain a statement, from an `async fn`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot capture query plans for `explain(conn = ..)` in an `async fn`",
    label = "this connection type has no `monitor::ExplainPlanAsync` implementation",
    note = "implemented for `tokio_postgres::Client` (feature `tokio-postgres`), `rusqlite::Connection` (feature `sqlite`) and sqlx 0.8's `PgPool`, `SqlitePool`, `MySqlPool` (features `sqlx-postgres`, `sqlx-sqlite`, `sqlx-mysql`); sqlx connections and transactions are taken as `&mut`"
)]
pub trait ExplainPlanAsync {
    /// Explains `sql` on this connection.
    fn explain_plan_async<'a>(&'a self, sql: &'a str, options: ExplainOptions)
        -> ExplainFuture<'a>;
}

/// A connection that explains through `&mut self` from an `async fn`: what `explain(conn = c)`
/// needs when `c` is a `&mut` reference there (`sqlx` connections, pool connections and
/// transactions, which run statements only through `&mut`). Every [`ExplainPlanAsync`] type is
/// one too.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot capture query plans for `explain(conn = ..)` in an `async fn`",
    label = "this connection type has no `monitor::ExplainPlanAsyncMut` implementation",
    note = "implemented for sqlx 0.8's `PgConnection`, `SqliteConnection`, `MySqlConnection`, `PoolConnection<DB>` and `Transaction<DB>` (features `sqlx-postgres`, `sqlx-sqlite`, `sqlx-mysql`), and every `ExplainPlanAsync` type (`tokio_postgres::Client`, `rusqlite::Connection`)"
)]
pub trait ExplainPlanAsyncMut {
    /// Explains `sql` on this connection.
    fn explain_plan_async_mut<'a>(
        &'a mut self,
        sql: &'a str,
        options: ExplainOptions,
    ) -> ExplainFuture<'a>;
}

impl<T: ExplainPlanAsync + ?Sized> ExplainPlanAsyncMut for T {
    fn explain_plan_async_mut<'a>(
        &'a mut self,
        sql: &'a str,
        options: ExplainOptions,
    ) -> ExplainFuture<'a> {
        self.explain_plan_async(sql, options)
    }
}

/// The statement without trailing semicolons, or an error if it holds several statements.
#[cfg_attr(
    not(any(
        feature = "sqlite",
        feature = "postgres",
        feature = "tokio-postgres",
        feature = "sqlx-postgres",
        feature = "sqlx-sqlite",
        feature = "sqlx-mysql"
    )),
    allow(dead_code)
)]
pub(crate) fn single_statement(sql: &str) -> Result<&str, ExplainError> {
    let trimmed = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    if sql::tokenize(trimmed).iter().any(|t| t.is_punct(";")) {
        return Err(ExplainError::new(
            "the SQL holds more than one statement; only a single statement is explained",
        ));
    }
    if trimmed.is_empty() {
        return Err(ExplainError::new("the SQL is empty"));
    }
    Ok(trimmed)
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::query::plan::SqlitePlanRow;

    pub(super) fn explain(
        conn: &rusqlite::Connection,
        sql_text: &str,
    ) -> Result<Plan, ExplainError> {
        let stmt_sql = single_statement(sql_text)?;
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {stmt_sql}"))
            .map_err(ExplainError::new)?;
        // `raw_query` does not insist on bound parameters: unbound ones are NULL, which is all
        // EXPLAIN QUERY PLAN needs.
        let mut rows = stmt.raw_query();
        let mut plan_rows = Vec::new();
        while let Some(r) = rows.next().map_err(ExplainError::new)? {
            plan_rows.push(SqlitePlanRow {
                id: r.get(0).map_err(ExplainError::new)?,
                parent: r.get(1).map_err(ExplainError::new)?,
                detail: r.get(3).map_err(ExplainError::new)?,
            });
        }
        drop(rows);
        let mut infos = TableInfos::new();
        for t in sql::tables(stmt_sql) {
            if infos.contains_key(&t.name) {
                continue;
            }
            let columns = table_columns(conn, &t.name).unwrap_or_default();
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

    fn table_columns(conn: &rusqlite::Connection, table: &str) -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let cols = stmt
            .query_map([table], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(cols)
    }

    impl ExplainPlan for rusqlite::Connection {
        fn explain_plan(&mut self, sql: &str, _: ExplainOptions) -> Result<Plan, ExplainError> {
            explain(self, sql)
        }
    }

    impl ExplainPlan for &rusqlite::Connection {
        fn explain_plan(&mut self, sql: &str, _: ExplainOptions) -> Result<Plan, ExplainError> {
            explain(self, sql)
        }
    }

    impl ExplainPlan for rusqlite::Transaction<'_> {
        fn explain_plan(&mut self, sql: &str, _: ExplainOptions) -> Result<Plan, ExplainError> {
            explain(self, sql)
        }
    }

    impl ExplainPlan for &rusqlite::Transaction<'_> {
        fn explain_plan(&mut self, sql: &str, _: ExplainOptions) -> Result<Plan, ExplainError> {
            explain(self, sql)
        }
    }

    impl ExplainPlanAsync for rusqlite::Connection {
        fn explain_plan_async<'a>(&'a self, sql: &'a str, _: ExplainOptions) -> ExplainFuture<'a> {
            // SQLite answers in process: explain now, hand back a ready future.
            let plan = explain(self, sql);
            Box::pin(std::future::ready(plan))
        }
    }
}

#[cfg(any(
    feature = "postgres",
    feature = "tokio-postgres",
    feature = "sqlx-postgres"
))]
pub(crate) mod pg {
    //! What the PostgreSQL clients share: the script, reading its answer, and the table lookup.
    //! Each client only sends them (`sqlx` too, from `crate::query::sqlx_postgres`).
    use super::*;
    use crate::query::plan::TableInfo;
    use std::sync::atomic::{AtomicU64, Ordering};
    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    use tokio_postgres::SimpleQueryMessage;

    static NEXT_NAME: AtomicU64 = AtomicU64::new(0);

    /// The server's message (its `Display` says only "db error"); never the `DETAIL`, which can
    /// quote row values.
    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    pub(super) fn error(e: &tokio_postgres::Error) -> ExplainError {
        match e.as_db_error() {
            Some(db) => ExplainError::new(format_args!("{}: {}", db.severity(), db.message())),
            None => ExplainError::new(e),
        }
    }

    /// The statements sent as one simple-protocol message, and the cleanup to send on failure.
    pub(crate) struct Script {
        pub(crate) text: String,
        pub(crate) cleanup: Option<String>,
    }

    pub(crate) fn script(sql_text: &str, options: ExplainOptions) -> Result<Script, ExplainError> {
        let stmt = single_statement(sql_text)?;
        let params = sql::dollar_param_count(stmt);
        if params == 0 {
            let analyze = options.analyze && sql::is_read_only(stmt);
            let text = if analyze {
                format!("SET TRANSACTION READ ONLY; EXPLAIN (ANALYZE, FORMAT JSON) {stmt}")
            } else {
                format!("SET TRANSACTION READ ONLY; EXPLAIN (FORMAT JSON) {stmt}")
            };
            return Ok(Script {
                text,
                cleanup: None,
            });
        }
        let name = format!(
            "__monitor_explain_{}_{}",
            std::process::id(),
            NEXT_NAME.fetch_add(1, Ordering::Relaxed)
        );
        let nulls = vec!["NULL"; params].join(", ");
        Ok(Script {
            // The line break ends a trailing `-- comment` of the statement, which would otherwise
            // swallow the rest of the script.
            text: format!(
                "SET TRANSACTION READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan; \
                 PREPARE {name} AS {stmt}\n; EXPLAIN (FORMAT JSON) EXECUTE {name}({nulls}); \
                 DEALLOCATE {name}"
            ),
            // A failed message rolls back its implicit transaction but not PREPARE.
            cleanup: Some(format!("DEALLOCATE {name}")),
        })
    }

    /// The JSON document in the `QUERY PLAN` row.
    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    pub(super) fn plan_json(
        messages: &[SimpleQueryMessage],
    ) -> Result<serde_json::Value, ExplainError> {
        for m in messages {
            if let SimpleQueryMessage::Row(row) = m {
                if row
                    .columns()
                    .first()
                    .is_some_and(|c| c.name() == "QUERY PLAN")
                {
                    let text = row.get(0).unwrap_or("");
                    return serde_json::from_str(text).map_err(ExplainError::new);
                }
            }
        }
        Err(ExplainError::new("EXPLAIN returned no plan"))
    }

    /// Relation names the plan reads.
    pub(crate) fn relations(json: &serde_json::Value) -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::String(r)) = o.get("Relation Name") {
                        if !out.contains(r) {
                            out.push(r.clone());
                        }
                    }
                    o.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(json, &mut out);
        out
    }

    /// Columns and row estimates of the relations, with one parameterized catalog query.
    pub(crate) const TABLE_INFO_SQL: &str = "SELECT c.relname::text, c.reltuples::float8, \
         coalesce(string_agg(a.attname::text, ',' ORDER BY a.attnum), '') \
         FROM pg_catalog.pg_class c \
         LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p', 'm') AND pg_catalog.pg_table_is_visible(c.oid) \
         GROUP BY c.relname, c.reltuples";

    /// One row of [`TABLE_INFO_SQL`]: the columns joined by `,` and `reltuples`, where -1 means
    /// "never analysed" (PostgreSQL 14+).
    pub(crate) fn table_info(columns: &str, reltuples: f64) -> TableInfo {
        TableInfo {
            columns: columns
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            estimated_rows: (reltuples >= 0.0).then_some(reltuples),
        }
    }

    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    pub(super) fn table_infos(rows: &[tokio_postgres::Row]) -> TableInfos {
        let mut infos = TableInfos::new();
        for r in rows {
            let (Ok(name), Ok(est), Ok(cols)) = (
                r.try_get::<_, String>(0),
                r.try_get::<_, f64>(1),
                r.try_get::<_, String>(2),
            ) else {
                continue;
            };
            infos.insert(name, table_info(&cols, est));
        }
        infos
    }
}

#[cfg(feature = "postgres")]
impl ExplainPlan for postgres::Client {
    fn explain_plan(
        &mut self,
        sql_text: &str,
        options: ExplainOptions,
    ) -> Result<Plan, ExplainError> {
        let script = pg::script(sql_text, options)?;
        let messages = match self.simple_query(&script.text) {
            Ok(m) => m,
            Err(e) => {
                if let Some(c) = &script.cleanup {
                    let _ = self.simple_query(c);
                }
                return Err(pg::error(&e));
            }
        };
        let json = pg::plan_json(&messages)?;
        let names = pg::relations(&json);
        let rows = self
            .query(pg::TABLE_INFO_SQL, &[&names])
            .unwrap_or_default();
        Ok(Plan::from_postgres_json(
            sql_text,
            &json,
            &pg::table_infos(&rows),
        ))
    }
}

#[cfg(feature = "tokio-postgres")]
impl ExplainPlanAsync for tokio_postgres::Client {
    fn explain_plan_async<'a>(
        &'a self,
        sql_text: &'a str,
        options: ExplainOptions,
    ) -> ExplainFuture<'a> {
        Box::pin(async move {
            let script = pg::script(sql_text, options)?;
            let messages = match self.simple_query(&script.text).await {
                Ok(m) => m,
                Err(e) => {
                    if let Some(c) = &script.cleanup {
                        let _ = self.simple_query(c).await;
                    }
                    return Err(pg::error(&e));
                }
            };
            let json = pg::plan_json(&messages)?;
            let names = pg::relations(&json);
            let rows = self
                .query(pg::TABLE_INFO_SQL, &[&names])
                .await
                .unwrap_or_default();
            Ok(Plan::from_postgres_json(
                sql_text,
                &json,
                &pg::table_infos(&rows),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_statements_are_refused() {
        assert!(single_statement("select 1; delete from t").is_err());
        assert_eq!(single_statement(" select ';' ;; ").unwrap(), "select ';'");
        assert!(single_statement(" ; ").is_err());
    }

    #[cfg(any(
        feature = "postgres",
        feature = "tokio-postgres",
        feature = "sqlx-postgres"
    ))]
    #[test]
    fn a_trailing_line_comment_does_not_swallow_the_script() {
        let s = pg::script(
            "select * from t where a = $1 -- note",
            ExplainOptions::default(),
        )
        .unwrap();
        let after = s.text.split("-- note").nth(1).unwrap();
        assert!(after.starts_with('\n'), "{}", s.text);
        assert!(
            after.contains("EXPLAIN (FORMAT JSON) EXECUTE"),
            "{}",
            s.text
        );
    }

    #[test]
    fn errors_are_redacted() {
        let e = ExplainError::new("syntax error at or near \"'4111-1111'\"");
        assert!(!e.to_string().contains("4111"), "{e}");
    }
}
