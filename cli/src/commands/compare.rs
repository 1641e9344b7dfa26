//! `monitor compare`: the latest run against its baseline, for people and for CI gates.

use crate::context::Context;
use crate::error::{CliError, EXIT_NOTHING_TO_COMPARE, EXIT_REGRESSION};
use crate::outln;
use crate::output::Out;
use crate::table;
use monitor::history::{
    compare, BaselineSettings, Comparison, Metric, MetricVerdict, RunFilter, RunRecord, Thresholds,
    Verdict,
};
use std::io::Write as _;
use std::process::ExitCode;

/// Options of `monitor compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pipeline whose latest run to compare [default: the pipeline of the latest run].
    #[arg(long, short)]
    pipeline: Option<String>,
    /// How many successful runs before it make the baseline.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    baseline: u32,
    /// Smallest relative change that counts, in percent.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    threshold: f64,
    /// Exit with code 1 when anything regressed (for CI gates), and with code 3 when there is
    /// nothing to compare (no run, a latest run without steps or queries, no baseline).
    #[arg(long)]
    fail_on_regression: bool,
    /// With --fail-on-regression: pass (exit 0) when there is nothing to compare, e.g. while a
    /// new history has fewer runs than a verdict needs.
    #[arg(long)]
    allow_empty: bool,
    /// Print the comparison as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

fn evidence(f: &MetricVerdict) -> String {
    let e = &f.evidence;
    let z = e.z.map_or_else(String::new, |z| format!("z = {z:.1}, "));
    let bound = if f.current >= f.baseline {
        format!("flagged above {}", f.metric.format_value(e.flag_above))
    } else {
        format!("flagged below {}", f.metric.format_value(e.flag_below))
    };
    format!("{z}{bound}")
}

/// Why the latest run cannot be judged at all, if it cannot: no steps or queries, no baseline,
/// or no step or query with enough baseline runs for a verdict.
fn nothing_comparable(latest: &RunRecord, c: &Comparison, min_runs: usize) -> Option<String> {
    let run = format!("{} run {}", latest.pipeline, latest.run_id);
    if latest.sites.is_empty() {
        return Some(format!(
            "{run} has no steps or queries (a run with MONITOR_DISABLE=1 records none)"
        ));
    }
    if c.baseline_run_ids.is_empty() {
        return Some(format!(
            "{run} has no earlier successful run to compare with"
        ));
    }
    let judged = c
        .sites
        .iter()
        .flat_map(|s| &s.findings)
        .any(|f| f.verdict != Verdict::InsufficientHistory);
    if judged {
        return None;
    }
    let before = c.baseline_run_ids.len();
    Some(if before < min_runs {
        format!("{run} has {before} earlier successful run(s); a verdict needs {min_runs}")
    } else {
        format!(
            "none of the steps and queries of {run} appears in {min_runs} of its {before} earlier \
             successful runs"
        )
    })
}

