//! A PostgreSQL history store (feature `postgres`), for pipelines that run on many machines:
//! one row per run in table `monitor_runs`, the record kept as `jsonb` (queryable in SQL) and
//! read back through the same parser as the file store.

use super::line::encode_line;
use super::record::RunRecord;
use super::retention::Retention;
use super::store::{
    decode_rows, postgres_location, HistoryError, HistoryStore, LoadedRuns, RetentionOutcome,
    RunFilter,
};
use postgres::{Client, NoTls};
use std::fmt;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS monitor_runs (
    id            BIGSERIAL PRIMARY KEY,
    run_id        TEXT   NOT NULL,
    pipeline      TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    started_at_ms BIGINT NOT NULL,
    record        JSONB  NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_runs_pipeline ON monitor_runs (pipeline, id);
";

/// An arbitrary key for the advisory lock that serialises schema creation between processes.
const SCHEMA_LOCK_KEY: i64 = 0x006d_6f6e_6974_6f72;

/// How long connecting may take before the store gives up (unless the URL sets its own).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A history kept in a PostgreSQL database.
pub struct PostgresStore {
    location: String,
    client: Client,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects (at most 5 s unless the URL sets `connect_timeout`) and creates the table if
    /// needed.
    ///
    /// # Errors
    /// A bad URL, an unreachable server, or no right to create the table. The message never
    /// shows the password.
    pub fn connect(url: &str) -> Result<PostgresStore, HistoryError> {
        let location = postgres_location(url);
        let fail = |e: &dyn fmt::Display| HistoryError::other(location.clone(), "connect", e);
        let mut config: postgres::Config = url.parse().map_err(|e| fail(&e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = config.connect(NoTls).map_err(|e| fail(&e))?;
        let mut tx = client.transaction().map_err(|e| fail(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK_KEY])
            .map_err(|e| fail(&e))?;
        tx.batch_execute(SCHEMA).map_err(|e| fail(&e))?;
        tx.commit().map_err(|e| fail(&e))?;
        Ok(PostgresStore { location, client })
    }

    fn err(&self, action: &'static str, e: &postgres::Error) -> HistoryError {
        HistoryError::other(self.location.clone(), action, e)
    }
}

impl HistoryStore for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn append(&mut self, record: &RunRecord) -> Result<(), HistoryError> {
        const ACTION: &str = "append a run";
        let text =
            encode_line(record).map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        let started = i64::try_from(record.started_at_ms).unwrap_or(i64::MAX);
        self.client
            .execute(
                "INSERT INTO monitor_runs (run_id, pipeline, status, started_at_ms, record)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb)",
                &[
                    &record.run_id,
                    &record.pipeline,
                    &record.status.as_str(),
                    &started,
                    &text,
                ],
            )
            .map_err(|e| self.err(ACTION, &e))?;
        Ok(())
    }

    fn load(&mut self, filter: &RunFilter) -> Result<LoadedRuns, HistoryError> {
        const ACTION: &str = "read the history";
        let limit: Option<i64> = filter.last.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = self
            .client
            .query(
                "SELECT id, record::text FROM monitor_runs
                 WHERE ($1::text IS NULL OR pipeline = $1) AND (NOT $2 OR status = 'ok')
                 ORDER BY id DESC LIMIT $3",
                &[&filter.pipeline, &filter.successful_only, &limit],
            )
            .map_err(|e| self.err(ACTION, &e))?;
        let mut pairs: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        pairs.reverse();
        Ok(decode_rows(&self.location, pairs))
    }

    fn retain(
        &mut self,
        policy: &Retention,
        now_ms: u64,
    ) -> Result<RetentionOutcome, HistoryError> {
        const ACTION: &str = "apply retention";
        let location = self.location.clone();
        let err = |e: postgres::Error| HistoryError::other(location.clone(), ACTION, e);
        let mut tx = self.client.transaction().map_err(err)?;
        let mut removed = 0u64;
        if let Some(n) = policy.keep_runs {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            removed += tx
                .execute(
                    "DELETE FROM monitor_runs WHERE id IN (
                        SELECT id FROM (
                            SELECT id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY id DESC) AS rn
                            FROM monitor_runs) ranked
                        WHERE rn > $1)",
                    &[&n],
                )
                .map_err(err)?;
        }
        if let Some(age) = policy.max_age {
            let cutoff = now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
            let cutoff = i64::try_from(cutoff).unwrap_or(i64::MAX);
            removed += tx
                .execute(
                    "DELETE FROM monitor_runs WHERE started_at_ms < $1",
                    &[&cutoff],
                )
                .map_err(err)?;
        }
        let kept: i64 = tx
            .query_one("SELECT COUNT(*) FROM monitor_runs", &[])
            .map_err(err)?
            .get(0);
        tx.commit().map_err(err)?;
        Ok(RetentionOutcome {
            kept: usize::try_from(kept).unwrap_or(0),
            removed: usize::try_from(removed).unwrap_or(usize::MAX),
            rejected: 0,
        })
    }
}
