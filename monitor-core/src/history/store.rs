//! The [`HistoryStore`] trait every backend implements, and what it takes and returns.

use super::line::LineError;
use super::part::{FleetOpening, WorkerPart};
use super::record::RunRecord;
use super::retention::Retention;
use std::fmt;
use std::io;

/// Where run records are kept: a JSON Lines file, SQLite or PostgreSQL.
///
/// Every method reports failure as a [`HistoryError`] naming the store and the reason; none
/// panics. The automatic recording at the end of a run turns such an error into one warning and
/// carries on, so a broken history never fails the pipeline.
pub trait HistoryStore: fmt::Debug + Send {
    /// The store for messages: `history file .monitor/history.jsonl`, `SQLite database h.db`.
    fn location(&self) -> String;

    /// Appends one record. Either the whole record is stored or none of it is.
    ///
    /// # Errors
    /// The store cannot be opened or written.
    fn append(&mut self, record: &RunRecord) -> Result<(), HistoryError>;

    /// Reads the records `filter` selects, oldest first. Unreadable entries are skipped, each
    /// logged once as a `warn` naming the store and the line (or row), and listed in
    /// [`LoadedRuns::skipped`].
    ///
    /// # Errors
    /// The store cannot be opened or read. A store that does not exist yet is empty, not an
    /// error.
    fn load(&mut self, filter: &RunFilter) -> Result<LoadedRuns, HistoryError>;

    /// Drops what `policy` no longer keeps (as of `now_ms`, Unix milliseconds). The JSON Lines
    /// store rewrites its file atomically; the databases delete in one transaction.
    ///
    /// # Errors
    /// The store cannot be read or rewritten; it is then left as it was.
    fn retain(&mut self, policy: &Retention, now_ms: u64)
        -> Result<RetentionOutcome, HistoryError>;

    /// Opens a fleet run unless it is open already, and returns the opening in force: the first
    /// one written (the coordinator's, or the first worker's) stays. Atomic between processes.
    ///
    /// The provided method refuses: a store that keeps fleet runs overrides the six fleet
    /// methods (the JSON Lines, SQLite and PostgreSQL stores do).
    ///
    /// # Errors
    /// The store cannot be read or written, or keeps no fleet runs.
    fn open_fleet_run(&mut self, opening: &FleetOpening) -> Result<FleetOpening, HistoryError> {
        let _ = opening;
        Err(no_fleet_runs(self.location(), "open a fleet run"))
    }

    /// Appends one worker's part of a fleet run. Either the whole part is stored or none of it.
    ///
    /// # Errors
    /// The store cannot be written, or keeps no fleet runs.
    fn append_part(&mut self, part: &WorkerPart) -> Result<(), HistoryError> {
        let _ = part;
        Err(no_fleet_runs(self.location(), "append a worker's part"))
    }

    /// Hands `each` the latest part of each worker of fleet run `run_id` (a worker that ran
    /// twice, a retried pod, counts once), one at a time, and returns the run's opening.
    /// Unreadable entries are skipped, logged and listed as [`HistoryStore::load`] does.
    ///
    /// # Errors
    /// The store cannot be read, or keeps no fleet runs. A run the store does not hold is an
    /// empty [`FleetRunLoad`], not an error.
    fn load_fleet_run(
        &mut self,
        run_id: &str,
        each: &mut dyn FnMut(WorkerPart),
    ) -> Result<FleetRunLoad, HistoryError> {
        let _ = (run_id, each);
        Err(no_fleet_runs(self.location(), "read a fleet run"))
    }

    /// The ids of the workers that reported a part of fleet run `run_id`, sorted, each once.
    ///
    /// # Errors
    /// The store cannot be read, or keeps no fleet runs.
    fn fleet_workers(&mut self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        let _ = run_id;
        Err(no_fleet_runs(self.location(), "read a fleet run"))
    }

    /// The last `last` successful parts of worker `worker_id` in fleet runs of `pipeline`,
    /// oldest first: the worker's own baseline.
    ///
    /// # Errors
    /// The store cannot be read, or keeps no fleet runs.
    fn load_worker_parts(
        &mut self,
        pipeline: &str,
        worker_id: &str,
        last: usize,
    ) -> Result<Vec<WorkerPart>, HistoryError> {
        let _ = (pipeline, worker_id, last);
        Err(no_fleet_runs(self.location(), "read a worker's history"))
    }

