//! Memory mechanisms, measured in one run (`cargo bench -p pipeline-monitor-core --bench memory`):
//!
//! - one RSS read on the fast path (`pread` of `/proc/self/statm`) against a `sysinfo` refresh
//!   of this process, and the two kernel high-water-mark reads;
//! - a 64-byte allocation and free through `TrackingAllocator<System>` against `System`
//!   (target: at most 1.2x);
//! - a memory-tracked call's entry and exit (`MemoryScope`);
//! - the sampler's CPU cost at a 10 ms interval while a busy step runs (not a criterion
//!   benchmark: the sampler thread's own CPU time from `/proc/self/task/<tid>/schedstat`).
//!
//! Ratios are printed from criterion's own estimates (`target/criterion/.../estimates.json`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use monitor_core::__internals::hwm;
use monitor_core::{memory::MemoryScope, rss, TrackingAllocator};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{config, median_ns};

fn ratio(group: &str, a: &str, b: &str, what: &str) {
    if let (Some(x), Some(y)) = (median_ns(group, a), median_ns(group, b)) {
        println!(
            "RATIO {group}: {a} {x:.1} ns / {b} {y:.1} ns = {:.3} ({what})",
            x / y
        );
    }
}

fn rss_reads(c: &mut Criterion) {
    let mut g = c.benchmark_group("rss_read");
    g.bench_function("statm_pread", |b| b.iter(|| black_box(rss::current_rss())));
    g.bench_function("sysinfo_refresh", |b| {
        b.iter(|| black_box(rss::sysinfo_rss()))
    });
    g.bench_function("getrusage_maxrss", |b| b.iter(|| black_box(hwm::max_rss())));
    g.bench_function("status_vmhwm", |b| b.iter(|| black_box(hwm::vm_hwm())));
    g.finish();
    ratio(
        "rss_read",
        "statm_pread",
        "sysinfo_refresh",
        "target <= 0.05",
    );
}

static TRACKING: TrackingAllocator<System> = TrackingAllocator::new(System);

fn alloc_free(c: &mut Criterion) {
    let layout = Layout::from_size_align(64, 8).unwrap_or(Layout::new::<[u64; 8]>());
    let mut g = c.benchmark_group("alloc_64b");
    // What `Box::new([0u64; 8])` and its drop do, through each allocator.
    g.bench_function(BenchmarkId::new("system", 64), |b| {
        b.iter(|| unsafe {
            let p = System.alloc(black_box(layout));
            black_box(p);
            System.dealloc(p, layout);
        })
    });
    g.bench_function(BenchmarkId::new("tracking", 64), |b| {
        b.iter(|| unsafe {
            let p = TRACKING.alloc(black_box(layout));
            black_box(p);
            TRACKING.dealloc(p, layout);
        })
    });
    g.finish();
    ratio("alloc_64b", "tracking/64", "system/64", "target <= 1.2");
    paired_alloc_ratio(layout);
}

/// The same comparison, interleaved: on a shared, loaded machine the load drifts between two
/// criterion benchmarks run one after the other, so this alternates short batches of each and
/// takes the median of the per-round ratios.
fn paired_alloc_ratio(layout: Layout) {
    fn batch(a: &impl GlobalAlloc, layout: Layout) -> Duration {
        let t0 = Instant::now();
        for _ in 0..20_000 {
            unsafe {
                let p = a.alloc(black_box(layout));
                black_box(p);
                a.dealloc(p, layout);
            }
        }
        t0.elapsed()
    }
    let mut ratios: Vec<f64> = (0..300)
        .map(|_| {
            let s = batch(&System, layout);
            let t = batch(&TRACKING, layout);
            t.as_secs_f64() / s.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "PAIRED alloc_64b tracking/system: median {:.3}, p25 {:.3}, p75 {:.3} over {} rounds of 20k",
        ratios[ratios.len() / 2],
        ratios[ratios.len() / 4],
        ratios[ratios.len() * 3 / 4],
        ratios.len()
    );
}

fn scope_entry_exit(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory_call");
    g.bench_function("enter_exit", |b| {
        b.iter(|| black_box(MemoryScope::enter(None).exit()))
    });
    g.finish();
    println!(
        "MODE calls read {} (VmHWM when getrusage's sticky part is above the mark, e.g. a \
         process forked from a bigger one such as cargo)",
        if monitor_core::__internals::peak::calls_read_vm_hwm() {
            "VmHWM"
        } else {
            "getrusage"
        }
    );
}

/// The sampler thread's CPU time so far, from its `schedstat` (nanoseconds on CPU).
fn sampler_cpu_ns() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).ok()?;
        if comm.trim_end() == monitor_core::__internals::sampler::THREAD_NAME {
            let stat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            return stat.split_whitespace().next()?.parse().ok();
        }
    }
    None
}

fn sampler_cpu_cost(_: &mut Criterion) {
    monitor_core::Config::builder()
        .sample_interval(Duration::from_millis(10))
        .install();
    let wall = Duration::from_secs(3);
    let ticks0 = monitor_core::__internals::sampler::ticks();
    // The busy pipeline: one step that computes for `wall`, holding 64 MiB like a real step.
    let scope = MemoryScope::enter(None);
    let data: Vec<u64> = (0..8 << 20).collect();
    std::thread::sleep(Duration::from_millis(50));
    let cpu0 = sampler_cpu_ns();
    let t0 = Instant::now();
    let mut acc = 0u64;
    while t0.elapsed() < wall {
        for x in data.iter().step_by(64) {
            acc = acc.wrapping_mul(31).wrapping_add(*x);
        }
    }
    let cpu1 = sampler_cpu_ns();
    let elapsed = t0.elapsed();
    black_box(acc);
    black_box(scope.exit());
    let ticks = monitor_core::__internals::sampler::ticks() - ticks0;
    match (cpu0, cpu1) {
        (Some(a), Some(b)) => {
            let cpu = b - a;
            #[allow(clippy::cast_precision_loss)]
            let pct = cpu as f64 / elapsed.as_nanos() as f64 * 100.0;
            #[allow(clippy::cast_precision_loss)]
            let per_tick_us = cpu as f64 / ticks.max(1) as f64 / 1e3;
            println!(
                "SAMPLER 10ms: {:.3} ms CPU over {:.2} s wall, {ticks} ticks, {per_tick_us:.1} us/tick = {pct:.3}% of one busy core",
                cpu as f64 / 1e6,
                elapsed.as_secs_f64()
            );
        }
        _ => println!("SAMPLER: no sampler thread found (not Linux?)"),
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = rss_reads, alloc_free, scope_entry_exit, sampler_cpu_cost
}
criterion_main!(benches);
