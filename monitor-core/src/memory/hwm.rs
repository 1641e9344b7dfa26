//! The kernel's RSS high-water mark: reading it two ways, and resetting it.
//!
//! - [`max_rss`]: `getrusage(RUSAGE_SELF).ru_maxrss`, about 0.25 µs. On Linux it is
//!   `max(signal->maxrss, VmHWM)`, and `signal->maxrss` is *sticky*: at `exec` it takes the mark
//!   of the address space the process replaced (with `posix_spawn` or `vfork`, which is how
//!   `std::process::Command` starts a child, that is the parent's). A reset does not lower it, so
//!   a process started by a larger one (cargo, a Python orchestrator) reads a value above its own
//!   mark until it outgrows its parent. [`crate::memory::peak`] copes with this through a
//!   per-epoch floor and by reading `VmHWM` in such epochs. (Threads exiting do not raise it on
//!   the kernels checked, 6.18; only the last thread of the process does.)
//! - [`vm_hwm`] / [`vm_status`] (Linux): the `VmHWM:` (and `VmRSS:`) lines of `/proc/self/status`,
//!   read with `pread` on a kept descriptor (about 2.5 µs, ten times `getrusage`): exactly
//!   `max(hiwater_rss, rss)`, nothing sticky.
//! - [`reset`] (Linux): writes `5` to `/proc/self/clear_refs` (kept open), which sets the mark to
//!   the current RSS (about 0.2 µs). This changes `VmHWM` for anyone else reading it (a
//!   supervisor, `/usr/bin/time` reads `ru_maxrss`, which stays sticky), so it can be switched
//!   off with `MONITOR_RESET_HWM=0`; everything still works, the high-water-mark path then only
//!   catches spikes that set a new process high.
//!
//! Figures: `gcc -O2` loop of 200,000 reads on the 2-core VM of BENCHMARKS.md, kernel 6.18.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many times `/proc/self/status` was read (the expensive mark), for tests and benchmarks.
static STATUS_READS: AtomicU64 = AtomicU64::new(0);

/// How many times this process read `/proc/self/status` for the mark so far.
#[must_use]
pub fn status_reads() -> u64 {
    STATUS_READS.load(Ordering::Relaxed)
}

/// `getrusage` maximum RSS in bytes (Linux reports KiB, macOS bytes).
#[must_use]
pub fn max_rss() -> Option<u64> {
    crate::base::rss::high_water_mark()
}

/// `VmHWM` in bytes, from `/proc/self/status`; `None` off Linux or without `/proc`.
#[must_use]
pub fn vm_hwm() -> Option<u64> {
    vm_status().map(|s| s.hwm)
}

/// The mark and the RSS from one read of `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmStatus {
    /// `VmHWM`, bytes.
    pub hwm: u64,
    /// `VmRSS`, bytes (the same sum of pages as `/proc/self/statm`'s resident field).
    pub rss: Option<u64>,
}

/// `VmHWM` and `VmRSS` from one read of `/proc/self/status`; `None` off Linux or without `/proc`.
#[must_use]
pub fn vm_status() -> Option<VmStatus> {
    #[cfg(target_os = "linux")]
    {
        STATUS_READS.fetch_add(1, Ordering::Relaxed);
        linux::vm_status()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Resets the kernel mark to the current RSS. `false` when it cannot be done here (not Linux,
/// `/proc/self/clear_refs` not writable); after the first failure it is not tried again.
pub fn reset() -> bool {
    #[cfg(target_os = "linux")]
    {
        linux::reset()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Parses the `VmHWM:` and `VmRSS:` lines of a `/proc/<pid>/status` text.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // read only on Linux; tested everywhere
fn parse_vm_status(text: &[u8]) -> Option<VmStatus> {
    Some(VmStatus {
        hwm: parse_kib_line(text, b"VmHWM:")?,
        rss: parse_kib_line(text, b"VmRSS:"),
    })
}

/// The value of a `Key:   123 kB` line, in bytes.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_kib_line(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = text.windows(key.len()).position(|w| w == key)?;
    let rest = text.get(at + key.len()..)?;
    let mut kib = None::<u64>;
    for &b in rest {
        match b {
            b' ' | b'\t' if kib.is_none() => {}
            b'0'..=b'9' => {
                kib = Some(
                    kib.unwrap_or(0)
                        .checked_mul(10)?
                        .checked_add(u64::from(b - b'0'))?,
                );
            }
            _ => break,
        }
    }
    kib?.checked_mul(1024)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    static STATUS: OnceLock<Option<File>> = OnceLock::new();
    static CLEAR_REFS: OnceLock<Option<File>> = OnceLock::new();
    static RESET_BROKEN: AtomicBool = AtomicBool::new(false);

    pub(super) fn vm_status() -> Option<super::VmStatus> {
        let file = STATUS
            .get_or_init(|| File::open("/proc/self/status").ok())
            .as_ref()?;
        // VmHWM is in the first kilobyte or so; 4 KiB leaves room for long `Groups:` lines.
        let mut buf = [0u8; 4096];
        let n = file.read_at(&mut buf, 0).ok()?;
        super::parse_vm_status(buf.get(..n)?)
    }

    pub(super) fn reset() -> bool {
        if RESET_BROKEN.load(Ordering::Relaxed) {
            return false;
        }
        let ok = CLEAR_REFS
            .get_or_init(|| {
                OpenOptions::new()
                    .write(true)
                    .open("/proc/self/clear_refs")
                    .ok()
            })
            .as_ref()
            .is_some_and(|mut f| f.write_all(b"5").is_ok());
        if !ok {
            RESET_BROKEN.store(true, Ordering::Relaxed);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_status_line() {
        let text = b"Name:\tx\nVmPeak:\t  10 kB\nVmHWM:\t    2064 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(
            parse_vm_status(text),
            Some(VmStatus {
                hwm: 2064 * 1024,
                rss: Some(1024)
            })
        );
        assert_eq!(parse_vm_status(b"VmRSS: 1 kB\n"), None);
        assert_eq!(parse_vm_status(b"VmHWM:\t kB\n"), None);
        assert_eq!(
            parse_vm_status(b"VmHWM:\t 3 kB\n"),
            Some(VmStatus {
                hwm: 3072,
                rss: None
            })
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn vm_hwm_is_at_least_rss() {
        // Resetting and spiking are tested in their own process (tests/kernel_mark.rs): RSS is
        // process-wide and the unit tests share one.
        let rss = crate::base::rss::current_rss().unwrap();
        let status = vm_status().unwrap();
        assert!(
            status.hwm + (1 << 20) >= rss,
            "VmHWM {status:?} below RSS {rss}"
        );
        let vm_rss = status.rss.expect("VmRSS");
        assert!(
            vm_rss.abs_diff(rss) < 8 << 20,
            "VmRSS {vm_rss} vs statm {rss}"
        );
    }
}
