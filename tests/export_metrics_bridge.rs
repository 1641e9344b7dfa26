//! The `metrics` bridge: counters land as absolute totals (publishing twice never double-counts),
//! gauges as set, and durations as a histogram that sees each call exactly once.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use monitor::export::metrics_bridge::MetricsBridge;
use monitor::monitor_step;

#[monitor_step(rows)]
fn bridged(n: usize) -> Vec<u8> {
    std::thread::sleep(std::time::Duration::from_millis(1));
    vec![0; n]
}

type Snapshot = [(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)];

fn value<'a>(snapshot: &'a Snapshot, metric: &str) -> Option<&'a DebugValue> {
    snapshot
        .iter()
        .find(|(k, ..)| {
            k.key().name() == metric
                && k.key()
                    .labels()
                    .any(|l| l.key() == "name" && l.value() == "bridged")
        })
        .map(|(.., v)| v)
}

#[test]
fn figures_reach_the_installed_recorder() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let bridge = MetricsBridge::new();
    metrics::with_local_recorder(&recorder, || {
        bridged(4);
        bridged(6);
        bridge.publish();
        bridge.publish(); // nothing new: no double counting
    });
    let snap = snapshotter.snapshot().into_vec();
    assert_eq!(
        value(&snap, "monitor_calls_total"),
        Some(&DebugValue::Counter(2))
    );
    assert_eq!(
        value(&snap, "monitor_rows_total"),
        Some(&DebugValue::Counter(10))
    );
    let Some(DebugValue::Histogram(samples)) = value(&snap, "monitor_call_duration_seconds") else {
        panic!("no duration histogram: {snap:?}");
    };
    assert_eq!(samples.len(), 2, "each call once: {samples:?}");
    for s in samples {
        assert!(s.0 >= 0.000_95 && s.0 < 1.0, "about 1 ms or more: {}", s.0);
    }
    let Some(DebugValue::Gauge(rss)) = value(&snap, "monitor_peak_rss_bytes") else {
        panic!("no peak RSS gauge: {snap:?}");
    };
    assert!(
        rss.0 > 1_000_000.0,
        "a process has more than 1 MB resident: {}",
        rss.0
    );

    // One more call: the histogram gets exactly one more sample, the counter the new total.
    metrics::with_local_recorder(&recorder, || {
        bridged(1);
        bridge.publish();
    });
    let snap = snapshotter.snapshot().into_vec();
    assert_eq!(
        value(&snap, "monitor_calls_total"),
        Some(&DebugValue::Counter(3))
    );
    let Some(DebugValue::Histogram(samples)) = value(&snap, "monitor_call_duration_seconds") else {
        panic!("no duration histogram");
    };
    assert_eq!(
        samples.len(),
        1,
        "the debugging recorder drains histograms on snapshot"
    );
}
