//! What every chunked pass shares, whatever it reads: each chunk is one call of the pass's step
//! (rows in and out, duration, memory), one entry of the run's `chunks` list, and one progress
//! tick (a bar on a terminal, a `tracing` line otherwise). The CSV pass (`CsvChunks`) and the
//! Parquet pass (`ParquetChunks`) only read records and write results; the figures come from
//! here, so the two cannot drift apart.

use super::{ChunkSummary, Progress};
use crate::call::attach::{ChunkEntry, RunState};
use crate::call::callsite::Callsite;
use crate::call::guard::{complete, CallEnd, CallStart};
use crate::call::rows::RowTally;
use crate::call::stats::{ErrorText, Outcome};
use crate::memory::per_call::MemoryScope;
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

/// What a progress bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Bytes of the input file read (CSV).
    Bytes,
    /// Rows of the input read (Parquet: the footer knows them all in advance).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    Rows,
}

/// The step call of one chunk; completes as a panic if the chunk's work unwinds.
struct ChunkCall {
    site: &'static Callsite,
    start: Option<CallStart>,
}

impl ChunkCall {
    fn finish(mut self, outcome: Outcome<'_>, rows_in: u64, rows_out: Option<u64>) {
        if let Some(start) = self.start.take() {
            complete(
                self.site,
                start,
                CallEnd {
                    end_ticks: crate::base::clock::now_ticks(),
                    busy_ns: None,
                    outcome,
                    rows_from_value: None,
                    tally: RowTally::new(rows_out, Some(rows_in)),
                },
            );
        }
    }
}

impl Drop for ChunkCall {
    fn drop(&mut self) {
        if let Some(start) = self.start.take() {
            if std::thread::panicking() {
                complete(
                    self.site,
                    start,
                    CallEnd {
                        end_ticks: crate::base::clock::now_ticks(),
                        busy_ns: None,
                        outcome: Outcome::Panicked,
                        rows_from_value: None,
                        tally: RowTally::default(),
                    },
                );
            }
            // Otherwise: an empty final chunk, which is not a call.
        }
    }
}

struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    log: bool,
    name: String,
}

