//! Query plans for more clients and databases, one file per database or client, each behind its
//! feature: what `#[monitor_query(.., explain(..))]` calls for them, and how their plans are read.
//!
//! - [`mysql_plan`]: MySQL's and MariaDB's `EXPLAIN FORMAT=JSON` read into a
//!   [`Plan`](crate::query::plan::Plan) (`Plan::from_mysql_json`; always built, like the SQLite and
//!   PostgreSQL analysis in `crate::query::plan`);
//! - `sqlx_postgres`, `sqlx_sqlite`, `sqlx_mysql`: [`ExplainPlanAsync`](crate::ExplainPlanAsync)
//!   for sqlx 0.8 pools and [`ExplainPlanAsyncMut`](crate::ExplainPlanAsyncMut) for its
//!   connections, pool connections and transactions (features `sqlx-postgres`, `sqlx-sqlite`,
//!   `sqlx-mysql`), plus [`RowCount`](crate::RowCount) for their query results;
//! - `sqlx_pool`: how a capture borrows a connection from a pool without ever waiting on it for
//!   longer than [`POOL_WAIT`](crate::query::explain::POOL_WAIT).
//!
//! May import `crate::query::explain`, `crate::query::plan`, `crate::query::sql` and `crate::call::rows`; nothing outside
//! this folder names sqlx.

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
