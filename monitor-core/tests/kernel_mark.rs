//! The kernel's RSS high-water mark: `VmHWM` sees a spike after it is gone, and a reset brings it
//! back down to the current RSS (where `/proc/self/clear_refs` is writable).
#![cfg(target_os = "linux")]

use monitor_core::{__internals::hwm, rss};

#[test]
fn vm_hwm_keeps_a_spike_and_reset_clears_it() {
    let rss = rss::current_rss().unwrap();
    let v = vec![3u8; 48 << 20];
    std::hint::black_box(&v);
    drop(v);
    let high = hwm::vm_hwm().unwrap();
    assert!(high >= rss + (40 << 20), "VmHWM {high} vs RSS before {rss}");
    assert!(
        hwm::max_rss().unwrap() >= high,
        "getrusage is at least VmHWM"
    );
    assert!(
        hwm::reset(),
        "/proc/self/clear_refs should be writable for our own process"
    );
    let after = hwm::vm_hwm().unwrap();
    assert!(after + (40 << 20) <= high, "reset left {after}, was {high}");
}
