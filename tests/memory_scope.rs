//! `monitor::memory_scope("name")`: start, end, delta and the true peak of any block (heap peak
//! and allocations with the tracking allocator), readable from the guard while it lives, returned
//! by `finish()`, and logged as one structured event when it ends, by `finish()` or by drop.
//! Serial: RSS is process-wide, so concurrent tests would see each other's memory.
use monitor::testing::capture;
use monitor_test_support::resident_mib;
use serial_test::serial;
use std::alloc::System;

#[global_allocator]
static ALLOC: monitor::TrackingAllocator<System> = monitor::TrackingAllocator::new(System);

const MIB: u64 = 1 << 20;

#[test]
#[serial] // RSS is process-wide: one measuring test at a time
fn figures_while_alive_and_at_the_end() {
    monitor::testing::without_history();
    let (report, events) = capture(|| {
        let scope = monitor::memory_scope("build_index");
        assert_eq!(scope.name(), "build_index");
        let held = resident_mib(96);
        let mid = scope.current();
        assert!(
            mid.rss_end.unwrap() >= mid.rss_start.unwrap() + 90 * MIB,
            "{mid:?}"
        );
        assert!(mid.rss_peak >= mid.rss_end);
        assert!(mid.heap_peak.unwrap() >= 96 * MIB);
        drop(held);
        scope.finish()
    });
    let start = report.rss_start.unwrap();
    let end = report.rss_end.unwrap();
    assert!(report.rss_peak.unwrap() >= start + 90 * MIB, "{report:?}");
    assert!(report.rss_growth().unwrap() >= 90 * MIB);
    assert!(
        report.rss_delta().unwrap().unsigned_abs() < 16 * MIB,
        "{report:?}"
    );
    assert_eq!(report.rss_delta(), Some(end as i64 - start as i64));
    assert!(report.heap_peak.unwrap() >= 96 * MIB);
    assert!(report.allocated.unwrap() >= 96 * MIB);
    assert!(!report.peak_approximate);

    let logged: Vec<_> = events
        .iter()
        .filter(|e| e.message == "memory scope finished")
        .collect();
    assert_eq!(logged.len(), 1, "logged once: {events:#?}");
    let e = logged[0];
    assert_eq!(e.target, "monitor");
    assert_eq!(e.level, tracing::Level::INFO);
    assert_eq!(e.str("name"), Some("build_index"));
    assert_eq!(e.str("kind"), Some("scope"));
    assert_eq!(e.u64("rss_peak"), report.rss_peak);
    assert_eq!(e.u64("rss_start"), Some(start));
    assert_eq!(e.u64("heap_peak"), report.heap_peak);
    assert_eq!(
        e.fields.get("rss_delta").and_then(|v| match v {
            monitor::testing::FieldValue::I64(d) => Some(*d),
            monitor::testing::FieldValue::U64(d) => i64::try_from(*d).ok(),
            _ => None,
        }),
        report.rss_delta()
    );
}

#[test]
#[serial] // RSS is process-wide: one measuring test at a time
fn dropping_the_guard_logs_too() {
    monitor::testing::without_history();
    let ((), events) = capture(|| {
        let _scope = monitor::memory_scope(format!("chunk {}", 7));
        drop(resident_mib(8));
    });
    let logged: Vec<_> = events
        .iter()
        .filter(|e| e.message == "memory scope finished")
        .collect();
    assert_eq!(logged.len(), 1, "{events:#?}");
    assert_eq!(logged[0].str("name"), Some("chunk 7"));
    assert!(logged[0].u64("allocated").unwrap() >= 8 * MIB);
}

#[test]
#[serial] // RSS is process-wide: one measuring test at a time
fn a_guard_moved_to_another_thread_reports_no_allocated_figure() {
    monitor::testing::without_history();
    let scope = monitor::memory_scope("moved");
    drop(resident_mib(8));
    let report = std::thread::spawn(move || {
        drop(resident_mib(64));
        scope.finish()
    })
    .join()
    .unwrap();
    // One thread's counter is never subtracted from another's (that would be garbage): the
    // figure is absent rather than wrong. Peaks are process-wide and unaffected.
    assert_eq!(report.allocated, None);
    assert!(report.rss_peak.unwrap() >= report.rss_start.unwrap() + 60 * MIB);
}
