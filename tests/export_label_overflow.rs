//! Label bounds: past the bound, names fold into `__other__` (figures still add up), sites that
//! share a name are one series, and pipelines are bounded the same way.

use monitor::export::labels::{set_max_names, set_max_pipelines, OVERFLOW};
use monitor::export::prometheus::render;
use monitor::export::{self, RunSummary};
use monitor::{monitor_query, monitor_step, Kind};
use monitor_test_support::prometheus::check_metrics;
use std::time::Duration;

#[monitor_step]
fn first() {}
#[monitor_step]
fn second() {}
#[monitor_step]
fn third() {}
#[monitor_step]
fn fourth() {}
#[monitor_step(name = "shared")]
fn shared_a() {}
#[monitor_step(name = "shared")]
fn shared_b() {}
#[monitor_query("only_query")]
fn only_query() {}

#[test]
fn names_past_the_bound_fold_into_one_overflow_series() {
    set_max_names(3);
    // Registration order decides who keeps a name: first, second, shared (both functions).
    first();
    second();
    shared_a();
    shared_b();
    shared_b();
    third();
    fourth();
    fourth();
    only_query();

    let f = export::collect();
    let steps: Vec<(&str, u64)> = f
        .sites
        .iter()
        .filter(|s| s.kind == Kind::Step)
        .map(|s| (s.name, s.calls))
        .collect();
    assert_eq!(
        steps,
        vec![("first", 1), ("second", 1), ("shared", 3), (OVERFLOW, 3)]
    );
    // The bound is per kind: the query keeps its name.
    assert_eq!(f.site(Kind::Query, "only_query").map(|s| s.calls), Some(1));
    assert_eq!(f.overflowed_sites, 2);

    let text = render();
    assert!(text.contains("name=\"__other__\""), "{text}");
    assert!(!text.contains("name=\"fourth\""), "{text}");
    assert!(
        text.contains("\nmonitor_label_overflow_sites 2\n"),
        "{text}"
    );
    check_metrics(&text).unwrap_or_else(|e| panic!("{e}"));

    // Pipelines: the first two keep their label, the rest share one.
    set_max_pipelines(2);
    for (i, p) in ["p1", "p2", "p3", "p4", "p3"].iter().enumerate() {
        export::run_finished(&RunSummary {
            pipeline: p,
            succeeded: i != 3,
            ended_unix_ms: 1_700_000_000_000 + i as u64,
            duration: Duration::from_secs(1),
        });
    }
    let runs = export::collect().runs;
    let names: Vec<(&str, u64, u64)> = runs
        .iter()
        .map(|r| (r.pipeline.as_str(), r.succeeded, r.failed))
        .collect();
    assert_eq!(names, vec![("p1", 1, 0), ("p2", 1, 0), (OVERFLOW, 2, 1)]);
}
