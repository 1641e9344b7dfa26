//! What every sqlx client shares: borrowing a connection from a pool for a plan capture without
//! ever holding up the pipeline that owns the pool ([`lend`]), and the trait impls around each
//! database's own `explain` ([`sqlx_client!`]).
//!
//! A call made through a pool (`fetch_all(pool)`) has given its connection back by the time the
//! plan is captured, so the capture asks the pool for one: an idle connection at once if there is
//! one, else whatever the pool can lend within [`POOL_WAIT`] (sqlx hands its connections back on a
//! spawned task, and waiters are served in turn, so the capture queues behind the pipeline's own
//! waiters and never ahead of them). A pool that lends nothing in time (all connections held,
//! closed, failing to connect) skips the capture with a reason: `ExplainError::skipped`, logged
//! once at `debug`.
//!
//! The timer is tokio's, which sqlx's own `Pool::acquire` already needs under tokio, so a pool
//! that could run the call can time the capture. Outside a tokio runtime (sqlx on async-std, whose
//! feature unifies with this crate's tokio one) there is no timer to wait with: only an idle
//! connection is taken, never a wait, and never tokio's "no reactor running" panic.

use crate::query::explain::{ExplainError, POOL_WAIT};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

/// A connection of `pool`, or why none was lent within [`POOL_WAIT`].
pub(crate) async fn lend<DB: Database>(
    pool: &Pool<DB>,
) -> Result<PoolConnection<DB>, ExplainError> {
    if let Some(conn) = pool.try_acquire() {
        return Ok(conn);
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(ExplainError::skipped_by_monitor(format!(
            "no idle connection in the pool (size {}), and no tokio runtime to wait for one with; \
             plan not captured",
            pool.size()
        )));
    }
    match tokio::time::timeout(POOL_WAIT, pool.acquire()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(ExplainError::skipped(format_args!(
            "the pool lent no connection for the plan: {e}"
        ))),
        Err(_) => Err(ExplainError::skipped_by_monitor(format!(
            "no free connection in the pool within {} ms (size {}, {} idle); plan not captured",
            POOL_WAIT.as_millis(),
            pool.size(),
            pool.num_idle()
        ))),
    }
}

/// The impls every sqlx database gets around its `explain(&mut Connection, sql, options)`: a
/// pool lends a connection for the capture ([`lend`]); a connection, a pool connection and a
/// transaction are explained on themselves; `rows` on `execute`'s result counts the rows it
/// changed.
macro_rules! sqlx_client {
    ($db:ty, $connection:ty, $query_result:ty, $explain:path) => {
        impl $crate::query::explain::ExplainPlanAsync for ::sqlx::Pool<$db> {
            fn explain_plan_async<'a>(
                &'a self,
                sql: &'a str,
                options: $crate::query::explain::ExplainOptions,
            ) -> $crate::query::explain::ExplainFuture<'a> {
                Box::pin(async move {
                    let mut conn = $crate::query::sqlx_pool::lend(self).await?;
                    $explain(&mut conn, sql, options).await
                })
            }
        }

        $crate::query::sqlx_pool::sqlx_client!(@on_itself $connection, $explain);
        $crate::query::sqlx_pool::sqlx_client!(@on_itself ::sqlx::pool::PoolConnection<$db>, $explain);
        $crate::query::sqlx_pool::sqlx_client!(@on_itself ::sqlx::Transaction<'_, $db>, $explain);

        /// `rows` on a query returning `execute`'s result counts the rows it changed.
        impl $crate::call::rows::RowCount for $query_result {
            fn row_count(&self) -> Option<u64> {
                Some(self.rows_affected())
            }
        }
    };
    (@on_itself $target:ty, $explain:path) => {
        impl $crate::query::explain::ExplainPlanAsyncMut for $target {
            fn explain_plan_async_mut<'a>(
                &'a mut self,
                sql: &'a str,
                options: $crate::query::explain::ExplainOptions,
            ) -> $crate::query::explain::ExplainFuture<'a> {
                Box::pin($explain(self, sql, options))
            }
        }
    };
}
pub(crate) use sqlx_client;
