//! The sampler thread exists only while a monitored call is in flight: it appears with the first
//! step and is gone shortly after the last one ends (no thread left behind).
#![cfg(target_os = "linux")]
use monitor::monitor_step;
use std::time::{Duration, Instant};

fn sampler_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == monitor_core::__internals::sampler::THREAD_NAME)
        .count()
}

#[monitor_step]
fn step_that_counts_threads() -> usize {
    std::thread::sleep(Duration::from_millis(30));
    sampler_threads()
}

fn wait_until_gone() -> Duration {
    let t0 = Instant::now();
    while sampler_threads() > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the sampler thread is still there after 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    t0.elapsed()
}

#[test]
fn sampler_runs_only_while_steps_do() {
    assert_eq!(sampler_threads(), 0, "no thread before any step");
    assert_eq!(step_that_counts_threads(), 1, "one sampler during a step");
    wait_until_gone();
    assert!(!monitor_core::__internals::sampler::running());
    // It starts again for the next step, and leaves again.
    assert_eq!(step_that_counts_threads(), 1);
    assert_eq!(
        std::thread::scope(|s| {
            let a = s.spawn(step_that_counts_threads);
            let b = s.spawn(step_that_counts_threads);
            a.join().unwrap().max(b.join().unwrap())
        }),
        1,
        "one thread for the whole process, however many steps run"
    );
    wait_until_gone();
}
