//! OpenLineage run events: a pipeline's runs, its steps and queries as jobs, and the datasets
//! they read and write, for the lineage tools teams already run (Marquez, DataHub,
//! OpenMetadata, Atlan and anything else that reads OpenLineage).
//!
//! What this module owns:
//!
//! - the OpenLineage id of a run ([`run_uuid`]): the run id itself, a UUIDv7 unless the program
//!   chose its own with [`PipelineBuilder::run_id`](crate::PipelineBuilder::run_id);
//! - dataset names known only at run time: [`input`] and [`output`] record them for the
//!   current run, a bounded set per run ([`MAX_RUN_DATASETS`] each way); the names declared in
//!   `#[monitor_step(inputs = "..", outputs = "..")]` live in each call site's static metadata
//!   ([`DatasetName`](crate::call::callsite::DatasetName)) and cost a call nothing;
//! - with the `openlineage` feature: the events (`event.rs`), the settings from
//!   `MONITOR_OPENLINEAGE_*` or code ([`OpenLineage`]), and the sender thread with its bounded
//!   queue and time limit (`emitter.rs`).
//!
//! How it hears about runs: [`Pipeline::start`](crate::Pipeline::start) calls one function here
//! (the `START` event), and the end of a run reaches it through a report sink
//! ([`add_report_sink`](crate::add_report_sink), as history stores and exporters do): one
//! `COMPLETE` or `FAIL` event for the run and one per step and query it called. It reads the
//! report, the call sites' metadata, the plan-capturing sites' SQL and the run table. It hears
//! about runs as one listener of runs (`LineageListener`, joined at start-up); nothing below it
//! names it.
//!
//! May import: `base`, `config`, `site`, `call`, `query`, `report`, `run`, `export`.

mod datasets;
#[cfg(feature = "openlineage")]
mod emitter;
#[cfg(feature = "openlineage")]
mod event;
#[cfg(feature = "openlineage")]
mod settings;

pub use datasets::{input, output, Dataset, MAX_DATASET_CHARS, MAX_RUN_DATASETS};
#[cfg(feature = "openlineage")]
pub use settings::{
    endpoint, uninstall, OpenLineage, DEFAULT_TIMEOUT, LINEAGE_PATH, QUEUE_EVENTS, TIMEOUT_BOUNDS,
};

use uuid::Uuid;

/// The namespace of the name-based UUIDs [`run_uuid`] derives:
/// `uuid5(NAMESPACE_URL, "https://github.com/pipeline-monitor/pipeline-monitor")`.
fn monitor_namespace() -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://github.com/pipeline-monitor/pipeline-monitor",
    )
}

/// The OpenLineage `runId` of a run of `pipeline` with id `run_id`: the id itself when it is a
/// UUID (the default, see [`Report::run_id`](crate::Report::run_id)), else the name-based
/// UUIDv5 of `"{pipeline}/{run_id}"` in the namespace
/// `uuid5(NAMESPACE_URL, "https://github.com/pipeline-monitor/pipeline-monitor")`, so the same
/// custom id always maps to the same UUID and anyone can compute it.
#[must_use]
pub fn run_uuid(pipeline: &str, run_id: &str) -> String {
    match Uuid::try_parse(run_id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => Uuid::new_v5(
            &monitor_namespace(),
            format!("{pipeline}/{run_id}").as_bytes(),
        )
        .to_string(),
    }
}

/// The `runId` of a step's or query's child run: `uuid5(parent run id, job name)`, stable for a
/// given run and site.
#[cfg_attr(not(feature = "openlineage"), allow(dead_code))]
pub(crate) fn child_run_uuid(parent: &str, job_name: &str) -> String {
    let parent = Uuid::try_parse(parent).unwrap_or_else(|_| monitor_namespace());
    Uuid::new_v5(&parent, job_name.as_bytes()).to_string()
}

/// At the start of every run: sends the `START` event
/// when OpenLineage is on (read from the environment on the first run), and warns once when
/// `MONITOR_OPENLINEAGE_URL` is set in a build without the `openlineage` feature.
fn on_run_start(state: &crate::call::attach::RunState) {
    #[cfg(feature = "openlineage")]
    emitter::run_started(state);
    #[cfg(not(feature = "openlineage"))]
    {
        let _ = state;
        static WARNED: std::sync::Once = std::sync::Once::new();
        if std::env::var_os("MONITOR_OPENLINEAGE_URL").is_some() {
            WARNED.call_once(|| {
                crate::call::events::surfaced(|| {
                    tracing::warn!(
                        target: "monitor",
                        variable = "MONITOR_OPENLINEAGE_URL",
                        feature = "openlineage",
                        "MONITOR_OPENLINEAGE_URL is set but monitor was built without its \
                         `openlineage` feature; no lineage events are sent"
                    );
                });
            });
        }
    }
}

/// OpenLineage as a listener of pipeline runs (joined by the start-up): the run's `START` event
/// when it begins, its end events when it finishes.
pub(crate) struct LineageListener;

impl crate::run::listeners::RunListener for LineageListener {
    fn run_started(&self, run: &crate::call::attach::RunState) {
        on_run_start(run);
    }

    fn run_finished(&self, report: &mut crate::report::Report) {
        #[cfg(feature = "openlineage")]
        emitter::run_finished(report);
        #[cfg(not(feature = "openlineage"))]
        let _ = report;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::pipeline::new_run_id;

    #[test]
    fn a_uuid_run_id_is_its_own_lineage_id_and_a_custom_one_maps_to_a_stable_uuid() {
        let id = new_run_id();
        let parsed = Uuid::try_parse(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(run_uuid("etl", &id), id);
        let custom = run_uuid("etl", "2026-11-24-nightly");
        assert_eq!(Uuid::try_parse(&custom).unwrap().get_version_num(), 5);
        assert_eq!(custom, run_uuid("etl", "2026-11-24-nightly"));
        assert_ne!(custom, run_uuid("other", "2026-11-24-nightly"));
        // The documented formula, spelled out.
        let ns = Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            b"https://github.com/pipeline-monitor/pipeline-monitor",
        );
        assert_eq!(
            custom,
            Uuid::new_v5(&ns, b"etl/2026-11-24-nightly").to_string()
        );
    }

    #[test]
    fn run_ids_sort_by_start() {
        let ids: Vec<String> = (0..1000).map(|_| new_run_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn child_run_ids_differ_per_job_and_are_stable() {
        let parent = new_run_id();
        let a = child_run_uuid(&parent, "etl.load");
        assert_eq!(a, child_run_uuid(&parent, "etl.load"));
        assert_ne!(a, child_run_uuid(&parent, "etl.clean"));
        assert_ne!(a, child_run_uuid(&new_run_id(), "etl.load"));
    }
}