    /// Appends `record` unless a run with its id is stored already (atomic between processes);
    /// returns whether it was appended. How a whole fleet run is recorded exactly once, whichever
    /// of its workers (or the `monitor` command) gets there first.
    ///
    /// # Errors
    /// The store cannot be read or written, or keeps no fleet runs.
    fn append_run_once(&mut self, record: &RunRecord) -> Result<bool, HistoryError> {
        let _ = record;
        Err(no_fleet_runs(self.location(), "append a whole fleet run"))
    }
}

fn no_fleet_runs(location: String, action: &'static str) -> HistoryError {
    HistoryError::other(location, action, "this store keeps no fleet runs")
}

/// What [`HistoryStore::load_fleet_run`] found besides the parts it handed out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetRunLoad {
    /// The run's opening, when it was opened.
    pub opening: Option<FleetOpening>,
    /// Parts handed out (the latest of each worker).
    pub parts: usize,
    /// Entries that could not be read.
    pub skipped: Vec<SkippedEntry>,
}

/// Which runs [`HistoryStore::load`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs of this pipeline.
    pub pipeline: Option<String>,
    /// Only runs whose status is `ok`.
    pub successful_only: bool,
    /// Only the most recent `n` matching runs.
    pub last: Option<usize>,
}

impl RunFilter {
    /// Every run.
    #[must_use]
    pub fn all() -> Self {
        RunFilter::default()
    }

    /// Whether `record` passes the pipeline and status conditions (not `last`).
    #[must_use]
    pub fn matches(&self, record: &RunRecord) -> bool {
        self.pipeline
            .as_deref()
            .is_none_or(|p| p == record.pipeline)
            && (!self.successful_only || record.is_success())
    }
}

/// What [`HistoryStore::load`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedRuns {
    /// The selected runs, oldest first.
    pub runs: Vec<RunRecord>,
    /// Entries that could not be read. Entries in a newer record format (written by a newer
    /// `monitor`) are not among them: they are skipped with one `info` note per read.
    pub skipped: Vec<SkippedEntry>,
}

/// One unreadable entry: its line number (file) or row id (database), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// 1-based line number in the file, or the row's id in a database.
    pub line: u64,
    /// Why it was skipped.
    pub error: LineError,
}

/// What [`HistoryStore::retain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Runs kept.
    pub kept: usize,
    /// Runs dropped by the policy.
    pub removed: usize,
    /// Unreadable entries moved aside (the JSON Lines store appends them to `<file>.rejected`).
    pub rejected: usize,
}

/// A history store could not do what was asked. Names the store, the action and the reason.
#[derive(Debug)]
pub struct HistoryError {
    location: String,
    action: &'static str,
    reason: String,
    io_kind: Option<io::ErrorKind>,
}

impl HistoryError {
    /// An I/O failure.
    #[must_use]
    pub fn io(location: String, action: &'static str, err: &io::Error) -> Self {
        HistoryError {
            location,
            action,
            reason: describe_io(err),
            io_kind: Some(err.kind()),
        }
    }

    /// Any other failure (a database error, an unencodable record).
    #[must_use]
    pub fn other(location: String, action: &'static str, reason: impl fmt::Display) -> Self {
        HistoryError {
            location,
            action,
            reason: reason.to_string(),
            io_kind: None,
        }
    }

    /// The store (`history file /path/history.jsonl`).
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What was being done (`append a run`).
    #[must_use]
    pub fn action(&self) -> &str {
        self.action
    }

    /// Why it failed (`No space left on device (os error 28)`).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The I/O error kind, when it was one.
    #[must_use]
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        self.io_kind
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot {}: {}",
            self.location, self.action, self.reason
        )
    }
}

impl std::error::Error for HistoryError {}

/// The OS message, with the cases people hit in practice spelt out.
fn describe_io(err: &io::Error) -> String {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) {
        return format!("it is a symbolic link, which history files never follow ({err})");
    }
    err.to_string()
}

/// How a PostgreSQL store is named in messages: the connection URL with any password replaced
/// by `***` (in the user info and in a `password=` parameter).
#[must_use]
pub fn postgres_location(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "PostgreSQL history (connection string not shown)".to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("PostgreSQL history {scheme}://{authority}{tail}")
}

/// Records written in a newer format (by a newer `monitor` sharing the store), counted during one
/// read so that the read logs one note for all of them instead of one warning per record.
#[derive(Debug, Default)]
pub(crate) struct NewerRecords {
    count: u64,
    lowest: u32,
    highest: u32,
}

