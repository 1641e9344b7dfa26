//! A PostgreSQL history store (feature `postgres`), for pipelines that run on many machines:
//! one row per run in table `monitor_runs`, the record kept as `jsonb` (queryable in SQL) and
//! read back through the same parser as the file store.
//!
//! **Deadlines.** A server that accepts the connection and then stops answering (stopped,
//! swapped out, behind a dead link) must not hold the pipeline, nor must another session's lock
//! on the table. So:
//!
//! - the whole connect (TCP, startup, authentication) gets [`CONNECT_TIMEOUT`], or the URL's
//!   `connect_timeout` (seconds) when it sets one;
//! - each store operation (preparing the table, reading, appending, applying retention) gets
//!   [`OPERATION_TIMEOUT`] on the client, and the session sets `statement_timeout` to the same
//!   and `lock_timeout` to [`LOCK_TIMEOUT`], so the server gives up too;
//! - after a deadline, a timeout or a lost connection the store gives up: its connection is
//!   closed and later operations fail at once, saying why, instead of waiting again.
//!
//! **Fleet runs** (see [`super::fleet`]) live in tables `monitor_fleet_runs` (one row per opened
//! run) and `monitor_run_parts` (one row per worker's part, the report as `jsonb`). A database
//! set up by an earlier version lacks them: the first connection of this one notices and creates
//! them (with an index on `monitor_runs (run_id)`) under the same advisory lock, its runs
//! untouched.
//!
//! The client is `tokio-postgres` driven on the store's own current-thread runtime (from a
//! helper thread when called inside another tokio runtime), which is what lets an operation be
//! abandoned at its deadline with its socket closed.

