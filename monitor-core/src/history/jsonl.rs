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
use super::part::{
    encode_fleet_line, parse_fleet_keys, parse_fleet_line, FleetEntry, FleetKeys, FleetOpening,
    WorkerPart,
};
use super::record::{RunRecord, RunStatus};
use super::retention::Retention;
use super::safe_file::{
    create_new, ensure_regular, lock_exclusive, lock_shared, open_append, open_read, still_at,
    sync_dir,
};
use super::store::{
    FleetRunLoad, HistoryError, HistoryStore, LoadedRuns, NewerRecords, RetentionOutcome,
    RunFilter, SkippedEntry,
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
        self.open_locked_at(&self.path, action)
    }

    /// [`open_locked`](Self::open_locked) for `path` (the history or its fleet file).
    fn open_locked_at(&self, path: &Path, action: &'static str) -> Result<File, HistoryError> {
        for _ in 0..REOPEN_ATTEMPTS {
            let file = open_append(path).map_err(|e| self.err(action, &e))?;
            lock_exclusive(&file).map_err(|e| self.err(action, &e))?;
            if still_at(&file, path).map_err(|e| self.err(action, &e))? {
                return Ok(file);
            }
        }
        Err(HistoryError::other(
            self.location(),
            action,
            "the file kept being replaced while waiting for its lock",
        ))
    }

    /// The file beside the history that holds its fleet runs (openings and workers' parts):
    /// `.monitor/history.jsonl` keeps them in `.monitor/history.fleet.jsonl`.
    #[must_use]
    pub fn fleet_path(&self) -> PathBuf {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let stem = name.strip_suffix(".jsonl").unwrap_or(&name);
        self.path.with_file_name(format!("{stem}.fleet.jsonl"))
    }

    fn fleet_location(&self) -> String {
        format!("history file {}", self.fleet_path().display())
    }

    fn fleet_err(&self, action: &'static str, e: &io::Error) -> HistoryError {
        HistoryError::io(self.fleet_location(), action, e)
    }

    /// Appends `line` (a newline added) to the file `file` holds locked, on a fresh line; a failed
    /// write is cut back off.
    fn append_locked(
        &self,
        file: &mut File,
        line: &[u8],
        action: &'static str,
    ) -> Result<(), HistoryError> {
        let len = file.metadata().map_err(|e| self.err(action, &e))?.len();
        let mut out = Vec::with_capacity(line.len() + 2);
        if len > 0 && !ends_with_newline(file, len) {
            out.push(b'\n');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
        if let Err(e) = file.write_all(&out).and_then(|()| file.sync_data()) {
            // Cut a partial write back off so the file stays as it was (best effort: on a
            // device such as /dev/full there is nothing to cut).
            if file.metadata().is_ok_and(|m| m.is_file() && m.len() > len) {
                let _ = file.set_len(len);
            }
            return Err(self.err(action, &e));
        }
        Ok(())
    }

    /// Calls `each(line number, keys)` for every fleet line that has readable keys, and lists the
    /// others; `file` is the fleet file, read from its start.
    fn fleet_keys(
        &self,
        mut file: &File,
        mut each: impl FnMut(u64, FleetKeys),
        action: &'static str,
    ) -> Result<Vec<SkippedEntry>, HistoryError> {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.fleet_err(action, &e))?;
        let mut skipped = Vec::new();
        let mut newer = NewerRecords::default();
        for_each_line(file, |n, line| {
            let keys = match line {
                Line::Text(bytes) => parse_fleet_keys(bytes),
                Line::TooLong(len) => Err(LineError::TooLong(len)),
            };
            match keys {
                Ok(k) => each(n, k),
                Err(error) if newer.count(&error) => {}
                Err(error) => skipped.push(SkippedEntry { line: n, error }),
            }
        })
        .map_err(|e| self.fleet_err(action, &e))?;
        newer.note(&self.fleet_location(), "lines");
        Ok(skipped)
    }

    /// Parses the fleet lines numbered in `wanted` (sorted), handing each entry to `each`;
    /// unreadable ones go to `skipped`.
    fn fleet_entries(
        &self,
        mut file: &File,
        wanted: &[u64],
        skipped: &mut Vec<SkippedEntry>,
        mut each: impl FnMut(FleetEntry),
        action: &'static str,
    ) -> Result<(), HistoryError> {
        if wanted.is_empty() {
            return Ok(());
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.fleet_err(action, &e))?;
        let mut next = 0usize;
        for_each_line(file, |n, line| {
            if wanted.get(next) != Some(&n) {
                return;
            }
            next += 1;
            let entry = match line {
                Line::Text(bytes) => parse_fleet_line(bytes),
                Line::TooLong(len) => Err(LineError::TooLong(len)),
            };
            match entry {
                Ok(e) => each(e),
                Err(error) => skipped.push(SkippedEntry { line: n, error }),
            }
        })
        .map_err(|e| self.fleet_err(action, &e))
    }

    /// Opens the fleet file for reading under a shared lock; `None` when it does not exist.
    fn fleet_read(&self, action: &'static str) -> Result<Option<File>, HistoryError> {
        let path = self.fleet_path();
        let Some(file) = open_read(&path).map_err(|e| self.fleet_err(action, &e))? else {
            return Ok(None);
        };
        lock_shared(&file).map_err(|e| self.fleet_err(action, &e))?;
        Ok(Some(file))
    }

    /// Keeps the fleet runs `policy` keeps (counted per pipeline, by their first entry's time),
    /// rewriting the fleet file as retention rewrites the history.
    fn retain_fleet(&self, policy: &Retention, now_ms: u64) -> Result<(), HistoryError> {
        const ACTION: &str = "apply retention to fleet runs";
        let path = self.fleet_path();
        if !path.exists() {
            return Ok(());
        }
        let mut file = self.open_locked_at(&path, ACTION)?;
        ensure_regular(&file).map_err(|e| self.fleet_err(ACTION, &e))?;
        remove_stale_temps(&path);
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.fleet_err(ACTION, &e))?;
        // Each line with the index of its run (None: unreadable; Some(usize::MAX): newer format).
        let mut lines: Vec<(Vec<u8>, Option<usize>)> = Vec::new();
        let mut runs: Vec<(String, String, u64)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for_each_line(&file, |_, line| {
            let Line::Text(bytes) = line else { return };
            let run = match parse_fleet_keys(bytes) {
                Ok(k) => {
                    let at = k.at_ms();
                    let i = *index.entry(k.run_id.clone()).or_insert_with(|| {
                        runs.push((k.run_id, k.pipeline, at));
                        runs.len() - 1
                    });
                    runs[i].2 = runs[i].2.min(at);
                    Some(i)
                }
                Err(e) if e.is_newer_version() => Some(usize::MAX),
                Err(_) => None,
            };
            lines.push((bytes.to_vec(), run));
        })
        .map_err(|e| self.fleet_err(ACTION, &e))?;
        let pairs: Vec<(&str, u64)> = runs.iter().map(|(_, p, at)| (p.as_str(), *at)).collect();
        let keeps = policy.keeps_runs(&pairs, now_ms);
        let rejected: Vec<&[u8]> = lines
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(b, _)| b.as_slice())
            .collect();
        if rejected.is_empty() && !policy.due_runs(&pairs, now_ms) {
            return Ok(());
        }
        let kept = lines.iter().filter_map(|(b, r)| match r {
            Some(usize::MAX) => Some(b.as_slice()),
            Some(i) if keeps[*i] => Some(b.as_slice()),
            _ => None,
        });
        rewrite(&path, &file, kept, &rejected).map_err(|e| self.fleet_err(ACTION, &e))
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
        let line =
            encode_line(record).map_err(|e| HistoryError::other(self.location(), ACTION, e))?;
        let mut file = self.open_locked(ACTION)?;
        self.append_locked(&mut file, line.as_bytes(), ACTION)
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
        let outcome = self.retain_runs(policy, now_ms)?;
        self.retain_fleet(policy, now_ms)?;
        Ok(outcome)
    }

    fn open_fleet_run(&mut self, opening: &FleetOpening) -> Result<FleetOpening, HistoryError> {
        const ACTION: &str = "open a fleet run";
        let entry = FleetEntry::Open(opening.clone());
        let line = encode_fleet_line(&entry)
            .map_err(|e| HistoryError::other(self.fleet_location(), ACTION, e))?;
        // Under the exclusive lock: the first opening stays, whoever else tries.
        let mut file = self.open_locked_at(&self.fleet_path(), ACTION)?;
        let mut found = Vec::new();
        let skipped = self.fleet_keys(
            &file,
            |n, k| {
                if k.entry == "open" && k.run_id == opening.run_id && found.is_empty() {
                    found.push(n);
                }
            },
            ACTION,
        )?;
        warn_skipped(&self.fleet_location(), &skipped);
        let mut in_force = None;
        let mut unreadable = Vec::new();
        self.fleet_entries(
            &file,
            &found,
            &mut unreadable,
            |e| {
                if let FleetEntry::Open(o) = e {
                    in_force = Some(o);
                }
            },
            ACTION,
        )?;
        if let Some(o) = in_force {
            return Ok(o);
        }
        self.append_locked(&mut file, line.as_bytes(), ACTION)?;
        Ok(opening.clone())
    }

    fn append_part(&mut self, part: &WorkerPart) -> Result<(), HistoryError> {
        const ACTION: &str = "append a worker's part";
        let line = encode_fleet_line(&FleetEntry::Part(Box::new(part.clone())))
            .map_err(|e| HistoryError::other(self.fleet_location(), ACTION, e))?;
        let mut file = self.open_locked_at(&self.fleet_path(), ACTION)?;
        self.append_locked(&mut file, line.as_bytes(), ACTION)
    }

    fn load_fleet_run(
        &mut self,
        run_id: &str,
        each: &mut dyn FnMut(WorkerPart),
    ) -> Result<FleetRunLoad, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let Some(file) = self.fleet_read(ACTION)? else {
            return Ok(FleetRunLoad::default());
        };
        // First the keys of every line, then only the lines wanted: the first opening and the
        // latest part of each worker.
        let mut opening = None;
        let mut latest: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let mut skipped = self.fleet_keys(
            &file,
            |n, k| {
                if k.run_id != run_id {
                    return;
                }
                match (k.entry.as_str(), k.worker_id) {
                    ("open", _) => {
                        opening.get_or_insert(n);
                    }
                    ("part", Some(w)) => {
                        latest.insert(w, n);
                    }
                    _ => {}
                }
            },
            ACTION,
        )?;
        let mut wanted: Vec<u64> = latest.into_values().chain(opening).collect();
        wanted.sort_unstable();
        let mut out = FleetRunLoad::default();
        self.fleet_entries(
            &file,
            &wanted,
            &mut skipped,
            |e| match e {
                FleetEntry::Open(o) => out.opening = Some(o),
                FleetEntry::Part(p) => {
                    out.parts += 1;
                    each(*p);
                }
            },
            ACTION,
        )?;
        warn_skipped(&self.fleet_location(), &skipped);
        out.skipped = skipped;
        Ok(out)
    }

    fn fleet_workers(&mut self, run_id: &str) -> Result<Vec<String>, HistoryError> {
        const ACTION: &str = "read a fleet run";
        let Some(file) = self.fleet_read(ACTION)? else {
            return Ok(Vec::new());
        };
        let mut workers = std::collections::BTreeSet::new();
        let skipped = self.fleet_keys(
            &file,
            |_, k| {
                if k.entry == "part" && k.run_id == run_id {
                    workers.extend(k.worker_id);
                }
            },
            ACTION,
        )?;
        warn_skipped(&self.fleet_location(), &skipped);
        Ok(workers.into_iter().collect())
    }

    fn load_worker_parts(
        &mut self,
        pipeline: &str,
        worker_id: &str,
        last: usize,
    ) -> Result<Vec<WorkerPart>, HistoryError> {
        const ACTION: &str = "read a worker's history";
        let Some(file) = self.fleet_read(ACTION)? else {
            return Ok(Vec::new());
        };
        let mut wanted = VecDeque::new();
        let mut skipped = self.fleet_keys(
            &file,
            |n, k| {
                if last > 0
                    && k.entry == "part"
                    && k.pipeline == pipeline
                    && k.worker_id.as_deref() == Some(worker_id)
                    && k.status == Some(RunStatus::Ok)
                {
                    if wanted.len() == last {
                        wanted.pop_front();
                    }
                    wanted.push_back(n);
                }
            },
            ACTION,
        )?;
        let wanted: Vec<u64> = wanted.into();
        let mut parts = Vec::new();
        self.fleet_entries(
            &file,
            &wanted,
            &mut skipped,
            |e| {
                if let FleetEntry::Part(p) = e {
                    parts.push(*p);
                }
            },
            ACTION,
        )?;
        warn_skipped(&self.fleet_location(), &skipped);
        Ok(parts)
    }

    fn append_run_once(&mut self, record: &RunRecord) -> Result<bool, HistoryError> {
        const ACTION: &str = "append a whole fleet run";
        // The fleet file's exclusive lock serialises the processes that try (always taken
        // before the history's own, never the other way round).
        let _fleet = self.open_locked_at(&self.fleet_path(), ACTION)?;
        if let Some(file) = open_read(&self.path).map_err(|e| self.err(ACTION, &e))? {
            lock_shared(&file).map_err(|e| self.err(ACTION, &e))?;
            #[derive(serde::Deserialize)]
            struct Id {
                run_id: String,
            }
            let mut seen = false;
            for_each_line(&file, |_, line| {
                if let Line::Text(bytes) = line {
                    seen |= serde_json::from_slice::<Id>(bytes)
                        .is_ok_and(|r| r.run_id == record.run_id);
                }
            })
            .map_err(|e| self.err(ACTION, &e))?;
            if seen {
                return Ok(false);
            }
        }
        self.append(record)?;
        Ok(true)
    }
}