/// What to do when there is nothing to compare: a gate fails with exit code 3 unless
/// `--allow-empty`; otherwise the note is printed (on stderr under `--json`, after a blank line
/// `sep` otherwise) and the exit is 0.
fn nothing_to_compare(
    args: &Args,
    reason: &str,
    sep: &str,
    out: &mut Out,
) -> Result<ExitCode, CliError> {
    if args.fail_on_regression && !args.allow_empty {
        return Err(CliError::with_code(
            EXIT_NOTHING_TO_COMPARE,
            format!(
                "nothing to compare: {reason}; the regression gate checked nothing \
                 (--allow-empty accepts this)"
            ),
        ));
    }
    if args.json {
        let _ = writeln!(std::io::stderr(), "monitor: nothing to compare: {reason}");
    } else {
        outln!(out, "{sep}nothing to compare: {reason}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Compares and prints; the exit code tells a CI gate whether anything regressed, or whether
/// there was nothing to compare.
pub fn run(cx: &Context, args: Args, out: &mut Out) -> Result<ExitCode, CliError> {
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        return Err(CliError::new(format!(
            "--threshold {}: expected a percentage of 0 or more",
            args.threshold
        )));
    }
    let mut runs = cx.load(&RunFilter {
        pipeline: args.pipeline.clone(),
        ..RunFilter::default()
    })?;
    let Some(latest) = runs.pop() else {
        let reason = match &args.pipeline {
            Some(p) => format!("no runs of pipeline {p:?} in the history"),
            None => "the history holds no runs yet".to_owned(),
        };
        if !(args.fail_on_regression || args.allow_empty) {
            return Err(CliError::new(reason));
        }
        return nothing_to_compare(&args, &reason, "", out);
    };
    runs.retain(|r| r.pipeline == latest.pipeline);
    let settings = BaselineSettings {
        runs: args.baseline as usize,
        thresholds: Thresholds {
            relative: args.threshold / 100.0,
            ..Thresholds::default()
        },
    };
    let c = compare(&latest, &runs, &settings);
    let empty = nothing_comparable(&latest, &c, settings.thresholds.min_runs);
    let failed = args.fail_on_regression && c.has_regressions();
    let exit = if failed {
        ExitCode::from(EXIT_REGRESSION)
    } else {
        ExitCode::SUCCESS
    };

    if args.json {
        let json = serde_json::to_string_pretty(&c)
            .map_err(|e| CliError::new(format!("cannot encode the comparison: {e}")))?;
        outln!(out, "{json}")?;
        return match &empty {
            Some(reason) => nothing_to_compare(&args, reason, "", out),
            None => Ok(exit),
        };
    }

    outln!(
        out,
        "{} run {} ({} UTC, {}) against {} earlier successful run(s)",
        latest.pipeline,
        latest.run_id,
        latest.started_at_utc(),
        latest.status.as_str(),
        c.baseline_run_ids.len()
    )?;
    let min_runs = settings.thresholds.min_runs;
    if c.baseline_run_ids.len() < min_runs {
        outln!(
            out,
            "not enough history for a verdict: {} successful run(s) before this one, {min_runs} needed",
            c.baseline_run_ids.len()
        )?;
    }
    let mut t = table::new(
        &[
            "step",
            "kind",
            "total",
            "baseline",
            "vs baseline",
            "verdict",
        ],
        &[2, 3, 4],
    );
    for s in &c.sites {
        let total = s.finding(Metric::DurationTotal);
        let verdicts: Vec<&str> = s
            .findings
            .iter()
            .filter(|f| matches!(f.verdict, Verdict::Regression | Verdict::Improvement))
            .map(|f| f.metric.as_str())
            .collect();
        let verdict = if s.findings.iter().any(|f| f.verdict == Verdict::Regression) {
            format!("REGRESSION ({})", verdicts.join(", "))
        } else if !verdicts.is_empty() {
            format!("improved ({})", verdicts.join(", "))
        } else if total.is_some_and(|f| f.verdict == Verdict::InsufficientHistory) {
            "no verdict".to_owned()
        } else {
            "ok".to_owned()
        };
        t.add_row(vec![
            s.step.clone(),
            s.kind.as_str().to_owned(),
            total.map_or_else(|| "-".to_owned(), |f| f.metric.format_value(f.current)),
            total
                .filter(|f| f.evidence.runs > 0)
                .map_or_else(|| "-".to_owned(), |f| f.metric.format_value(f.baseline)),
            s.vs_baseline(),
            verdict,
        ]);
    }
    outln!(out, "{t}")?;
    for (title, list) in [
        ("Regressions", &c.regressions),
        ("Improvements", &c.improvements),
    ] {
        if list.is_empty() {
            continue;
        }
        outln!(out, "\n{title} ({})", list.len())?;
        for f in list {
            outln!(out, "  {} [{}]", f.describe(), evidence(f))?;
        }
    }
    if let Some(reason) = &empty {
        return nothing_to_compare(&args, reason, "\n", out);
    }
    if c.regressions.is_empty() {
        outln!(out, "\nno regressions")?;
    }
    Ok(exit)
}