use super::line::encode_line;
use super::part::{encode_fleet_line, FleetEntry, FleetOpening, WorkerPart};
use super::record::RunRecord;
use super::retention::Retention;
use super::store::{
    decode_fleet_rows, decode_rows, load_part_rows, postgres_location, run_lock_key, FleetRunLoad,
    HistoryError, HistoryStore, LoadedRuns, RetentionOutcome, RunFilter,
};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

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
CREATE INDEX IF NOT EXISTS monitor_runs_run_id ON monitor_runs (run_id);
CREATE TABLE IF NOT EXISTS monitor_fleet_runs (
    run_id        TEXT   PRIMARY KEY,
    pipeline      TEXT   NOT NULL,
    opened_at_ms  BIGINT NOT NULL,
    record        JSONB  NOT NULL
);
CREATE TABLE IF NOT EXISTS monitor_run_parts (
    id            BIGSERIAL PRIMARY KEY,
    run_id        TEXT   NOT NULL,
    pipeline      TEXT   NOT NULL,
    worker_id     TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    started_at_ms BIGINT NOT NULL,
    record        JSONB  NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_run_parts_run ON monitor_run_parts (run_id, worker_id, id);
CREATE INDEX IF NOT EXISTS monitor_run_parts_worker ON monitor_run_parts (pipeline, worker_id, id);
";

/// An arbitrary key for the advisory lock that serialises schema creation between processes.
const SCHEMA_LOCK_KEY: i64 = 0x006d_6f6e_6974_6f72;

/// How long the whole connect (TCP, startup, authentication) may take, unless the URL sets
/// `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one store operation may take (client deadline, and the session's
/// `statement_timeout`).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a statement waits for a lock another session holds (the session's `lock_timeout`).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// A history kept in a PostgreSQL database.
pub struct PostgresStore {
    location: String,
    /// The password, to scrub from error texts (belt and braces: none is known to quote it).
    password: Option<Vec<u8>>,
    /// The connection, or why the store gave up on it.
    session: Result<Session, String>,
}

/// A live connection and the runtime that drives it.
struct Session {
    runtime: OwnRuntime,
    client: Client,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("gave_up", &self.session.as_ref().err())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects (the whole connect bounded by [`CONNECT_TIMEOUT`], or the URL's
    /// `connect_timeout`) and creates the table if needed.
    ///
    /// # Errors
    /// A bad URL, an unreachable or silent server, failed authentication, or no right to create
    /// the table; the message carries the cause (`Connection refused`, the deadline, the
    /// server's `password authentication failed ...`) and never the password.
    pub fn connect(url: &str) -> Result<PostgresStore, HistoryError> {
        const ACTION: &str = "connect";
        let location = postgres_location(url);
        let fail = |reason: String| HistoryError::other(location.clone(), ACTION, reason);
        let mut config: Config = url.parse().map_err(|e| fail(describe(&e, None)))?;
        let password = config.get_password().map(<[u8]>::to_vec);
        let connect_timeout = if let Some(t) = config.get_connect_timeout() {
            *t
        } else {
            config.connect_timeout(CONNECT_TIMEOUT);
            CONNECT_TIMEOUT
        };
        let runtime = OwnRuntime::new().map_err(|e| fail(e.to_string()))?;
        let connected = runtime.run(connect_timeout, async move { config.connect(NoTls).await });
        let (client, connection) = match connected {
            Some(Ok(pair)) => pair,
            Some(Err(e)) => return Err(fail(describe(&e, password.as_deref()))),
            None => return Err(fail(no_answer(connect_timeout))),
        };
        // The connection task ends when the client is dropped or the socket closes; its error,
        // if any, reaches the next operation.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        let mut store = PostgresStore {
            location,
            password,
            session: Ok(Session { runtime, client }),
        };
        store.prepare()?;
        Ok(store)
    }

    /// Sets the session's timeouts and creates the table if it is missing. When it exists, no
    /// lock is taken on it (a `CREATE INDEX IF NOT EXISTS` would wait for every writer).
    fn prepare(&mut self) -> Result<(), HistoryError> {
        const ACTION: &str = "set up table monitor_runs";
        let settings = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}",
            OPERATION_TIMEOUT.as_millis(),
            LOCK_TIMEOUT.as_millis()
        );
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client.batch_execute(&settings).await?;
            let ready: bool = client
                .query_one(
                    "SELECT to_regclass('monitor_runs') IS NOT NULL
                        AND to_regclass('monitor_runs_pipeline') IS NOT NULL
                        AND to_regclass('monitor_runs_run_id') IS NOT NULL
                        AND to_regclass('monitor_fleet_runs') IS NOT NULL
                        AND to_regclass('monitor_run_parts_run') IS NOT NULL
                        AND to_regclass('monitor_run_parts_worker') IS NOT NULL",
                    &[],
                )
                .await?
                .get(0);
            if !ready {
                let tx = client.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK_KEY])
                    .await?;
                tx.batch_execute(SCHEMA).await?;
                tx.commit().await?;
            }
            Ok(())
        });
        self.settle(ACTION, outcome)
    }

    /// The live session, or the error saying why the store gave up earlier.
    fn session(&mut self, action: &'static str) -> Result<&mut Session, HistoryError> {
        match &mut self.session {
            Ok(s) => Ok(s),
            Err(why) => Err(HistoryError::other(
                self.location.clone(),
                action,
                format!("not tried: the store already failed to {why}"),
            )),
        }
    }

    /// Turns an operation's outcome into the store's result. A missed deadline, a server-side
    /// timeout or a lost connection closes the session for good.
    fn settle<T>(
        &mut self,
        action: &'static str,
        outcome: Option<Result<T, tokio_postgres::Error>>,
    ) -> Result<T, HistoryError> {
        let (reason, give_up) = match outcome {
            Some(Ok(v)) => return Ok(v),
            Some(Err(e)) => (describe(&e, self.password.as_deref()), gives_up(&e)),
            None => (no_answer(OPERATION_TIMEOUT), true),
        };
        if give_up {
            // Dropping the session shuts its runtime down, which closes the socket.
            self.session = Err(format!("{action}: {reason}"));
        }
        Err(HistoryError::other(self.location.clone(), action, reason))
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
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client
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
                .await
        });
        self.settle(ACTION, outcome).map(drop)
    }

    fn load(&mut self, filter: &RunFilter) -> Result<LoadedRuns, HistoryError> {
        const ACTION: &str = "read the history";
        let limit: Option<i64> = filter.last.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client
                .query(
                    "SELECT id, record::text FROM monitor_runs
                     WHERE ($1::text IS NULL OR pipeline = $1) AND (NOT $2 OR status = 'ok')
                     ORDER BY id DESC LIMIT $3",
                    &[&filter.pipeline, &filter.successful_only, &limit],
                )
                .await
        });
        let rows = self.settle(ACTION, outcome)?;
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
        let keep_runs = policy
            .keep_runs
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let cutoff = policy.max_age.map(|age| {
            let c = now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
            i64::try_from(c).unwrap_or(i64::MAX)
        });
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            let tx = client.transaction().await?;
            let mut removed = 0u64;
            if let Some(n) = keep_runs {
                removed += tx
                    .execute(
                        "DELETE FROM monitor_runs WHERE id IN (
                            SELECT id FROM (
                                SELECT id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY id DESC) AS rn
                                FROM monitor_runs) ranked
                            WHERE rn > $1)",
                        &[&n],
                    )
                    .await?;
            }
            if let Some(cutoff) = cutoff {
                removed += tx
                    .execute(
                        "DELETE FROM monitor_runs WHERE started_at_ms < $1",
                        &[&cutoff],
                    )
                    .await?;
            }
            // Fleet runs: the last `keep_runs` of each pipeline (by their first part), and the age.
            if let Some(n) = keep_runs {
                tx.execute(
                    "DELETE FROM monitor_run_parts WHERE run_id IN (
                        SELECT run_id FROM (
                            SELECT run_id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY first DESC) AS rn
                            FROM (SELECT run_id, pipeline, MIN(id) AS first
                                  FROM monitor_run_parts GROUP BY run_id, pipeline) firsts) ranked
                        WHERE rn > $1)",
                    &[&n],
                )
                .await?;
                tx.execute(
                    "DELETE FROM monitor_fleet_runs WHERE run_id IN (
                        SELECT run_id FROM (
                            SELECT run_id, ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY opened_at_ms DESC) AS rn
                            FROM monitor_fleet_runs) ranked
                        WHERE rn > $1)",
                    &[&n],
                )
                .await?;
            }
            if let Some(cutoff) = cutoff {
                tx.execute(
                    "DELETE FROM monitor_run_parts WHERE started_at_ms < $1",
                    &[&cutoff],
                )
                .await?;
                tx.execute(
                    "DELETE FROM monitor_fleet_runs WHERE opened_at_ms < $1",
                    &[&cutoff],
                )
                .await?;
            }
            let kept: i64 = tx
                .query_one("SELECT COUNT(*) FROM monitor_runs", &[])
                .await?
                .get(0);
            tx.commit().await?;
            Ok((kept, removed))
        });
        let (kept, removed) = self.settle(ACTION, outcome)?;
        Ok(RetentionOutcome {
            kept: usize::try_from(kept).unwrap_or(0),
            removed: usize::try_from(removed).unwrap_or(usize::MAX),
            rejected: 0,
        })
    }

    fn open_fleet_run(&mut self, opening: &FleetOpening) -> Result<FleetOpening, HistoryError> {
        const ACTION: &str = "open a fleet run";
        let text = encode_fleet_line(&FleetEntry::Open(opening.clone()))
            .map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        let opened_at = i64::try_from(opening.opened_at_ms).unwrap_or(i64::MAX);
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            // The first opening stays, whoever else tries.
            client
                .execute(
                    "INSERT INTO monitor_fleet_runs (run_id, pipeline, opened_at_ms, record)
                     VALUES ($1, $2, $3, $4::text::jsonb) ON CONFLICT (run_id) DO NOTHING",
                    &[&opening.run_id, &opening.pipeline, &opened_at, &text],
                )
                .await?;
            client
                .query(
                    "SELECT 0::bigint, record::text FROM monitor_fleet_runs WHERE run_id = $1",
                    &[&opening.run_id],
                )
                .await
        });
        let rows = self.settle(ACTION, outcome)?;
        let mut in_force = None;
        let pairs: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        decode_fleet_rows(&self.location, pairs, |e| {
            if let FleetEntry::Open(o) = e {
                in_force = Some(o);
            }
        });
        Ok(in_force.unwrap_or_else(|| opening.clone()))
    }

    fn append_part(&mut self, part: &WorkerPart) -> Result<(), HistoryError> {
        const ACTION: &str = "append a worker's part";
        let text = encode_fleet_line(&FleetEntry::Part(Box::new(part.clone())))
            .map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        let started = i64::try_from(part.started_at_ms).unwrap_or(i64::MAX);
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client
                .execute(
                    "INSERT INTO monitor_run_parts
                        (run_id, pipeline, worker_id, status, started_at_ms, record)
                     VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
                    &[
                        &part.run_id,
                        &part.pipeline,
                        &part.worker_id,
                        &part.status.as_str(),
                        &started,
                        &text,
                    ],
                )
                .await
        });
        self.settle(ACTION, outcome).map(drop)
    }

    fn load_fleet_run(
        &mut self,
        run_id: &str,
        each: &mut dyn FnMut(WorkerPart),
    ) -> Result<FleetRunLoad, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            let opening = client
                .query(
                    "SELECT 0::bigint, record::text FROM monitor_fleet_runs WHERE run_id = $1",
                    &[&run_id],
                )
                .await?;
            // The latest part of each worker.
            let parts = client
                .query(
                    "SELECT DISTINCT ON (worker_id) id, record::text FROM monitor_run_parts
                     WHERE run_id = $1 ORDER BY worker_id, id DESC",
                    &[&run_id],
                )
                .await?;
            Ok((opening, parts))
        });
        let (opening, parts) = self.settle(ACTION, outcome)?;
        let mut out = FleetRunLoad::default();
        let pairs: Vec<(i64, String)> = opening.iter().map(|r| (r.get(0), r.get(1))).collect();
        out.skipped = decode_fleet_rows(&self.location, pairs, |e| {
            if let FleetEntry::Open(o) = e {
                out.opening = Some(o);
            }
        });
        // One row at a time, each dropped once handed out.
        load_part_rows(
            &self.location,
            parts.into_iter().map(|row| (row.get(0), row.get(1))),
            &mut out,
            each,
        );
        Ok(out)
    }

    fn fleet_workers(&mut self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client
                .query(
                    "SELECT DISTINCT worker_id FROM monitor_run_parts WHERE run_id = $1
                     ORDER BY worker_id",
                    &[&run_id],
                )
                .await
        });
        let rows = self.settle(ACTION, outcome)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn load_worker_parts(
        &mut self,
        pipeline: &str,
        worker_id: &str,
        last: usize,
    ) -> Result<Vec<WorkerPart>, HistoryError> {
        const ACTION: &str = "read a worker's history";
        let limit = i64::try_from(last).unwrap_or(i64::MAX);
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            client
                .query(
                    "SELECT id, record::text FROM monitor_run_parts
                     WHERE pipeline = $1 AND worker_id = $2 AND status = 'ok'
                     ORDER BY id DESC LIMIT $3",
                    &[&pipeline, &worker_id, &limit],
                )
                .await
        });
        let rows = self.settle(ACTION, outcome)?;
        let mut pairs: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        pairs.reverse();
        let mut parts = Vec::new();
        decode_fleet_rows(&self.location, pairs, |e| {
            if let FleetEntry::Part(p) = e {
                parts.push(*p);
            }
        });
        Ok(parts)
    }

    fn append_run_once(&mut self, record: &RunRecord) -> Result<bool, HistoryError> {
        const ACTION: &str = "append a whole fleet run";
        let text =
            encode_line(record).map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        let started = i64::try_from(record.started_at_ms).unwrap_or(i64::MAX);
        let key = run_lock_key(&record.run_id);
        let Session { runtime, client } = self.session(ACTION)?;
        let outcome = runtime.run(OPERATION_TIMEOUT, async move {
            let tx = client.transaction().await?;
            // Serialises the processes recording this run; released at commit or rollback.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                .await?;
            let there: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM monitor_runs WHERE run_id = $1)",
                    &[&record.run_id],
                )
                .await?
                .get(0);
            if there {
                return Ok(false);
            }
            tx.execute(
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
            .await?;
            tx.commit().await?;
            Ok(true)
        });
        self.settle(ACTION, outcome)
    }
}

