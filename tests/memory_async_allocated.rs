//! An async step's `allocated` is what it allocated across all its polls, summed per poll, even
//! when it resumes on another worker thread, and not what other tasks allocated meanwhile.
use monitor::monitor_step;
use std::alloc::System;
use std::time::Duration;

#[global_allocator]
static ALLOC: monitor::TrackingAllocator<System> = monitor::TrackingAllocator::new(System);

const MIB: u64 = 1 << 20;

#[monitor_step]
async fn allocates_across_awaits() -> usize {
    let mut total = 0;
    for _ in 0..4 {
        let v = vec![7u8; 4 << 20];
        total += v.len();
        drop(v);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    total
}

#[test]
fn allocated_sums_the_polls() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let n = rt.block_on(async {
        // A noisy neighbour on the other worker: its allocations are not the step's.
        let noise = tokio::spawn(async {
            for _ in 0..20 {
                std::hint::black_box(vec![1u8; 8 << 20]);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let n = allocates_across_awaits().await;
        noise.await.unwrap();
        n
    });
    assert_eq!(n, 16 << 20);
    let m = monitor::snapshot()
        .site("allocates_across_awaits")
        .expect("recorded")
        .memory;
    let allocated = m.allocated.expect("tracked").last;
    assert!(allocated >= 16 * MIB, "{allocated}");
    assert!(
        allocated < 20 * MIB,
        "the neighbour's 160 MiB leaked in: {allocated}"
    );
}
