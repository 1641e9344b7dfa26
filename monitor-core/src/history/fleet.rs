//! Fleet runs in the history: one logical run across many worker processes.
//!
//! - **Opening.** The coordinator opens the run ([`open_run`]: a new run id, the workers it
//!   expects) and hands the id to its workers (`MONITOR_RUN_ID`). Without a coordinator, the first
//!   worker to write its part opens it. The first opening stays.
//! - **A worker's end** ([`on_worker_finished`], the history's listener for a run that joined a
//!   fleet run): the worker's report is compared with the earlier parts of the same pipeline and
//!   worker id, then written as its [`WorkerPart`]. Nothing else is read: a worker's end costs
//!   one baseline read and one append, like a run's. When the run expects `N` workers and this
//!   part is the `N`th, the worker also completes the run (below).
//! - **The whole run** ([`fleet_report`]): the parts merged ([`FleetMerge`]), compared with the
//!   pipeline's earlier whole runs. [`record_whole_run`] appends it to the runs, once, so later
//!   whole runs have a baseline; `monitor report --run ID --record` does it for a run whose
//!   worker count was not known or whose workers did not all report.
//!
//! A worker that dies leaves its part missing: the run's report lists it (by id when the ids are
//! known) and is marked failed, so it never feeds a baseline.

use super::merge::FleetMerge;
use super::part::{FleetOpening, WorkerPart};
use super::record::RunRecord;
use super::recorder::{finish, warned, Recorded};
use super::run_report::annotate;
use super::settings::HistorySettings;
use super::store::{HistoryError, HistoryStore, RunFilter};
use super::verdict::{compare, BaselineSettings};
use crate::report::Report;

/// A new run id: a UUIDv7 (time-ordered), as a run's own.
#[must_use]
pub fn new_run_id() -> String {
    crate::run::pipeline::new_run_id()
}

/// Opens a new fleet run of `pipeline` in the history the [settings in
/// force](HistorySettings::current) name: a fresh run id (UUIDv7) to hand to the workers
/// (`MONITOR_RUN_ID`), and the number of workers it expects (`None`: unknown), so that its report
/// names those that do not report.
///
/// # Errors
/// The store cannot be opened or written.
pub fn open_run(
    pipeline: &str,
    expected_workers: Option<u32>,
) -> Result<FleetOpening, HistoryError> {
    let mut store = HistorySettings::current().location.open()?;
    let opening = FleetOpening::new(&new_run_id(), pipeline, expected_workers);
    store.open_fleet_run(&opening)
}

/// The whole of fleet run `run_id` from the history the [settings in
/// force](HistorySettings::current) name: its parts merged, compared with the pipeline's earlier
/// whole runs.
///
/// # Errors
/// The store cannot be read, or holds nothing of that run.
pub fn fleet_report(run_id: &str) -> Result<Report, HistoryError> {
    let settings = HistorySettings::current();
    let mut store = settings.location.open()?;
    fleet_report_in(&mut *store, run_id, &settings.baseline)
}

/// The whole of fleet run `run_id` from `store`: the latest part of each worker merged into one
/// report of the same schema (with its `fleet` breakdown), its `regressions` and each site's
/// `baseline` against the pipeline's earlier whole runs.
///
/// # Errors
/// The store cannot be read, or holds neither an opening nor a part of that run.
pub fn fleet_report_in(
    store: &mut dyn HistoryStore,
    run_id: &str,
    baseline: &BaselineSettings,
) -> Result<Report, HistoryError> {
    let mut merge = FleetMerge::new(run_id);
    let loaded = store.load_fleet_run(run_id, &mut |part| merge.add(part))?;
    if loaded.opening.is_none() && merge.parts() == 0 {
        return Err(HistoryError::other(
            store.location(),
            "build the report of a fleet run",
            format!("no fleet run {run_id:?} (no opening and no worker's part)"),
        ));
    }
    if merge.other_pipelines() > 0 {
        tracing::warn!(
            target: "monitor",
            store = %store.location(),
            run_id,
            parts = merge.other_pipelines(),
            "fleet run {run_id}: {} part(s) of another pipeline than the first part's were left \
             out (one pipeline per fleet run id)",
            merge.other_pipelines()
        );
    }
    let mut report = merge.finish(loaded.opening.as_ref());
    let record = RunRecord::from_report(&report, None);
    let filter = RunFilter {
        pipeline: Some(report.pipeline.clone()),
        successful_only: true,
        last: Some(baseline.runs.saturating_add(1)),
    };
    let mut earlier = store.load(&filter)?.runs;
    // The run itself, once recorded, is not its own baseline.
    earlier.retain(|r| r.run_id != run_id);
    if earlier.len() > baseline.runs {
        earlier.drain(..earlier.len() - baseline.runs);
    }
    annotate(&mut report, &compare(&record, &earlier, baseline));
    Ok(report)
}

