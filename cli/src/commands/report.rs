//! `monitor report report.json --format text|md|html`: renders a saved report with the
//! library's own renderers. `monitor report --run ID` renders the whole of a fleet run, merged
//! from its workers' parts in the history (`--record` also appends it to the runs, once).

use crate::context::Context;
use crate::error::CliError;
use crate::output::Out;
use monitor::history::{fleet_report_in, record_whole_run, HistorySettings};
use monitor::Report;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Tables for the terminal.
    Text,
    /// Markdown (for CI job summaries).
    Md,
    /// One self-contained HTML file.
    Html,
}

/// Options of `monitor report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A report written by `Report::to_json` (`monitor.report/v1`).
    #[arg(required_unless_present = "run", conflicts_with = "run")]
    file: Option<PathBuf>,
    /// The whole of fleet run ID, merged from its workers' parts in the history: the same
    /// report, with a per-worker breakdown, the slowest worker, the missing ones, and the verdict
    /// against earlier whole runs.
    #[arg(long, value_name = "ID")]
    run: Option<String>,
    /// With --run: also append the whole run to the history's runs (once; a later call or the
    /// last expected worker finds it there), so later whole runs compare with it.
    #[arg(long, requires = "run")]
    record: bool,
    /// The output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Reads, renders, writes.
pub fn run(cx: &Context, args: Args, stdout: &mut Out) -> Result<ExitCode, CliError> {
    let report = match (&args.file, &args.run) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", file.display())))?;
            Report::from_json(&text)
                .map_err(|e| CliError::new(format!("{}: {e}", file.display())))?
        }
        (None, Some(run_id)) => fleet_run(cx, run_id, args.record)?,
        // clap requires one of the two.
        (None, None) => return Err(CliError::new("give a report file or --run ID")),
    };
    let format = match args.format {
        Format::Text => monitor::report::Format::Text,
        Format::Md => monitor::report::Format::Markdown,
        Format::Html => monitor::report::Format::Html,
    };
    match &args.output {
        // Whole or not at all: a full disk leaves the previous file, never a truncated one.
        Some(path) => report
            .write_to(path, format)
            .map_err(|e| CliError::new(e.to_string()))?,
        None => crate::out!(stdout, "{}", report.render(format))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The whole of fleet run `run_id` from the history, recorded in its runs when `record`.
fn fleet_run(cx: &Context, run_id: &str, record: bool) -> Result<Report, CliError> {
    monitor::config::check_fleet_id(run_id)
        .map_err(|expected| CliError::new(format!("--run {run_id:?}: expected {expected}")))?;
    let (settings, _) = HistorySettings::from_env();
    let mut store = cx.open_any()?;
    let report = fleet_report_in(&mut *store, run_id, &settings.baseline)?;
    if record {
        let appended = record_whole_run(&mut *store, &report, &settings)?;
        let note = if appended {
            format!("recorded fleet run {run_id} in {}", store.location())
        } else {
            format!(
                "fleet run {run_id} was already recorded in {}",
                store.location()
            )
        };
        // Never a panic for a closed stderr.
        let _ = writeln!(std::io::stderr(), "monitor: {note}");
    }
    Ok(report)
}
