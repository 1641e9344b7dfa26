//! `monitor report report.json --format text|md|html`: renders a saved report with the
//! library's own renderers.

use crate::context::Context;
use crate::error::CliError;
use crate::output::Out;
use monitor::Report;
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
    file: PathBuf,
    /// The output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Reads, renders, writes.
pub fn run(_cx: &Context, args: Args, stdout: &mut Out) -> Result<ExitCode, CliError> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", args.file.display())))?;
    let report = Report::from_json(&text)
        .map_err(|e| CliError::new(format!("{}: {e}", args.file.display())))?;
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
