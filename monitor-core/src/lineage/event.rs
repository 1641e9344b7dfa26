//! The OpenLineage events (spec 2-0-2), built as JSON:
//!
//! - the run (job `{pipeline}` in the namespace): `START` when it begins; `COMPLETE`, or `FAIL`
//!   with the `errorMessage` facet (the report's `failure`), when it ends, with the datasets
//!   recorded by [`input`](super::input)/[`output`](super::output);
//! - each step and query called in the run, once at the end (however many calls): job
//!   `{pipeline}.{name}` with the `parent` facet, `COMPLETE`, or `FAIL` when a call failed
//!   (`errorMessage`: how many calls failed and the first kept error, its type and message as
//!   the report redacts them), the `sql` facet for `explain(..)` queries (normalized: literals
//!   as `?`), the declared datasets with `inputStatistics`/`outputStatistics` (rows, file size),
//!   and the custom `monitor` facet with the site's figures (schema:
//!   `docs/openlineage/MonitorRunFacet.json`).

use super::datasets::RunDatasets;
use crate::call::callsite::{Callsite, DatasetName};
use crate::report::{ErrorOutcome, Report, RunStatus, SiteReport};
use crate::Kind;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `producer` and every facet's `_producer`.
pub(crate) const PRODUCER: &str = concat!(
    "https://github.com/pipeline-monitor/pipeline-monitor/tree/v",
    env!("CARGO_PKG_VERSION")
);
/// The spec version the events follow.
pub(crate) const SCHEMA_URL: &str =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const PARENT: &str =
    "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet";
const ERROR_MESSAGE: &str =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
const PROCESSING_ENGINE: &str = "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";
const JOB_TYPE: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const SQL: &str = "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet";
const OUTPUT_STATISTICS: &str = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet";
const INPUT_STATISTICS: &str = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet";
/// The custom facet's schema, in this repository.
pub(crate) const MONITOR_FACET: &str = "https://github.com/pipeline-monitor/pipeline-monitor/blob/main/docs/openlineage/MonitorRunFacet.json#/$defs/MonitorRunFacet";

fn facet(schema: &str, fields: Value) -> Value {
    let mut m = Map::new();
    m.insert("_producer".into(), PRODUCER.into());
    m.insert("_schemaURL".into(), schema.into());
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}

fn rfc3339(unix_ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms);
    humantime::format_rfc3339_millis(t).to_string()
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn offset(start_unix_ms: u64, ms: f64) -> u64 {
    start_unix_ms.saturating_add(ms.max(0.0).round() as u64)
}

fn job(namespace: &str, name: &str, job_type: &str, extra: Option<(&str, Value)>) -> Value {
    let mut facets = Map::new();
    facets.insert(
        "jobType".into(),
        facet(
            JOB_TYPE,
            json!({"processingType": "BATCH", "integration": "PIPELINE_MONITOR", "jobType": job_type}),
        ),
    );
    if let Some((k, v)) = extra {
        facets.insert(k.into(), v);
    }
    json!({"namespace": namespace, "name": name, "facets": facets})
}

fn processing_engine() -> Value {
    facet(
        PROCESSING_ENGINE,
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "name": "pipeline-monitor",
            "openlineageAdapterVersion": env!("CARGO_PKG_VERSION"),
        }),
    )
}

fn event(
    kind: &str,
    time_ms: u64,
    run: Value,
    job: Value,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
) -> Vec<u8> {
    let e = json!({
        "eventType": kind,
        "eventTime": rfc3339(time_ms),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": run,
        "job": job,
        "inputs": inputs,
        "outputs": outputs,
    });
    serde_json::to_vec(&e).unwrap_or_default()
}

/// The run's `START` event.
pub(crate) fn start(
    namespace: &str,
    pipeline: &str,
    run_id: &str,
    started_unix_ms: u64,
) -> Vec<u8> {
    let run_uuid = super::run_uuid(pipeline, run_id);
    let run = json!({"runId": run_uuid, "facets": {"processing_engine": processing_engine()}});
    event(
        "START",
        started_unix_ms,
        run,
        job(namespace, pipeline, "PIPELINE", None),
        Vec::new(),
        Vec::new(),
    )
}

fn error_message(message: &str) -> Value {
    facet(
        ERROR_MESSAGE,
        json!({"message": message, "programmingLanguage": "Rust"}),
    )
}

/// The size of a local file dataset, when it is one and exists.
fn file_size(namespace: &str, name: &str) -> Option<u64> {
    (namespace == "file")
        .then(|| std::fs::metadata(name).ok())
        .flatten()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
}

/// `inputStatistics` / `outputStatistics`: rows when known (the site's rows, when it names one
/// dataset that way), the file's size when it is a local file.
fn statistics(schema: &str, namespace: &str, name: &str, rows: Option<u64>) -> Option<Value> {
    let mut fields = Map::new();
    if let Some(r) = rows {
        fields.insert("rowCount".into(), r.into());
    }
    if let Some(size) = file_size(namespace, name) {
        fields.insert("size".into(), size.into());
    }
    (!fields.is_empty()).then(|| facet(schema, Value::Object(fields)))
}