impl JsonlStore {
    /// Retention of the runs (the history file itself).
    fn retain_runs(
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
        remove_stale_temps(&self.path);

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

        let mut kept = keeps.iter();
        let kept_lines = lines.iter().filter_map(|(bytes, line)| {
            let keep = match line {
                Kept::Run(_) => kept.next().copied().unwrap_or(true),
                Kept::Newer => true,
                Kept::Unreadable => false,
            };
            keep.then_some(bytes.as_slice())
        });
        rewrite(&self.path, &file, kept_lines, &rejected).map_err(|e| self.err(ACTION, &e))?;
        Ok(outcome)
    }
}

/// Removes temporary files a killed retention of `path` left behind. Called with the exclusive
/// lock held on the current file: no other retention can be writing one now.
fn remove_stale_temps(path: &Path) {
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
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

/// The directory of `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn rejected_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rejected");
    path.with_file_name(name)
}

/// `.history.jsonl.` : prefix of retention's temporary files in the same directory.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// Rewrites `path`, whose exclusive lock `file` holds, to hold only the `kept` lines, after
/// appending the `rejected` ones to `<path>.rejected`: a temporary file in the same directory,
/// `fsync`ed, renamed over `path`, then the directory `fsync`ed. A process killed at any point
/// leaves the old file or the new one, never a mix.
fn rewrite<'a>(
    path: &Path,
    file: &File,
    kept: impl Iterator<Item = &'a [u8]>,
    rejected: &[&[u8]],
) -> io::Result<()> {
    // Unreadable lines go aside first: if we die before the rename they are merely in both
    // places, never in neither.
    if !rejected.is_empty() {
        let mut side = open_append(&rejected_path(path))?;
        let mut buf = Vec::new();
        for r in rejected {
            buf.extend_from_slice(r);
            buf.push(b'\n');
        }
        side.write_all(&buf).and_then(|()| side.sync_data())?;
    }
    let dir = parent_dir(path);
    let temp = dir.join(format!(
        "{}{}.{}.tmp",
        temp_prefix(path),
        std::process::id(),
        crate::base::clock::unix_millis()
    ));
    let result = (|| -> io::Result<()> {
        let mut out = create_new(&temp)?;
        // Keep the file's permissions (they came from the user's umask at creation).
        out.set_permissions(file.metadata()?.permissions())?;
        let mut w = io::BufWriter::new(&mut out);
        for bytes in kept {
            w.write_all(bytes)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        drop(w);
        out.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
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
