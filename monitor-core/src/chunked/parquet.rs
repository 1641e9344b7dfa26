//! Chunked processing of a Parquet file (feature `parquet`): read it batch by batch with the
//! `parquet` crate's record-batch reader, one row group at a time, hand each batch to the
//! transform, and write the results as Parquet or CSV, with the same per-chunk figures, memory
//! scope and progress as the CSV pass (`super::pass`).
//!
//! Memory stays bounded by the batch (and the output's row group, which the Parquet writer
//! buffers until it is full), never by the file: one batch is alive at a time.
//!
//! A file that cannot be read (its footer missing, as in a truncated file; a page that does not
//! decode) stops the pass with an error naming the file and the row group; an output batch whose
//! schema differs from the first one's stops it naming the output, the chunk and the row group.
//! Either way the output written so far is closed properly: a Parquet output gets its footer, so
//! the rows of the chunks before the failure can be read back; a CSV output is flushed.

use super::pass::{ChunkDone, Pass, Progressed, Unit};
use super::{ChunkSummary, Progress};
use crate::call::callsite::{Callsite, Kind, Metadata};
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

static CHUNK_SITE: Callsite = Callsite::new(Metadata::new(
    "parquet_chunk",
    Kind::Step,
    module_path!(),
    file!(),
    line!(),
));

/// Rows per row group of a Parquet output, unless [`ParquetChunks::output_row_group_size`]
/// says otherwise: the writer holds one row group in memory until it is full, so this bounds
/// the output's share of the pass's memory (DuckDB writes 122,880-row groups).
pub const OUTPUT_ROW_GROUP_ROWS: usize = 128 * 1024;

/// A chunked pass over one Parquet file; configure it, then call
/// [`ParquetChunks::for_each_batch`], [`ParquetChunks::transform_to_parquet`] or
/// [`ParquetChunks::transform_to_csv`].
///
/// ```no_run
/// use arrow_array::{cast::AsArray, types::Float64Type, BooleanArray, RecordBatch};
/// use monitor_core::chunked::ParquetChunks;
///
/// let summary = ParquetChunks::open("orders.parquet")
///     .batch_size(65_536)
///     .columns(["order_id", "customer_id", "amount"])
///     .transform_to_parquet("big_orders.parquet", |batch: RecordBatch| {
///         let amount = batch.column_by_name("amount").unwrap().as_primitive::<Float64Type>();
///         let keep: BooleanArray = amount.iter().map(|a| Some(a.unwrap_or(0.0) > 100.0)).collect();
///         arrow_select::filter::filter_record_batch(&batch, &keep)
///     })?;
/// println!("{} rows in, {} out", summary.rows_in, summary.rows_out);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ParquetChunks {
    input: PathBuf,
    name: String,
    batch_size: usize,
    columns: Option<Vec<String>>,
    row_groups: Option<Vec<usize>>,
    output_row_group_size: usize,
    progress: Progress,
}

/// One batch handed to [`ParquetChunks::for_each_batch`].
#[derive(Debug, Clone)]
pub struct BatchChunk {
    /// Chunk number, from 0.
    pub index: u64,
    /// The row group the batch was read from.
    pub row_group: usize,
    /// Offset of the batch's first row in the file, from 0.
    pub first_row: u64,
    /// The rows.
    pub batch: RecordBatch,
}