fn input(namespace: &str, name: &str, rows: Option<u64>) -> Value {
    let mut d = json!({"namespace": namespace, "name": name});
    if let Some(s) = statistics(INPUT_STATISTICS, namespace, name, rows) {
        d["inputFacets"] = json!({"inputStatistics": s});
    }
    d
}

fn output(namespace: &str, name: &str, rows: Option<u64>) -> Value {
    let mut d = json!({"namespace": namespace, "name": name});
    if let Some(s) = statistics(OUTPUT_STATISTICS, namespace, name, rows) {
        d["outputFacets"] = json!({"outputStatistics": s});
    }
    d
}

/// The call sites of a report's entries (same kind, name, module and line), found in one walk of
/// the registry.
fn callsites_of(sites: &[&SiteReport]) -> Vec<Option<&'static Callsite>> {
    let mut by_key: HashMap<(Kind, &str, &str, u32), &'static Callsite> = HashMap::new();
    crate::call::callsite::for_each_site(|c| {
        let m = c.metadata();
        by_key
            .entry((m.kind, m.name, m.module_path, m.line))
            .or_insert(c);
    });
    sites
        .iter()
        .map(|s| {
            let v = &s.site;
            by_key
                .get(&(v.kind, v.name.as_str(), v.module.as_str(), v.line))
                .copied()
        })
        .collect()
}

/// Child job names: `{pipeline}.{name}`, or `{pipeline}.{module}::{name}` for a name two sites
/// of the run share (and `.{kind}` if even that is shared).
fn job_names(pipeline: &str, sites: &[&SiteReport]) -> Vec<String> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut by_module: HashMap<(&str, &str), usize> = HashMap::new();
    for s in sites {
        *by_name.entry(&s.site.name).or_default() += 1;
        *by_module.entry((&s.site.module, &s.site.name)).or_default() += 1;
    }
    sites
        .iter()
        .map(|s| {
            let n = &s.site;
            if by_name[n.name.as_str()] == 1 {
                format!("{pipeline}.{}", n.name)
            } else if by_module[&(n.module.as_str(), n.name.as_str())] == 1 {
                format!("{pipeline}.{}::{}", n.module, n.name)
            } else {
                format!("{pipeline}.{}::{}.{}", n.module, n.name, n.kind.as_str())
            }
        })
        .collect()
}

/// The figures every end event carries in its `monitor` facet.
fn monitor_facet(fields: Value) -> Value {
    facet(MONITOR_FACET, fields)
}

fn site_facet(s: &SiteReport) -> Value {
    let v = &s.site;
    let mut f = json!({
        "kind": v.kind.as_str(),
        "calls": v.calls,
        "errors": v.errors,
        "panics": v.panics,
        "cancelled": v.cancelled,
        "slow": v.slow,
        "durationMs": {
            "total": v.duration_ms.total,
            "p50": v.duration_ms.p50,
            "p95": v.duration_ms.p95,
            "max": v.duration_ms.max,
        },
    });
    if let Some(r) = v.rows {
        f["rows"] = r.into();
    }
    if let Some(r) = v.rows_in {
        f["rowsIn"] = r.into();
    }
    if let Some(m) = v.memory.rss_peak {
        f["rssPeakBytes"] = m.max.into();
    }
    monitor_facet(f)
}

/// Why a site's child run failed: how many calls failed, and the first kept error.
fn site_failure(report: &Report, s: &SiteReport) -> String {
    let v = &s.site;
    let failed = v.errors + v.panics;
    let head = format!("{failed} of {} calls failed", v.calls);
    let first = report
        .errors
        .iter()
        .find(|e| e.site == v.name && e.kind == v.kind);
    match first {
        Some(e) => match (e.outcome, &e.error_type) {
            (ErrorOutcome::Error, Some(t)) => format!("{head}; first: {t}: {}", e.message),
            (ErrorOutcome::Error, None) => format!("{head}; first: {}", e.message),
            (ErrorOutcome::Panic, _) => format!("{head}; first: panic: {}", e.message),
        },
        None => head,
    }
}

/// When a site's last call ended, from the timeline when it holds every call; else the run's end.
fn site_end_ms(report: &Report, s: &SiteReport, run_end_ms: u64) -> u64 {
    if report.timeline.calls_not_kept > 0 {
        return run_end_ms;
    }
    report
        .timeline
        .calls
        .iter()
        .filter(|c| c.name == s.site.name && c.kind == s.site.kind)
        .map(|c| offset(report.started_at_unix_ms, c.start_ms + c.duration_ms))
        .max()
        .map_or(run_end_ms, |t| t.min(run_end_ms))
}

