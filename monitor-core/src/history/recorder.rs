//! What the end of a run does with the history: compare the run with its baseline, append its
//! record, apply retention. Never fails the run: any problem becomes one `warn` event naming the
//! store and the reason, and the run's report is produced regardless.

use super::record::RunRecord;
use super::settings::HistorySettings;
use super::store::{HistoryError, RunFilter};
use super::verdict::{compare, Comparison, Verdict};

/// What recording one run produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// The run against its baseline (absent when recording is off or the history could not be
    /// read).
    pub comparison: Option<Comparison>,
    /// The warning logged when something went wrong (the run's record may then be missing).
    pub warning: Option<String>,
}

/// Compares `record` with its baseline, appends it, and applies retention, as `settings` say.
///
/// At most one warning is logged (target `monitor`), naming the store and the reason; each
/// regression is logged as a `warn` event and each improvement as an `info` event.
#[must_use]
pub fn record_run(record: &RunRecord, settings: &HistorySettings) -> Recorded {
    if !settings.record {
        return Recorded::default();
    }
    let mut first_error: Option<HistoryError>;
    let mut store = match settings.location.open() {
        Ok(s) => s,
        Err(e) => return warned(None, &e),
    };
    let filter = RunFilter {
        pipeline: Some(record.pipeline.clone()),
        successful_only: true,
        last: Some(settings.baseline.runs),
    };
    let mut read_error = None;
    let comparison = match store.load(&filter) {
        Ok(loaded) => Some(compare(record, &loaded.runs, &settings.baseline)),
        Err(e) => {
            read_error = Some(e);
            None
        }
    };
    // Failing to save the run is the news; a read failure is reported only when the append
    // worked (one warning per run either way).
    if let Err(e) = store.append(record) {
        first_error = Some(e);
    } else {
        first_error = read_error;
        match store.retain(&settings.retention, crate::base::clock::unix_millis()) {
            Ok(outcome) if outcome.rejected > 0 => tracing::info!(
                target: "monitor",
                store = %store.location(),
                lines = outcome.rejected,
                "moved unreadable history lines aside"
            ),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    finish(comparison, first_error)
}

/// The end of recording a run (a whole run or a fleet worker's part): the verdict's findings
/// logged, and the first store error, if any, as the one warning.
pub(crate) fn finish(
    comparison: Option<Comparison>,
    first_error: Option<HistoryError>,
) -> Recorded {
    if let Some(c) = &comparison {
        log_findings(c);
    }
    match first_error {
        Some(e) => warned(comparison, &e),
        None => Recorded {
            comparison,
            warning: None,
        },
    }
}

pub(crate) fn warned(comparison: Option<Comparison>, e: &HistoryError) -> Recorded {
    let text = format!("run history not updated: {e}");
    tracing::warn!(
        target: "monitor",
        store = e.location(),
        reason = e.reason(),
        "{text}"
    );
    Recorded {
        comparison,
        warning: Some(text),
    }
}

pub(crate) fn log_findings(c: &Comparison) {
    for f in &c.regressions {
        tracing::warn!(
            target: "monitor",
            pipeline = %c.pipeline,
            step = %f.step,
            metric = f.metric.as_str(),
            baseline = f.baseline,
            current = f.current,
            change = f.change,
            runs = f.evidence.runs,
            "regression against baseline: {}",
            f.describe()
        );
    }
    for f in c
        .improvements
        .iter()
        .filter(|f| f.verdict == Verdict::Improvement)
    {
        tracing::info!(
            target: "monitor",
            pipeline = %c.pipeline,
            step = %f.step,
            metric = f.metric.as_str(),
            baseline = f.baseline,
            current = f.current,
            change = f.change,
            runs = f.evidence.runs,
            "improvement against baseline: {}",
            f.describe()
        );
    }
}
