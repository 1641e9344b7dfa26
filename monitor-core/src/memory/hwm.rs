//! The kernel's RSS high-water mark: reading it two ways, and resetting it.
//!
//! - [`max_rss`]: `getrusage(RUSAGE_SELF).ru_maxrss`, about 1 µs. On Linux it is
//!   `max(signal->maxrss, VmHWM)`, and `signal->maxrss` is *sticky*: it absorbs the mark when a
//!   thread exits and, at `exec`, the RSS of the process that forked us. A reset does not lower
//!   it. [`crate::memory::peak`] copes with this through a per-epoch floor.
//! - [`vm_hwm`] (Linux): the `VmHWM:` line of `/proc/self/status`, read with `pread` on a kept
//!   descriptor (about 7 µs): exactly `max(hiwater_rss, rss)`, nothing sticky. The sampler uses it.
//! - [`reset`] (Linux): writes `5` to `/proc/self/clear_refs` (kept open), which sets the mark to
//!   the current RSS (about 0.5 µs). This changes `VmHWM` for anyone else reading it (a
//!   supervisor, `/usr/bin/time` reads `ru_maxrss`, which stays sticky), so it can be switched
//!   off with `MONITOR_RESET_HWM=0`; everything still works, the high-water-mark path then only
//!   catches spikes that set a new process high.

/// `getrusage` maximum RSS in bytes (Linux reports KiB, macOS bytes).
#[must_use]
pub fn max_rss() -> Option<u64> {
    crate::base::rss::high_water_mark()
}

/// `VmHWM` in bytes, from `/proc/self/status`; `None` off Linux or without `/proc`.
#[must_use]
pub fn vm_hwm() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        linux::vm_hwm()
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

/// Parses the `VmHWM:` line of a `/proc/<pid>/status` text into bytes.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // read only on Linux; tested everywhere
fn parse_vm_hwm(text: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"VmHWM:";
    let at = text.windows(KEY.len()).position(|w| w == KEY)?;
    let rest = text.get(at + KEY.len()..)?;
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

    pub(super) fn vm_hwm() -> Option<u64> {
        let file = STATUS
            .get_or_init(|| File::open("/proc/self/status").ok())
            .as_ref()?;
        // VmHWM is in the first kilobyte or so; 4 KiB leaves room for long `Groups:` lines.
        let mut buf = [0u8; 4096];
        let n = file.read_at(&mut buf, 0).ok()?;
        super::parse_vm_hwm(buf.get(..n)?)
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
        assert_eq!(parse_vm_hwm(text), Some(2064 * 1024));
        assert_eq!(parse_vm_hwm(b"VmRSS: 1 kB\n"), None);
        assert_eq!(parse_vm_hwm(b"VmHWM:\t kB\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn vm_hwm_is_at_least_rss() {
        // Resetting and spiking are tested in their own process (tests/kernel_mark.rs): RSS is
        // process-wide and the unit tests share one.
        let rss = crate::base::rss::current_rss().unwrap();
        let hwm = vm_hwm().unwrap();
        assert!(hwm + (1 << 20) >= rss, "VmHWM {hwm} below RSS {rss}");
    }
}
