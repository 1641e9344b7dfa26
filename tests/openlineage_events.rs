//! OpenLineage run events, end to end: pipelines with steps that declare datasets, an
//! `explain(..)` query, a failing step and datasets recorded at run time send their events to a
//! real HTTP server on a free loopback port (or a JSON Lines file). Every event is validated by
//! the official OpenLineage Python client and the spec's JSON schemas, and checked against the
//! run's report: one START and one COMPLETE or FAIL per run, one child job per step and query,
//! their datasets and row counts, the bearer token sent and never logged.
#![cfg(target_os = "linux")]

mod openlineage_support;

use monitor::lineage::{self, OpenLineage};
use monitor::testing::GlobalCapture;
use monitor::{monitor_query, monitor_step, Pipeline, Report};
use openlineage_support::{of_job, validate, Receiver};
use rusqlite::Connection;
use serde_json::Value;
use serial_test::serial;
use std::time::Duration;

const TOKEN: &str = "ol-token-7f3a9c1e5b";

#[monitor_step(
    rows,
    inputs = "file:/data/orders.csv",
    outputs = "postgres://db:5432/shop.public.orders"
)]
fn ol_load(n: u64) -> Vec<u64> {
    monitor::record_rows_in(n + 3);
    (0..n).collect()
}

#[monitor_step(rows, outputs = "file:out/big.csv, file:out/small.csv")]
fn ol_split(rows: &[u64]) -> usize {
    rows.len()
}

#[monitor_step]
fn ol_flaky(i: u64) -> Result<u64, std::io::Error> {
    if i.is_multiple_of(3) {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("part {i} is missing"),
        ))
    } else {
        Ok(i)
    }
}

const LOOKUP: &str = "SELECT v FROM kv WHERE k = 'sekrit-literal' AND id = ?1";

#[monitor_query(
    "ol_lookup",
    rows,
    inputs = "sqlite://mem/kv",
    explain(conn = conn, sql = sql, mode = "always")
)]
fn ol_lookup(conn: &Connection, sql: &str, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect()
}

fn global() -> &'static GlobalCapture {
    static G: std::sync::OnceLock<GlobalCapture> = std::sync::OnceLock::new();
    G.get_or_init(|| GlobalCapture::install().expect("the only global subscriber"))
}

/// A run of every kind of site; returns its report.
fn pipeline(name: &str) -> Report {
    let run = Pipeline::start(name);
    let rows = ol_load(40);
    ol_split(&rows);
    for i in 1..=10 {
        let _ = ol_flaky(i);
    }
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE kv (id INTEGER PRIMARY KEY, k TEXT, v TEXT); INSERT INTO kv VALUES (424242, 'sekrit-literal', 'x');")
        .unwrap();
    for _ in 0..3 {
        assert_eq!(ol_lookup(&conn, LOOKUP, 424_242).unwrap(), ["x"]);
    }
    lineage::input("file", "/srv/reference/countries.csv");
    lineage::output("s3://exports", "daily/summary.parquet");
    lineage::output("s3://exports", "daily/summary.parquet"); // recorded once
    lineage::input("", "ignored"); // no namespace: not kept
    run.finish()
}

fn child<'a>(events: &'a [Value], job: &str) -> &'a Value {
    let found = of_job(events, job);
    assert_eq!(found.len(), 1, "one event for {job}: {events:#?}");
    found[0]
}

fn site_rows(report: &Report, name: &str) -> Option<u64> {
    report
        .steps
        .iter()
        .chain(&report.queries)
        .find(|s| s.site.name == name)
        .and_then(|s| s.site.rows)
}

