//! `monitor`: read a pipeline's run history and reports from the command line.
//!
//! ```text
//! monitor history [--pipeline P] [--last N]          recent runs as a table
//! monitor compare [--baseline N] [--fail-on-regression]
//!                                                    the latest run against its baseline
//! monitor trend STEP [--metric M] [--html FILE]      a step's figure over the runs
//! monitor report report.json --format text|md|html   render a saved report
//! monitor report --run ID [--record]                 the whole of a fleet run, from its parts
//! monitor open-run PIPELINE [--workers N]            open a fleet run, print its id
//! ```
//!
//! Every command takes `--history PATH` (a JSON Lines file, `sqlite:PATH` or a `postgres://`
//! URL; default `MONITOR_HISTORY`, else `.monitor/history.jsonl`).
//!
//! Exit codes: 0 success; 1 `compare --fail-on-regression` found a regression; 2 bad input (a
//! missing or corrupt file, an unknown step, a bad argument) or standard output that cannot be
//! written (a full disk); 3 `compare --fail-on-regression` had nothing to compare (no run, a
//! latest run without steps or queries, no baseline) and no `--allow-empty`; with one message on
//! stderr. A closed standard output (`| head`) ends
//! the output quietly and leaves the exit code as it would have been.
//!
//! Adding a subcommand: write `commands/<name>.rs` with a `clap::Args` struct and a
//! `run(&Context, Args, &mut Out) -> Result<ExitCode, CliError>` that writes only through
//! [`Out`] (`out!`, `outln!`), then add one variant to [`Command`] and one arm to [`dispatch`].

mod chart;
mod commands;
mod context;
mod error;
mod output;
mod table;

use clap::{Parser, Subcommand};
use context::Context;
use error::CliError;
use output::Out;
use std::process::ExitCode;

/// See inside a Rust data pipeline: its run history, regressions against the baseline, trends,
/// and saved reports.
#[derive(Debug, Parser)]
#[command(name = "monitor", version, about, propagate_version = true)]
struct Cli {
    /// The history store: a JSON Lines file, `sqlite:PATH`, or a `postgres://` URL [default:
    /// $MONITOR_HISTORY, else .monitor/history.jsonl]
    #[arg(long, global = true, value_name = "PATH")]
    history: Option<String>,

    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Recent runs as a table.
    History(commands::history::Args),
    /// The latest run against its baseline; `--fail-on-regression` exits 1 on a regression.
    Compare(commands::compare::Args),
    /// One step's or query's figure over the recent runs: a sparkline, or an HTML chart.
    Trend(commands::trend::Args),
    /// Renders a saved `report.json`, or with `--run ID` the whole of a fleet run, as text,
    /// Markdown or HTML.
    Report(commands::report::Args),
    /// Opens a fleet run and prints its id: hand it to the workers as `MONITOR_RUN_ID`.
    OpenRun(commands::open_run::Args),
    /// Prints a Grafana dashboard (JSON) for the metrics the exporters publish.
    Dashboard(commands::grafana::DashboardArgs),
    /// Prints Prometheus alert rules: slower than baseline, errors, failed run, no success.
    Alerts(commands::grafana::AlertsArgs),
}

fn dispatch(cx: &Context, command: Command, out: &mut Out) -> Result<ExitCode, CliError> {
    match command {
        Command::History(a) => commands::history::run(cx, a, out),
        Command::Compare(a) => commands::compare::run(cx, a, out),
        Command::Trend(a) => commands::trend::run(cx, a, out),
        Command::Report(a) => commands::report::run(cx, a, out),
        Command::OpenRun(a) => commands::open_run::run(cx, a, out),
        Command::Dashboard(a) => commands::grafana::dashboard(cx, a, out),
        Command::Alerts(a) => commands::grafana::alerts(cx, a, out),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cx = match Context::new(cli.history.as_deref()) {
        Ok(cx) => cx,
        Err(e) => return e.report(),
    };
    let mut out = Out::stdout();
    let result = dispatch(&cx, cli.command, &mut out);
    let flushed = out.finish();
    result
        .and_then(|code| flushed.map(|()| code))
        .unwrap_or_else(|e| e.report())
}
