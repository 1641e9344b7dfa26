//! Calls through a renamed dependency are recorded like any others.

use renamed_dependency::{fetch, load, sum};
use std::future::Future;

#[test]
fn calls_are_recorded_through_the_renamed_facade() {
    let rows = load(1_000).unwrap();
    assert_eq!(sum(&rows), 499_500);
    assert!(load(0).is_err());
    // A future that is ready at once: polled by hand, no runtime needed.
    let fut = std::pin::pin!(fetch(21));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(fut.poll(&mut cx), std::task::Poll::Ready(42));

    let snap = observability::snapshot();
    let step = snap.site("load").expect("the step is recorded");
    assert_eq!((step.calls, step.errors, step.rows), (2, 1, Some(1_000)));
    assert_eq!(
        step.error_types
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["LoadError::Empty"]
    );
    assert_eq!(snap.site("renamed_sum").unwrap().calls, 1);
    assert_eq!(snap.site("renamed_async").unwrap().calls, 1);
}
