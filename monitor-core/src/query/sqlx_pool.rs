//! Borrowing a connection from a sqlx pool for a plan capture, without ever holding up the
//! pipeline that owns the pool.
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
