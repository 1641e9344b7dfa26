//! Chunked processing of a large CSV file: read N records at a time, transform them, write the
//! output (header once), and record each chunk's rows, duration and peak memory in the run.
//!
//! The seed's `process_large_dataset_in_chunks`, done so that memory stays bounded by the chunk,
//! not the file: only one chunk of records is alive at a time.
//!
//! ```no_run
//! use monitor_core::chunked::CsvChunks;
//! # #[derive(serde::Deserialize, serde::Serialize)] struct Order { id: u64, amount: f64 }
//! let summary = CsvChunks::open("orders.csv")
//!     .chunk_size(10_000)
//!     .skip_malformed(true)
//!     .transform_to_csv("orders_clean.csv", |orders: Vec<Order>| {
//!         Ok::<_, std::io::Error>(orders.into_iter().filter(|o| o.amount > 0.0).collect::<Vec<_>>())
//!     })?;
//! println!("{} rows in {} chunks, {} malformed skipped", summary.rows_in, summary.chunks, summary.skipped);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each chunk is one call of the step `csv_chunk` (so it shows in the report's steps table and
//! on the timeline, with rows in and out) and one entry of the report's `chunks` list, named
//! after the job ([`CsvChunks::name`]). Progress goes to an `indicatif` bar when stderr is a
//! terminal, and to `tracing` info lines (target `monitor`) otherwise.
//!
//! With the `parquet` feature, `ParquetChunks` runs the same pass over a Parquet file, batch by
//! batch (step `parquet_chunk`). Both passes keep their figures through one shared mechanism
//! (`pass`: the chunk's step call, memory scope, run entry and progress), so they cannot drift.
//!
//! May import: `base`, `config`, `site`, `memory`, `call`, `report`, `run`, `arrow`.

use crate::call::callsite::{Callsite, Kind, Metadata};
use pass::{ChunkDone, Pass, Progressed, Unit};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "parquet")]
mod parquet;
mod pass;
#[cfg(feature = "parquet")]
pub use parquet::{BatchChunk, ParquetChunks, ParquetError, OUTPUT_ROW_GROUP_ROWS};

static CHUNK_SITE: Callsite = Callsite::new(Metadata::new(
    "csv_chunk",
    Kind::Step,
    module_path!(),
    file!(),
    line!(),
));

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A progress bar when stderr is a terminal, log lines otherwise (the default).
    #[default]
    Auto,
    /// Always a progress bar on stderr.
    Bar,
    /// Always `tracing` info lines, one per chunk.
    Log,
    /// Neither (chunks still log at debug level).
    Off,
}

/// A chunked pass over one CSV file; configure it, then call [`CsvChunks::for_each_chunk`] or
/// [`CsvChunks::transform_to_csv`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CsvChunks {
    input: PathBuf,
    name: String,
    chunk_size: usize,
    skip_malformed: bool,
    delimiter: u8,
    progress: Progress,
}

/// One chunk of records, handed to the transform.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk<T> {
    /// Chunk number, from 0.
    pub index: u64,
    /// Line of the input where the chunk's first record starts (1-based; the header is line 1).
    pub first_line: u64,
    /// The records.
    pub rows: Vec<T>,
}

/// What a chunked pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkSummary {
    /// Chunks processed.
    pub chunks: u64,
    /// Records read and parsed.
    pub rows_in: u64,
    /// Records written (or reported by the chunk function).
    pub rows_out: u64,
    /// Malformed records skipped (only with [`CsvChunks::skip_malformed`]).
    pub skipped: u64,
    /// Lines of the first 100 skipped records.
    pub skipped_lines: Vec<u64>,
    /// Arrow memory size of the batches read, bytes (Parquet passes; `None` for CSV).
    pub bytes_in: Option<u64>,
    /// Arrow memory size of the batches the transform returned, bytes (Parquet passes).
    pub bytes_out: Option<u64>,
    /// Highest RSS while a chunk was processed, bytes.
    pub rss_peak: Option<u64>,
    /// RSS when the pass started, bytes.
    pub rss_start: Option<u64>,
    /// Wall time of the whole pass.
    pub duration: std::time::Duration,
}

