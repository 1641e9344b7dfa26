//! Property tests of the two parsers that read outside input (attribute literals and `MONITOR_*`
//! environment variables): any string gives a value or a clear error naming the input, never a
//! panic; and every well-formed value round-trips. 4,096 cases per property (set by the config
//! below; proptest prints nothing on success, so the count is stated here and in RELIABILITY.md).
use monitor_units::{parse_bytes, parse_duration_nanos};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,24}") {
        let quoted = format!("{s:?}");
        if let Err(e) = parse_duration_nanos(&s) {
            prop_assert!(e.to_string().contains(&quoted));
        }
        if let Err(e) = parse_bytes(&s) {
            prop_assert!(e.to_string().contains(&quoted));
        }
    }

    #[test]
    fn number_like_text_never_panics(s in "[0-9._ ]{0,30}(ns|us|ms|s|m|h|KiB|MiB|GiB|KB|GB|B|x)?") {
        let _ = parse_duration_nanos(&s);
        let _ = parse_bytes(&s);
    }

    #[test]
    fn well_formed_durations_round_trip(n in 0u64..1_000_000_000, unit in 0usize..4) {
        let (suffix, scale) = [("ns", 1u64), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)][unit];
        prop_assert_eq!(parse_duration_nanos(&format!("{n}{suffix}")), Ok(n * scale));
    }

    #[test]
    fn well_formed_sizes_round_trip(n in 0u64..1_000_000, unit in 0usize..4) {
        let (suffix, scale) = [("B", 1u64), ("KiB", 1024), ("MiB", 1 << 20), ("GB", 1_000_000_000)][unit];
        prop_assert_eq!(parse_bytes(&format!("{n} {suffix}")), Ok(n * scale));
    }
}
