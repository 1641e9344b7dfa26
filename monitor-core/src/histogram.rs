//! A fixed-size, lock-free, log-linear histogram of nanosecond durations.
//!
//! Values below 16 ns get a bucket each; above that every power of two is split into 16 equal
//! sub-buckets, so a bucket is at most 1/16 (6.25 %) as wide as its lower bound. Quantiles report
//! the bucket's midpoint, clamped to the exact min and max, so **a reported quantile is within
//! ±3.2 % of a value that was recorded at that rank**. The range reaches 2^48 ns (about 78 hours);
//! longer values land in the last bucket and still count exactly in `max` and `total`.
//!
//! Memory is one array of 720 `AtomicU64` (5.6 KiB) whatever the number of calls: recording is a
//! single relaxed `fetch_add` on one bucket.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS; // 16 sub-buckets per power of two
const MAX_BITS: u32 = 48;
/// Number of buckets: 16 linear ones, then 16 per power of two from 2^4 to 2^47.
pub const BUCKETS: usize = SUB + (MAX_BITS - SUB_BITS) as usize * SUB;

/// Bucket index of a value.
#[inline]
#[must_use]
pub fn bucket_of(value: u64) -> usize {
    if value < SUB as u64 {
        // Lossless: the value is below 16.
        return value as usize;
    }
    let msb = 63 - value.leading_zeros(); // >= 4
    if msb >= MAX_BITS {
        return BUCKETS - 1;
    }
    let shift = msb - SUB_BITS;
    let sub = ((value >> shift) as usize) & (SUB - 1);
    (msb - SUB_BITS + 1) as usize * SUB + sub
}

/// The lowest value that falls in bucket `index`, and the lowest of the next bucket.
#[must_use]
pub fn bucket_bounds(index: usize) -> (u64, u64) {
    if index < SUB {
        return (index as u64, index as u64 + 1);
    }
    let octave = (index / SUB) as u32 - 1 + SUB_BITS; // msb of the values inside
    let sub = (index % SUB) as u64;
    let shift = octave - SUB_BITS;
    let low = (SUB as u64 + sub) << shift;
    (low, low + (1u64 << shift))
}

/// The atomic bucket array. `const`-constructible so it can live inside a `static` call site.
#[derive(Debug)]
pub struct AtomicHistogram {
    buckets: [AtomicU64; BUCKETS],
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl AtomicHistogram {
    /// An empty histogram.
    #[must_use]
    pub const fn new() -> Self {
        AtomicHistogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    /// Counts one value.
    #[inline]
    pub fn record(&self, value: u64) {
        self.buckets[bucket_of(value)].fetch_add(1, Relaxed);
    }

    /// Copies the counts out (each bucket read atomically; the copy as a whole is not a single
    /// instant, which is fine for monitoring).
    #[must_use]
    pub fn load(&self) -> HistogramCounts {
        let mut counts = vec![0u64; BUCKETS];
        for (dst, src) in counts.iter_mut().zip(self.buckets.iter()) {
            *dst = src.load(Relaxed);
        }
        HistogramCounts { counts }
    }

    /// Zeroes every bucket.
    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Relaxed);
        }
    }
}

/// A plain copy of a histogram's counts, for quantiles and arithmetic off the hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramCounts {
    counts: Vec<u64>,
}

impl Default for HistogramCounts {
    fn default() -> Self {
        HistogramCounts {
            counts: vec![0; BUCKETS],
        }
    }
}

impl HistogramCounts {
    /// Total number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Raw bucket counts, indexed as [`bucket_of`].
    #[must_use]
    pub fn buckets(&self) -> &[u64] {
        &self.counts
    }

    /// Adds another histogram's counts into this one.
    pub fn merge(&mut self, other: &HistogramCounts) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
    }

    /// Removes an earlier copy's counts, leaving what was recorded since (for interval figures);
    /// buckets that went down (a reset in between) count from zero.
    pub fn subtract(&mut self, earlier: &HistogramCounts) {
        for (a, b) in self.counts.iter_mut().zip(&earlier.counts) {
            *a = a.saturating_sub(*b);
        }
    }

    /// The value at quantile `q` (0.0..=1.0): the midpoint of the bucket holding that rank,
    /// clamped into `[min, max]` when those exact bounds are known. `None` when empty.
    #[must_use]
    pub fn quantile(&self, q: f64, min: u64, max: u64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        // Rank of the wanted value, 1-based; ceil so that p100 is the last value.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((q * total as f64).ceil() as u64).max(1);
        if rank >= total {
            // The top rank is the exact maximum, not a bucket estimate.
            return Some(max.max(min));
        }
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_bounds(i);
                let mid = lo + (hi - lo) / 2;
                return Some(mid.clamp(min, max.max(min)));
            }
        }
        Some(max)
    }

    /// Mean and standard deviation estimated from bucket midpoints (the exact mean is
    /// `total / count`; use this for the spread).
    #[must_use]
    pub fn stddev(&self) -> f64 {
        let n = self.count();
        if n < 2 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let (nf, mut sum, mut sq) = (n as f64, 0.0f64, 0.0f64);
        for (i, c) in self.counts.iter().enumerate() {
            if *c == 0 {
                continue;
            }
            let (lo, hi) = bucket_bounds(i);
            #[allow(clippy::cast_precision_loss)]
            let (mid, cf) = ((lo as f64 + hi as f64) / 2.0, *c as f64);
            sum += mid * cf;
            sq += mid * mid * cf;
        }
        let mean = sum / nf;
        ((sq / nf - mean * mean).max(0.0) * nf / (nf - 1.0)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut prev_hi = 0;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_bounds(i);
            assert_eq!(lo, prev_hi, "bucket {i}");
            assert!(hi > lo);
            assert_eq!(bucket_of(lo), i);
            assert_eq!(bucket_of(hi - 1), i);
            if lo >= 16 {
                // width at most 1/16 of the lower bound
                assert!((hi - lo) * 16 <= lo, "bucket {i} [{lo},{hi})");
            }
            prev_hi = hi;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_precision() {
        let h = AtomicHistogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let c = h.load();
        assert_eq!(c.count(), 100_000);
        for (q, exact) in [
            (0.5, 50_000_000f64),
            (0.95, 95_000_000.0),
            (0.99, 99_000_000.0),
        ] {
            #[allow(clippy::cast_precision_loss)]
            let got = c.quantile(q, 1000, 100_000_000).unwrap() as f64;
            assert!(
                (got - exact).abs() / exact < 0.032,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(c.quantile(1.0, 1000, 100_000_000), Some(100_000_000));
        assert_eq!(HistogramCounts::default().quantile(0.5, 0, 0), None);
    }

    #[test]
    fn stddev_of_two_points() {
        let h = AtomicHistogram::new();
        h.record(1_000_000);
        h.record(3_000_000);
        let sd = h.load().stddev();
        assert!((sd - 1_414_213.0).abs() / 1_414_213.0 < 0.05, "{sd}");
    }
}
