//! Queries: what `#[monitor_query(.., explain(..))]` learns beyond the call's own figures.
//!
//! - [`explain`]: capturing a plan from the connection a query ran on (the traits each client
//!   implements) and [`explain_site`]: when a site captures, the bounded store of its slowest
//!   plans, and the warning that carries the plan ([`events`] holds those events);
//! - [`plan`]: a plan read for the usual problems (full scans, temporary B-trees, filesorts) with
//!   the index that fixes them, for SQLite and PostgreSQL, and [`mysql_plan`] for MySQL's and
//!   MariaDB's `EXPLAIN FORMAT=JSON`; [`sql`]: the tables and columns a statement uses (its
//!   redaction lives one layer down, in `crate::redact`, because every failing call uses it);
//! - [`pg_stat`]: the server's own figures for a run, from `pg_stat_statements`;
//! - `sqlx_postgres`, `sqlx_sqlite`, `sqlx_mysql`: [`ExplainPlanAsync`](crate::ExplainPlanAsync)
//!   for sqlx 0.8 pools and [`ExplainPlanAsyncMut`](crate::ExplainPlanAsyncMut) for its
//!   connections, pool connections and transactions (features `sqlx-postgres`, `sqlx-sqlite`,
//!   `sqlx-mysql`), plus [`RowCount`](crate::RowCount) for their query results;
//! - `sqlx_pool`: how a capture borrows a connection from a pool without ever waiting on it for
//!   longer than [`POOL_WAIT`](crate::query::explain::POOL_WAIT).
//! - [`duckdb_plan`]: DuckDB's `EXPLAIN (FORMAT JSON)` and JSON profile read into a
//!   [`Plan`](crate::plan::Plan) (`Plan::from_duckdb_json`; always built); `duckdb`: the
//!   [`ExplainPlan`](crate::ExplainPlan) of `duckdb::Connection` (feature `duckdb`).
//! - `datafusion`: a DataFusion `DataFrame` run as a query site with its plans and metrics
//!   (feature `datafusion`; public as `crate::datafusion`).
//!
//! Nothing outside this folder names sqlx.
//!
//! May import: `base`, `config`, `site`, `redact`, `call`.

#[cfg(feature = "datafusion")]
pub mod datafusion;
#[cfg(feature = "duckdb")]
mod duckdb;
pub mod duckdb_plan;
pub(crate) mod events;
pub mod explain;
pub mod explain_site;
pub mod mysql_plan;
pub mod pg_stat;
pub mod plan;
pub mod sql;
#[cfg(feature = "sqlx-mysql")]
mod sqlx_mysql;
#[cfg(any(
    feature = "sqlx-postgres",
    feature = "sqlx-sqlite",
    feature = "sqlx-mysql"
))]
mod sqlx_pool;
#[cfg(feature = "sqlx-postgres")]
mod sqlx_postgres;
#[cfg(feature = "sqlx-sqlite")]
mod sqlx_sqlite;