/// Why a chunked pass stopped.
#[derive(Debug)]
pub enum ChunkError<E> {
    /// The input could not be opened, or the output created.
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record could not be read or parsed (and skipping is off).
    Malformed {
        /// The input file.
        path: PathBuf,
        /// Line where the record starts (1-based).
        line: u64,
        /// Record number (the header is record 0).
        record: u64,
        /// Chunk the record belongs to.
        chunk: u64,
        /// What was wrong, as `csv` and `serde` put it.
        message: String,
    },
    /// Reading the input failed (an I/O error, not a bad record).
    Read {
        /// The input file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// The transform (or chunk function) returned an error.
    Transform {
        /// The chunk it failed on.
        chunk: u64,
        /// Line of the chunk's first record.
        first_line: u64,
        /// The transform's error.
        source: E,
    },
    /// Writing the output failed.
    Write {
        /// The output file, when writing to a file.
        path: Option<PathBuf>,
        /// The cause.
        source: csv::Error,
    },
}

impl<E: fmt::Display> fmt::Display for ChunkError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::Open { path, source } => write!(f, "cannot open {}: {source}", path.display()),
            ChunkError::Malformed { path, line, record, chunk, message } => write!(
                f,
                "malformed CSV record at line {line} of {} (record {record}, chunk {chunk}): {message}",
                path.display()
            ),
            ChunkError::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            ChunkError::Transform { chunk, first_line, source } => write!(
                f,
                "the transform failed on chunk {chunk} (records from line {first_line}): {source}"
            ),
            ChunkError::Write { path: Some(p), source } => {
                write!(f, "cannot write {}: {source}", p.display())
            }
            ChunkError::Write { path: None, source } => write!(f, "cannot write the output: {source}"),
        }
    }
}

/// Any displayable transform error works (a `String` included), so the transform's own error
/// is part of this error's message rather than its `source()`.
impl<E: fmt::Debug + fmt::Display> std::error::Error for ChunkError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChunkError::Open { source, .. } => Some(source),
            ChunkError::Read { source, .. } | ChunkError::Write { source, .. } => Some(source),
            ChunkError::Transform { .. } | ChunkError::Malformed { .. } => None,
        }
    }
}

/// A failure inside the per-chunk function: the user's, or writing the output.
enum Failure<E> {
    User(E),
    Write(csv::Error),
}

/// How many skipped lines the summary lists.
const SKIPPED_LINES_KEPT: usize = 100;
impl CsvChunks {
    /// A pass over the CSV file at `input` (with a header line), in chunks of 10 000 records.
    pub fn open(input: impl AsRef<Path>) -> Self {
        let input = input.as_ref().to_path_buf();
        let name = input
            .file_stem()
            .map_or_else(|| "csv".to_owned(), |s| s.to_string_lossy().into_owned());
        CsvChunks {
            input,
            name,
            chunk_size: 10_000,
            skip_malformed: false,
            delimiter: b',',
            progress: Progress::Auto,
        }
    }