impl NewerRecords {
    /// Counts `error` if it is a newer record format; `false` (not counted) otherwise.
    pub(crate) fn count(&mut self, error: &LineError) -> bool {
        let LineError::UnsupportedVersion(v) = *error else {
            return false;
        };
        if !error.is_newer_version() {
            return false;
        }
        self.lowest = if self.count == 0 {
            v
        } else {
            self.lowest.min(v)
        };
        self.highest = self.highest.max(v);
        self.count += 1;
        true
    }

    /// Logs the one `info` note of a read, if anything was counted: `what` is `lines` or `rows`.
    pub(crate) fn note(&self, location: &str, what: &str) {
        if self.count == 0 {
            return;
        }
        let versions = if self.lowest == self.highest {
            format!("version {}", self.highest)
        } else {
            format!("versions {} to {}", self.lowest, self.highest)
        };
        let (count, what, were) = if self.count == 1 {
            (1, what.trim_end_matches('s'), "was")
        } else {
            (self.count, what, "were")
        };
        tracing::info!(
            target: "monitor",
            store = location,
            records = self.count,
            version = self.highest,
            "{location}: {count} {what} written in a newer record format ({versions}) by a newer \
             monitor {were} skipped and left in place"
        );
    }
}

/// Turns `(row id, record text)` pairs from a database into runs, skipping (and logging) rows
/// that do not parse. Rows of a newer record format are skipped with one note. Shared by the
/// SQLite and PostgreSQL stores.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn decode_rows(location: &str, rows: Vec<(i64, String)>) -> LoadedRuns {
    let mut out = LoadedRuns::default();
    let mut newer = NewerRecords::default();
    for (id, text) in rows {
        match super::line::parse_line(text.as_bytes()) {
            Ok(r) => out.runs.push(r),
            Err(error) if newer.count(&error) => {}
            Err(error) => {
                tracing::warn!(
                    target: "monitor",
                    store = location,
                    row = id,
                    "{location}, row {id}: skipping unreadable history record: {error}"
                );
                out.skipped.push(SkippedEntry {
                    line: u64::try_from(id).unwrap_or(0),
                    error,
                });
            }
        }
    }
    newer.note(location, "rows");
    out
}

/// Turns `(row id, record text)` pairs of a database's fleet table into entries handed to `each`,
/// skipping (and logging) rows that do not parse, as [`decode_rows`] does for runs. Shared by the
/// SQLite and PostgreSQL stores.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn decode_fleet_rows(
    location: &str,
    rows: impl IntoIterator<Item = (i64, String)>,
    mut each: impl FnMut(super::part::FleetEntry),
) -> Vec<SkippedEntry> {
    let mut skipped = Vec::new();
    let mut newer = NewerRecords::default();
    for (id, text) in rows {
        match super::part::parse_fleet_line(text.as_bytes()) {
            Ok(e) => each(e),
            Err(error) if newer.count(&error) => {}
            Err(error) => {
                tracing::warn!(
                    target: "monitor",
                    store = location,
                    row = id,
                    "{location}, fleet row {id}: skipping unreadable fleet record: {error}"
                );
                skipped.push(SkippedEntry {
                    line: u64::try_from(id).unwrap_or(0),
                    error,
                });
            }
        }
    }
    newer.note(location, "rows");
    skipped
}

/// Hands out the worker parts among `rows` (a database's latest part of each worker), decoded
/// one at a time as the iterator yields them, and counts them into `out`: the loop every
/// database store's `load_fleet_run` shares.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn load_part_rows(
    location: &str,
    rows: impl IntoIterator<Item = (i64, String)>,
    out: &mut FleetRunLoad,
    each: &mut dyn FnMut(WorkerPart),
) {
    let skipped = decode_fleet_rows(location, rows, |e| {
        if let super::part::FleetEntry::Part(p) = e {
            out.parts += 1;
            each(*p);
        }
    });
    out.skipped.extend(skipped);
}

/// A stable 64-bit key for a run id (FNV-1a): the PostgreSQL advisory lock that serialises the
/// processes recording one whole fleet run.
#[cfg(feature = "postgres")]
pub(crate) fn run_lock_key(run_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_location_hides_passwords() {
        assert_eq!(
            postgres_location("postgres://app:s3cret@db:5432/metrics?sslmode=disable&password=x"),
            "PostgreSQL history postgres://app:***@db:5432/metrics?sslmode=disable&password=***"
        );
        assert_eq!(
            postgres_location("postgresql://app@db/metrics"),
            "PostgreSQL history postgresql://app@db/metrics"
        );
    }
}
