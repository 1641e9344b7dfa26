//! The history-line parser on hostile input (proptest): arbitrary bytes, arbitrary JSON,
//! valid records cut anywhere or with bytes flipped. It never panics, every rejection says what
//! is wrong, and every valid record round-trips. 3 properties × 2,000 cases = 6,000 cases per
//! run (set `PROPTEST_CASES` for more).

use monitor_core::history::{encode_line, parse_line, LineError, RunRecord, RunStatus, SiteRecord};
use monitor_core::Kind;
use proptest::prelude::*;

const CASES: u32 = 2_000;

fn site() -> impl Strategy<Value = SiteRecord> {
    (
        "[a-z_]{1,12}",
        any::<bool>(),
        any::<u64>(),
        0.0..1e7f64,
        0.0..1e7f64,
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(
            |(name, step, calls, total_ms, p95_ms, rows, rss_peak)| SiteRecord {
                name,
                kind: if step { Kind::Step } else { Kind::Query },
                calls,
                errors: calls / 7,
                total_ms,
                p95_ms,
                rows,
                rows_in: None,
                rss_peak,
                heap_peak: None,
            },
        )
}

fn record() -> impl Strategy<Value = RunRecord> {
    (
        "\\PC{1,20}",
        "\\PC{1,20}",
        any::<bool>(),
        any::<u64>(),
        0.0..1e9f64,
        proptest::collection::vec(site(), 0..6),
    )
        .prop_map(
            |(run_id, pipeline, ok, started_at_ms, duration_ms, sites)| RunRecord {
                v: 1,
                run_id,
                pipeline,
                status: if ok { RunStatus::Ok } else { RunStatus::Failed },
                started_at_ms,
                duration_ms,
                host: "h".into(),
                version: None,
                sites,
            },
        )
}

/// Every error renders as a non-empty sentence.
fn explains(e: &LineError) -> bool {
    let text = e.to_string();
    !text.is_empty() && text.len() < 2_000
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = parse_line(&bytes) {
            prop_assert!(explains(&e), "{e:?}");
        }
    }

    #[test]
    fn valid_records_round_trip(r in record()) {
        let line = encode_line(&r).unwrap();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parse_line(line.as_bytes()).unwrap(), r);
    }

    #[test]
    fn damaged_records_are_rejected_or_still_valid(r in record(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let line = encode_line(&r).unwrap().into_bytes();
        // Cut anywhere: a truncated line is an error (or, if the cut fell after the record,
        // the same record).
        let n = cut.index(line.len() + 1);
        match parse_line(&line[..n]) {
            Ok(back) => prop_assert_eq!(back, r.clone()),
            Err(e) => prop_assert!(explains(&e)),
        }
        // One byte changed: either still a valid record or a clear error.
        let mut bad = line.clone();
        let i = flip.index(bad.len());
        bad[i] = byte;
        if let Err(e) = parse_line(&bad) {
            prop_assert!(explains(&e), "{e:?}");
        }
    }
}