fn declared(
    list: &[DatasetName],
    rows: Option<u64>,
    f: fn(&str, &str, Option<u64>) -> Value,
) -> Vec<Value> {
    // Rows belong to one dataset only when the site names exactly one that way.
    let rows = if list.len() == 1 { rows } else { None };
    list.iter().map(|d| f(d.namespace, d.name, rows)).collect()
}

/// The end of a run: its own `COMPLETE`/`FAIL` event, then one per step and query. Also returns
/// how many runtime datasets were not kept.
pub(crate) fn end(
    namespace: &str,
    report: &Report,
    datasets: Option<&RunDatasets>,
) -> (Vec<Vec<u8>>, u64) {
    let run_uuid = super::run_uuid(&report.pipeline, &report.run_id);
    let end_ms = offset(report.started_at_unix_ms, report.duration_ms);
    let failed = report.status == RunStatus::Failed;
    let mut out = Vec::new();

    let mut run_facets = Map::new();
    run_facets.insert("processing_engine".into(), processing_engine());
    if failed {
        let reason = report.failure.as_deref().unwrap_or("the run failed");
        run_facets.insert("errorMessage".into(), error_message(reason));
    }
    let errors: u64 = report
        .steps
        .iter()
        .chain(&report.queries)
        .map(|s| s.site.errors + s.site.panics)
        .sum();
    run_facets.insert(
        "monitor".into(),
        monitor_facet(json!({
            "kind": "pipeline",
            "status": report.status.as_str(),
            "steps": report.steps.len(),
            "queries": report.queries.len(),
            "errors": errors,
            "regressions": report.regressions.len(),
            "durationMs": {"total": report.duration_ms},
        })),
    );
    let (inputs, outputs) = datasets.map_or((Vec::new(), Vec::new()), |d| {
        (
            d.inputs
                .iter()
                .map(|x| input(&x.namespace, &x.name, None))
                .collect(),
            d.outputs
                .iter()
                .map(|x| output(&x.namespace, &x.name, None))
                .collect(),
        )
    });
    out.push(event(
        if failed { "FAIL" } else { "COMPLETE" },
        end_ms,
        json!({"runId": run_uuid, "facets": run_facets}),
        job(namespace, &report.pipeline, "PIPELINE", None),
        inputs,
        outputs,
    ));

    let sites: Vec<&SiteReport> = report.steps.iter().chain(&report.queries).collect();
    let names = job_names(&report.pipeline, &sites);
    let parent = facet(
        PARENT,
        json!({
            "run": {"runId": run_uuid},
            "job": {"namespace": namespace, "name": report.pipeline},
            "root": {
                "run": {"runId": run_uuid},
                "job": {"namespace": namespace, "name": report.pipeline},
            },
        }),
    );
    let callsites = callsites_of(&sites);
    for ((s, name), callsite) in sites.iter().zip(&names).zip(callsites) {
        let mut facets = Map::new();
        facets.insert("parent".into(), parent.clone());
        let site_failed = s.site.errors + s.site.panics > 0;
        if site_failed {
            facets.insert(
                "errorMessage".into(),
                error_message(&site_failure(report, s)),
            );
        }
        facets.insert("monitor".into(), site_facet(s));
        // The SQL as first seen and the database it ran on (from any plan the site captured,
        // in this run or before it).
        let explain = callsite.and_then(crate::query::explain_site::explain_site_of);
        let plans = explain.map(crate::query::explain_site::ExplainSite::plans);
        let first_plan = plans
            .as_ref()
            .and_then(|p| p.first())
            .or_else(|| s.plans.first());
        let sql = explain
            .and_then(|e| e.sql().map(str::to_owned))
            .or_else(|| first_plan.map(|p| p.plan.sql.clone()));
        let sql_facet = sql.map(|q| {
            let mut f = json!({"query": q});
            let dialect = first_plan
                .and_then(|p| serde_json::to_value(p.plan.source).ok())
                .and_then(|v| v.as_str().map(str::to_lowercase));
            if let Some(d) = dialect {
                f["dialect"] = d.into();
            }
            ("sql", facet(SQL, f))
        });
        let job_type = match s.site.kind {
            Kind::Step => "STEP",
            Kind::Query => "QUERY",
        };
        let (inputs, outputs) = callsite.map_or((Vec::new(), Vec::new()), |c| {
            let m = c.metadata();
            (
                declared(m.inputs, s.site.rows_in, input),
                declared(m.outputs, s.site.rows, output),
            )
        });
        out.push(event(
            if site_failed { "FAIL" } else { "COMPLETE" },
            site_end_ms(report, s, end_ms),
            json!({"runId": super::child_run_uuid(&run_uuid, name), "facets": facets}),
            job(namespace, name, job_type, sql_facet),
            inputs,
            outputs,
        ));
    }
    (out, datasets.map_or(0, |d| d.not_kept))
}
