//! A SQLite history store (feature `sqlite`): one row per run in table `monitor_runs`, the
//! record itself kept as the same JSON text the file store writes, so one parser reads both.
//! Several processes may write at once (WAL journal, a 10 s busy timeout).

use super::line::encode_line;
use super::record::RunRecord;
use super::retention::Retention;
use super::store::{
    decode_rows, HistoryError, HistoryStore, LoadedRuns, RetentionOutcome, RunFilter,
};
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS monitor_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT    NOT NULL,
    pipeline      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    started_at_ms INTEGER NOT NULL,
    record        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_runs_pipeline ON monitor_runs (pipeline, id);
";

/// A history kept in a SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the database at `path`. A symbolic link
    /// in the file's place is refused, and so is anything that is not a regular file (a FIFO, a
    /// device, a directory), without blocking.
    ///
    /// # Errors
    /// The file cannot be created or is not a SQLite database.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, HistoryError> {
        let path = path.as_ref().to_path_buf();
        let location = format!("SQLite history {}", path.display());
        let fail =
            |e: &dyn std::fmt::Display| HistoryError::other(location.clone(), "open the store", e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| HistoryError::io(location.clone(), "open the store", &e))?;
        }
        // SQLite would open a FIFO or a device and fail with a bare "disk I/O error" (or wait on
        // it): refuse anything but a regular file first, without blocking.
        super::safe_file::refuse_if_not_regular(&path)
            .map_err(|e| HistoryError::io(location.clone(), "open the store", &e))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| fail(&e))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| fail(&e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(&e))?;
        Ok(SqliteStore { path, conn })
    }

    fn err(&self, action: &'static str, e: &rusqlite::Error) -> HistoryError {
        HistoryError::other(self.location(), action, e)
    }
}

impl HistoryStore for SqliteStore {
    fn location(&self) -> String {
        format!("SQLite history {}", self.path.display())
    }

    fn append(&mut self, record: &RunRecord) -> Result<(), HistoryError> {
        const ACTION: &str = "append a run";
        let text =
            encode_line(record).map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        self.conn
            .execute(
                "INSERT INTO monitor_runs (run_id, pipeline, status, started_at_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    record.run_id,
                    record.pipeline,
                    record.status.as_str(),
                    i64::try_from(record.started_at_ms).unwrap_or(i64::MAX),
                    text
                ],
            )
            .map_err(|e| self.err(ACTION, &e))?;
        Ok(())
    }

    fn load(&mut self, filter: &RunFilter) -> Result<LoadedRuns, HistoryError> {
        const ACTION: &str = "read the history";
        let limit = filter
            .last
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, record FROM monitor_runs
                 WHERE (?1 IS NULL OR pipeline = ?1) AND (?2 = 0 OR status = 'ok')
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(ACTION, &e))?;
        let mut rows: Vec<(i64, String)> = stmt
            .query_map(
                params![filter.pipeline, i64::from(filter.successful_only), limit],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .and_then(Iterator::collect)
            .map_err(|e| self.err(ACTION, &e))?;
        drop(stmt);
        rows.reverse();
        Ok(decode_rows(&self.location(), rows))
    }

    fn retain(
        &mut self,
        policy: &Retention,
        now_ms: u64,
    ) -> Result<RetentionOutcome, HistoryError> {
        const ACTION: &str = "apply retention";
        let location = self.location();
        let err = |e: rusqlite::Error| HistoryError::other(location.clone(), ACTION, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut removed = 0usize;
        if let Some(n) = policy.keep_runs {
            removed += tx
                .execute(
                    "DELETE FROM monitor_runs WHERE id IN (
                        SELECT id FROM (
                            SELECT id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY id DESC) AS rn
                            FROM monitor_runs)
                        WHERE rn > ?1)",
                    params![i64::try_from(n).unwrap_or(i64::MAX)],
                )
                .map_err(err)?;
        }
        if let Some(age) = policy.max_age {
            let cutoff = now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
            removed += tx
                .execute(
                    "DELETE FROM monitor_runs WHERE started_at_ms < ?1",
                    params![i64::try_from(cutoff).unwrap_or(i64::MAX)],
                )
                .map_err(err)?;
        }
        let kept: i64 = tx
            .query_row("SELECT COUNT(*) FROM monitor_runs", [], |r| r.get(0))
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(RetentionOutcome {
            kept: usize::try_from(kept).unwrap_or(0),
            removed,
            rejected: 0,
        })
    }
}
