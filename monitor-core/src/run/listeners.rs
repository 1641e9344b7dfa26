//! The one list of what hears about pipeline runs: the history (which compares a finished run
//! with its baseline and writes the verdict into its report, so it joins first), the exporters,
//! OpenLineage, and the program's own report sinks ([`add_report_sink`]). The start-up
//! (`crate::init`) adds the runtime's own listeners; nothing in this folder names them.

use crate::call::attach::RunState;
use crate::report::Report;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};

/// What hears about pipeline runs. Called on the thread that starts or finishes the run; a
/// listener that panics is logged and skipped, never propagated into the pipeline.
pub(crate) trait RunListener: Send + Sync {
    /// A run began.
    fn run_started(&self, _run: &RunState) {}
    /// A run finished. Listeners see the report in the order they joined; one that joined
    /// earlier may add to it (the history's verdict) before the later ones read it.
    fn run_finished(&self, report: &mut Report);
}

/// A report sink of the program's: reads the finished report.
struct Sink<F>(F);

impl<F: Fn(&Report) + Send + Sync> RunListener for Sink<F> {
    fn run_finished(&self, report: &mut Report) {
        (self.0)(report);
    }
}

static LISTENERS: RwLock<Vec<(u64, Arc<dyn RunListener>)>> = RwLock::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies a sink added with [`add_report_sink`], to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SinkId(u64);

/// Adds a listener after those already there.
pub(crate) fn add_listener(listener: Arc<dyn RunListener>) -> SinkId {
    let id = NEXT_ID.fetch_add(1, Relaxed);
    LISTENERS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, listener));
    SinkId(id)
}

/// Calls `sink` with the report of every run that finishes from now on (by
/// [`Run::finish`](super::pipeline::Run::finish) or by dropping the guard), after the runtime's
/// own listeners (so the report already carries the history's verdict). A sink that panics is
/// logged and skipped, never propagated into the pipeline.
pub fn add_report_sink(sink: impl Fn(&Report) + Send + Sync + 'static) -> SinkId {
    // The runtime's listeners join first, whenever the program adds its own.
    crate::start_up();
    add_listener(Arc::new(Sink(sink)))
}

/// Removes a sink added with [`add_report_sink`]; returns whether it was there.
pub fn remove_report_sink(id: SinkId) -> bool {
    let mut listeners = LISTENERS.write().unwrap_or_else(PoisonError::into_inner);
    let before = listeners.len();
    listeners.retain(|(i, _)| *i != id.0);
    listeners.len() != before
}

/// Calls `f` on every listener, in the order they joined; a listener that panics is logged
/// with `what` and skipped.
fn each_listener(mut f: impl FnMut(&dyn RunListener), pipeline: &str, run_id: &str, what: &str) {
    let listeners: Vec<Arc<dyn RunListener>> = LISTENERS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, l)| Arc::clone(l))
        .collect();
    for listener in listeners {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&*listener)));
        if outcome.is_err() {
            tracing::error!(target: "monitor", pipeline = %pipeline, run_id = %run_id, "{what}");
        }
    }
}

/// Tells every listener that `run` began.
pub(crate) fn run_started(run: &RunState) {
    each_listener(
        |l| l.run_started(run),
        &run.name,
        &run.run_id,
        "a run listener panicked at the run's start",
    );
}

/// Hands the finished report to every listener, in the order they joined.
pub(crate) fn run_finished(report: &mut Report) {
    let (pipeline, run_id) = (report.pipeline.clone(), report.run_id.clone());
    each_listener(
        |l| l.run_finished(report),
        &pipeline,
        &run_id,
        "a report sink panicked; its output for this run is lost",
    );
}
