//! The monotonic clock on the hot path.
//!
//! `quanta` reads the CPU's time-stamp counter where it is invariant (calibrated once against the
//! OS clock) and falls back to the OS monotonic clock elsewhere, so a start/stop pair costs about
//! a third of a `std::time::Instant` pair on x86-64. Ticks are only converted to nanoseconds once
//! per call, at the end.

use std::sync::OnceLock;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[inline]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// A raw reading of the monotonic clock, in clock ticks (not nanoseconds).
#[inline]
#[must_use]
pub fn now_ticks() -> u64 {
    clock().raw()
}

/// Nanoseconds between two readings of [`now_ticks`]; zero if `end` precedes `start`.
#[inline]
#[must_use]
pub fn nanos_between(start: u64, end: u64) -> u64 {
    if end <= start {
        return 0;
    }
    clock().delta_as_nanos(start, end)
}

/// Forces the one-time calibration now, so that the first monitored call does not pay for it.
pub fn calibrate() {
    let _ = clock();
}

/// Wall-clock time as milliseconds since the Unix epoch (for reports and history, never for
/// measuring durations).
#[must_use]
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Nanoseconds as milliseconds, the unit of every duration in events and reports.
#[allow(clippy::cast_precision_loss)]
#[must_use]
pub(crate) fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep() {
        let a = now_ticks();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now_ticks();
        let ns = nanos_between(a, b);
        assert!((19_000_000..200_000_000).contains(&ns), "{ns}");
        assert_eq!(nanos_between(b, a), 0);
    }
}
