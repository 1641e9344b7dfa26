//! The same call site hit from 1, 2 and all cores at once: ns per call on each thread, and how it
//! scales. `cargo bench -p monitor-perf --bench contention`.
//!
//! The floor is the least a lock-free recorder that shares its counters can do: a TSC pair (the
//! clock `monitor` reads) and three relaxed atomic adds on counters every thread shares.
use criterion::{black_box, BenchmarkId, Criterion};
use monitor_perf::{bare, body, monitored_query, summary};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, OnceLock};
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

/// Counters shared by every thread, each on its own cache line (as a shared site's would be).
#[repr(align(128))]
struct Line(AtomicU64);
static FLOOR_COUNTERS: [Line; 3] = [
    Line(AtomicU64::new(0)),
    Line(AtomicU64::new(0)),
    Line(AtomicU64::new(0)),
];

fn tsc() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// The floor: a TSC pair and three relaxed atomic adds on shared counters.
fn floor(x: u64) -> u64 {
    let clock = tsc();
    let start = clock.raw();
    let r = body(x);
    let ns = clock.delta_as_nanos(start, clock.raw());
    FLOOR_COUNTERS[0].0.fetch_add(1, Relaxed);
    FLOOR_COUNTERS[1].0.fetch_add(ns, Relaxed);
    FLOOR_COUNTERS[2].0.fetch_add(ns >> 4, Relaxed);
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
        g.bench_with_input(
            BenchmarkId::new("floor_tsc_pair_3_shared_adds", n),
            &n,
            |b, &n| {
                b.iter_custom(|iters| on_threads(n, iters, floor));
            },
        );
        g.bench_with_input(BenchmarkId::new("monitor_query", n), &n, |b, &n| {
            b.iter_custom(|iters| on_threads(n, iters, monitored_query));
        });
    }
    g.finish();
    c.final_summary();
    for &n in &counts {
        let ids: Vec<String> = [
            "bare_call",
            "std_instant_pair",
            "floor_tsc_pair_3_shared_adds",
            "monitor_query",
        ]
        .iter()
        .map(|id| format!("{id}/{n}"))
        .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        summary::print_table("contention", &format!("std_instant_pair/{n}"), &refs);
    }
    // The issue-21 targets, as ratios of this run's medians: a timing-only call on one thread
    // against the floor, and on each of 2 threads against itself on one thread.
    let ids: Vec<String> = counts
        .iter()
        .flat_map(|n| {
            [
                format!("floor_tsc_pair_3_shared_adds/{n}"),
                format!("monitor_query/{n}"),
            ]
        })
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    summary::print_table("contention", "floor_tsc_pair_3_shared_adds/1", &refs);
    summary::print_table("contention", "monitor_query/1", &refs);
}
