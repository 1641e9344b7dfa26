//! When every in-flight slot is taken, a call still runs and is measured; its memory figures say
//! the peak is approximate (no sampler folding), and it still catches what entry, exit and the
//! kernel's high-water mark see.
use monitor_core::__internals::inflight::{self, SLOTS};
use monitor_core::memory::MemoryScope;
use monitor_core::{CallGuard, Callsite, Kind, Metadata, Outcome, Pipeline};

static STEP: Callsite = Callsite::new(Metadata::new(
    "crowded_step",
    Kind::Step,
    module_path!(),
    file!(),
    line!(),
));

#[test]
fn full_table_gives_approximate_figures() {
    monitor_core::testing::without_history();
    let held: Vec<_> = std::iter::from_fn(|| inflight::claim(None, 0)).collect();
    assert_eq!(held.len(), SLOTS, "the table holds exactly SLOTS calls");
    assert!(inflight::claim(None, 0).is_none());

    let scope = MemoryScope::enter(None);
    assert!(scope.slot().is_none());
    let mut v = vec![0u8; 64 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::hint::black_box(&v);
    drop(v);
    let m = scope.exit();
    assert!(m.peak_approximate);
    let (start, peak) = (m.rss_start.unwrap(), m.rss_peak.unwrap());
    assert!(peak >= start + (60 << 20), "{start} -> {peak}");

    // A run says so: the site's count in its JSON, and a marked peak and a note in its text.
    let run = Pipeline::start("crowded");
    let guard = CallGuard::enter(&STEP);
    std::hint::black_box(vec![1u8; 1 << 20]);
    guard.finish(Outcome::Ok, None);
    let report = run.finish();
    let step = report.step("crowded_step").expect("step in the report");
    assert_eq!(step.site.memory.peak_approximate_calls, 1);
    assert!(report.to_json().contains("\"peak_approximate_calls\": 1"));
    let text = report.to_text();
    assert!(
        text.contains("≈ approximate peak RSS for 1 call(s): 1024 monitored calls"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("crowded_step") && l.contains("≈")),
        "{text}"
    );

    drop(held);
    let m = MemoryScope::enter(None).exit();
    assert!(!m.peak_approximate, "a slot is free again");
}
