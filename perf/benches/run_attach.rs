//! What attaching calls to a pipeline run costs, per call, in one run:
//! `cargo bench -p monitor-perf --bench run_attach`.
//!
//! The same timing-only `#[monitor_query]` call: outside every run (the fast path is one relaxed
//! load), inside the ambient run (its timeline full, as in any long run), and inside an entered
//! detached run. Ratios to the call outside any run are printed at the end.
use criterion::{black_box, Criterion};
use monitor::Pipeline;
use monitor_perf::{monitored_query, summary};
use std::time::Duration;

const GROUP: &str = "run_attach";

fn main() {
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
        .configure_from_args();
    let mut g = c.benchmark_group(GROUP);
    g.bench_function("outside_any_run", |b| {
        b.iter(|| monitored_query(black_box(7)))
    });
    {
        let run = Pipeline::builder("bench_ambient").max_spans(16).start();
        g.bench_function("in_ambient_run", |b| {
            b.iter(|| monitored_query(black_box(7)))
        });
        drop(run.finish());
    }
    {
        let run = Pipeline::builder("bench_detached")
            .detached()
            .max_spans(16)
            .start();
        let _entered = run.enter();
        g.bench_function("in_entered_run", |b| {
            b.iter(|| monitored_query(black_box(7)))
        });
    }
    g.finish();
    c.final_summary();
    summary::print_table(
        GROUP,
        "outside_any_run",
        &["in_ambient_run", "in_entered_run"],
    );
}
