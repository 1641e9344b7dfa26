//! The same trivial body wrapped by each instrumentation under comparison. The benchmarks in
//! `benches/` call these; keeping them in one library means every variant is compiled the same way.
#![allow(missing_docs)]

use monitor::{monitor_query, monitor_step};

pub mod summary;

/// The work being measured: a few cycles that the optimiser cannot remove.
#[inline(never)]
#[must_use]
pub fn body(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (x >> 7))
}

/// No instrumentation.
#[inline(never)]
#[must_use]
pub fn bare(x: u64) -> u64 {
    body(x)
}

/// `#[monitor_query]`, timing only (queries do not read RSS by default).
#[monitor_query("bench_query")]
#[inline(never)]
#[must_use]
pub fn monitored_query(x: u64) -> u64 {
    body(x)
}

/// `#[monitor_query]` that also reads RSS at entry and exit.
#[monitor_query("bench_query_rss", memory)]
#[inline(never)]
#[must_use]
pub fn monitored_query_rss(x: u64) -> u64 {
    body(x)
}

/// `#[monitor_step]`: timing, RSS at entry and exit, peak tracking.
#[monitor_step(name = "bench_step")]
#[inline(never)]
#[must_use]
pub fn monitored_step(x: u64) -> u64 {
    body(x)
}

/// One private page that is handed back to the kernel and faulted in again on every touch: a
/// body that costs exactly one page fault (what makes a step read the kernel mark at exit).
#[cfg(unix)]
#[derive(Debug)]
pub struct FaultingPage {
    ptr: *mut u8,
}

#[cfg(unix)]
impl FaultingPage {
    const LEN: usize = 4096;

    /// Maps the page.
    ///
    /// # Panics
    /// If `mmap` fails.
    #[must_use]
    pub fn new() -> Self {
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "mmap of one page failed");
        FaultingPage { ptr: ptr.cast() }
    }

    /// Drops the page (`MADV_DONTNEED`) and writes to it, which faults a zeroed page back in.
    pub fn touch(&self) -> u8 {
        // SAFETY: `ptr` is the start of our own `LEN`-byte mapping, alive until `drop`.
        unsafe {
            libc::madvise(self.ptr.cast(), Self::LEN, libc::MADV_DONTNEED);
            std::ptr::write_volatile(self.ptr, 1);
            std::ptr::read_volatile(self.ptr)
        }
    }
}

#[cfg(unix)]
impl Default for FaultingPage {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(unix)]
impl Drop for FaultingPage {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe {
            libc::munmap(self.ptr.cast(), Self::LEN);
        }
    }
}

/// A step whose body takes one page fault.
#[cfg(unix)]
#[monitor_step(name = "bench_step_faulting")]
#[inline(never)]
pub fn monitored_step_faulting(page: &FaultingPage) -> u8 {
    page.touch()
}

/// An unmonitored async function, for the async comparison.
pub async fn bare_async(x: u64) -> u64 {
    body(x)
}

/// The same, as an async step.
#[monitor_step(name = "bench_async_step")]
pub async fn monitored_async(x: u64) -> u64 {
    body(x)
}

/// The peers, each wrapping the same body.
#[cfg(feature = "peers")]
pub mod peers {
    use super::body;
    use metered::{ErrorCount, HitCount, ResponseTime};

    /// `tracing`'s `#[instrument]`.
    #[tracing::instrument(level = "info", skip_all)]
    #[inline(never)]
    #[must_use]
    pub fn instrumented(x: u64) -> u64 {
        body(x)
    }

    /// `fastrace`'s `#[trace]`.
    #[fastrace::trace]
    #[inline(never)]
    #[must_use]
    pub fn fastraced(x: u64) -> u64 {
        body(x)
    }

    /// `autometrics` with its Prometheus exporter.
    #[autometrics::autometrics]
    #[inline(never)]
    #[must_use]
    pub fn autometricsed(x: u64) -> u64 {
        body(x)
    }

    /// A `metrics` histogram and counter, looked up by name on every call as the macros do.
    #[inline(never)]
    #[must_use]
    pub fn metrics_by_name(x: u64) -> u64 {
        let start = std::time::Instant::now();
        let r = body(x);
        metrics::histogram!("bench_duration_seconds").record(start.elapsed().as_secs_f64());
        metrics::counter!("bench_calls_total").increment(1);
        r
    }

    /// `metered`: hit count, response time and error count.
    #[derive(Default, Debug)]
    pub struct Metered {
        metrics: MeteredMetrics,
    }

    #[metered::metered(registry = MeteredMetrics)]
    impl Metered {
        #[measure([HitCount, ResponseTime, ErrorCount])]
        #[inline(never)]
        pub fn call(&self, x: u64) -> Result<u64, std::fmt::Error> {
            Ok(body(x))
        }
    }
}
