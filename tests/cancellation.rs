//! An async call dropped before it completes counts as cancelled; a completed one records wall
//! time and busy time (time inside `poll`) separately.
use monitor::monitor_step;
use std::time::Duration;

#[monitor_step]
async fn waits(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[monitor_step]
async fn spins_then_waits() -> u32 {
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_millis(20) {
        std::hint::spin_loop();
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    1
}

#[tokio::test]
async fn dropped_future_is_cancelled() {
    let r = tokio::time::timeout(Duration::from_millis(20), waits(5_000)).await;
    assert!(r.is_err(), "timed out");
    assert_eq!(waits(1).await, 1);
    let snap = monitor::snapshot();
    let s = snap.site("waits").expect("registered");
    assert_eq!((s.calls, s.cancelled, s.errors, s.panics), (2, 1, 0, 0));
}

#[tokio::test]
async fn busy_and_wall_time_differ() {
    assert_eq!(spins_then_waits().await, 1);
    let snap = monitor::snapshot();
    let s = snap.site("spins_then_waits").expect("registered");
    let busy = s.busy_ms.expect("async sites report busy time");
    let wall = s.duration_ms.total;
    assert!(wall >= 75.0, "wall {wall}");
    // Busy covers the 20 ms spin (more if the thread was preempted while spinning) but never
    // the 60 ms sleep, during which the future was not being polled.
    assert!(busy >= 18.0, "busy {busy}");
    assert!(busy <= wall - 55.0, "busy {busy} of wall {wall}");
}