#[test]
#[serial]
fn a_run_sends_start_then_its_end_and_one_child_job_per_step_and_query() {
    monitor::testing::without_history();
    let logs = global();
    let _ = logs.take();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base)
        .unwrap()
        .api_key(TOKEN)
        .install();
    let report = pipeline("ol_etl");
    lineage::uninstall();

    let requests = receiver.requests();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/v1/lineage");
        assert_eq!(
            r.authorization.as_deref(),
            Some(&*format!("Bearer {TOKEN}"))
        );
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
    }
    let events: Vec<Value> = requests.iter().map(|r| r.event()).collect();
    validate(&events);

    // The run: START first, then COMPLETE, both with the report's run id (a UUID).
    assert_eq!(uuid_version(&report.run_id), 7);
    let run_events = of_job(&events, "ol_etl");
    assert_eq!(run_events.len(), 2, "{run_events:#?}");
    assert_eq!(events[0]["eventType"], "START");
    assert_eq!(events[0]["job"]["name"], "ol_etl");
    assert_eq!(run_events[1]["eventType"], "COMPLETE");
    for e in &run_events {
        assert_eq!(e["run"]["runId"], report.run_id.as_str());
        assert_eq!(
            e["job"]["namespace"], "ol_etl",
            "default namespace: the pipeline"
        );
    }
    let end = run_events[1];
    assert_eq!(end["run"]["facets"]["monitor"]["steps"], report.steps.len());
    assert_eq!(
        end["run"]["facets"]["monitor"]["queries"],
        report.queries.len()
    );
    // Datasets recorded at run time belong to the run's own job, each once; the empty one is
    // not kept.
    assert_eq!(
        end["inputs"],
        serde_json::json!([{"namespace": "file", "name": "/srv/reference/countries.csv"}])
    );
    assert_eq!(
        end["outputs"],
        serde_json::json!([{"namespace": "s3://exports", "name": "daily/summary.parquet"}])
    );

    // One child job per step and query of the report, each one event, with the parent facet.
    let sites: Vec<&str> = report
        .steps
        .iter()
        .chain(&report.queries)
        .map(|s| s.site.name.as_str())
        .collect();
    assert_eq!(sites.len(), 4, "{sites:?}");
    assert_eq!(events.len(), 2 + sites.len());
    for name in &sites {
        let e = child(&events, &format!("ol_etl.{name}"));
        let parent = &e["run"]["facets"]["parent"];
        assert_eq!(parent["run"]["runId"], report.run_id.as_str());
        assert_eq!(parent["job"]["name"], "ol_etl");
        assert_eq!(parent["root"]["run"]["runId"], report.run_id.as_str());
        assert_ne!(e["run"]["runId"], report.run_id.as_str());
        let calls = report
            .steps
            .iter()
            .chain(&report.queries)
            .find(|s| s.site.name == *name)
            .unwrap()
            .site
            .calls;
        assert_eq!(e["run"]["facets"]["monitor"]["calls"], calls, "{name}");
    }

    // Declared datasets, with the report's rows: one output takes the step's rows, and the one
    // input its rows in.
    let load = child(&events, "ol_etl.ol_load");
    assert_eq!(load["eventType"], "COMPLETE");
    assert_eq!(load["job"]["facets"]["jobType"]["jobType"], "STEP");
    assert_eq!(load["inputs"][0]["namespace"], "file");
    assert_eq!(load["inputs"][0]["name"], "/data/orders.csv");
    assert_eq!(
        load["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"],
        43
    );
    assert_eq!(load["outputs"][0]["namespace"], "postgres://db:5432");
    assert_eq!(load["outputs"][0]["name"], "shop.public.orders");
    assert_eq!(
        load["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"],
        site_rows(&report, "ol_load").unwrap()
    );
    // Two outputs: the rows cannot be split between them.
    let split = child(&events, "ol_etl.ol_split");
    assert_eq!(split["outputs"].as_array().unwrap().len(), 2);
    assert!(split["outputs"][0].get("outputFacets").is_none());

    // A step whose calls failed: FAIL, with how many and the first error, type and message.
    let flaky = child(&events, "ol_etl.ol_flaky");
    assert_eq!(flaky["eventType"], "FAIL");
    let message = flaky["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .unwrap();
    assert_eq!(
        message,
        "3 of 10 calls failed; first: std::io::error::Error: part 3 is missing"
    );
    assert_eq!(
        flaky["run"]["facets"]["errorMessage"]["programmingLanguage"],
        "Rust"
    );

    // The explain(..) query: its SQL, normalized, with neither the literal nor the parameter.
    let lookup = child(&events, "ol_etl.ol_lookup");
    assert_eq!(lookup["job"]["facets"]["jobType"]["jobType"], "QUERY");
    let sql = &lookup["job"]["facets"]["sql"];
    let query = sql["query"].as_str().unwrap();
    assert!(query.starts_with("SELECT v FROM kv WHERE"), "{query}");
    assert!(
        !query.contains("sekrit") && !query.contains("424242"),
        "{query}"
    );
    assert_eq!(sql["dialect"], "sqlite");
    assert_eq!(lookup["inputs"][0]["namespace"], "sqlite://mem");
    assert_eq!(lookup["inputs"][0]["name"], "kv");
    assert_eq!(
        lookup["run"]["facets"]["monitor"]["rows"],
        site_rows(&report, "ol_lookup").unwrap()
    );

    // The token went out in the header, and into no log event.
    for e in logs.take() {
        let text = format!("{} {:?}", e.message, e.fields);
        assert!(!text.contains(TOKEN), "the API key was logged: {text}");
    }
}

