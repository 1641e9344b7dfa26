//! A loop over one monitored call, for instruction-level profiling (`valgrind --tool=callgrind`).
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut acc = 0u64;
    for i in 0..n {
        acc ^= monitor_perf::monitored_query(std::hint::black_box(i));
    }
    println!("{acc}");
}
