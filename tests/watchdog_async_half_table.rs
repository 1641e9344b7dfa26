//! Async queries that only want to be watched take in-flight slots only while at most half the
//! table is in use: thousands of concurrent async queries never leave a memory-tracking step
//! without its slot (and so without its sampled peak).
use monitor::{monitor_query, monitor_step};
use monitor_core::__internals::inflight::{self, SLOTS};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[monitor_query("parked_async")]
async fn parked(rx: futures::channel::oneshot::Receiver<()>) -> u8 {
    let _ = rx.await;
    1
}

#[monitor_step]
fn tracked_step() -> (usize, usize) {
    (inflight::active_count(), inflight::memory_count())
}

#[test]
fn watch_slots_stop_at_half_the_table_and_steps_still_get_theirs() {
    assert_eq!(inflight::active_count(), 0);
    let mut cx = Context::from_waker(Waker::noop());
    let mut senders = Vec::new();
    let mut futures: Vec<Pin<Box<dyn Future<Output = u8>>>> = Vec::new();
    for _ in 0..SLOTS {
        let (tx, rx) = futures::channel::oneshot::channel();
        let mut fut: Pin<Box<dyn Future<Output = u8>>> = Box::pin(parked(rx));
        assert!(fut.as_mut().poll(&mut cx).is_pending(), "parked until told");
        senders.push(tx);
        futures.push(fut);
    }
    assert_eq!(
        inflight::active_count(),
        SLOTS / 2,
        "{} queries running, half the table watched",
        SLOTS
    );

    // A memory-tracking step still finds a slot.
    let (active, memory) = tracked_step();
    assert_eq!((active, memory), (SLOTS / 2 + 1, 1));
    assert!(
        monitor::snapshot()
            .site("tracked_step")
            .unwrap()
            .memory
            .peak_approximate_calls
            == 0
    );

    for tx in senders {
        tx.send(()).unwrap();
    }
    for mut fut in futures {
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(1));
    }
    assert_eq!(inflight::active_count(), 0, "every slot given back");
    assert_eq!(
        monitor::snapshot().site("parked_async").unwrap().calls,
        SLOTS as u64
    );
}