fn uuid_version(id: &str) -> u32 {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    assert_eq!(hex.len(), 32, "not a UUID: {id}");
    hex[12..13].parse().unwrap()
}

#[test]
#[serial]
fn a_failed_run_ends_with_fail_and_its_reason() {
    monitor::testing::without_history();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base)
        .unwrap()
        .namespace("shop")
        .install();
    let run = Pipeline::start("ol_failing");
    ol_load(5);
    let result: Result<(), String> = Err("the orders file is empty".into());
    let report = run.finish_with(&result);
    lineage::uninstall();

    let events = receiver.events();
    validate(&events);
    let run_events = of_job(&events, "ol_failing");
    assert_eq!(
        run_events
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["START", "FAIL"]
    );
    assert_eq!(
        run_events[1]["run"]["facets"]["errorMessage"]["message"],
        report.failure.as_deref().unwrap()
    );
    assert!(events.iter().all(|e| e["job"]["namespace"] == "shop"));
    // The step itself succeeded.
    assert_eq!(
        child(&events, "ol_failing.ol_load")["eventType"],
        "COMPLETE"
    );
}

#[test]
#[serial]
fn a_json_lines_file_gets_the_same_events() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lineage.jsonl");
    OpenLineage::new(&format!("file:{}", path.display()))
        .unwrap()
        .install();
    let report = pipeline("ol_file");
    lineage::uninstall();

    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    validate(&events);
    assert_eq!(events.len(), 2 + report.steps.len() + report.queries.len());
    assert_eq!(events[0]["eventType"], "START");
    assert_eq!(of_job(&events, "ol_file")[1]["eventType"], "COMPLETE");
}

#[test]
#[serial]
fn datasets_recorded_at_run_time_are_bounded_per_run() {
    monitor::testing::without_history();
    let logs = global();
    let _ = logs.take();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base).unwrap().install();
    let run = Pipeline::start("ol_many");
    for i in 0..1_000 {
        // 150 distinct names, each recorded many times: the first 100 are kept, and the 300
        // calls naming one of the other 50 are counted.
        lineage::output("file", &format!("/out/part-{:03}.csv", i % 150));
    }
    run.finish();
    lineage::uninstall();

    let events = receiver.events();
    let end = of_job(&events, "ol_many")[1];
    let outputs = end["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), lineage::MAX_RUN_DATASETS);
    assert_eq!(outputs[0]["name"], "/out/part-000.csv");
    let warned: Vec<_> = logs
        .take()
        .into_iter()
        .filter(|e| e.fields.contains_key("datasets_not_kept"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].u64("datasets_not_kept"), Some(300));
}