impl Reporter {
    fn new(mode: Progress, total: Option<u64>, unit: Unit, name: &str) -> Self {
        let bar_wanted = match mode {
            Progress::Bar => true,
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Log | Progress::Off => false,
        };
        let bar = bar_wanted.then(|| {
            let bar = indicatif::ProgressBar::new(total.unwrap_or(0));
            let template = match unit {
                Unit::Bytes => {
                    "{prefix} [{bar:32}] {bytes}/{total_bytes} · {msg} · {elapsed_precise} (eta {eta})"
                }
                Unit::Rows => {
                    "{prefix} [{bar:32}] {human_pos}/{human_len} rows · {msg} · {elapsed_precise} (eta {eta})"
                }
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(name.to_owned());
            bar
        });
        Reporter {
            log: mode == Progress::Log || (mode == Progress::Auto && bar.is_none()),
            bar,
            name: name.to_owned(),
        }
    }

    fn chunk_done(
        &self,
        s: &ChunkSummary,
        chunk: u64,
        rows_in: u64,
        ms: f64,
        position: Progressed,
    ) {
        if let Some(bar) = &self.bar {
            bar.set_position(position.done);
            bar.set_message(format!(
                "{} rows, {} chunks",
                crate::report::units::count(s.rows_in),
                s.chunks
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        let pct = position
            .total
            .filter(|t| *t > 0)
            .map(|t| position.done as f64 * 100.0 / t as f64);
        if self.log {
            tracing::info!(
                target: "monitor",
                job = %self.name,
                chunk,
                rows_in,
                rows_total = s.rows_in,
                skipped_total = s.skipped,
                bytes_in_total = s.bytes_in,
                bytes_out_total = s.bytes_out,
                duration_ms = ms,
                progress_pct = pct,
                "chunk processed"
            );
        } else {
            tracing::debug!(
                target: "monitor",
                job = %self.name,
                chunk,
                rows_in,
                rows_total = s.rows_in,
                duration_ms = ms,
                "chunk processed"
            );
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// How far the pass is through its input, in its [`Unit`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Progressed {
    pub(super) done: u64,
    pub(super) total: Option<u64>,
}

/// One chunk being processed: its clock, memory scope and step call.
pub(super) struct OpenChunk {
    start_ticks: u64,
    memory: MemoryScope,
    call: ChunkCall,
}

/// What a finished chunk did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ChunkDone {
    pub(super) index: u64,
    /// CSV: the line of the chunk's first record; Parquet: its first row, from 1.
    pub(super) first_line: u64,
    pub(super) rows_in: u64,
    pub(super) rows_out: u64,
    pub(super) skipped: u64,
    pub(super) bytes_in: Option<u64>,
    pub(super) bytes_out: Option<u64>,
}

/// One chunked pass: the figures of every chunk, in the run and the summary.
pub(super) struct Pass {
    site: &'static Callsite,
    name: String,
    reporter: Reporter,
    run: Option<Arc<RunState>>,
    pub(super) summary: ChunkSummary,
    started: std::time::Instant,
}

impl Pass {
    pub(super) fn new(
        site: &'static Callsite,
        progress: Progress,
        total: Option<u64>,
        unit: Unit,
        name: &str,
    ) -> Pass {
        Pass {
            site,
            name: name.to_owned(),
            reporter: Reporter::new(progress, total, unit, name),
            run: crate::call::attach::current(),
            summary: ChunkSummary {
                rss_start: crate::base::rss::current_rss(),
                ..ChunkSummary::default()
            },
            started: std::time::Instant::now(),
        }
    }

    /// Starts a chunk: its clock, its memory scope, its step call.
    pub(super) fn open(&self) -> OpenChunk {
        OpenChunk {
            start_ticks: crate::base::clock::now_ticks(),
            memory: MemoryScope::enter(None),
            call: ChunkCall {
                site: self.site,
                start: CallStart::begin(self.site),
            },
        }
    }

    /// The chunk failed with `error` after reading `rows_in` rows; the pass stops.
    /// (Generic, so the error's own type names its kind in the figures.)
    pub(super) fn fail<D: fmt::Display>(&self, chunk: OpenChunk, error: &D, rows_in: u64) {
        chunk
            .call
            .finish(Outcome::Err(ErrorText::display(error)), rows_in, None);
        self.reporter.done();
    }

    /// The chunk is done: its figures go to the step, the run, the summary and the progress.
    pub(super) fn close(&mut self, chunk: OpenChunk, done: ChunkDone, position: Progressed) {
        chunk
            .call
            .finish(Outcome::Ok, done.rows_in, Some(done.rows_out));
        let figures = chunk.memory.exit();
        let end_ticks = crate::base::clock::now_ticks();
        let duration_ns = crate::base::clock::nanos_between(chunk.start_ticks, end_ticks);
        let s = &mut self.summary;
        s.chunks += 1;
        s.rows_in += done.rows_in;
        s.rows_out += done.rows_out;
        s.skipped += done.skipped;
        s.rss_peak = s.rss_peak.max(figures.rss_peak);
        if let Some(b) = done.bytes_in {
            s.bytes_in = Some(s.bytes_in.unwrap_or(0).saturating_add(b));
        }
        if let Some(b) = done.bytes_out {
            s.bytes_out = Some(s.bytes_out.unwrap_or(0).saturating_add(b));
        }
        if let Some(run) = &self.run {
            run.record_chunk(ChunkEntry {
                name: self.name.clone(),
                index: done.index,
                first_line: done.first_line,
                rows_in: done.rows_in,
                rows_out: done.rows_out,
                skipped: done.skipped,
                start_ns: run.offset_ns(chunk.start_ticks),
                duration_ns,
                rss_peak: figures.rss_peak,
            });
            if let Some(rss) = figures.rss_end {
                run.record_memory(end_ticks, rss, None);
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let ms = duration_ns as f64 / 1e6;
        self.reporter
            .chunk_done(&self.summary, done.index, done.rows_in, ms, position);
    }

    /// Stops the progress display after an error outside any chunk (the Parquet pass's).
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(super) fn abandon(&self) {
        self.reporter.done();
    }

    /// The pass is over.
    pub(super) fn finish(mut self) -> ChunkSummary {
        self.reporter.done();
        self.summary.duration = self.started.elapsed();
        self.summary
    }
}