/// The store's own current-thread runtime. Shut down in the background on drop, so dropping a
/// store inside another runtime does not panic.
struct OwnRuntime(Option<Runtime>);

impl OwnRuntime {
    fn new() -> std::io::Result<OwnRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        Ok(OwnRuntime(Some(rt)))
    }

    /// Runs `fut` to completion, or gives up after `limit` (`None`; the future is dropped,
    /// which abandons the request).
    fn run<F>(&self, limit: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.0.as_ref()?;
        // The timer is created inside the block, so it belongs to this runtime.
        let fut = async move { tokio::time::timeout(limit, fut).await.ok() };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside another runtime `block_on` would panic: drive ours from a helper thread.
            std::thread::scope(|s| s.spawn(|| rt.block_on(fut)).join())
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        } else {
            rt.block_on(fut)
        }
    }

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if let Some(rt) = &self.0 {
            rt.spawn(fut);
        }
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Whether the store should give up after `e`: anything but an ordinary SQL error (the
/// connection broke or is in doubt), or a statement the server cancelled for its timeouts.
fn gives_up(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE,
    }
}

fn no_answer(limit: Duration) -> String {
    let secs = limit.as_secs_f64();
    if limit.subsec_nanos() == 0 {
        format!("the server did not answer within {} s", limit.as_secs())
    } else {
        format!("the server did not answer within {secs} s")
    }
}

