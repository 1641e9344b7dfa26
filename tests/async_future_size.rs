//! A timing-only async query's future carries no memory state: the same body measured with
//! memory (`memory`) makes a bigger future, by at least the memory scope.
use monitor::monitor_query;

#[monitor_query("sized_timing_only")]
async fn timing_only(x: u64) -> u64 {
    x + 1
}

#[monitor_query("sized_with_memory", memory)]
async fn with_memory(x: u64) -> u64 {
    x + 1
}

async fn bare(x: u64) -> u64 {
    x + 1
}

#[test]
fn timing_only_futures_are_smaller() {
    let (plain, timed, tracked) = (
        std::mem::size_of_val(&bare(1)),
        std::mem::size_of_val(&timing_only(1)),
        std::mem::size_of_val(&with_memory(1)),
    );
    assert!(
        tracked >= timed + 64,
        "bare {plain} B, timing-only {timed} B, with memory {tracked} B"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(timing_only(1)), rt.block_on(with_memory(1)));
    println!("bare {plain} B, timing-only {timed} B, with memory {tracked} B");
}