#[test]
#[serial]
fn nothing_is_sent_once_uninstalled() {
    monitor::testing::without_history();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base).unwrap().install();
    lineage::uninstall();
    let run = Pipeline::start("ol_off");
    ol_load(3);
    lineage::output("file", "/never/sent.csv");
    run.finish();
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.requests().is_empty());
}

/// The validator can fail: events broken the ways a producer breaks them are refused, each with
/// a finding that names the problem.
#[test]
#[serial]
fn the_validator_refuses_broken_events() {
    monitor::testing::without_history();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base).unwrap().install();
    pipeline("ol_broken");
    lineage::uninstall();
    let events = receiver.events();
    validate(&events);
    let flaky = (*child(&events, "ol_broken.ol_flaky")).clone();
    let load = (*child(&events, "ol_broken.ol_load")).clone();
    let lookup = (*child(&events, "ol_broken.ol_lookup")).clone();

    let broken: Vec<(&str, Value, &str)> = vec![
        (
            "a run id that is not a UUID",
            {
                let mut e = load.clone();
                e["run"]["runId"] = "20261124T160512.345Z-p4821-1".into();
                e
            },
            "runId",
        ),
        (
            "a time without a zone",
            {
                let mut e = load.clone();
                e["eventTime"] = "2026-11-24 16:05:12".into();
                e
            },
            "eventTime",
        ),
        (
            "an unknown event type",
            {
                let mut e = load.clone();
                e["eventType"] = "DONE".into();
                e
            },
            "DONE",
        ),
        (
            "errorMessage without its required programmingLanguage",
            {
                let mut e = flaky.clone();
                e["run"]["facets"]["errorMessage"]
                    .as_object_mut()
                    .unwrap()
                    .remove("programmingLanguage");
                e
            },
            "programmingLanguage",
        ),
        (
            "a facet claiming another spec version",
            {
                let mut e = lookup.clone();
                e["job"]["facets"]["sql"]["_schemaURL"] =
                    "https://openlineage.io/spec/facets/1-0-1/SQLJobFacet.json#/$defs/SQLJobFacet"
                        .into();
                e
            },
            "SQLJobFacet",
        ),
        (
            "a row count that is not an integer",
            {
                let mut e = load.clone();
                e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = "40".into();
                e
            },
            "rowCount",
        ),
        (
            "the custom facet without its kind",
            {
                let mut e = load.clone();
                e["run"]["facets"]["monitor"]
                    .as_object_mut()
                    .unwrap()
                    .remove("kind");
                e
            },
            "kind",
        ),
    ];
    for (what, event, needle) in broken {
        let findings = openlineage_support::try_validate(&[event])
            .expect_err(&format!("the validator accepted {what}"));
        assert!(findings.contains(needle), "{what}: {findings}");
    }
}

mod first {
    #[monitor::monitor_step(name = "ol_same")]
    pub fn same() {}
}

mod second {
    #[monitor::monitor_step(name = "ol_same")]
    pub fn same() {}
}

/// Two sites with one name get job names that tell them apart (by module); the others keep
/// `{pipeline}.{name}`.
#[test]
#[serial]
fn sites_sharing_a_name_get_distinct_jobs() {
    monitor::testing::without_history();
    let receiver = Receiver::start(200);
    OpenLineage::new(&receiver.base).unwrap().install();
    let run = Pipeline::start("ol_dup");
    first::same();
    second::same();
    ol_load(2);
    run.finish();
    lineage::uninstall();
    let events = receiver.events();
    validate(&events);
    let mut jobs: Vec<&str> = events
        .iter()
        .map(|e| e["job"]["name"].as_str().unwrap())
        .collect();
    jobs.sort_unstable();
    assert_eq!(
        jobs,
        [
            "ol_dup",
            "ol_dup",
            "ol_dup.ol_load",
            "ol_dup.openlineage_events::first::ol_same",
            "ol_dup.openlineage_events::second::ol_same",
        ]
    );
}
