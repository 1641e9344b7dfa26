//! Merging the parts of a fleet run (`cargo bench -p pipeline-monitor-core --bench fleet_merge`):
//! 1,000 workers' parts of 100 sites each (steps and queries, each with its histogram of a few
//! hundred calls spread from 10 µs to 100 ms), folded into the whole run's report.
//!
//! - `parse_and_merge`: from the parts' JSON lines (what a store hands out) to the merged report:
//!   what `monitor report --run ID` costs past the I/O;
//! - `merge_parsed`: the fold alone, from parts already parsed;
//! - the memory (not a criterion benchmark): the peak of live heap bytes during one streaming
//!   parse and merge, above what was live before (the input lines), counted by this bench's own
//!   global allocator; and the RSS growth from the kernel's high-water mark (`VmHWM`, reset
//!   first), which reuses pages freed while the input was built and so reads low.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use monitor_core::__internals::hwm;
use monitor_core::histogram::AtomicHistogram;
use monitor_core::history::WorkerPart;
use monitor_core::history::{encode_fleet_line, parse_fleet_line, FleetEntry, FleetMerge};
use monitor_core::report::{DurationHistogram, FleetWorker, RunMemory, SiteReport, Timeline};
use monitor_core::{rss, DurationSummary, Kind, MaxLastBytes, MemorySummary, Report, SiteSnapshot};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now =
                    LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WORKERS: u64 = 1_000;
const SITES: u64 = 100;
const CALLS_PER_SITE: u64 = 300;

/// A xorshift step: deterministic spread without a dependency.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn site(worker: u64, i: u64) -> SiteReport {
    let h = AtomicHistogram::new();
    let mut x = 0x9e37_79b9_7f4a_7c15 ^ (worker << 20) ^ i;
    let (mut total, mut min, mut max) = (0u64, u64::MAX, 0u64);
    for _ in 0..CALLS_PER_SITE {
        // Log-uniform from 10 µs to 100 ms.
        let exp = 4.0 + (next(&mut x) % 10_000) as f64 / 2_500.0;
        let v = 10f64.powf(exp) as u64;
        h.record(v);
        total += v;
        min = min.min(v);
        max = max.max(v);
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    let kind = if i.is_multiple_of(3) {
        Kind::Query
    } else {
        Kind::Step
    };
    SiteReport {
        site: SiteSnapshot {
            name: format!("site_{i:03}"),
            kind,
            module: "bench::pipeline".to_owned(),
            file: "benches/fleet_merge.rs".to_owned(),
            line: u32::try_from(i).unwrap_or(0) + 1,
            calls: CALLS_PER_SITE,
            errors: next(&mut x) % 2,
            error_types: Default::default(),
            panics: 0,
            cancelled: 0,
            slow: 0,
            slow_threshold_ms: None,
            duration_ms: DurationSummary {
                total: ms(total),
                mean: ms(total) / CALLS_PER_SITE as f64,
                stddev: 0.0,
                min: ms(min),
                p50: 0.0,
                p95: 0.0,
                p99: 0.0,
                max: ms(max),
            },
            busy_ms: None,
            rows: Some(next(&mut x) % 100_000),
            rows_in: None,
            memory: MemorySummary {
                rss_peak: Some(MaxLastBytes {
                    max: 300 << 20,
                    last: 200 << 20,
                }),
                ..MemorySummary::default()
            },
            plans: Vec::new(),
        },
        rows_per_sec: None,
        rows_dropped: None,
        plans: Vec::new(),
        server: None,
        baseline: None,
        duration_histogram: Some(DurationHistogram {
            total_ns: total,
            min_ns: min,
            max_ns: max,
            buckets: h.load(),
        }),
    }
}

fn part_line(worker: u64) -> String {
    let mut report = Report::from_json(
        r#"{"schema":"monitor.report/v1","pipeline":"bench","run_id":"bench-run",
            "started_at":"2026-01-01T00:00:00.000Z","started_at_unix_ms":1767225600000,
            "duration_ms":60000.0,"status":"ok","steps":[],"queries":[],"errors":[]}"#,
    )
    .expect("a report skeleton");
    report.duration_ms = 60_000.0 + (worker % 97) as f64 * 100.0;
    report.worker = Some(FleetWorker {
        id: worker.to_string(),
        expected_workers: Some(u32::try_from(WORKERS).unwrap_or(u32::MAX)),
    });
    report.memory = RunMemory {
        rss_peak: Some(300 << 20),
        ..RunMemory::default()
    };
    report.timeline = Timeline::default();
    for i in 0..SITES {
        let s = site(worker, i);
        match s.site.kind {
            Kind::Step => report.steps.push(s),
            Kind::Query => report.queries.push(s),
        }
    }
    let part = WorkerPart::from_report(&report).expect("a worker's report");
    encode_fleet_line(&FleetEntry::Part(Box::new(part))).expect("an encodable part")
}

fn parse(line: &str) -> WorkerPart {
    match parse_fleet_line(line.as_bytes()) {
        Ok(FleetEntry::Part(p)) => *p,
        other => panic!("not a part: {other:?}"),
    }
}

fn merge_lines(lines: &[String]) -> Report {
    let mut merge = FleetMerge::new("bench-run");
    for line in lines {
        merge.add(parse(line));
    }
    merge.finish(None)
}

fn fleet_merge(c: &mut Criterion) {
    let lines: Vec<String> = (0..WORKERS).map(part_line).collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "INPUT {WORKERS} parts x {SITES} sites: {:.1} MiB of JSON lines ({:.1} KiB per part)",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / 1024.0 / WORKERS as f64
    );

    // Memory first, before criterion's own allocations blur the mark.
    let before = rss::current_rss().unwrap_or(0);
    let reset = hwm::reset();
    let live_before = LIVE.load(Relaxed);
    PEAK.store(live_before, Relaxed);
    let merged = merge_lines(&lines);
    let heap_peak = PEAK.load(Relaxed) - live_before;
    let heap_kept = LIVE.load(Relaxed).saturating_sub(live_before);
    let peak = hwm::vm_hwm().unwrap_or(0);
    let calls: u64 = merged
        .steps
        .iter()
        .chain(&merged.queries)
        .map(|s| s.site.calls)
        .sum();
    assert_eq!(calls, WORKERS * SITES * CALLS_PER_SITE);
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    println!(
        "MEMORY streaming parse and merge: live heap peak +{:.2} MiB over the input, the merged \
         report {:.2} MiB once done; peak RSS +{:.1} MiB over {:.1} MiB before (VmHWM reset: \
         {reset}); merged report {:.1} KiB of JSON, {} workers listed",
        mib(heap_peak),
        mib(heap_kept),
        peak.saturating_sub(before) as f64 / (1 << 20) as f64,
        before as f64 / (1 << 20) as f64,
        merged.to_json().len() as f64 / 1024.0,
        merged.fleet.as_ref().map_or(0, |f| f.workers.len())
    );
    drop(merged);

    let mut g = c.benchmark_group("fleet_merge");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    g.bench_function("parse_and_merge", |b| {
        b.iter(|| black_box(merge_lines(black_box(&lines))))
    });
    let parts: Vec<WorkerPart> = lines.iter().map(|l| parse(l)).collect();
    g.bench_function("merge_parsed", |b| {
        b.iter_batched(
            || parts.clone(),
            |parts| {
                let mut merge = FleetMerge::new("bench-run");
                for p in parts {
                    merge.add(p);
                }
                black_box(merge.finish(None))
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, fleet_merge);
criterion_main!(benches);
