//! A step that allocates and touches 256 MiB and frees it before returning reports the real peak:
//! RSS at least 250 MiB above its entry, heap peak at least 256 MiB with the tracking allocator,
//! and exit minus entry under 16 MiB (the seed's end-minus-start would say about zero).
use monitor::monitor_step;
use std::alloc::System;

#[global_allocator]
static ALLOC: monitor::TrackingAllocator<System> = monitor::TrackingAllocator::new(System);

const MIB: u64 = 1 << 20;

#[monitor_step]
fn load_and_aggregate() -> u64 {
    let mut v = vec![0u8; 256 << 20];
    // Touch every page so it is really resident, then aggregate and free before returning.
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    let sum: u64 = v.iter().step_by(4096).map(|&b| u64::from(b)).sum();
    drop(v);
    sum
}

#[test]
fn transient_256_mib_is_the_peak() {
    assert_eq!(load_and_aggregate(), 65_536);
    let snap = monitor::snapshot();
    let m = snap.site("load_and_aggregate").expect("recorded").memory;
    let start = m.rss_start.expect("rss_start").last;
    let end = m.rss_end.expect("rss_end").last;
    let peak = m.rss_peak.expect("rss_peak").last;
    let heap = m
        .heap_peak
        .expect("heap_peak with the tracking allocator")
        .last;
    let allocated = m
        .allocated
        .expect("allocated with the tracking allocator")
        .last;
    assert!(
        peak >= start + 250 * MIB,
        "peak {} MiB, start {} MiB",
        peak / MIB,
        start / MIB
    );
    assert!(heap >= 256 * MIB, "heap peak {} MiB", heap / MIB);
    assert!(allocated >= 256 * MIB, "allocated {} MiB", allocated / MIB);
    assert!(
        end.abs_diff(start) < 16 * MIB,
        "exit {} MiB vs entry {} MiB",
        end / MIB,
        start / MIB
    );
}
