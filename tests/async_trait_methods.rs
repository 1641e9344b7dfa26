//! Methods of an `#[async_trait]` impl are measured over the whole awaited call, not just the
//! construction of the boxed future that async-trait hands them to (the bug autometrics had,
//! issue #155). async-trait on the impl always expands first, so `#[monitor_step]` and
//! `#[monitor_query]` on a method see `Box::pin(async move { .. })` and instrument the future.
use monitor::{monitor_query, monitor_step};
use std::time::Duration;

#[async_trait::async_trait]
trait Store {
    async fn load(&self, n: u64) -> Vec<u64>;
    async fn count(&self) -> Result<u64, String>;
}

struct Slow;

#[async_trait::async_trait]
impl Store for Slow {
    #[monitor_step(name = "trait_load", rows)]
    async fn load(&self, n: u64) -> Vec<u64> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        (0..n).collect()
    }

    #[monitor_query("trait_count")]
    async fn count(&self) -> Result<u64, String> {
        tokio::time::sleep(Duration::from_millis(25)).await;
        Err("not counted".into())
    }
}

#[tokio::test]
async fn async_trait_methods_are_timed_over_the_awaited_call() {
    let store: Box<dyn Store + Send + Sync> = Box::new(Slow);
    // Created first, awaited later: only the awaited part is the call's work.
    let pending = store.load(3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(pending.await, [0, 1, 2]);
    assert!(store.count().await.is_err());

    let snap = monitor::snapshot();
    let load = snap.site("trait_load").expect("the step is recorded");
    assert_eq!((load.calls, load.rows), (1, Some(3)));
    let wall = load.duration_ms.max;
    // The 40 ms sleep is inside; the 200 ms before the first poll is not (the clock starts at
    // the first poll, as for any async call).
    assert!((40.0..200.0).contains(&wall), "wall {wall} ms");
    let busy = load.busy_ms.expect("async calls have busy time");
    assert!(busy < 20.0, "sleeping is not busy: {busy} ms");

    let count = snap.site("trait_count").expect("the query is recorded");
    assert_eq!((count.calls, count.errors), (1, 1));
    assert!(
        count.duration_ms.max >= 25.0,
        "{} ms",
        count.duration_ms.max
    );
}
