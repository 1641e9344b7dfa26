//! Which runs a history keeps: the last N runs of each pipeline, and/or the runs of the last D
//! days. The decision is a pure function here; each store applies it in its own safe way.

use super::record::RunRecord;
use std::collections::HashMap;
use std::time::Duration;

/// Default number of runs kept per pipeline.
pub const DEFAULT_KEEP_RUNS: usize = 1000;

/// A retention policy. Both limits apply when both are set; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many runs of each pipeline (the most recent ones).
    pub keep_runs: Option<usize>,
    /// Drop runs that started longer ago than this.
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    /// The last [`DEFAULT_KEEP_RUNS`] runs of each pipeline, whatever their age.
    fn default() -> Self {
        Retention {
            keep_runs: Some(DEFAULT_KEEP_RUNS),
            max_age: None,
        }
    }
}

impl Retention {
    /// Keeps everything.
    #[must_use]
    pub const fn unlimited() -> Self {
        Retention {
            keep_runs: None,
            max_age: None,
        }
    }

    /// The last `n` runs of each pipeline.
    #[must_use]
    pub const fn last_runs(n: usize) -> Self {
        Retention {
            keep_runs: Some(n),
            max_age: None,
        }
    }

    /// The runs of the last `age`.
    #[must_use]
    pub const fn max_age(age: Duration) -> Self {
        Retention {
            keep_runs: None,
            max_age: Some(age),
        }
    }

    /// For each record (in store order, oldest appended first), whether the policy keeps it.
    #[must_use]
    pub fn keeps(&self, records: &[&RunRecord], now_ms: u64) -> Vec<bool> {
        let runs: Vec<(&str, u64)> = records
            .iter()
            .map(|r| (r.pipeline.as_str(), r.started_at_ms))
            .collect();
        self.keeps_runs(&runs, now_ms)
    }

    /// The same decision over `(pipeline, start in Unix ms)` pairs, one per run in store order:
    /// how the fleet runs (whose entries are openings and parts, not records) are kept.
    #[must_use]
    pub fn keeps_runs(&self, runs: &[(&str, u64)], now_ms: u64) -> Vec<bool> {
        let cutoff_ms = self
            .max_age
            .map(|age| now_ms.saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX)));
        let mut keep: Vec<bool> = runs
            .iter()
            .map(|(_, started)| cutoff_ms.is_none_or(|c| *started >= c))
            .collect();
        if let Some(n) = self.keep_runs {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for (i, (pipeline, _)) in runs.iter().enumerate().rev() {
                let count = seen.entry(pipeline).or_insert(0);
                if *count >= n {
                    keep[i] = false;
                } else {
                    *count += 1;
                }
            }
        }
        keep
    }

    /// Whether applying the policy is worth a rewrite: something is past the age limit, or some
    /// pipeline holds more than `keep_runs` plus a 10 % slack (so a full history is not
    /// rewritten on every single run).
    #[must_use]
    pub fn due(&self, records: &[&RunRecord], now_ms: u64) -> bool {
        let runs: Vec<(&str, u64)> = records
            .iter()
            .map(|r| (r.pipeline.as_str(), r.started_at_ms))
            .collect();
        self.due_runs(&runs, now_ms)
    }

    /// [`due`](Self::due) over `(pipeline, start)` pairs.
    #[must_use]
    pub fn due_runs(&self, runs: &[(&str, u64)], now_ms: u64) -> bool {
        let relaxed = Retention {
            keep_runs: self.keep_runs.map(|n| n.saturating_add((n / 10).max(1))),
            max_age: self.max_age,
        };
        relaxed.keeps_runs(runs, now_ms).iter().any(|k| !k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::{RunStatus, RECORD_VERSION};

    fn run(pipeline: &str, started_at_ms: u64) -> RunRecord {
        RunRecord {
            v: RECORD_VERSION,
            run_id: format!("{pipeline}-{started_at_ms}"),
            pipeline: pipeline.into(),
            status: RunStatus::Ok,
            started_at_ms,
            duration_ms: 1.0,
            host: String::new(),
            version: None,
            sites: vec![],
        }
    }

    #[test]
    fn last_runs_counts_per_pipeline() {
        let runs = [
            run("a", 1),
            run("b", 2),
            run("a", 3),
            run("a", 4),
            run("b", 5),
        ];
        let refs: Vec<&RunRecord> = runs.iter().collect();
        assert_eq!(
            Retention::last_runs(1).keeps(&refs, 10),
            [false, false, false, true, true]
        );
        assert_eq!(
            Retention::last_runs(2).keeps(&refs, 10),
            [false, true, true, true, true]
        );
    }

    #[test]
    fn max_age_drops_old_runs() {
        let day = 86_400_000;
        let runs = [run("a", 1), run("a", 9 * day), run("a", 10 * day)];
        let refs: Vec<&RunRecord> = runs.iter().collect();
        let p = Retention::max_age(Duration::from_millis(2 * day));
        assert_eq!(p.keeps(&refs, 10 * day), [false, true, true]);
        assert!(p.due(&refs, 10 * day));
    }

    #[test]
    fn due_waits_for_slack() {
        let runs: Vec<RunRecord> = (0..11).map(|i| run("a", i)).collect();
        let refs: Vec<&RunRecord> = runs.iter().collect();
        assert!(!Retention::last_runs(10).due(&refs, 100));
        assert!(Retention::last_runs(9).due(&refs, 100));
    }
}