/// Why a chunked Parquet pass stopped. Every variant names the file; those that happened while
/// reading or writing a batch name its row group (and the chunk).
#[derive(Debug)]
pub enum ParquetError<E> {
    /// The input could not be opened, or the output created.
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The input's footer (its schema and row groups) could not be read: not a Parquet file, or
    /// a truncated one.
    Footer {
        /// The input file.
        path: PathBuf,
        /// The `parquet` crate's message.
        message: String,
    },
    /// The pass asks for what the file does not have: a column (with the columns it has), a row
    /// group past its last.
    Schema {
        /// The input file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// A row group could not be read (a page that does not decode, a file cut in its middle).
    Read {
        /// The input file.
        path: PathBuf,
        /// The row group.
        row_group: usize,
        /// Offset in the file of the first row that could not be read.
        first_row: u64,
        /// Chunk the rows would have been.
        chunk: u64,
        /// The `parquet` crate's message.
        message: String,
    },
    /// The transform (or batch function) returned an error.
    Transform {
        /// The chunk it failed on.
        chunk: u64,
        /// The row group the batch came from.
        row_group: usize,
        /// Offset of the batch's first row in the file.
        first_row: u64,
        /// The transform's error.
        source: E,
    },
    /// Writing the output failed, or a transformed batch's schema differs from the first one's.
    Write {
        /// The output file.
        path: PathBuf,
        /// The chunk being written.
        chunk: u64,
        /// The row group the chunk came from.
        row_group: usize,
        /// What went wrong.
        message: String,
    },
}

impl<E: fmt::Display> fmt::Display for ParquetError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParquetError::Open { path, source } => {
                write!(f, "cannot open {}: {source}", path.display())
            }
            ParquetError::Footer { path, message } => write!(
                f,
                "cannot read the Parquet footer of {} (not a Parquet file, or a truncated one): {message}",
                path.display()
            ),
            ParquetError::Schema { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            ParquetError::Read {
                path,
                row_group,
                first_row,
                chunk,
                message,
            } => write!(
                f,
                "cannot read row group {row_group} of {} (from row {first_row}, chunk {chunk}): {message}",
                path.display()
            ),
            ParquetError::Transform {
                chunk,
                row_group,
                first_row,
                source,
            } => write!(
                f,
                "the transform failed on chunk {chunk} (row group {row_group}, rows from {first_row}): {source}"
            ),
            ParquetError::Write {
                path,
                chunk,
                row_group,
                message,
            } => write!(
                f,
                "cannot write {} (chunk {chunk}, from row group {row_group} of the input): {message}",
                path.display()
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ParquetError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParquetError::Open { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Where a failure in the per-batch function came from.
enum Failure<E> {
    User(E),
    Write(String),
}

/// The output of a transform: Parquet or CSV.
trait Sink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String>;
    /// Ends the file (Parquet: its footer), also after a failure.
    fn close(self) -> Result<(), String>;
}

struct ParquetSink {
    /// `None` until the first batch gives the schema.
    writer: Option<(ArrowWriter<File>, arrow_schema::SchemaRef)>,
    file: Option<File>,
    row_group_size: usize,
}

impl Sink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        if self.writer.is_none() {
            let Some(file) = self.file.take() else {
                return Err("the output is closed".into());
            };
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_size(self.row_group_size)
                .build();
            self.writer = Some((
                ArrowWriter::try_new(file, batch.schema(), Some(props))
                    .map_err(|e| e.to_string())?,
                batch.schema(),
            ));
        }
        let Some((w, schema)) = self.writer.as_mut() else {
            return Err("the output is closed".into());
        };
        if schema != &batch.schema() {
            return Err(format!(
                "the transform returned a batch whose schema ({}) differs from the first batch's ({})",
                describe_schema(&batch.schema()),
                describe_schema(schema)
            ));
        }
        w.write(batch).map_err(|e| e.to_string())
    }

    fn close(self) -> Result<(), String> {
        match self.writer {
            Some((w, _)) => w.close().map(drop).map_err(|e| e.to_string()),
            // No batch at all: an empty file is no Parquet file, but there is no schema to
            // write one with. Leave it empty.
            None => Ok(()),
        }
    }
}

struct CsvSink {
    writer: arrow_csv::Writer<std::io::BufWriter<File>>,
    schema: Option<arrow_schema::SchemaRef>,
}

impl Sink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match &self.schema {
            None => self.schema = Some(batch.schema()),
            Some(s) if s != &batch.schema() => {
                return Err(format!(
                    "the transform returned a batch whose schema ({}) differs from the first batch's ({})",
                    describe_schema(&batch.schema()),
                    describe_schema(s)
                ))
            }
            Some(_) => {}
        }
        self.writer.write(batch).map_err(|e| e.to_string())
    }

    fn close(self) -> Result<(), String> {
        use std::io::Write as _;
        self.writer.into_inner().flush().map_err(|e| e.to_string())
    }
}

