//! Two steps running at the same time on two threads both see the process's peak: RSS is
//! process-wide, so memory one thread holds is part of the other step's peak too.
use monitor::monitor_step;
use std::sync::Barrier;
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[monitor_step]
fn allocating_step(entered: &Barrier, freed: &Barrier) {
    entered.wait();
    let mut v = vec![0u8; 128 << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    std::thread::sleep(Duration::from_millis(30));
    std::hint::black_box(&v);
    drop(v);
    freed.wait();
}

#[monitor_step]
fn waiting_step(entered: &Barrier, freed: &Barrier) {
    entered.wait();
    freed.wait();
}

#[test]
fn both_steps_see_the_peak() {
    let entered = Barrier::new(2);
    let freed = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| allocating_step(&entered, &freed));
        s.spawn(|| waiting_step(&entered, &freed));
    });
    let snap = monitor::snapshot();
    for name in ["allocating_step", "waiting_step"] {
        let m = snap.site(name).expect("recorded").memory;
        let start = m.rss_start.expect("rss_start").last;
        let peak = m.rss_peak.expect("rss_peak").last;
        assert!(
            peak >= start + 120 * MIB,
            "{name}: peak {} MiB, start {} MiB",
            peak / MIB,
            start / MIB
        );
    }
}
