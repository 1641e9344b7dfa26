//! While only calls that do not track memory are in flight (queries the watchdog watches), the
//! sampler still ticks for them but the memory task neither reads nor resets anything: the
//! high-water-mark epoch stays put. With a memory-tracking call in flight, it resets each tick.
use monitor_core::__internals::{inflight, peak, sampler};
use monitor_core::memory::MemoryScope;
use std::time::{Duration, Instant};

fn wait_for_ticks(n: u64) {
    let start = sampler::ticks();
    let t0 = Instant::now();
    while sampler::ticks() < start + n {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the sampler is not ticking"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn memory_task_idles_without_memory_calls() {
    let timing_only = inflight::claim(None, 1).expect("a free slot");
    wait_for_ticks(3);
    let epoch = peak::epoch();
    wait_for_ticks(3);
    assert_eq!(
        peak::epoch(),
        epoch,
        "no reset without a memory-tracking call"
    );

    let scope = MemoryScope::enter(None);
    wait_for_ticks(3);
    assert!(
        peak::epoch() >= epoch + 2,
        "resets while a memory call runs"
    );
    let _ = scope.exit();
    drop(timing_only);
}
