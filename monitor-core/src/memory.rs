//! Memory figures of one call: RSS at entry and exit, and the peak in between.
//!
//! The peak combines the kernel's high-water mark: a new process high reached during the call is
//! caught however short the spike.

use crate::stats::MemoryFigures;

/// Memory state captured at a call's entry.
#[derive(Debug, Clone, Copy)]
pub struct MemoryScope {
    rss_start: Option<u64>,
    hwm_start: Option<u64>,
}

impl MemoryScope {
    /// Reads RSS and the high-water mark at entry.
    #[must_use]
    pub fn enter() -> Self {
        MemoryScope {
            hwm_start: crate::rss::high_water_mark(),
            rss_start: crate::rss::current_rss(),
        }
    }

    /// Reads RSS at exit and works out the peak.
    #[must_use]
    pub fn exit(self) -> MemoryFigures {
        let rss_end = crate::rss::current_rss();
        let hwm_end = crate::rss::high_water_mark();
        let mut peak = self.rss_start.max(rss_end);
        // A high-water mark that rose during the call was reached during the call.
        if let (Some(a), Some(b)) = (self.hwm_start, hwm_end) {
            if b > a {
                peak = peak.max(Some(b));
            }
        }
        MemoryFigures {
            rss_start: self.rss_start,
            rss_end,
            rss_peak: peak,
            heap_peak: None,
            allocated: None,
        }
    }
}