/// Appends a whole fleet run's report (from [`fleet_report_in`]) to the runs of `store`, unless
/// a run of that id is there already; then applies retention to runs and fleet entries. Returns
/// whether it was appended.
///
/// # Errors
/// The store cannot be read or written.
pub fn record_whole_run(
    store: &mut dyn HistoryStore,
    report: &Report,
    settings: &HistorySettings,
) -> Result<bool, HistoryError> {
    let record = RunRecord::from_report(report, settings.version_tag.as_deref());
    let appended = store.append_run_once(&record)?;
    if appended {
        store.retain(&settings.retention, crate::base::clock::unix_millis())?;
    }
    Ok(appended)
}

/// What a fleet worker's end does with the history (the history's listener calls it for a
/// report with a `worker`): compare the worker with the earlier parts of its worker id, write its
/// part, open the run if nobody did, and complete the run when this part is the last one
/// expected. Never fails the run: at most one warning.
pub fn on_worker_finished(report: &mut Report, settings: &HistorySettings) -> Recorded {
    let Some(worker) = report.worker.clone() else {
        return Recorded::default();
    };
    let mut store = match settings.location.open() {
        Ok(s) => s,
        Err(e) => return warned(None, &e),
    };
    let mut first_error = None;
    let comparison =
        match store.load_worker_parts(&report.pipeline, &worker.id, settings.baseline.runs) {
            Ok(parts) => {
                let earlier: Vec<RunRecord> = parts
                    .iter()
                    .map(|p| RunRecord::from_report(&p.report, settings.version_tag.as_deref()))
                    .collect();
                let record = RunRecord::from_report(report, settings.version_tag.as_deref());
                let c = compare(&record, &earlier, &settings.baseline);
                annotate(report, &c);
                Some(c)
            }
            Err(e) => {
                first_error = Some(e);
                None
            }
        };
    let Some(part) = WorkerPart::from_report(report) else {
        return Recorded::default();
    };
    let opening = FleetOpening::new(&part.run_id, &part.pipeline, worker.expected_workers);
    let written = store
        .open_fleet_run(&opening)
        .and_then(|opened| store.append_part(&part).map(|()| opened));
    match written {
        Err(e) => {
            // Failing to save the part is the news.
            first_error = Some(e);
        }
        Ok(opened) => {
            let expected = opened.expected_workers.or(worker.expected_workers);
            if let Err(e) = complete_if_last(&mut *store, &part, expected, settings) {
                first_error.get_or_insert(e);
            }
        }
    }
    finish(comparison, first_error)
}

/// When every expected worker has reported, records the whole run (once, whichever worker gets
/// there first).
fn complete_if_last(
    store: &mut dyn HistoryStore,
    part: &WorkerPart,
    expected: Option<u32>,
    settings: &HistorySettings,
) -> Result<(), HistoryError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let reported = store.fleet_workers(&part.run_id)?;
    if reported.len() < usize::try_from(expected).unwrap_or(usize::MAX) {
        return Ok(());
    }
    let whole = fleet_report_in(store, &part.run_id, &settings.baseline)?;
    if record_whole_run(store, &whole, settings)? {
        tracing::info!(
            target: "monitor",
            pipeline = %whole.pipeline,
            run_id = %whole.run_id,
            workers = reported.len(),
            status = whole.status.as_str(),
            "fleet run complete: every expected worker reported; the whole run is recorded"
        );
    }
    Ok(())
}
