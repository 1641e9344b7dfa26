//! Resident set size of this process, read cheaply.
//!
//! On Linux the fast path keeps `/proc/self/statm` open and re-reads it with `pread` into a stack
//! buffer: no allocation, no path lookup, about 1 µs (see `cargo bench --bench rss`). Elsewhere,
//! and if `/proc` is unavailable, it falls back to a `sysinfo` refresh of this one process.

/// Current RSS in bytes, or `None` if the platform cannot tell.
#[must_use]
pub fn current_rss() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        if let Some(v) = linux::statm_rss() {
            return Some(v);
        }
    }
    sysinfo_rss()
}

/// RSS through `sysinfo` (the portable path, and the benchmark baseline).
#[must_use]
pub fn sysinfo_rss() -> Option<u64> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().ok()?;
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    sys.process(pid).map(sysinfo::Process::memory)
}

/// The kernel's RSS high-water mark for this process, in bytes (`getrusage` `ru_maxrss`), when
/// the platform has one.
#[must_use]
pub fn high_water_mark() -> Option<u64> {
    kernel_usage().map(|u| u.max_rss)
}

/// What one `getrusage(RUSAGE_SELF)` tells about this process's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelUsage {
    /// Page faults (minor and major) of every thread of the process, living or exited, since it
    /// started. RSS only rises through a fault, so an unchanged count means RSS has not risen in
    /// between (see [`crate::memory::peak`] for what that buys and its limits).
    pub faults: u64,
    /// `ru_maxrss` in bytes: the high-water mark, or a larger value inherited at `exec` (see
    /// [`crate::memory::hwm`]).
    pub max_rss: u64,
}

/// One `getrusage(RUSAGE_SELF)` (about 0.25 µs, plus about 13 ns per thread of the process): the
/// process's fault count and its `ru_maxrss`.
#[must_use]
pub fn kernel_usage() -> Option<KernelUsage> {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is a valid out-pointer for one `rusage`.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: getrusage succeeded and filled the struct.
        let usage = unsafe { usage.assume_init() };
        let max = u64::try_from(usage.ru_maxrss).ok()?;
        let minor = u64::try_from(usage.ru_minflt).ok()?;
        let major = u64::try_from(usage.ru_majflt).ok()?;
        Some(KernelUsage {
            faults: minor.wrapping_add(major),
            // Linux reports KiB, macOS bytes.
            max_rss: if cfg!(target_os = "macos") {
                max
            } else {
                max * 1024
            },
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::sync::OnceLock;

    static STATM: OnceLock<Option<File>> = OnceLock::new();
    static PAGE_SIZE: OnceLock<u64> = OnceLock::new();

    fn page_size() -> u64 {
        *PAGE_SIZE.get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            u64::try_from(v).ok().filter(|v| *v > 0).unwrap_or(4096)
        })
    }

    /// Second field of `/proc/self/statm` (resident pages) times the page size.
    pub(super) fn statm_rss() -> Option<u64> {
        let file = STATM
            .get_or_init(|| File::open("/proc/self/statm").ok())
            .as_ref()?;
        let mut buf = [0u8; 128];
        let n = file.read_at(&mut buf, 0).ok()?;
        let text = buf.get(..n)?;
        let mut fields = text.split(|b| *b == b' ');
        let _size = fields.next()?;
        let resident = fields.next()?;
        let mut pages = 0u64;
        for &b in resident {
            if !b.is_ascii_digit() {
                break;
            }
            pages = pages.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        Some(pages * page_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The tests of this process's RSS run one at a time: one touching 64 MiB while another
    /// compares two readings would move RSS between them.
    static RSS_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn fast_path_agrees_with_sysinfo() {
        let _one_at_a_time = RSS_TESTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let a = current_rss().unwrap();
        let b = sysinfo_rss().unwrap();
        assert!(a > 1 << 20);
        let diff = a.abs_diff(b);
        assert!(diff < 8 << 20, "statm {a} vs sysinfo {b}");
        assert!(high_water_mark().unwrap() >= a / 2);
    }

    #[test]
    fn sees_touched_memory() {
        let _one_at_a_time = RSS_TESTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = current_rss().unwrap();
        let v = vec![1u8; 64 << 20];
        let during = current_rss().unwrap();
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        drop(v);
    }

    #[cfg(unix)]
    #[test]
    fn touching_memory_counts_faults() {
        let before = kernel_usage().unwrap();
        let mut v = vec![0u8; 8 << 20];
        for page in v.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&v);
        let after = kernel_usage().unwrap();
        // 2,048 pages; transparent huge pages can serve them with as few as four faults.
        assert!(after.faults >= before.faults + 4, "{before:?} -> {after:?}");
        assert!(after.max_rss >= 8 << 20);
    }
}
