//! Memory does not grow with the number of calls: 100 million calls of one site grow RSS by less
//! than 1 MiB. Run in release by CI: `cargo test --release -p monitor-load-tests -- --ignored`.
use monitor::monitor_query;

#[monitor_query("bounded")]
fn call(i: u64) -> u64 {
    i.rotate_left(5)
}

#[test]
#[ignore = "run in release: 100 million calls"]
fn a_hundred_million_calls_grow_rss_by_less_than_a_mib() {
    // Warm up: register the site, calibrate the clock, touch the histogram.
    for i in 0..10_000 {
        std::hint::black_box(call(i));
    }
    let before = monitor::rss::current_rss().expect("rss readable");
    for i in 0..100_000_000u64 {
        std::hint::black_box(call(std::hint::black_box(i)));
    }
    let after = monitor::rss::current_rss().expect("rss readable");
    let grown = after.saturating_sub(before);
    assert_eq!(
        monitor::snapshot().site("bounded").map(|s| s.calls),
        Some(100_010_000)
    );
    assert!(grown < 1 << 20, "grew by {grown} bytes");
}
