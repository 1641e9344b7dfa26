//! `monitor history`: recent runs as a table.

use crate::context::Context;
use crate::error::CliError;
use crate::output::Out;
use crate::table;
use monitor::history::RunFilter;
use std::process::ExitCode;

/// Options of `monitor history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only runs of this pipeline.
    #[arg(long, short)]
    pipeline: Option<String>,
    /// How many of the most recent runs to show.
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    last: u32,
}

/// Prints the table, oldest of the shown runs first.
pub fn run(cx: &Context, args: Args, out: &mut Out) -> Result<ExitCode, CliError> {
    let runs = cx.load(&RunFilter {
        pipeline: args.pipeline.clone(),
        successful_only: false,
        last: Some(args.last as usize),
    })?;
    if runs.is_empty() {
        return Err(CliError::new(match &args.pipeline {
            Some(p) => format!("no runs of pipeline {p:?} in the history"),
            None => "the history holds no runs yet".to_owned(),
        }));
    }
    let mut t = table::new(
        &[
            "started (UTC)",
            "pipeline",
            "run",
            "status",
            "duration",
            "steps",
            "queries",
            "errors",
            "peak RSS",
            "host",
            "version",
        ],
        &[4, 5, 6, 7, 8],
    );
    for r in &runs {
        let steps = r
            .sites
            .iter()
            .filter(|s| s.kind == monitor::Kind::Step)
            .count();
        let errors: u64 = r.sites.iter().map(|s| s.errors).sum();
        let rss = r.sites.iter().filter_map(|s| s.rss_peak).max();
        t.add_row(vec![
            r.started_at_utc(),
            r.pipeline.clone(),
            r.run_id.clone(),
            r.status.as_str().to_owned(),
            super::ms_cell(r.duration_ms),
            steps.to_string(),
            (r.sites.len() - steps).to_string(),
            errors.to_string(),
            super::bytes_cell(rss),
            r.host.clone(),
            r.version.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    crate::outln!(out, "{t}")?;
    Ok(ExitCode::SUCCESS)
}
