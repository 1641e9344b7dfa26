//! `monitor dashboard` and `monitor alerts`: the Grafana dashboard JSON and the Prometheus alert
//! rules of [`monitor::export::grafana`], printed or written to a file.

use crate::context::Context;
use crate::error::CliError;
use crate::output::Out;
use monitor::export::grafana::{self, AlertOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Options of `monitor dashboard`.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Options of `monitor alerts`.
#[derive(Debug, clap::Args)]
pub struct AlertsArgs {
    /// A step is slower than its baseline when its p95 passes this many times the baseline.
    #[arg(long, default_value_t = AlertOptions::default().slower_factor)]
    slower_factor: f64,
    /// ... and passes it by at least this many seconds.
    #[arg(long, default_value_t = AlertOptions::default().min_seconds)]
    min_seconds: f64,
    /// The baseline: median of the recorded p95 over this PromQL range.
    #[arg(long, default_value_t = AlertOptions::default().baseline_window)]
    baseline_window: String,
    /// Alert when a pipeline has had no successful run for this many hours.
    #[arg(long, default_value_t = AlertOptions::default().no_success_hours)]
    no_success_hours: u32,
    /// Compute p95 over this PromQL range (for scraped long-lived processes) instead of the
    /// cumulative histogram of the last pushed run.
    #[arg(long, value_name = "RANGE")]
    rate_window: Option<String>,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn emit(text: &str, output: Option<&Path>, out: &mut Out) -> Result<ExitCode, CliError> {
    match output {
        Some(path) => {
            monitor::report::write_file(path, text).map_err(|e| CliError::new(e.to_string()))?
        }
        None => crate::out!(out, "{text}")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the dashboard.
pub fn dashboard(_cx: &Context, args: DashboardArgs, out: &mut Out) -> Result<ExitCode, CliError> {
    let json = serde_json::to_string_pretty(&grafana::dashboard())
        .map_err(|e| CliError::new(format!("cannot render the dashboard: {e}")))?;
    emit(&(json + "\n"), args.output.as_deref(), out)
}

/// Prints the alert rules.
pub fn alerts(_cx: &Context, args: AlertsArgs, out: &mut Out) -> Result<ExitCode, CliError> {
    if !(args.slower_factor > 1.0 && args.slower_factor.is_finite()) {
        return Err(CliError::new(format!(
            "--slower-factor must be a number above 1, not {}",
            args.slower_factor
        )));
    }
    if !(args.min_seconds >= 0.0 && args.min_seconds.is_finite()) {
        return Err(CliError::new(format!(
            "--min-seconds must be a non-negative number, not {}",
            args.min_seconds
        )));
    }
    let options = AlertOptions {
        slower_factor: args.slower_factor,
        min_seconds: args.min_seconds,
        baseline_window: args.baseline_window,
        no_success_hours: args.no_success_hours,
        rate_window: args.rate_window,
    };
    emit(&grafana::alert_rules(&options), args.output.as_deref(), out)
}
