//! Threads that come and go (a pool replacing its workers, a thread per file): a thousand
//! short-lived threads, two alive at a time, each calling one site. Every call is counted, and
//! memory stays bounded: each thread writes its own shard of the site's counters while it lives
//! and gives the shard back when it exits, so the site never holds more than a fixed number of
//! shards however many threads it has seen.
use monitor::monitor_query;

#[monitor_query("short_lived")]
fn work(i: u64) -> u64 {
    i.rotate_left(7)
}

const CALLS_PER_THREAD: u64 = 10_000;

/// Starts `threads` threads, two at a time, each making `CALLS_PER_THREAD` calls.
fn threads_in_pairs(threads: u64) {
    for _ in 0..threads / 2 {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for i in 0..CALLS_PER_THREAD {
                        std::hint::black_box(work(std::hint::black_box(i)));
                    }
                });
            }
        });
    }
}

#[test]
fn a_thousand_short_lived_threads_are_counted_exactly_in_bounded_memory() {
    // Warm up: the site, the clock, the first shards, the allocator's and the thread library's
    // caches (a thread's stack is reused by the next).
    threads_in_pairs(100);
    let before = monitor::rss::current_rss().expect("rss readable");
    threads_in_pairs(1_000);
    let after = monitor::rss::current_rss().expect("rss readable");
    assert_eq!(
        monitor::snapshot().site("short_lived").map(|s| s.calls),
        Some(1_100 * CALLS_PER_THREAD),
        "every call of every thread is counted"
    );
    // A shard is 6 KiB: a thousand of them (one per thread, never reused) would be 6 MiB.
    let grown = after.saturating_sub(before);
    assert!(grown < 1 << 20, "1,000 threads grew RSS by {grown} bytes");
}
