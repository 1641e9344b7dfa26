//! An `async fn` step awaited on a current-thread tokio runtime vs the same function unmonitored.
//! `cargo bench -p monitor-perf --bench async_step`.
use criterion::{black_box, Criterion};
use monitor_perf::{bare_async, monitored_async, summary};
use std::time::Duration;

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot build a tokio runtime: {e}");
            return;
        }
    };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    let mut g = c.benchmark_group("async_step");
    g.bench_function("unmonitored", |b| {
        b.iter(|| rt.block_on(bare_async(black_box(7))));
    });
    g.bench_function("monitor_step", |b| {
        b.iter(|| rt.block_on(monitored_async(black_box(7))));
    });
    g.finish();
    c.final_summary();
    summary::print_table(
        "async_step",
        "unmonitored",
        &["unmonitored", "monitor_step"],
    );
}
