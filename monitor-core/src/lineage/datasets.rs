//! Datasets named at run time: [`input`] and [`output`] record them for the current run, in a
//! bounded set per run that the end of the run takes.
//!
//! When no OpenLineage emitter is installed both are one relaxed load and return. Otherwise they
//! take a lock and compare names (no allocation for a dataset already recorded): call them once
//! per file or table a call touches, not per row.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// Distinct datasets kept per run and direction; past it, the calls recording further ones are
/// counted in one warning at the run's end, and those datasets are not sent.
pub const MAX_RUN_DATASETS: usize = 100;
/// Longest namespace or name kept, in bytes; a longer one is counted as not kept.
pub const MAX_DATASET_CHARS: usize = 1024;

/// A dataset: its OpenLineage namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dataset {
    /// Where it lives: `file`, `postgres://db:5432`, ...
    pub namespace: String,
    /// What it is within the namespace: a path, `db.schema.table`, ...
    pub name: String,
}

/// Whether anything listens (an emitter is installed): otherwise recording is skipped.
static ACTIVE: AtomicBool = AtomicBool::new(false);

#[cfg_attr(not(feature = "openlineage"), allow(dead_code))]
pub(crate) fn set_active(on: bool) {
    ACTIVE.store(on, Relaxed);
}

/// What one run recorded.
#[derive(Debug, Default)]
#[cfg_attr(not(feature = "openlineage"), allow(dead_code))]
pub(crate) struct RunDatasets {
    run_id: String,
    pub(crate) inputs: Vec<Dataset>,
    pub(crate) outputs: Vec<Dataset>,
    /// Calls that recorded nothing: a new dataset past [`MAX_RUN_DATASETS`] (counted at each
    /// call), an empty name, or one longer than [`MAX_DATASET_CHARS`].
    pub(crate) not_kept: u64,
}

/// Unfinished runs' datasets (few: one entry per run that recorded any).
static RUNS: Mutex<Vec<RunDatasets>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
enum Direction {
    Input,
    Output,
}

/// Records that the current run reads the dataset `name` in `namespace` (`"file"`,
/// `"/data/orders.csv"`; `"postgres://db:5432"`, `"shop.public.orders"`). It appears among the
/// inputs of the run's own OpenLineage event (the pipeline job); datasets of a single step are
/// declared on the step, `#[monitor_step(inputs = "..")]`.
///
/// Outside a run, or with OpenLineage off, it does nothing. A run keeps at most
/// [`MAX_RUN_DATASETS`] inputs; calls recording further ones are counted in one warning at the
/// run's end, and those datasets are not sent.
pub fn input(namespace: &str, name: &str) {
    record(Direction::Input, namespace, name);
}

/// Records that the current run writes the dataset `name` in `namespace`; see [`input`].
pub fn output(namespace: &str, name: &str) {
    record(Direction::Output, namespace, name);
}

fn record(dir: Direction, namespace: &str, name: &str) {
    if !ACTIVE.load(Relaxed) {
        return;
    }
    let Some(run) = crate::call::attach::current() else {
        return;
    };
    if run.closed.load(Relaxed) {
        return;
    }
    let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let i = match runs.iter().position(|r| r.run_id == run.run_id) {
        Some(i) => i,
        None => {
            runs.push(RunDatasets {
                run_id: run.run_id.clone(),
                ..RunDatasets::default()
            });
            runs.len() - 1
        }
    };
    let entry = &mut runs[i];
    let (namespace, name) = (namespace.trim(), name.trim());
    if namespace.is_empty()
        || name.is_empty()
        || namespace.len() > MAX_DATASET_CHARS
        || name.len() > MAX_DATASET_CHARS
    {
        entry.not_kept += 1;
        return;
    }
    let list = match dir {
        Direction::Input => &mut entry.inputs,
        Direction::Output => &mut entry.outputs,
    };
    if list
        .iter()
        .any(|d| d.namespace == namespace && d.name == name)
    {
        return;
    }
    if list.len() >= MAX_RUN_DATASETS {
        entry.not_kept += 1;
        return;
    }
    list.push(Dataset {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    });
}

/// Takes what the run `run_id` recorded (at its end).
#[cfg_attr(not(feature = "openlineage"), allow(dead_code))]
pub(crate) fn take(run_id: &str) -> Option<RunDatasets> {
    let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let i = runs.iter().position(|r| r.run_id == run_id)?;
    Some(runs.swap_remove(i))
}
