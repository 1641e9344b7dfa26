//! Per-call cost of each instrumentation around the same trivial body, in one run, with ratios to
//! a `std::time::Instant` pair. `cargo bench -p monitor-perf --bench overhead --features peers`.
use criterion::{black_box, Criterion};
use monitor_perf::{bare, body, monitored_query, monitored_query_rss, monitored_step, summary};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const GROUP: &str = "per_call";

fn clocks(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.bench_function("bare_call", |b| b.iter(|| bare(black_box(7))));
    g.bench_function("std_instant_pair", |b| {
        b.iter(|| {
            let t = Instant::now();
            let r = body(black_box(7));
            black_box(t.elapsed());
            r
        });
    });
    let clock = quanta::Clock::new();
    g.bench_function("tsc_pair", |b| {
        b.iter(|| {
            let s = clock.raw();
            let r = body(black_box(7));
            black_box(clock.delta_as_nanos(s, clock.raw()));
            r
        });
    });
    static COUNT: AtomicU64 = AtomicU64::new(0);
    g.bench_function("tsc_pair_plus_atomic", |b| {
        b.iter(|| {
            let s = clock.raw();
            let r = body(black_box(7));
            COUNT.fetch_add(clock.delta_as_nanos(s, clock.raw()), Ordering::Relaxed);
            r
        });
    });
    g.bench_function("monitor_query_timing_only", |b| {
        b.iter(|| monitored_query(black_box(7)));
    });
    g.bench_function("monitor_query_with_rss", |b| {
        b.iter(|| monitored_query_rss(black_box(7)));
    });
    g.bench_function("monitor_step", |b| b.iter(|| monitored_step(black_box(7))));
    g.bench_function("rss_read_fast_path", |b| b.iter(monitor::rss::current_rss));
    g.bench_function("rss_read_sysinfo_refresh", |b| {
        b.iter(monitor::rss::sysinfo_rss)
    });
}

#[cfg(feature = "peers")]
fn peers(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use monitor_perf::peers;

    g.bench_function("tracing_instrument_no_subscriber", |b| {
        b.iter(|| peers::instrumented(black_box(7)));
    });
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(fmt, || {
        g.bench_function("tracing_instrument_fmt_subscriber", |b| {
            b.iter(|| peers::instrumented(black_box(7)));
        });
    });

    struct Discard;
    impl fastrace::collector::Reporter for Discard {
        fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
            black_box(spans);
        }
    }
    fastrace::set_reporter(Discard, fastrace::collector::Config::default());
    g.bench_function("fastrace_trace_with_reporter", |b| {
        b.iter_custom(|iters| {
            // A root span per batch so `#[trace]` records (without a parent it does nothing).
            let root = fastrace::Span::root("bench", fastrace::collector::SpanContext::random());
            let guard = root.set_local_parent();
            let start = Instant::now();
            for _ in 0..iters {
                black_box(peers::fastraced(black_box(7)));
            }
            let elapsed = start.elapsed();
            drop(guard);
            drop(root);
            elapsed
        });
    });

    let metered = peers::Metered::default();
    g.bench_function("metered_hitcount_responsetime_errors", |b| {
        b.iter(|| metered.call(black_box(7)));
    });

    // autometrics and metrics both install a global recorder; autometrics' exporter first.
    autometrics::prometheus_exporter::init();
    g.bench_function("autometrics_prometheus", |b| {
        b.iter(|| peers::autometricsed(black_box(7)));
    });
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        g.bench_function("metrics_prometheus_by_name", |b| {
            b.iter(|| peers::metrics_by_name(black_box(7)));
        });
        let h = metrics::histogram!("bench_cached_seconds");
        let c = metrics::counter!("bench_cached_total");
        g.bench_function("metrics_prometheus_cached_handles", |b| {
            b.iter(|| {
                let start = Instant::now();
                let r = body(black_box(7));
                h.record(start.elapsed().as_secs_f64());
                c.increment(1);
                r
            });
        });
    });
}

fn main() {
    monitor::Config::builder().install();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    {
        let mut g = c.benchmark_group(GROUP);
        clocks(&mut g);
        #[cfg(feature = "peers")]
        peers(&mut g);
        g.finish();
    }
    c.final_summary();
    summary::print_table(
        GROUP,
        "std_instant_pair",
        &[
            "bare_call",
            "std_instant_pair",
            "tsc_pair",
            "tsc_pair_plus_atomic",
            "monitor_query_timing_only",
            "monitor_query_with_rss",
            "monitor_step",
            "tracing_instrument_no_subscriber",
            "tracing_instrument_fmt_subscriber",
            "fastrace_trace_with_reporter",
            "metered_hitcount_responsetime_errors",
            "autometrics_prometheus",
            "metrics_prometheus_by_name",
            "metrics_prometheus_cached_handles",
        ],
    );
    summary::print_table(
        GROUP,
        "tsc_pair_plus_atomic",
        &["tsc_pair_plus_atomic", "monitor_query_timing_only"],
    );
    summary::print_table(
        GROUP,
        "rss_read_sysinfo_refresh",
        &[
            "rss_read_sysinfo_refresh",
            "rss_read_fast_path",
            "monitor_query_with_rss",
            "monitor_step",
        ],
    );
}
