//! The bridge between a finished run's [`Report`] and the history: the record a report leaves,
//! and the report fields the comparison fills (`regressions`, `improvements`, each site's
//! `baseline`, shown as the "vs baseline" column).

use super::record::{RunRecord, SiteRecord, RECORD_VERSION};
use super::recorder::{record_run, Recorded};
use super::settings::HistorySettings;
use super::verdict::{Comparison, MetricVerdict, Verdict};
use crate::report::{BaselineComparison, MetricComparison, Regression, Report};

/// The label of a report read as the run's version tag.
pub const VERSION_LABEL: &str = "version";

impl RunRecord {
    /// The compact record of a finished run. The version tag is the report's `version` label,
    /// else `default_version` (`MONITOR_VERSION_TAG`); the host is the report's, else this
    /// machine's.
    #[must_use]
    pub fn from_report(report: &Report, default_version: Option<&str>) -> RunRecord {
        RunRecord {
            v: RECORD_VERSION,
            run_id: report.run_id.clone(),
            pipeline: report.pipeline.clone(),
            status: report.status,
            started_at_ms: report.started_at_unix_ms,
            duration_ms: if report.duration_ms.is_finite() {
                report.duration_ms.max(0.0)
            } else {
                0.0
            },
            host: report.host.clone().unwrap_or_else(super::host_name),
            version: report
                .labels
                .get(VERSION_LABEL)
                .cloned()
                .or_else(|| default_version.map(str::to_owned)),
            sites: report
                .steps
                .iter()
                .chain(&report.queries)
                .map(|s| SiteRecord::from_site(&s.site))
                .collect(),
        }
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "regression",
        Verdict::Improvement => "improvement",
        Verdict::Unchanged => "unchanged",
        Verdict::InsufficientHistory => "insufficient_history",
    }
}

/// The report's form of a finding. `change_pct` is the relative change in percent; against a
/// baseline of zero it is `±100`.
fn metric_comparison(f: &MetricVerdict) -> MetricComparison {
    let change_pct = match f.change {
        Some(c) => c * 100.0,
        None if f.current == f.baseline => 0.0,
        None => 100.0_f64.copysign(f.current - f.baseline),
    };
    MetricComparison {
        metric: f.metric.as_str().to_owned(),
        baseline: f.baseline,
        current: f.current,
        change_pct,
        verdict: verdict_name(f.verdict).to_owned(),
    }
}

fn regression(f: &MetricVerdict) -> Regression {
    Regression {
        name: f.step.clone(),
        kind: f.kind,
        runs_used: u32::try_from(f.evidence.runs).unwrap_or(u32::MAX),
        comparison: metric_comparison(f),
        evidence: Some(f.evidence.clone()),
    }
}

/// Writes `comparison` into `report`: its `regressions` and `improvements`, and each site's
/// `baseline` (every metric measured, with its verdict).
pub fn annotate(report: &mut Report, comparison: &Comparison) {
    report.regressions = comparison.regressions.iter().map(regression).collect();
    report.improvements = comparison.improvements.iter().map(regression).collect();
    for site in report.steps.iter_mut().chain(report.queries.iter_mut()) {
        let Some(c) = comparison.site(site.site.kind, &site.site.name) else {
            continue;
        };
        let runs_used = c
            .findings
            .iter()
            .map(|f| f.evidence.runs)
            .max()
            .unwrap_or(0);
        if runs_used == 0 {
            continue;
        }
        site.baseline = Some(BaselineComparison {
            runs_used: u32::try_from(runs_used).unwrap_or(u32::MAX),
            runs_needed: u32::try_from(comparison.runs_needed).unwrap_or(u32::MAX),
            metrics: c.findings.iter().map(metric_comparison).collect(),
        });
    }
}

/// What a finishing run does with the history (called by the pipeline before the report is
/// handed out): record it as the [installed or environment settings](HistorySettings::current)
/// say, and fill the report's comparison fields. Never fails the run.
pub fn on_run_finished(report: &mut Report) -> Recorded {
    let settings = HistorySettings::current();
    if !settings.record {
        return Recorded::default();
    }
    // A fleet worker's report is one part of a run: written as such, compared with the same
    // worker id's earlier parts.
    if report.worker.is_some() {
        return super::fleet::on_worker_finished(report, &settings);
    }
    let record = RunRecord::from_report(report, settings.version_tag.as_deref());
    let recorded = record_run(&record, &settings);
    if let Some(c) = &recorded.comparison {
        annotate(report, c);
    }
    recorded
}

/// The history as a listener of pipeline runs (joined first by the start-up, so the verdict is in
/// the report before the exporters, OpenLineage and the program's sinks read it). A run under
/// `MONITOR_DISABLE` measured nothing: recording it would give a regression gate an empty run to
/// pass.
pub(crate) struct HistoryListener;

impl crate::run::listeners::RunListener for HistoryListener {
    fn run_finished(&self, report: &mut Report) {
        if !crate::config::disabled() {
            let _ = on_run_finished(report);
        }
    }
}
