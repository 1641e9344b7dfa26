//! `monitor trend STEP`: one step's or query's figure over the recent runs, as a terminal
//! sparkline or a self-contained HTML/SVG chart, with the runs the verdict rule flagged marked.

use crate::chart::{self, Point, PointMark};
use crate::context::Context;
use crate::error::CliError;
use crate::outln;
use crate::output::Out;
use monitor::history::{compare, BaselineSettings, Metric, RunFilter, RunRecord, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `monitor trend`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The step or query name.
    step: String,
    /// Only runs of this pipeline [default: the pipeline of the latest run that called STEP].
    #[arg(long, short)]
    pipeline: Option<String>,
    /// The figure to plot.
    #[arg(long, short, default_value = "duration_total_ms", value_parser = parse_metric)]
    metric: Metric,
    /// How many of the most recent runs to plot.
    #[arg(long, short = 'n', default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..))]
    last: u32,
    /// Write an HTML page with an SVG chart to FILE instead of printing a sparkline.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// The names of every step and query in `runs`, sorted.
fn known_sites(runs: &[RunRecord]) -> Vec<String> {
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.sites.iter().map(|s| s.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Plots the trend.
pub fn run(cx: &Context, args: Args, out: &mut Out) -> Result<ExitCode, CliError> {
    let all = cx.load(&RunFilter {
        pipeline: args.pipeline.clone(),
        ..RunFilter::default()
    })?;
    let Some(pipeline) = args.pipeline.clone().or_else(|| {
        all.iter()
            .rev()
            .find(|r| r.site_named(&args.step).is_some())
            .map(|r| r.pipeline.clone())
    }) else {
        let known = known_sites(&all);
        return Err(CliError::new(if known.is_empty() {
            "the history holds no runs yet".to_owned()
        } else {
            format!(
                "no step or query named {:?} in the history (known: {})",
                args.step,
                known.join(", ")
            )
        }));
    };
    let runs: Vec<RunRecord> = all.into_iter().filter(|r| r.pipeline == pipeline).collect();
    let with_step: Vec<usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.site_named(&args.step)
                .and_then(|s| s.value(args.metric))
                .is_some()
        })
        .map(|(i, _)| i)
        .collect();
    if with_step.is_empty() {
        let known = known_sites(&runs);
        return Err(CliError::new(format!(
            "no step or query named {:?} with {} in pipeline {pipeline:?} (known: {})",
            args.step,
            args.metric.as_str(),
            known.join(", ")
        )));
    }
    let shown = &with_step[with_step.len().saturating_sub(args.last as usize)..];
    let settings = BaselineSettings::default();
    let points: Vec<Point> = shown
        .iter()
        .filter_map(|&i| {
            let r = &runs[i];
            let site = r.site_named(&args.step)?;
            let value = site.value(args.metric)?;
            // Each point judged against the runs before it, by the same rule as `compare`.
            let c = compare(r, &runs[..i], &settings);
            let verdict = c
                .site(site.kind, &site.name)
                .and_then(|s| s.finding(args.metric))
                .map(|f| f.verdict);
            Some(Point {
                label: format!("{} {}", r.started_at_utc(), r.run_id),
                value,
                mark: match verdict {
                    Some(Verdict::Regression) => PointMark::Regression,
                    Some(Verdict::Improvement) => PointMark::Improvement,
                    _ if !r.is_success() => PointMark::Failed,
                    _ => PointMark::Normal,
                },
            })
        })
        .collect();
    let title = format!(
        "{} · {} · {} (last {} runs)",
        args.step,
        args.metric.as_str(),
        pipeline,
        points.len()
    );
    let fmt = |v: f64| args.metric.format_value(v);

    if let Some(path) = &args.html {
        let page = chart::html_page(&title, &points, &fmt);
        monitor::report::write_file(path, page).map_err(|e| CliError::new(e.to_string()))?;
        outln!(out, "wrote {}", path.display())?;
        return Ok(ExitCode::SUCCESS);
    }

    outln!(out, "{title}")?;
    outln!(out, "{}", chart::sparkline(&points))?;
    let s = chart::Summary::of(&points);
    outln!(
        out,
        "min {}   median {}   max {}   latest {}",
        fmt(s.min),
        fmt(s.median),
        fmt(s.max),
        fmt(s.latest)
    )?;
    for p in points.iter().filter(|p| p.mark != PointMark::Normal) {
        outln!(
            out,
            "  {}: {} at {}",
            p.mark.as_str(),
            fmt(p.value),
            p.label
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
