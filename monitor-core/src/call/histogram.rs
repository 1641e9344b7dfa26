//! A fixed-size, lock-free, log-linear histogram of nanosecond durations.
//!
//! Values below 16 ns get a bucket each; above that every power of two is split into 16 equal
//! sub-buckets, so a bucket is at most 1/16 (6.25 %) as wide as its lower bound. Quantiles report
//! the bucket's midpoint, clamped to the exact min and max, so **a reported quantile is within
//! ±3.2 % of a value that was recorded at that rank**. The range reaches 2^48 ns (about 78 hours);
//! longer values land in the last bucket and still count exactly in `max` and `total`.
//!
//! Memory is one array of 720 `AtomicU64` (5.6 KiB) whatever the number of calls: recording is a
//! single relaxed `fetch_add` on one bucket. A copy ([`HistogramCounts`]) keeps only the span of
//! non-empty buckets, so reading a thousand sites for a scrape neither reads nor allocates 720
//! counts for each.

use serde::{Deserialize, Serialize};
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

    /// Counts one value into a shard of a site's counters: with plain stores when the calling
    /// thread owns the shard (see `crate::call::shard`).
    #[inline]
    pub(crate) fn record_in_shard(&self, value: u64, owned: bool) {
        crate::call::shard::add(&self.buckets[bucket_of(value)], 1, owned);
    }

    /// Copies the counts out (each bucket read atomically; the copy as a whole is not a single
    /// instant, which is fine for monitoring).
    #[must_use]
    pub fn load(&self) -> HistogramCounts {
        self.load_between(0, u64::MAX)
    }

    /// Copies out only the buckets that can hold values in `[min, max]`: when a site's exact
    /// shortest and longest durations are known, every other bucket is zero, and a scrape of a
    /// thousand sites reads a few dozen buckets each instead of 720.
    #[must_use]
    pub fn load_between(&self, min: u64, max: u64) -> HistogramCounts {
        let (lo, hi) = (bucket_of(min.min(max)), bucket_of(max));
        let counts: Vec<u64> = self.buckets[lo..=hi]
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        HistogramCounts { first: lo, counts }.trimmed()
    }

    /// Zeroes every bucket.
    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Relaxed);
        }
    }
}

/// A plain copy of a histogram's counts, for quantiles and arithmetic off the hot path. Only the
/// span from the lowest to the highest non-empty bucket is stored.
///
/// Serialises as `{"first": 210, "counts": [3, 0, 7]}`: the bucket index (as in [`bucket_of`])
/// of the first count, then the counts of consecutive buckets. Reading one back refuses a span
/// past the last bucket, so two copies read from anywhere can always be merged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "RawCounts")]
pub struct HistogramCounts {
    /// Bucket index of `counts[0]`.
    first: usize,
    counts: Vec<u64>,
}

/// [`HistogramCounts`] as read, before its span is checked.
#[derive(Deserialize)]
struct RawCounts {
    first: usize,
    counts: Vec<u64>,
}

impl TryFrom<RawCounts> for HistogramCounts {
    type Error = String;

    fn try_from(raw: RawCounts) -> Result<Self, String> {
        HistogramCounts::from_counts(raw.first, raw.counts)
    }
}

impl PartialEq for HistogramCounts {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for HistogramCounts {}

impl HistogramCounts {
    /// Drops empty buckets at both ends.
    fn trimmed(mut self) -> Self {
        let Some(last) = self.counts.iter().rposition(|&c| c != 0) else {
            return HistogramCounts::default();
        };
        self.counts.truncate(last + 1);
        let lead = self.counts.iter().position(|&c| c != 0).unwrap_or(0);
        self.counts.drain(..lead);
        self.first += lead;
        self
    }

