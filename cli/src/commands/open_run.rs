//! `monitor open-run PIPELINE [--workers N] [--run-id ID]`: the coordinator's step of a fleet
//! run. Opens the run in the history and prints its id, for the workers' `MONITOR_RUN_ID`:
//!
//! ```sh
//! export MONITOR_RUN_ID=$(monitor open-run nightly_etl --workers 8)
//! ```

use crate::context::Context;
use crate::error::CliError;
use crate::output::Out;
use monitor::history::FleetOpening;
use std::process::ExitCode;

/// Options of `monitor open-run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pipeline's name, as its workers give it to `Pipeline::start`.
    pipeline: String,
    /// How many workers the run expects: its report then names those that did not report, and
    /// the last one to report records the whole run.
    #[arg(long, value_name = "N")]
    workers: Option<u32>,
    /// The run's id instead of a new UUIDv7 (a CI job id, a Slurm job id).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
}

/// Opens the run, prints its id.
pub fn run(cx: &Context, args: Args, stdout: &mut Out) -> Result<ExitCode, CliError> {
    if args.pipeline.trim().is_empty() {
        return Err(CliError::new("the pipeline's name is empty"));
    }
    let run_id = match args.run_id {
        Some(id) => {
            monitor::config::check_fleet_id(&id).map_err(|expected| {
                CliError::new(format!("--run-id {id:?}: expected {expected}"))
            })?;
            id
        }
        None => monitor::history::new_run_id(),
    };
    let opening = FleetOpening::new(&run_id, &args.pipeline, args.workers);
    let mut store = cx.open_any()?;
    let in_force = store.open_fleet_run(&opening)?;
    if in_force.pipeline != opening.pipeline {
        return Err(CliError::new(format!(
            "fleet run {run_id} is already open for pipeline {:?}, not {:?}",
            in_force.pipeline, opening.pipeline
        )));
    }
    crate::outln!(stdout, "{}", in_force.run_id)?;
    Ok(ExitCode::SUCCESS)
}
