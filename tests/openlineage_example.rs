//! The example pipeline, run as a user runs it with `MONITOR_OPENLINEAGE_URL` (and an API key)
//! pointing at a receiver in this test: START and COMPLETE for the run, one child job per step
//! and query of its report, the datasets its steps declare, and row counts equal to the report's;
//! every event valid for the official OpenLineage Python client and the spec's schemas.
#![cfg(target_os = "linux")]

mod openlineage_support;

use monitor::Report;
use openlineage_support::{of_job, validate, Receiver};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// Builds the example (a no-op when `cargo test` already did) and returns its executable.
fn example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--example", "pipeline", "--message-format=json"])
        .output()
        .expect("run cargo build --example pipeline");
    assert!(
        out.status.success(),
        "cargo build --example pipeline failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "pipeline")
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("the example's executable in cargo's messages")
}

#[test]
fn the_example_pipeline_sends_its_run_steps_queries_and_datasets() {
    let receiver = Receiver::start(200);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(example())
        .current_dir(dir.path())
        .args(["--orders", "3000", "--customers", "200", "--out"])
        .arg(dir.path())
        .env("MONITOR_OPENLINEAGE_URL", &receiver.base)
        .env("MONITOR_OPENLINEAGE_API_KEY", "example-key-51d0")
        .env("MONITOR_HISTORY_RECORD", "0")
        .env_remove("MONITOR_OPENLINEAGE_NAMESPACE")
        .env_remove("MONITOR_DISABLE")
        .env_remove("RUST_LOG")
        .output()
        .expect("run the example");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the example failed:\n{stderr}");
    assert!(!stderr.contains("example-key-51d0"), "{stderr}");
    assert!(
        !stderr.contains("OpenLineage"),
        "a lineage warning:\n{stderr}"
    );
    let report =
        Report::from_json(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();

    let requests = receiver.requests();
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer example-key-51d0")));
    let events: Vec<Value> = requests.iter().map(|r| r.event()).collect();
    validate(&events);

    // The run: START, then COMPLETE, with the report's run id, in the namespace of its name.
    let run = of_job(&events, "nightly_etl");
    let kinds: Vec<&str> = run
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["START", "COMPLETE"]);
    assert_eq!(events[0]["eventType"], "START");
    for e in &events {
        assert_eq!(e["job"]["namespace"], "nightly_etl");
    }
    assert!(run
        .iter()
        .all(|e| e["run"]["runId"] == report.run_id.as_str()));

    // One child job per step and query in the report, nothing else.
    let sites: Vec<_> = report.steps.iter().chain(&report.queries).collect();
    let want: BTreeSet<String> = sites
        .iter()
        .map(|s| format!("nightly_etl.{}", s.site.name))
        .collect();
    let got: BTreeSet<String> = events
        .iter()
        .filter(|e| e["job"]["name"] != "nightly_etl")
        .map(|e| e["job"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    assert_eq!(events.len(), 2 + sites.len());
    assert!(sites.len() >= 15, "{} sites", sites.len());

    let child = |name: &str| -> &Value { of_job(&events, &format!("nightly_etl.{name}"))[0] };
    let names = |list: &Value| -> Vec<(String, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["namespace"].as_str().unwrap().to_owned(),
                    d["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let ds = |ns: &str, n: &str| (ns.to_owned(), n.to_owned());
    // The declared datasets: CSV files and SQLite tables.
    let clean = child("clean_orders");
    assert_eq!(names(&clean["inputs"]), [ds("file", "orders.csv")]);
    assert_eq!(names(&clean["outputs"]), [ds("file", "orders_clean.csv")]);
    let load = child("load_orders");
    assert_eq!(names(&load["inputs"]), [ds("file", "orders_clean.csv")]);
    assert_eq!(
        names(&load["outputs"]),
        [ds("sqlite://shop.sqlite", "fact_orders")]
    );
    assert_eq!(
        names(&child("load_customers")["outputs"]),
        [ds("sqlite://shop.sqlite", "dim_customers")]
    );
    assert_eq!(
        names(&child("export_top_customers")["outputs"]),
        [ds("file", "top_customers.csv")]
    );

    // Row counts: every step or query that writes one dataset and counts rows carries the
    // report's figure; rows in go with the one dataset read.
    let mut checked = 0;
    for s in &sites {
        let e = child(&s.site.name);
        assert_eq!(e["run"]["facets"]["monitor"]["calls"], s.site.calls);
        if let (Some(rows), [only]) = (s.site.rows, e["outputs"].as_array().unwrap().as_slice()) {
            assert_eq!(
                only["outputFacets"]["outputStatistics"]["rowCount"], rows,
                "{}",
                s.site.name
            );
            checked += 1;
        }
        if let (Some(rows), [only]) = (s.site.rows_in, e["inputs"].as_array().unwrap().as_slice()) {
            assert_eq!(
                only["inputFacets"]["inputStatistics"]["rowCount"], rows,
                "{}",
                s.site.name
            );
        }
    }
    assert!(checked >= 5, "{checked} outputs with rows");
    let orders = report.step("load_orders").unwrap().site.rows.unwrap();
    assert_eq!(
        load["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"],
        orders
    );

    // The plan-capturing queries carry their SQL, literals as `?`.
    for q in ["orders_of_customer", "customer_aggregation"] {
        let sql = &child(q)["job"]["facets"]["sql"];
        assert_eq!(sql["dialect"], "sqlite", "{q}");
        assert!(
            sql["query"].as_str().unwrap().contains("FROM fact_orders"),
            "{q}"
        );
    }
    assert!(
        !child("customer_aggregation")["job"]["facets"]["sql"]["query"]
            .as_str()
            .unwrap()
            .contains("'active'")
    );
}
