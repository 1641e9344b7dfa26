//! Query plans for more clients and databases, one file per database or client, each behind its
//! feature: what `#[monitor_query(.., explain(..))]` calls for them, and how their plans are read.
//!
//! - [`mysql_plan`]: MySQL's and MariaDB's `EXPLAIN FORMAT=JSON` read into a
//!   [`Plan`](crate::plan::Plan) (`Plan::from_mysql_json`; always built, like the SQLite and
//!   PostgreSQL analysis in `crate::plan`);
//! - `sqlx_postgres`, `sqlx_sqlite`, `sqlx_mysql`: [`ExplainPlanAsync`](crate::ExplainPlanAsync)
//!   for sqlx 0.8 pools and [`ExplainPlanAsyncMut`](crate::ExplainPlanAsyncMut) for its
//!   connections, pool connections and transactions (features `sqlx-postgres`, `sqlx-sqlite`,
//!   `sqlx-mysql`), plus [`RowCount`](crate::RowCount) for their query results;
//! - `sqlx_pool`: how a capture borrows a connection from a pool without ever waiting on it for
//!   longer than [`POOL_WAIT`](crate::explain::POOL_WAIT).
//!
//! May import `crate::explain`, `crate::plan`, `crate::sql` and `crate::rows`; nothing outside
//! this folder names sqlx.

pub mod mysql_plan;
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
