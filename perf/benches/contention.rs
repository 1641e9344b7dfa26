//! The same call site hit from 1, 2 and all cores at once: ns per call on each thread, and how it
//! scales. `cargo bench -p monitor-perf --bench contention`.
use criterion::{black_box, BenchmarkId, Criterion};
use monitor_perf::{bare, body, monitored_query, summary};
use std::sync::Barrier;
use std::time::{Duration, Instant};

fn on_threads(threads: usize, iters: u64, f: fn(u64) -> u64) -> Duration {
    let barrier = Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(f(black_box(i)));
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .sum()
    });
    // Mean time per call on one thread.
    total / u32::try_from(threads).unwrap_or(1)
}

fn instant_pair(x: u64) -> u64 {
    let t = Instant::now();
    let r = body(x);
    black_box(t.elapsed());
    r
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut counts = vec![1, 2, cores];
    counts.dedup();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    let mut g = c.benchmark_group("contention");
    for &n in &counts {
        g.bench_with_input(BenchmarkId::new("bare_call", n), &n, |b, &n| {
            b.iter_custom(|iters| on_threads(n, iters, bare));
        });
        g.bench_with_input(BenchmarkId::new("std_instant_pair", n), &n, |b, &n| {
            b.iter_custom(|iters| on_threads(n, iters, instant_pair));
        });
        g.bench_with_input(BenchmarkId::new("monitor_query", n), &n, |b, &n| {
            b.iter_custom(|iters| on_threads(n, iters, monitored_query));
        });
    }
    g.finish();
    c.final_summary();
    for &n in &counts {
        let ids: Vec<String> = ["bare_call", "std_instant_pair", "monitor_query"]
            .iter()
            .map(|id| format!("{id}/{n}"))
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        summary::print_table("contention", &format!("std_instant_pair/{n}"), &refs);
    }
}
