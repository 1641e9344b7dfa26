//! The fixed `le` bounds every exported duration histogram uses, and how our 720 log-linear
//! buckets fold into them.
//!
//! A site's histogram has 720 buckets of at most 6.25 % width (see [`crate::call::histogram`]); a
//! Prometheus or OTLP histogram wants a short, fixed list of upper bounds that is the same for
//! every series, so that `histogram_quantile` can aggregate across sites and processes. Each of our
//! buckets is added to the **first bound at or above the largest value the bucket can hold**.
//! So counts never move to a lower bound: a duration within 6.25 % below a bound may be counted
//! under the next bound up, never the other way round (p95 alerts err on the slow side).

use crate::call::histogram::{bucket_bounds, HistogramCounts, BUCKETS};
use std::sync::LazyLock;

/// Upper bounds in seconds, from 100 µs (a fast query) to 4 h (a long batch step); `+Inf` is
/// implied after the last.
pub const LE_SECONDS: [f64; 24] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0,
];

/// Number of exported buckets: one per bound plus `+Inf`.
pub const LE_BUCKETS: usize = LE_SECONDS.len() + 1;

/// For each of our buckets, the index (into `LE_SECONDS`, or `LE_SECONDS.len()` for `+Inf`) of the
/// exported bucket it is added to.
static FOLD: LazyLock<[u8; BUCKETS]> = LazyLock::new(|| {
    let mut fold = [0u8; BUCKETS];
    for (i, slot) in fold.iter_mut().enumerate() {
        let (_, next_low) = bucket_bounds(i);
        // The largest value bucket `i` holds, in nanoseconds.
        let top_ns = next_low.saturating_sub(1);
        let j = LE_SECONDS
            .iter()
            .position(|&le| bound_ns(le) >= top_ns)
            .unwrap_or(LE_SECONDS.len());
        // At most 24: fits.
        *slot = u8::try_from(j).unwrap_or(u8::MAX);
    }
    fold
});

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bound_ns(le_seconds: f64) -> u64 {
    (le_seconds * 1e9).round() as u64
}

/// Folds a histogram's counts into per-bound counts (not cumulative), adding into `out`.
pub fn fold_into(histogram: &HistogramCounts, out: &mut [u64; LE_BUCKETS]) {
    for (i, c) in histogram.iter() {
        out[usize::from(FOLD[i])] += c;
    }
}

/// Running totals of per-bound counts: what Prometheus `_bucket{le=..}` series carry.
#[must_use]
pub fn cumulative(counts: &[u64; LE_BUCKETS]) -> [u64; LE_BUCKETS] {
    let mut acc = 0;
    let mut out = [0; LE_BUCKETS];
    for (o, c) in out.iter_mut().zip(counts) {
        acc += c;
        *o = acc;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::histogram::AtomicHistogram;

    fn folded(values: &[u64]) -> [u64; LE_BUCKETS] {
        let h = AtomicHistogram::new();
        for &v in values {
            h.record(v);
        }
        let mut out = [0; LE_BUCKETS];
        fold_into(&h.load(), &mut out);
        out
    }

    #[test]
    fn values_land_under_their_bound_or_the_next() {
        // 0.9 ms: its bucket tops out below 1 ms, so it is counted under le=0.001.
        let out = folded(&[900_000]);
        assert_eq!(out[3], 1, "{out:?}");
        // 1.2 ms is above 1 ms: le=0.0025.
        let out = folded(&[1_200_000]);
        assert_eq!(out[4], 1, "{out:?}");
        // 5 hours: +Inf.
        let out = folded(&[5 * 3600 * 1_000_000_000]);
        assert_eq!(out[LE_BUCKETS - 1], 1);
        // Nothing below 100 µs is lost: 10 ns lands in the first bound.
        assert_eq!(folded(&[10])[0], 1);
    }

    #[test]
    fn counts_never_move_down_and_are_all_kept() {
        let values: Vec<u64> = (0..2000u64).map(|i| i * i * 997 + 13).collect();
        let out = folded(&values);
        assert_eq!(out.iter().sum::<u64>(), values.len() as u64);
        let cum = cumulative(&out);
        for (j, &le) in LE_SECONDS.iter().enumerate() {
            let exact = values.iter().filter(|&&v| v <= bound_ns(le)).count() as u64;
            // Cumulative count under a bound is at most the exact count (conservative), and at
            // least the count of values more than one bucket width (6.25 %) below it.
            let lower = values
                .iter()
                .filter(|&&v| (v as f64) * 1.0625 <= le * 1e9)
                .count() as u64;
            assert!(
                cum[j] <= exact && cum[j] >= lower,
                "le={le}: {} not in [{lower},{exact}]",
                cum[j]
            );
        }
    }
}