    /// Records per chunk (at least 1).
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n.max(1);
        self
    }

    /// Skip and count malformed records instead of stopping at the first one.
    pub fn skip_malformed(mut self, on: bool) -> Self {
        self.skip_malformed = on;
        self
    }

    /// The job's name in the report's `chunks` list and the log lines (default: the input
    /// file's stem).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The field delimiter (default `,`).
    pub fn delimiter(mut self, d: u8) -> Self {
        self.delimiter = d;
        self
    }

    /// Where progress goes (default [`Progress::Auto`]).
    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = p;
        self
    }

    /// Calls `f` with each chunk of parsed records; `f` returns how many rows it produced.
    ///
    /// # Errors
    /// See [`ChunkError`]: the input cannot be opened or read, a record is malformed (unless
    /// skipping), or `f` fails.
    pub fn for_each_chunk<In, E, F>(self, mut f: F) -> Result<ChunkSummary, ChunkError<E>>
    where
        In: DeserializeOwned,
        E: fmt::Display,
        F: FnMut(Chunk<In>) -> Result<u64, E>,
    {
        self.drive(|chunk| f(chunk).map_err(Failure::User))
    }

    /// Transforms each chunk with `f` and writes the results to the CSV file `output` (its
    /// header, from `Out`'s field names, written once).
    ///
    /// # Errors
    /// As [`CsvChunks::for_each_chunk`], plus [`ChunkError::Write`].
    pub fn transform_to_csv<In, Out, E, F>(
        self,
        output: impl AsRef<Path>,
        f: F,
    ) -> Result<ChunkSummary, ChunkError<E>>
    where
        In: DeserializeOwned,
        Out: Serialize,
        E: fmt::Display,
        F: FnMut(Vec<In>) -> Result<Vec<Out>, E>,
    {
        let path = output.as_ref().to_path_buf();
        let file = std::fs::File::create(&path).map_err(|source| ChunkError::Open {
            path: path.clone(),
            source,
        })?;
        self.transform_to_writer(file, f).map_err(|e| match e {
            ChunkError::Write { path: None, source } => ChunkError::Write {
                path: Some(path),
                source,
            },
            other => other,
        })
    }

    /// Like [`CsvChunks::transform_to_csv`], writing to any `io::Write`.
    ///
    /// # Errors
    /// As [`CsvChunks::transform_to_csv`].
    pub fn transform_to_writer<In, Out, E, F, W>(
        self,
        output: W,
        mut f: F,
    ) -> Result<ChunkSummary, ChunkError<E>>
    where
        In: DeserializeOwned,
        Out: Serialize,
        E: fmt::Display,
        F: FnMut(Vec<In>) -> Result<Vec<Out>, E>,
        W: std::io::Write,
    {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(output);
        let summary = self.drive(|chunk: Chunk<In>| {
            let out = f(chunk.rows).map_err(Failure::User)?;
            for row in &out {
                writer.serialize(row).map_err(Failure::Write)?;
            }
            Ok(out.len() as u64)
        })?;
        writer.flush().map_err(|e| ChunkError::Write {
            path: None,
            source: csv::Error::from(e),
        })?;
        Ok(summary)
    }

    fn drive<In, E, F>(self, mut f: F) -> Result<ChunkSummary, ChunkError<E>>
    where
        In: DeserializeOwned,
        E: fmt::Display,
        F: FnMut(Chunk<In>) -> Result<u64, Failure<E>>,
    {
        let path = self.input.clone();
        let file = std::fs::File::open(&path).map_err(|source| ChunkError::Open {
            path: path.clone(),
            source,
        })?;
        let total_bytes = file.metadata().ok().map(|m| m.len());
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(source) => return Err(ChunkError::Read { path, source }),
        };
        let mut pass = Pass::new(
            &CHUNK_SITE,
            self.progress,
            total_bytes,
            Unit::Bytes,
            &self.name,
        );
        let mut record = csv::StringRecord::new();
        let mut index = 0u64;
        let mut eof = false;
        while !eof {
            let chunk = pass.open();
            let mut rows: Vec<In> = Vec::with_capacity(self.chunk_size);
            let mut first_line = None;
            let mut skipped = 0u64;
            while rows.len() < self.chunk_size {
                let malformed = match reader.read_record(&mut record) {
                    Ok(false) => {
                        eof = true;
                        break;
                    }
                    Ok(true) => {
                        let pos = record.position().cloned();
                        let line = pos.as_ref().map_or(0, csv::Position::line);
                        first_line.get_or_insert(line);
                        match record.deserialize::<In>(Some(&headers)) {
                            Ok(v) => {
                                rows.push(v);
                                continue;
                            }
                            Err(e) => (line, pos.map_or(0, |p| p.record()), e),
                        }
                    }
                    Err(e) if e.is_io_error() => {
                        pass.fail(chunk, &e, rows.len() as u64);
                        return Err(ChunkError::Read { path, source: e });
                    }
                    Err(e) => {
                        let (line, rec) = e.position().map_or((0, 0), |p| (p.line(), p.record()));
                        first_line.get_or_insert(line);
                        (line, rec, e)
                    }
                };
                let (line, rec, err) = malformed;
                if self.skip_malformed {
                    skipped += 1;
                    if pass.summary.skipped_lines.len() < SKIPPED_LINES_KEPT {
                        pass.summary.skipped_lines.push(line);
                    }
                    tracing::debug!(target: "monitor", job = %self.name, line, error = %err, "malformed record skipped");
                    continue;
                }
                pass.fail(chunk, &err, rows.len() as u64);
                return Err(ChunkError::Malformed {
                    path,
                    line,
                    record: rec,
                    chunk: index,
                    message: describe(&err),
                });
            }
            if rows.is_empty() && skipped == 0 {
                // End of input exactly at a chunk boundary: no chunk, no call.
                break;
            }
            let rows_in = rows.len() as u64;
            let first_line = first_line.unwrap_or(0);
            let rows_out = match f(Chunk {
                index,
                first_line,
                rows,
            }) {
                Ok(n) => n,
                Err(failure) => {
                    match &failure {
                        Failure::User(e) => pass.fail(chunk, e, rows_in),
                        Failure::Write(e) => pass.fail(chunk, e, rows_in),
                    }
                    return Err(match failure {
                        Failure::User(source) => ChunkError::Transform {
                            chunk: index,
                            first_line,
                            source,
                        },
                        Failure::Write(source) => ChunkError::Write { path: None, source },
                    });
                }
            };
            pass.close(
                chunk,
                ChunkDone {
                    index,
                    first_line,
                    rows_in,
                    rows_out,
                    skipped,
                    ..ChunkDone::default()
                },
                Progressed {
                    done: reader.position().byte(),
                    total: total_bytes,
                },
            );
            index += 1;
        }
        Ok(pass.finish())
    }
}

/// `csv`'s message for a bad record, without the position it already repeats.
fn describe(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("field {}: {}", field + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => e.to_string(),
    }
}
