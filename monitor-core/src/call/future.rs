//! Async calls: wall time from first poll to completion, busy time inside `poll`, and
//! cancellation when the future is dropped before it completes.

use crate::base::clock;
use crate::call::callsite::Callsite;
use crate::call::guard::{complete, CallEnd, CallStart, CallSummary, MemoryMode};
use crate::call::rows::{self, RowTally};
use crate::call::stats::Outcome;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// A future that measures the future it wraps; created by the macros for `async fn` bodies,
    /// `#[async_trait]` methods and functions returning `Box::pin(async move { .. })`.
    ///
    /// It is `Send` exactly when the wrapped future and the probe are. `M` is
    /// [`Tracked`](crate::Tracked) for sites that measure memory and
    /// [`Untracked`](crate::Untracked) for timing-only ones, chosen by the macro.
    #[must_use = "futures do nothing unless polled"]
    pub struct MonitoredFuture<F, P, M: MemoryMode> {
        #[pin]
        inner: F,
        site: &'static Callsite,
        probe: Option<P>,
        start: Option<CallStart<M>>,
        begun: bool,
        busy_ns: u64,
        tally: RowTally,
        // Set when an `explain(..)` site completes; read by `ExplainedFuture`.
        summary: Option<CallSummary>,
    }

    impl<F, P, M: MemoryMode> PinnedDrop for MonitoredFuture<F, P, M> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(start) = this.start.take() {
                let outcome = if std::thread::panicking() {
                    Outcome::Panicked
                } else {
                    Outcome::Cancelled
                };
                drop(complete(
                    this.site,
                    start,
                    CallEnd {
                        end_ticks: clock::now_ticks(),
                        busy_ns: Some(*this.busy_ns),
                        outcome,
                        rows_from_value: None,
                        tally: *this.tally,
                    },
                ));
            }
        }
    }
}

impl<F, P, M: MemoryMode> std::fmt::Debug for MonitoredFuture<F, P, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredFuture")
            .field("site", &self.site.metadata().name)
            .field("busy_ns", &self.busy_ns)
            .finish_non_exhaustive()
    }
}

impl<F, P, M> MonitoredFuture<F, P, M>
where
    F: Future,
    P: for<'a> FnOnce(&'a F::Output) -> (Outcome<'a>, Option<u64>),
    M: MemoryMode,
{
    /// Wraps `inner`; `probe` reads the output's outcome and row count when it completes.
    pub fn new(site: &'static Callsite, inner: F, probe: P) -> Self {
        MonitoredFuture {
            inner,
            site,
            probe: Some(probe),
            start: None,
            begun: false,
            busy_ns: 0,
            tally: RowTally::default(),
            summary: None,
        }
    }
}

/// Counts a panic if `poll` unwinds; disarmed when it returns.
struct PollUnwind<'a, M: MemoryMode> {
    site: &'static Callsite,
    start: &'a mut Option<CallStart<M>>,
    busy_ns: u64,
    t0: u64,
    armed: bool,
}

impl<M: MemoryMode> Drop for PollUnwind<'_, M> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(start) = self.start.take() {
                let end_ticks = clock::now_ticks();
                drop(complete(
                    self.site,
                    start,
                    CallEnd {
                        end_ticks,
                        busy_ns: Some(self.busy_ns + clock::nanos_between(self.t0, end_ticks)),
                        outcome: Outcome::Panicked,
                        rows_from_value: None,
                        tally: RowTally::default(),
                    },
                ));
            }
        }
    }
}

impl<F, P, M> Future for MonitoredFuture<F, P, M>
where
    F: Future,
    P: for<'a> FnOnce(&'a F::Output) -> (Outcome<'a>, Option<u64>),
    M: MemoryMode,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.begun {
            *this.begun = true;
            *this.start = CallStart::begin_async(this.site);
        }
        if this.start.is_none() {
            return this.inner.poll(cx);
        }
        // Cloned only when spans are on (`MONITOR_SPANS`); `None` costs nothing.
        let span = this.start.as_ref().and_then(|s| s.span.as_deref().cloned());
        let entered = span.as_ref().map(tracing::Span::enter);
        let saved = rows::swap_in(*this.tally);
        if let Some(s) = this.start.as_mut() {
            M::resume(&mut s.memory);
        }
        let t0 = clock::now_ticks();
        let mut unwind = PollUnwind {
            site: this.site,
            start: this.start,
            busy_ns: *this.busy_ns,
            t0,
            armed: true,
        };
        let poll = this.inner.poll(cx);
        unwind.armed = false;
        let t1 = clock::now_ticks();
        *this.busy_ns += clock::nanos_between(t0, t1);
        *this.tally = rows::swap_in(saved);
        if let Some(s) = unwind.start.as_mut() {
            // Allocations are counted per thread: bank this poll's before the next may run elsewhere.
            M::suspend(&mut s.memory);
        }
        drop(entered);
        if let Poll::Ready(out) = &poll {
            if let (Some(start), Some(probe)) = (unwind.start.take(), this.probe.take()) {
                let (outcome, rows_from_value) = probe(out);
                *this.summary = complete(
                    this.site,
                    start,
                    CallEnd {
                        end_ticks: t1,
                        busy_ns: Some(*this.busy_ns),
                        outcome,
                        rows_from_value,
                        tally: *this.tally,
                    },
                );
            }
        }
        poll
    }
}

pin_project_lite::pin_project! {
    /// A [`MonitoredFuture`] of an `explain(..)` site: its output comes with the call's
    /// [`CallSummary`], which the generated code hands to the plan capture.
    #[must_use = "futures do nothing unless polled"]
    pub struct ExplainedFuture<F, P, M: MemoryMode> {
        #[pin]
        inner: MonitoredFuture<F, P, M>,
    }
}

impl<F, P, M: MemoryMode> std::fmt::Debug for ExplainedFuture<F, P, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<F, P, M: MemoryMode> ExplainedFuture<F, P, M> {
    /// Wraps a monitored future.
    pub fn new(inner: MonitoredFuture<F, P, M>) -> Self {
        ExplainedFuture { inner }
    }
}

impl<F, P, M> Future for ExplainedFuture<F, P, M>
where
    F: Future,
    P: for<'a> FnOnce(&'a F::Output) -> (Outcome<'a>, Option<u64>),
    M: MemoryMode,
{
    type Output = (F::Output, Option<CallSummary>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        match inner.as_mut().poll(cx) {
            Poll::Ready(out) => Poll::Ready((out, inner.project().summary.take())),
            Poll::Pending => Poll::Pending,
        }
    }
}