/// `name: Type, ...` of a schema, for messages.
fn describe_schema(schema: &arrow_schema::Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ParquetChunks {
    /// A pass over the Parquet file at `input`, in batches of 65,536 rows, all columns, all row
    /// groups.
    pub fn open(input: impl AsRef<Path>) -> Self {
        let input = input.as_ref().to_path_buf();
        let name = input.file_stem().map_or_else(
            || "parquet".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
        ParquetChunks {
            input,
            name,
            batch_size: 65_536,
            columns: None,
            row_groups: None,
            output_row_group_size: OUTPUT_ROW_GROUP_ROWS,
            progress: Progress::Auto,
        }
    }

    /// Rows per batch (at least 1). A batch never spans two row groups, so a row group smaller
    /// than this gives a smaller batch.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Reads only these top-level columns (a projection: the others are never decoded). The
    /// batches keep the file's column order. A name the file does not have is an error.
    pub fn columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Reads only these row groups, in this order (from 0). One past the file's last is an
    /// error.
    pub fn row_groups(mut self, groups: impl IntoIterator<Item = usize>) -> Self {
        self.row_groups = Some(groups.into_iter().collect());
        self
    }

    /// Rows per row group of a Parquet output (default [`OUTPUT_ROW_GROUP_ROWS`]; at least 1).
    pub fn output_row_group_size(mut self, n: usize) -> Self {
        self.output_row_group_size = n.max(1);
        self
    }

    /// The job's name in the report's `chunks` list and the log lines (default: the input
    /// file's stem).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Where progress goes (default [`Progress::Auto`]; the bar counts rows).
    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = p;
        self
    }

    /// Calls `f` with each batch; `f` returns how many rows it produced.
    ///
    /// # Errors
    /// See [`ParquetError`]: the input cannot be opened or read, or `f` fails.
    pub fn for_each_batch<E, F>(self, mut f: F) -> Result<ChunkSummary, ParquetError<E>>
    where
        E: fmt::Display,
        F: FnMut(BatchChunk) -> Result<u64, E>,
    {
        self.drive(None, |chunk| {
            f(chunk).map(|n| (n, None)).map_err(Failure::User)
        })
    }

    /// Transforms each batch with `f` and writes the results to the Parquet file `output`
    /// (Snappy, row groups of [`ParquetChunks::output_row_group_size`] rows; the schema is the
    /// first result's, and every result must have it).
    ///
    /// # Errors
    /// As [`ParquetChunks::for_each_batch`], plus [`ParquetError::Write`]. The output written
    /// before the error is a complete Parquet file (its footer is written).
    pub fn transform_to_parquet<E, F>(
        self,
        output: impl AsRef<Path>,
        f: F,
    ) -> Result<ChunkSummary, ParquetError<E>>
    where
        E: fmt::Display,
        F: FnMut(RecordBatch) -> Result<RecordBatch, E>,
    {
        let row_group_size = self.output_row_group_size;
        self.transform_into(output.as_ref(), f, |file| ParquetSink {
            writer: None,
            file: Some(file),
            row_group_size,
        })
    }

    /// Transforms each batch with `f` and writes the results to the CSV file `output` (a header
    /// line from the first result's column names, then Arrow's CSV writer's formatting).
    ///
    /// # Errors
    /// As [`ParquetChunks::transform_to_parquet`]; the CSV written before the error is flushed.
    pub fn transform_to_csv<E, F>(
        self,
        output: impl AsRef<Path>,
        f: F,
    ) -> Result<ChunkSummary, ParquetError<E>>
    where
        E: fmt::Display,
        F: FnMut(RecordBatch) -> Result<RecordBatch, E>,
    {
        self.transform_into(output.as_ref(), f, |file| CsvSink {
            writer: arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(std::io::BufWriter::with_capacity(1 << 16, file)),
            schema: None,
        })
    }

    /// Creates `output`, hands it to `sink` (the format's writer), and runs the pass with `f`
    /// writing each result there.
    fn transform_into<E, F, S>(
        self,
        output: &Path,
        mut f: F,
        sink: impl FnOnce(File) -> S,
    ) -> Result<ChunkSummary, ParquetError<E>>
    where
        E: fmt::Display,
        F: FnMut(RecordBatch) -> Result<RecordBatch, E>,
        S: Sink,
    {
        let file = File::create(output).map_err(|source| ParquetError::Open {
            path: output.to_path_buf(),
            source,
        })?;
        let mut sink = sink(file);
        let result = self.drive(Some(output), |chunk| {
            let out = f(chunk.batch).map_err(Failure::User)?;
            sink.write(&out).map_err(Failure::Write)?;
            let bytes = crate::arrow::batch_bytes([&out]);
            Ok((out.num_rows() as u64, Some(bytes)))
        });
        // Closed on success and failure alike, so the rows written so far stay readable.
        let closed = sink.close();
        let summary = result?;
        closed.map_err(|message| ParquetError::Write {
            path: output.to_path_buf(),
            chunk: summary.chunks,
            row_group: 0,
            message,
        })?;
        Ok(summary)
    }

    /// The pass: `f` returns rows out and, when it wrote them, the output's bytes.
    ///
    /// Its errors name the input, and a write error the output (`output`; only a transform
    /// writes).
    fn drive<E, F>(self, output: Option<&Path>, mut f: F) -> Result<ChunkSummary, ParquetError<E>>
    where
        E: fmt::Display,
        F: FnMut(BatchChunk) -> Result<(u64, Option<u64>), Failure<E>>,
    {
        let path = self.input.clone();
        let file = File::open(&path).map_err(|source| ParquetError::Open {
            path: path.clone(),
            source,
        })?;
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
            ParquetError::Footer {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        let parquet_meta = meta.metadata().clone();
        let groups = parquet_meta.row_groups();
        let selected: Vec<usize> = match &self.row_groups {
            Some(g) => g.clone(),
            None => (0..groups.len()).collect(),
        };
        if let Some(bad) = selected.iter().find(|g| **g >= groups.len()) {
            return Err(ParquetError::Schema {
                path,
                message: format!(
                    "row group {bad} asked for, but the file has {} (0 to {})",
                    groups.len(),
                    groups.len().saturating_sub(1)
                ),
            });
        }
        let mask = self.projection(&meta)?;
        // Offsets of each row group's first row in the file.
        let mut offsets = Vec::with_capacity(groups.len());
        let mut at = 0u64;
        for g in groups {
            offsets.push(at);
            at = at.saturating_add(u64::try_from(g.num_rows()).unwrap_or(0));
        }
        let total: u64 = selected
            .iter()
            .map(|g| u64::try_from(groups[*g].num_rows()).unwrap_or(0))
            .sum();
        let mut pass = Pass::new(
            &CHUNK_SITE,
            self.progress,
            Some(total),
            Unit::Rows,
            &self.name,
        );
        let mut index = 0u64;
        let mut done_rows = 0u64;
        for &group in &selected {
            let mut first_row = offsets[group];
            let reader = file.try_clone().map_err(|e| e.to_string()).and_then(|f| {
                let mut b = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                    .with_batch_size(self.batch_size)
                    .with_row_groups(vec![group]);
                if let Some(mask) = &mask {
                    b = b.with_projection(mask.clone());
                }
                b.build().map_err(|e| e.to_string())
            });
            let mut reader = match reader {
                Ok(r) => r,
                Err(message) => {
                    pass.abandon();
                    return Err(ParquetError::Read {
                        path,
                        row_group: group,
                        first_row,
                        chunk: index,
                        message,
                    });
                }
            };
            loop {
                let chunk = pass.open();
                let batch = match reader.next() {
                    None => break,
                    Some(Ok(b)) => b,
                    Some(Err(e)) => {
                        pass.fail(chunk, &e, 0);
                        return Err(ParquetError::Read {
                            path,
                            row_group: group,
                            first_row,
                            chunk: index,
                            message: e.to_string(),
                        });
                    }
                };
                let rows_in = batch.num_rows() as u64;
                let bytes_in = crate::arrow::batch_bytes([&batch]);
                let result = f(BatchChunk {
                    index,
                    row_group: group,
                    first_row,
                    batch,
                });
                let (rows_out, bytes_out) = match result {
                    Ok(r) => r,
                    Err(failure) => {
                        return Err(match failure {
                            Failure::User(source) => {
                                pass.fail(chunk, &source, rows_in);
                                ParquetError::Transform {
                                    chunk: index,
                                    row_group: group,
                                    first_row,
                                    source,
                                }
                            }
                            Failure::Write(message) => {
                                pass.fail(chunk, &message, rows_in);
                                ParquetError::Write {
                                    path: output.unwrap_or(&path).to_path_buf(),
                                    chunk: index,
                                    row_group: group,
                                    message,
                                }
                            }
                        });
                    }
                };
                done_rows += rows_in;
                pass.close(
                    chunk,
                    ChunkDone {
                        index,
                        first_line: first_row + 1,
                        rows_in,
                        rows_out,
                        skipped: 0,
                        bytes_in: Some(bytes_in),
                        bytes_out,
                    },
                    Progressed {
                        done: done_rows,
                        total: Some(total),
                    },
                );
                first_row += rows_in;
                index += 1;
            }
        }
        Ok(pass.finish())
    }

    /// The projection of [`ParquetChunks::columns`], checked against the file's columns.
    fn projection<E>(
        &self,
        meta: &ArrowReaderMetadata,
    ) -> Result<Option<ProjectionMask>, ParquetError<E>> {
        let Some(names) = &self.columns else {
            return Ok(None);
        };
        let descr = meta.metadata().file_metadata().schema_descr();
        let roots = descr.root_schema().get_fields();
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            match roots.iter().position(|f| f.name() == name) {
                Some(i) => indices.push(i),
                None => {
                    let have: Vec<&str> = roots.iter().map(|f| f.name()).collect();
                    return Err(ParquetError::Schema {
                        path: self.input.clone(),
                        message: format!("no column `{name}` (the file has {})", have.join(", ")),
                    });
                }
            }
        }
        Ok(Some(ProjectionMask::roots(descr, indices)))
    }
}
