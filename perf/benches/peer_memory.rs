//! Memory growth over 10 million calls, for us and for each peer, each in a fresh child process
//! (RSS after minus RSS before, after a warm-up call). `cargo bench -p monitor-perf --bench
//! peer_memory --features peers`. Without `peers`, only monitor's own variants run.
use std::hint::black_box;
use std::process::Command;

const CALLS: u64 = 10_000_000;
const ENV: &str = "MONITOR_PERF_VARIANT";

fn rss() -> u64 {
    monitor::rss::current_rss().unwrap_or(0)
}

fn run_variant(name: &str) -> Option<u64> {
    let run = |f: &dyn Fn(u64) -> u64| {
        black_box(f(0));
        let before = rss();
        for i in 0..CALLS {
            black_box(f(black_box(i)));
        }
        rss().saturating_sub(before)
    };
    Some(match name {
        "bare_call" => run(&monitor_perf::bare),
        "monitor_query" => run(&monitor_perf::monitored_query),
        "monitor_step" => run(&monitor_perf::monitored_step),
        #[cfg(feature = "peers")]
        other => peers::run(other, &run)?,
        #[cfg(not(feature = "peers"))]
        _ => return None,
    })
}

#[cfg(feature = "peers")]
mod peers {
    use monitor_perf::peers as p;

    /// Runs a call in a loop and returns the RSS growth.
    type Runner<'a> = &'a dyn Fn(&dyn Fn(u64) -> u64) -> u64;

    pub(super) fn run(name: &str, run: Runner<'_>) -> Option<u64> {
        Some(match name {
            "tracing_registry" => {
                use tracing_subscriber::layer::SubscriberExt;
                let sub = tracing_subscriber::registry()
                    .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
                tracing::subscriber::with_default(sub, || run(&p::instrumented))
            }
            "fastrace_reporter" => {
                struct Discard;
                impl fastrace::collector::Reporter for Discard {
                    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
                        std::hint::black_box(spans);
                    }
                }
                fastrace::set_reporter(Discard, fastrace::collector::Config::default());
                let root =
                    fastrace::Span::root("bench", fastrace::collector::SpanContext::random());
                let _g = root.set_local_parent();
                run(&p::fastraced)
            }
            "metered" => {
                let m = p::Metered::default();
                run(&|x| m.call(x).unwrap_or(0))
            }
            "autometrics" => {
                autometrics::prometheus_exporter::init();
                run(&p::autometricsed)
            }
            "metrics_prometheus_no_upkeep" => {
                let recorder =
                    metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
                metrics::with_local_recorder(&recorder, || run(&p::metrics_by_name))
            }
            _ => return None,
        })
    }
}

fn main() {
    if let Ok(name) = std::env::var(ENV) {
        match run_variant(&name) {
            Some(growth) => println!("{growth}"),
            None => std::process::exit(2),
        }
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let mut variants = vec!["bare_call", "monitor_query", "monitor_step"];
    if cfg!(feature = "peers") {
        variants.extend([
            "metered",
            "autometrics",
            "metrics_prometheus_no_upkeep",
            "tracing_registry",
            "fastrace_reporter",
        ]);
    }
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("cannot find this executable to re-run it");
        return;
    };
    println!("\nRSS growth over {CALLS} calls (each variant in a fresh process)");
    println!("| variant | growth |");
    println!("|---|---:|");
    for v in variants {
        let out = Command::new(&exe).env(ENV, v).output();
        let shown = match out {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                text.trim().parse::<u64>().map_or_else(
                    |_| format!("unreadable: {}", text.trim()),
                    #[allow(clippy::cast_precision_loss)]
                    |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
                )
            }
            Ok(o) => format!("failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
            Err(e) => format!("failed to start: {e}"),
        };
        println!("| {v} | {shown} |");
    }
}
