//! What one `#[monitor_step]` call costs, by what the kernel has to be asked, with the bare body
//! and the kernel reads themselves measured in the same run.
//! `cargo bench -p monitor-perf --bench step_cost`.
//!
//! A step reads RSS (`/proc/self/statm`) and `getrusage` at entry and at exit. In an epoch where
//! `getrusage`'s mark is stuck above the real one (a process started by a larger one: cargo,
//! a Python orchestrator) the real mark is `VmHWM` from `/proc/self/status`, ten times dearer;
//! a call reads it only when a page came in since entry (`monitor_core::memory::peak`, "Quiet
//! calls"). So four cases: quiet or one page fault per call, in either kind of epoch.
#![cfg(unix)]
use criterion::{black_box, Criterion};
use monitor_core::__internals::peak;
use monitor_perf::{bare, monitored_step, monitored_step_faulting, summary, FaultingPage};
use std::time::Duration;

const GROUP: &str = "step_cost";

fn main() {
    // No sampler tick during the benchmark: a tick would start an epoch and choose the mark from
    // the process again, overriding the choice made for each case below.
    monitor::Config::builder()
        .sample_interval(Duration::from_secs(60))
        .install();
    let page = FaultingPage::new();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    let mut g = c.benchmark_group(GROUP);
    g.bench_function("bare_call", |b| b.iter(|| bare(black_box(7))));
    g.bench_function("one_page_fault", |b| b.iter(|| page.touch()));
    g.bench_function("read_statm", |b| b.iter(monitor::rss::current_rss));
    g.bench_function("read_getrusage", |b| {
        b.iter(monitor_core::__internals::hwm::max_rss);
    });
    g.bench_function("read_proc_self_status", |b| {
        b.iter(monitor_core::__internals::hwm::vm_hwm);
    });
    for (kind, vm_hwm) in [("getrusage_epoch", false), ("vmhwm_epoch", true)] {
        peak::set_mark_source_for_benchmarks(vm_hwm);
        g.bench_function(format!("step_quiet_{kind}"), |b| {
            b.iter(|| monitored_step(black_box(7)));
        });
        g.bench_function(format!("step_one_page_fault_{kind}"), |b| {
            b.iter(|| monitored_step_faulting(&page));
        });
    }
    g.finish();
    c.final_summary();
    summary::print_table(
        GROUP,
        "bare_call",
        &[
            "bare_call",
            "read_statm",
            "read_getrusage",
            "read_proc_self_status",
            "step_quiet_getrusage_epoch",
            "step_quiet_vmhwm_epoch",
        ],
    );
    summary::print_table(
        GROUP,
        "one_page_fault",
        &[
            "one_page_fault",
            "step_one_page_fault_getrusage_epoch",
            "step_one_page_fault_vmhwm_epoch",
        ],
    );
}