/// The error with its causes (`error connecting to server: Connection refused (os error 111)`;
/// the server's own message for a database error), on one line, with the password scrubbed.
fn describe(e: &tokio_postgres::Error, password: Option<&[u8]>) -> String {
    let text = match e.as_db_error() {
        // "db error" says nothing; the server's message (severity, text, detail, hint) says it.
        Some(db) => db.to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let part = cause.to_string();
                if !part.is_empty() && !text.contains(&part) {
                    text.push_str(": ");
                    text.push_str(&part);
                }
                source = cause.source();
            }
            text
        }
    };
    redact(&text.replace('\n', "; "), password)
}

/// Replaces the password wherever it appears. Passwords shorter than 4 bytes are left alone:
/// replacing a letter or two everywhere would garble the message, and no message is known to
/// quote the password anyway.
fn redact(text: &str, password: Option<&[u8]>) -> String {
    match password.and_then(|p| std::str::from_utf8(p).ok()) {
        Some(p) if p.len() >= 4 => text.replace(p, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_read_as_seconds() {
        assert_eq!(
            no_answer(Duration::from_secs(5)),
            "the server did not answer within 5 s"
        );
        assert_eq!(
            no_answer(Duration::from_millis(1500)),
            "the server did not answer within 1.5 s"
        );
    }

    #[test]
    fn passwords_are_scrubbed() {
        assert_eq!(redact("bad s3cret here", Some(b"s3cret")), "bad *** here");
        assert_eq!(redact("a b c", Some(b"b")), "a b c");
        assert_eq!(redact("x", None), "x");
    }
}
