//! The embedded default store: one JSON Lines file, one run per line.
//!
//! - **Append**: the record is encoded first, then written with a single `write` on an
//!   `O_APPEND` descriptor while holding an exclusive `flock`, then `fsync`ed. Writers in several
//!   processes therefore take turns and lines never interleave. If the file does not end in a
//!   newline (an earlier writer died mid-line, or the disk filled), the new record starts on a
//!   fresh line so the damage stays confined to that one line. A failed write is cut back off, so
//!   a full disk leaves the file as it was.
//! - **Read**: under a shared lock, line by line; a line that does not parse is skipped, with a
//!   `warn` naming the file and the line number, and every other line is still read.
//! - **Retention**: once a pipeline holds more than `keep_runs` plus 10 % (or a run passed the
//!   age limit, or a line is unreadable), under the exclusive lock, the kept lines are copied byte for byte to a new
//!   file in the same directory, which is `fsync`ed, renamed over the history and followed by an
//!   `fsync` of the directory. A process killed at any point leaves either the old file or the
//!   new one, never a mix; its leftover temporary file is removed by the next retention. Lines
//!   that cannot be read are moved to `<file>.rejected` rather than deleted.
//! - **Newer lines**: a line in a newer record format (a `v` above
//!   [`RECORD_VERSION`](super::record::RECORD_VERSION), written by a newer `monitor` sharing the
//!   history) is not unreadable: reads skip it with one `info` note per read, and retention keeps
//!   it byte for byte where it is.
//! - Files are created with mode `0666` minus the umask and never opened through a symbolic link
//!   (`O_NOFOLLOW`). Every open is non-blocking and checks what it opened: a FIFO, socket,
//!   directory or device is refused (appends also accept a character device such as
//!   `/dev/null`), so a FIFO at the path cannot block the run.

use super::line::{encode_line, parse_line, LineError, MAX_LINE_BYTES};
use super::record::RunRecord;
use super::retention::Retention;
use super::safe_file::{
    create_new, ensure_regular, lock_exclusive, lock_shared, open_append, open_read, still_at,
    sync_dir,
};
use super::store::{
    HistoryError, HistoryStore, LoadedRuns, NewerRecords, RetentionOutcome, RunFilter, SkippedEntry,
};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The default history file, relative to the working directory.
pub const DEFAULT_HISTORY_PATH: &str = ".monitor/history.jsonl";

/// How often an append or retention retries when a concurrent retention replaced the file
/// between our open and our lock.
const REOPEN_ATTEMPTS: usize = 8;

/// At most this many skipped lines are logged one by one per read; the rest are summed up.
const WARN_LINES: usize = 10;

/// A JSON Lines history file.
#[derive(Debug, Clone)]
pub struct JsonlStore {
    path: PathBuf,
}