    /// Counts of consecutive buckets, the first of them at bucket index `first`.
    ///
    /// # Errors
    /// The span reaches past the last bucket ([`BUCKETS`]).
    pub fn from_counts(first: usize, counts: Vec<u64>) -> Result<Self, String> {
        if first
            .checked_add(counts.len())
            .is_none_or(|end| end > BUCKETS)
        {
            return Err(format!(
                "histogram buckets {first}..{} reach past the last bucket ({})",
                first.saturating_add(counts.len()),
                BUCKETS - 1
            ));
        }
        Ok(HistogramCounts { first, counts }.trimmed())
    }

    /// Total number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |n, &c| n.saturating_add(c))
    }

    /// The non-empty buckets: `(index as in [`bucket_of`], count)`, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c != 0)
            .map(move |(i, &c)| (self.first + i, c))
    }

    /// Widens the stored span to cover buckets `lo..=hi`.
    fn cover(&mut self, lo: usize, hi: usize) {
        if self.counts.is_empty() {
            self.first = lo;
            self.counts = vec![0; hi - lo + 1];
            return;
        }
        if lo < self.first {
            let grow = self.first - lo;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = lo;
        }
        let end = self.first + self.counts.len() - 1;
        if hi > end {
            self.counts.resize(self.counts.len() + (hi - end), 0);
        }
    }

    /// Adds another histogram's counts into this one.
    pub fn merge(&mut self, other: &HistogramCounts) {
        if other.counts.is_empty() {
            return;
        }
        self.cover(other.first, other.first + other.counts.len() - 1);
        let at = other.first - self.first;
        for (a, b) in self.counts[at..].iter_mut().zip(&other.counts) {
            // Saturating: counts read back from a store are not trusted to be sane.
            *a = a.saturating_add(*b);
        }
    }

    /// Removes an earlier copy's counts, leaving what was recorded since (for interval figures);
    /// buckets that went down (a reset in between) count from zero.
    pub fn subtract(&mut self, earlier: &HistogramCounts) {
        for (i, b) in earlier.iter() {
            if let Some(a) = i
                .checked_sub(self.first)
                .and_then(|j| self.counts.get_mut(j))
            {
                *a = a.saturating_sub(b);
            }
        }
        *self = std::mem::take(self).trimmed();
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
        for (i, c) in self.iter() {
            seen = seen.saturating_add(c);
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
        for (i, c) in self.iter() {
            let (lo, hi) = bucket_bounds(i);
            #[allow(clippy::cast_precision_loss)]
            let (mid, cf) = ((lo as f64 + hi as f64) / 2.0, c as f64);
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
    fn sparse_copies_add_subtract_and_compare_like_full_ones() {
        let (a, b, both) = (
            AtomicHistogram::new(),
            AtomicHistogram::new(),
            AtomicHistogram::new(),
        );
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Two overlapping spans of durations: 1 µs..1 ms and 0.5 ms..4 s.
            let (h, v) = if i % 3 == 0 {
                (&a, 1_000 + x % 1_000_000)
            } else {
                (&b, 500_000 + x % 4_000_000_000)
            };
            h.record(v);
            both.record(v);
        }
        let mut merged = b.load();
        merged.merge(&a.load());
        assert_eq!(merged, both.load());
        assert_eq!(merged.count(), 5_000);
        // Merging into an empty copy, and in the other order, gives the same.
        let mut m2 = HistogramCounts::default();
        m2.merge(&a.load());
        m2.merge(&b.load());
        assert_eq!(m2, merged);
        merged.subtract(&a.load());
        assert_eq!(merged, b.load());
        // Loading only between the extremes reads the same counts.
        let (lo, hi) = (
            a.load().iter().next().unwrap().0,
            a.load().iter().last().unwrap().0,
        );
        assert_eq!(
            a.load_between(bucket_bounds(lo).0, bucket_bounds(hi).0),
            a.load()
        );
        assert_eq!(AtomicHistogram::new().load(), HistogramCounts::default());
        assert_eq!(AtomicHistogram::new().load().quantile(0.5, 0, 0), None);
    }

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
