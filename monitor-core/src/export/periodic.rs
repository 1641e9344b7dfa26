//! A background thread that calls a flush function at an interval, and once more when stopped.
//! Shared by the push-style exporters (DogStatsD, OTLP).

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running thread; dropping it stops the thread cleanly (after one last flush).
#[derive(Debug)]
pub struct Periodic {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Calls `flush` every `interval` on a thread named `name`. An interval outside
    /// [`INTERVAL_BOUNDS`](super::env::INTERVAL_BOUNDS) (100 ms to 1 h) is clamped to the nearest
    /// bound, with a warning. If the thread cannot be spawned the failure is logged and only
    /// explicit flushes (run ends) happen.
    pub fn start(name: &str, interval: Duration, flush: impl Fn() + Send + 'static) -> Periodic {
        let interval = match crate::config::out_of_bounds(
            &format!("{name} interval"),
            interval,
            super::env::INTERVAL_BOUNDS,
        ) {
            Some((clamped, e)) => {
                crate::config::report_errors(&[e]);
                clamped
            }
            None => interval,
        };
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || loop {
                // A failed send is a warning on stderr when no subscriber is installed.
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => crate::call::events::surfaced(&flush),
                    // Asked to stop, or the owner is gone: one last flush, then out.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                        crate::call::events::surfaced(&flush);
                        break;
                    }
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                crate::call::events::surfaced(|| {
                    tracing::warn!(target: "monitor", thread = name, error = %e,
                        "could not start the exporter's flush thread; flushing at run ends only");
                });
                None
            }
        };
        Periodic {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
