//! Exporter costs, in one run (`cargo bench -p pipeline-monitor-core --features prometheus --bench exporters`):
//!
//! - `render/1000_sites`: reading 1,000 called sites and writing the Prometheus exposition
//!   (target: under 1 ms);
//! - `render/collect_1000_sites`, `render/encode_1000_sites`: where that time goes (reading the
//!   sites; writing the text);
//! - `render/crate_encoder_1000_sites`: the same figures through the `prometheus` crate's
//!   `MetricFamily` values and `TextEncoder` (what `MonitorCollector` users get, and what the
//!   endpoint used before), for comparison;
//! - `hot_path/exporters_off` vs `hot_path/exporters_on`: one monitored call (timing only) with no
//!   exporter running, then with the `/metrics` endpoint scraped every 100 ms (ten times Prometheus's
//!   usual rate) and a DogStatsD exporter flushing every 100 ms. Exporters read the sites at scrape/flush time only, so the two
//!   must match within noise; the ratio is printed.

use criterion::{criterion_group, criterion_main, Criterion};
use monitor_core::__internals::stats::{CallRecord, MemoryFigures};
use monitor_core::export::collect;
use monitor_core::export::dogstatsd::DogStatsD;
use monitor_core::export::prometheus::{render, render_figures, MetricsServer};
use monitor_core::{CallGuard, Callsite, Kind, Metadata, Outcome};
use std::hint::black_box;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{config, median_ns};

/// A call site made at run time (the macros make them `static`; a benchmark needs 1,000).
fn leaked_site(name: String, kind: Kind) -> &'static Callsite {
    let name: &'static str = Box::leak(name.into_boxed_str());
    Box::leak(Box::new(Callsite::new(
        Metadata::new(name, kind, module_path!(), file!(), line!()).memory(false),
    )))
}

fn call(site: &'static Callsite) {
    let guard = CallGuard::enter(site);
    black_box(site);
    guard.finish(Outcome::Ok, None);
}

/// Calls of a realistic spread: 200 durations per site, log-uniform from 10 µs to 60 s
/// (deterministic), so each site fills dozens of histogram buckets as a real pipeline's do.
fn spread_calls(site: &'static Callsite, seed: u64) {
    call(site); // registers the site
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        #[allow(clippy::cast_precision_loss)]
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        // 10 µs .. 60 s: exp of a uniform between their logs.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ns = (1e4_f64.ln() + u * (6e10_f64.ln() - 1e4_f64.ln())).exp() as u64;
        site.stats().record(&CallRecord {
            start_ticks: 0,
            duration_ns: ns,
            busy_ns: None,
            outcome: Outcome::Ok,
            rows: Some(ns % 1000),
            rows_in: None,
            memory: MemoryFigures::default(),
            slow: false,
        });
    }
}

fn render_1000_sites(c: &mut Criterion) {
    let mut filled = 0;
    for i in 0..1000 {
        let kind = if i % 4 == 0 { Kind::Query } else { Kind::Step };
        let site = leaked_site(format!("bench_site_{i:04}"), kind);
        spread_calls(site, i + 1);
        filled += site
            .stats()
            .load()
            .histogram
            .iter()
            .filter(|(_, n)| *n > 0)
            .count();
    }
    println!(
        "histogram buckets filled per site: {} on average",
        filled / 1000
    );
    assert!(
        filled / 1000 >= 100,
        "a realistic spread: {} buckets a site",
        filled / 1000
    );
    let text = render();
    assert!(text.contains("bench_site_0999"), "all sites exported");
    let mut g = c.benchmark_group("render");
    g.bench_function("1000_sites", |b| b.iter(|| black_box(render())));
    // The two halves: reading the sites, and encoding what was read.
    g.bench_function("collect_1000_sites", |b| b.iter(|| black_box(collect())));
    let figures = collect();
    g.bench_function("encode_1000_sites", |b| {
        b.iter(|| black_box(render_figures(&figures)))
    });
    g.bench_function("crate_encoder_1000_sites", |b| {
        b.iter(|| {
            let mut buf = String::new();
            prometheus::TextEncoder::new()
                .encode_utf8(
                    &monitor_core::export::prometheus::families(&figures),
                    &mut buf,
                )
                .unwrap();
            black_box(buf)
        })
    });
    g.finish();
    if let (Some(off), Some(on)) = (
        median_ns("hot_path", "exporters_off"),
        median_ns("hot_path", "exporters_on"),
    ) {
        println!(
            "hot path: exporters off {off:.1} ns, on {on:.1} ns, ratio {:.2}",
            on / off
        );
    }
    if let Some(r) = median_ns("render", "1000_sites") {
        println!("render 1000 sites: {:.3} ms (target < 1 ms)", r / 1e6);
    }
    if let (Some(ours), Some(theirs)) = (
        median_ns("render", "encode_1000_sites"),
        median_ns("render", "crate_encoder_1000_sites"),
    ) {
        println!(
            "encode 1000 sites: {:.3} ms; prometheus crate {:.3} ms ({:.1}x)",
            ours / 1e6,
            theirs / 1e6,
            theirs / ours
        );
    }
}

fn hot_path(c: &mut Criterion) {
    let site = leaked_site("bench_hot".to_owned(), Kind::Query);
    call(site);
    let mut g = c.benchmark_group("hot_path");
    g.bench_function("exporters_off", |b| b.iter(|| call(site)));

    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    let stop = Arc::new(AtomicBool::new(false));
    let scraping = Arc::clone(&stop);
    let scraper = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_owned();
        while !scraping.load(Ordering::Relaxed) {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
                let mut body = Vec::new();
                let _ = s.read_to_end(&mut body);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let statsd = DogStatsD::new(&sink.local_addr().unwrap().to_string())
        .start_interval(Duration::from_millis(100));
    g.bench_function("exporters_on", |b| b.iter(|| call(site)));
    g.finish();
    stop.store(true, Ordering::Relaxed);
    let _ = scraper.join();
    drop(statsd);
    drop(server);
}

criterion_group! {
    name = benches;
    config = config();
    // The hot path first, while few sites exist: the background scrapes and flushes then cost
    // microseconds, so any difference would come from the call path itself.
    targets = hot_path, render_1000_sites
}
criterion_main!(benches);
