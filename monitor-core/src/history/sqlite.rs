//! A SQLite history store (feature `sqlite`): one row per run in table `monitor_runs`, the
//! record itself kept as the same JSON text the file store writes, so one parser reads both.
//! Several processes may write at once (WAL journal, a 10 s busy timeout).
//!
//! Fleet runs (see [`super::fleet`]) live in their own tables: `monitor_fleet_runs` (one row per
//! opened run) and `monitor_run_parts` (one row per worker's part). Every open creates what is
//! missing (`IF NOT EXISTS`), so a database written by an earlier version gains them on its first
//! open by this one, its runs untouched.

use super::line::encode_line;
use super::part::{encode_fleet_line, FleetEntry, FleetOpening, WorkerPart};
use super::record::RunRecord;
use super::retention::Retention;
use super::store::{
    decode_fleet_rows, decode_rows, load_part_rows, FleetRunLoad, HistoryError, HistoryStore,
    LoadedRuns, RetentionOutcome, RunFilter,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
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
CREATE INDEX IF NOT EXISTS monitor_runs_run_id ON monitor_runs (run_id);
CREATE TABLE IF NOT EXISTS monitor_fleet_runs (
    run_id        TEXT    PRIMARY KEY,
    pipeline      TEXT    NOT NULL,
    opened_at_ms  INTEGER NOT NULL,
    record        TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS monitor_run_parts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT    NOT NULL,
    pipeline      TEXT    NOT NULL,
    worker_id     TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    started_at_ms INTEGER NOT NULL,
    record        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_run_parts_run ON monitor_run_parts (run_id, worker_id, id);
CREATE INDEX IF NOT EXISTS monitor_run_parts_worker ON monitor_run_parts (pipeline, worker_id, id);
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
        // Fleet runs: the last `keep_runs` of each pipeline (by their first part), and the age.
        if let Some(n) = policy.keep_runs {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            tx.execute(
                "DELETE FROM monitor_run_parts WHERE run_id IN (
                    SELECT run_id FROM (
                        SELECT run_id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY first DESC) AS rn
                        FROM (SELECT run_id, pipeline, MIN(id) AS first
                              FROM monitor_run_parts GROUP BY run_id, pipeline))
                    WHERE rn > ?1)",
                params![n],
            )
            .map_err(err)?;
            tx.execute(
                "DELETE FROM monitor_fleet_runs WHERE run_id IN (
                    SELECT run_id FROM (
                        SELECT run_id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY opened_at_ms DESC) AS rn
                        FROM monitor_fleet_runs)
                    WHERE rn > ?1)",
                params![n],
            )
            .map_err(err)?;
        }
        if let Some(age) = policy.max_age {
            let cutoff = now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
            let cutoff = i64::try_from(cutoff).unwrap_or(i64::MAX);
            tx.execute(
                "DELETE FROM monitor_run_parts WHERE started_at_ms < ?1",
                params![cutoff],
            )
            .map_err(err)?;
            tx.execute(
                "DELETE FROM monitor_fleet_runs WHERE opened_at_ms < ?1",
                params![cutoff],
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

    fn open_fleet_run(&mut self, opening: &FleetOpening) -> Result<FleetOpening, HistoryError> {
        const ACTION: &str = "open a fleet run";
        let text = encode_fleet_line(&FleetEntry::Open(opening.clone()))
            .map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO monitor_fleet_runs (run_id, pipeline, opened_at_ms, record)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    opening.run_id,
                    opening.pipeline,
                    i64::try_from(opening.opened_at_ms).unwrap_or(i64::MAX),
                    text
                ],
            )
            .map_err(|e| self.err(ACTION, &e))?;
        Ok(self
            .opening(&opening.run_id, ACTION)?
            .unwrap_or_else(|| opening.clone()))
    }

    fn append_part(&mut self, part: &WorkerPart) -> Result<(), HistoryError> {
        const ACTION: &str = "append a worker's part";
        let text = encode_fleet_line(&FleetEntry::Part(Box::new(part.clone())))
            .map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        self.conn
            .execute(
                "INSERT INTO monitor_run_parts
                    (run_id, pipeline, worker_id, status, started_at_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    part.run_id,
                    part.pipeline,
                    part.worker_id,
                    part.status.as_str(),
                    i64::try_from(part.started_at_ms).unwrap_or(i64::MAX),
                    text
                ],
            )
            .map_err(|e| self.err(ACTION, &e))?;
        Ok(())
    }

    fn load_fleet_run(
        &mut self,
        run_id: &str,
        each: &mut dyn FnMut(WorkerPart),
    ) -> Result<FleetRunLoad, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let opening = self.opening(run_id, ACTION)?;
        // The latest part of each worker, read row by row.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, record FROM monitor_run_parts WHERE id IN (
                    SELECT MAX(id) FROM monitor_run_parts WHERE run_id = ?1 GROUP BY worker_id)
                 ORDER BY id",
            )
            .map_err(|e| self.err(ACTION, &e))?;
        let location = self.location();
        let rows = stmt
            .query_map(params![run_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| self.err(ACTION, &e))?;
        let mut out = FleetRunLoad {
            opening,
            ..FleetRunLoad::default()
        };
        // The first row that cannot be read ends the load with its error.
        let mut failed = None;
        let pairs = rows.map_while(|r| r.map_err(|e| failed = Some(e)).ok());
        load_part_rows(&location, pairs, &mut out, each);
        if let Some(e) = failed {
            return Err(HistoryError::other(location, ACTION, e));
        }
        Ok(out)
    }

    fn fleet_workers(&mut self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT worker_id FROM monitor_run_parts WHERE run_id = ?1
                 ORDER BY worker_id",
            )
            .map_err(|e| self.err(ACTION, &e))?;
        let workers = stmt
            .query_map(params![run_id], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(ACTION, &e))?;
        Ok(workers)
    }

    fn load_worker_parts(
        &mut self,
        pipeline: &str,
        worker_id: &str,
        last: usize,
    ) -> Result<Vec<WorkerPart>, HistoryError> {
        const ACTION: &str = "read a worker's history";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, record FROM monitor_run_parts
                 WHERE pipeline = ?1 AND worker_id = ?2 AND status = 'ok'
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(ACTION, &e))?;
        let mut rows: Vec<(i64, String)> = stmt
            .query_map(
                params![pipeline, worker_id, i64::try_from(last).unwrap_or(i64::MAX)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .and_then(Iterator::collect)
            .map_err(|e| self.err(ACTION, &e))?;
        drop(stmt);
        rows.reverse();
        let mut parts = Vec::new();
        decode_fleet_rows(&self.location(), rows, |e| {
            if let FleetEntry::Part(p) = e {
                parts.push(*p);
            }
        });
        Ok(parts)
    }

    fn append_run_once(&mut self, record: &RunRecord) -> Result<bool, HistoryError> {
        const ACTION: &str = "append a whole fleet run";
        let location = self.location();
        let err = |e: rusqlite::Error| HistoryError::other(location.clone(), ACTION, e);
        let text =
            encode_line(record).map_err(|e| HistoryError::other(location.clone(), ACTION, e))?;
        // IMMEDIATE: the write lock first, so two processes cannot both see "not there yet".
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let there: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM monitor_runs WHERE run_id = ?1)",
                params![record.run_id],
                |r| r.get(0),
            )
            .map_err(err)?;
        if there {
            return Ok(false);
        }
        tx.execute(
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
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }
}

impl SqliteStore {
    /// The opening of fleet run `run_id`, if it was opened.
    fn opening(
        &mut self,
        run_id: &str,
        action: &'static str,
    ) -> Result<Option<FleetOpening>, HistoryError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT rowid, record FROM monitor_fleet_runs WHERE run_id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(action, &e))?;
        let mut opening = None;
        if let Some(pair) = row {
            decode_fleet_rows(&self.location(), vec![pair], |e| {
                if let FleetEntry::Open(o) = e {
                    opening = Some(o);
                }
            });
        }
        Ok(opening)
    }
}