impl JsonlStore {
    /// A store at `path` (created on the first append).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonlStore { path: path.into() }
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, action: &'static str, e: &io::Error) -> HistoryError {
        HistoryError::io(self.location(), action, e)
    }

    /// Opens the file for appending and takes the exclusive lock on the file the path names now.
    fn open_locked(&self, action: &'static str) -> Result<File, HistoryError> {
        for _ in 0..REOPEN_ATTEMPTS {
            let file = open_append(&self.path).map_err(|e| self.err(action, &e))?;
            lock_exclusive(&file).map_err(|e| self.err(action, &e))?;
            if still_at(&file, &self.path).map_err(|e| self.err(action, &e))? {
                return Ok(file);
            }
        }
        Err(HistoryError::other(
            self.location(),
            action,
            "the file kept being replaced while waiting for its lock",
        ))
    }

    fn rejected_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".rejected");
        self.path.with_file_name(name)
    }

    /// `.history.jsonl.` : prefix of retention's temporary files in the same directory.
    fn temp_prefix(&self) -> String {
        format!(
            ".{}.",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        )
    }

    /// Removes temporary files a killed retention left behind. Called with the exclusive lock
    /// held on the current file: no other retention can be writing one now.
    fn remove_stale_temps(&self, dir: &Path) {
        let prefix = self.temp_prefix();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// One line as read: its bytes (newline removed), or its length when it was too long to keep.
enum Line<'a> {
    Text(&'a [u8]),
    TooLong(usize),
}

/// Reads `reader` line by line, calling `each(line_number, line)`. Memory stays bounded: a line
/// longer than [`MAX_LINE_BYTES`] is skipped to its end and reported by length only.
fn for_each_line(reader: impl Read, mut each: impl FnMut(u64, Line<'_>)) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
        let read = (&mut reader).take(limit).read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE_BYTES {
            // Discard the rest of the over-long line.
            let mut total = buf.len();
            loop {
                let chunk = reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|b| *b == b'\n') {
                    Some(i) => {
                        total += i;
                        reader.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        total += len;
                        reader.consume(len);
                    }
                }
            }
            each(n, Line::TooLong(total));
            continue;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        each(n, Line::Text(line));
    }
}

fn warn_skipped(location: &str, skipped: &[SkippedEntry]) {
    for s in skipped.iter().take(WARN_LINES) {
        tracing::warn!(
            target: "monitor",
            store = location,
            line = s.line,
            "{location}, line {}: skipping unreadable history line: {}",
            s.line,
            s.error
        );
    }
    if skipped.len() > WARN_LINES {
        tracing::warn!(
            target: "monitor",
            store = location,
            "{location}: {} more unreadable lines skipped",
            skipped.len() - WARN_LINES
        );
    }
}

impl HistoryStore for JsonlStore {
    fn location(&self) -> String {
        format!("history file {}", self.path.display())
    }

    fn append(&mut self, record: &RunRecord) -> Result<(), HistoryError> {
        const ACTION: &str = "append a run";
        let mut line = encode_line(record)
            .map_err(|e| HistoryError::other(self.location(), ACTION, e))?
            .into_bytes();
        line.push(b'\n');
        let mut file = self.open_locked(ACTION)?;
        let len = file.metadata().map_err(|e| self.err(ACTION, &e))?.len();
        let mut out = Vec::with_capacity(line.len() + 1);
        if len > 0 && !ends_with_newline(&mut file, len) {
            out.push(b'\n');
        }
        out.extend_from_slice(&line);
        if let Err(e) = file.write_all(&out).and_then(|()| file.sync_data()) {
            // Cut a partial write back off so the file stays as it was (best effort: on a
            // device such as /dev/full there is nothing to cut).
            if file.metadata().is_ok_and(|m| m.is_file() && m.len() > len) {
                let _ = file.set_len(len);
            }
            return Err(self.err(ACTION, &e));
        }
        Ok(())
    }

    fn load(&mut self, filter: &RunFilter) -> Result<LoadedRuns, HistoryError> {
        const ACTION: &str = "read the history";
        let Some(file) = open_read(&self.path).map_err(|e| self.err(ACTION, &e))? else {
            return Ok(LoadedRuns::default());
        };
        lock_shared(&file).map_err(|e| self.err(ACTION, &e))?;
        let cap = filter.last.unwrap_or(usize::MAX);
        let mut runs = VecDeque::new();
        let mut skipped = Vec::new();
        let mut newer = NewerRecords::default();
        for_each_line(&file, |n, line| match parse(line) {
            Ok(r) if filter.matches(&r) => {
                if cap == 0 {
                    return;
                }
                if runs.len() == cap {
                    runs.pop_front();
                }
                runs.push_back(r);
            }
            Ok(_) => {}
            Err(error) => {
                if !newer.count(&error) {
                    skipped.push(SkippedEntry { line: n, error });
                }
            }
        })
        .map_err(|e| self.err(ACTION, &e))?;
        warn_skipped(&self.location(), &skipped);
        newer.note(&self.location(), "lines");
        Ok(LoadedRuns {
            runs: runs.into(),
            skipped,
        })
    }

    fn retain(
        &mut self,
        policy: &Retention,
        now_ms: u64,
    ) -> Result<RetentionOutcome, HistoryError> {
        const ACTION: &str = "apply retention";
        if !self.path.exists() {
            return Ok(RetentionOutcome::default());
        }
        let mut file = self.open_locked(ACTION)?;
        ensure_regular(&file).map_err(|e| self.err(ACTION, &e))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        self.remove_stale_temps(&dir);

        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.err(ACTION, &e))?;
        let mut lines: Vec<(Vec<u8>, Kept)> = Vec::new();
        for_each_line(&file, |_, line| match line {
            Line::Text(bytes) => {
                let kept = match parse_line(bytes) {
                    Ok(r) => Kept::Run(r),
                    // A newer monitor's line: not ours to judge, so it stays where it is.
                    Err(e) if e.is_newer_version() => Kept::Newer,
                    Err(_) => Kept::Unreadable,
                };
                lines.push((bytes.to_vec(), kept));
            }
            // An over-long line is not kept anywhere: copying it aside would need the memory
            // the limit exists to bound.
            Line::TooLong(_) => {}
        })
        .map_err(|e| self.err(ACTION, &e))?;
        let records: Vec<&RunRecord> = lines
            .iter()
            .filter_map(|(_, k)| match k {
                Kept::Run(r) => Some(r),
                _ => None,
            })
            .collect();
        let keeps = policy.keeps(&records, now_ms);
        let removed = keeps.iter().filter(|k| !**k).count();
        let rejected: Vec<&[u8]> = lines
            .iter()
            .filter(|(_, k)| matches!(k, Kept::Unreadable))
            .map(|(b, _)| b.as_slice())
            .collect();
        let outcome = RetentionOutcome {
            kept: records.len() - removed,
            removed,
            rejected: rejected.len(),
        };
        // Trim in batches: a history at its limit is not rewritten for every new run.
        if rejected.is_empty() && (removed == 0 || !policy.due(&records, now_ms)) {
            return Ok(RetentionOutcome {
                kept: records.len(),
                removed: 0,
                rejected: 0,
            });
        }

        // Unreadable lines go aside first: if we die before the rename they are merely in both
        // places, never in neither.
        if !rejected.is_empty() {
            let mut side = open_append(&self.rejected_path()).map_err(|e| self.err(ACTION, &e))?;
            let mut buf = Vec::new();
            for r in &rejected {
                buf.extend_from_slice(r);
                buf.push(b'\n');
            }
            side.write_all(&buf)
                .and_then(|()| side.sync_data())
                .map_err(|e| self.err(ACTION, &e))?;
        }

        let temp = dir.join(format!(
            "{}{}.{}.tmp",
            self.temp_prefix(),
            std::process::id(),
            crate::base::clock::unix_millis()
        ));
        let result = (|| -> io::Result<()> {
            let mut out = create_new(&temp)?;
            // Keep the history's permissions (they came from the user's umask at creation).
            out.set_permissions(file.metadata()?.permissions())?;
            let mut w = io::BufWriter::new(&mut out);
            let mut kept = keeps.iter();
            for (bytes, line) in &lines {
                let keep = match line {
                    Kept::Run(_) => kept.next().copied().unwrap_or(true),
                    Kept::Newer => true,
                    Kept::Unreadable => false,
                };
                if keep {
                    w.write_all(bytes)?;
                    w.write_all(b"\n")?;
                }
            }
            w.flush()?;
            drop(w);
            out.sync_all()?;
            std::fs::rename(&temp, &self.path)?;
            sync_dir(&dir)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(self.err(ACTION, &e));
        }
        Ok(outcome)
    }
}

/// What retention does with one line.
enum Kept {
    /// A run this build reads: kept as the policy says.
    Run(RunRecord),
    /// A newer record format: always kept, in place, byte for byte.
    Newer,
    /// Unreadable: moved to `<file>.rejected`.
    Unreadable,
}

fn parse(line: Line<'_>) -> Result<RunRecord, LineError> {
    match line {
        Line::Text(bytes) => parse_line(bytes),
        Line::TooLong(len) => Err(LineError::TooLong(len)),
    }
}

/// Whether the last byte of the file is a newline (reading through the descriptor we hold).
fn ends_with_newline(file: &mut File, len: u64) -> bool {
    let mut last = [0u8; 1];
    let ok = file
        .seek(SeekFrom::Start(len - 1))
        .and_then(|_| file.read_exact(&mut last))
        .is_ok();
    // An unreadable end (a device) is treated as a clean line boundary.
    !ok || last[0] == b'\n'
}
