//! A run's memory over time: readings at step boundaries, the sampler's readings while steps
//! run, each step call's peak, all bounded.
use monitor::{monitor_step, Pipeline};
use serial_test::serial;
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn hold_64_mib() -> usize {
    let mut v = vec![0u8; 64 << 20];
    // Touch every page so it is resident, then hold it while the sampler looks.
    for i in (0..v.len()).step_by(4096) {
        v[i] = 1;
    }
    std::thread::sleep(Duration::from_millis(150));
    std::hint::black_box(&v);
    v.len()
}

#[monitor_step]
fn idle() {
    std::thread::sleep(Duration::from_millis(60));
}

#[test]
#[serial]
fn the_timeline_has_boundary_and_sampler_readings_and_step_peaks() {
    monitor::testing::without_history();
    let run = Pipeline::start("memory_timeline");
    idle();
    hold_64_mib();
    idle();
    let r = run.finish();
    let start = r.memory.rss_start.unwrap();
    let mem = &r.timeline.memory;
    assert!(
        mem.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "sorted by time"
    );
    let boundary = mem.iter().filter(|p| p.source.starts_with("call_")).count();
    assert_eq!(
        boundary, 6,
        "a reading at the start and end of each of the 3 step calls"
    );
    let samples: Vec<_> = mem.iter().filter(|p| p.source == "sample").collect();
    assert!(
        samples.len() >= 5,
        "the sampler fed the run while steps ran: {}",
        samples.len()
    );
    let sampled_high = samples.iter().map(|p| p.rss).max().unwrap();
    assert!(
        sampled_high >= start + 60 * MIB,
        "a sample saw the 64 MiB held: {} MiB over start",
        (sampled_high - start) / MIB
    );
    let span = r
        .timeline
        .calls
        .iter()
        .find(|s| s.name == "hold_64_mib")
        .unwrap();
    assert!(span.rss_peak.unwrap() >= start + 60 * MIB);
    // Samples taken during the big step sit inside its span.
    let inside = samples
        .iter()
        .filter(|p| p.at_ms >= span.start_ms && p.at_ms <= span.start_ms + span.duration_ms)
        .count();
    assert!(inside >= 3, "{inside} samples inside the 150 ms step");
    assert!(r.memory.rss_peak.unwrap() >= span.rss_peak.unwrap());
    let html = r.to_html();
    assert!(html.contains("class=\"rss-line\"") && html.contains("class=\"peak\""));
}

#[test]
#[serial]
fn the_timeline_is_bounded() {
    monitor::testing::without_history();
    let run = Pipeline::builder("memory_bounded")
        .max_memory_points(4)
        .max_spans(2)
        .start();
    for _ in 0..5 {
        idle();
    }
    let r = run.finish();
    // Four kept readings, plus the run's own start and end readings, which are always there.
    assert_eq!(r.timeline.memory.len(), 4 + 2);
    assert_eq!(r.timeline.memory[0].source, "run_start");
    assert_eq!(r.timeline.memory[5].source, "run_end");
    assert!(
        r.timeline.memory_not_kept >= 6,
        "{}",
        r.timeline.memory_not_kept
    );
    assert_eq!(r.timeline.calls.len(), 2);
    assert_eq!(r.timeline.calls_not_kept, 3);
    assert_eq!(
        r.step("idle").unwrap().site.calls,
        5,
        "every call still counts"
    );
}
