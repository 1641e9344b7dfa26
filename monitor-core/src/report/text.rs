//! The report as text for a terminal or a log: a header, a table of steps and one of queries,
//! then slow queries, chunks and errors.

use super::fit::{self, Cells};
use super::units::{bytes, count, duration_ms, rate};
use super::{Report, SiteReport};
use crate::report::baseline::Metric;
use std::fmt::Write;

/// How many errors the text and Markdown renderings list (the JSON keeps all kept errors).
pub(crate) const ERRORS_SHOWN: usize = 20;

/// Errors and panics of a site, as one cell: `3`, `2 + 1 panic`.
pub(crate) fn failures(s: &SiteReport) -> String {
    match (s.site.errors, s.site.panics) {
        (0, 0) => "0".to_owned(),
        (e, 0) => count(e),
        (0, p) => format!("{} panic{}", count(p), if p == 1 { "" } else { "s" }),
        (e, p) => format!(
            "{} + {} panic{}",
            count(e),
            count(p),
            if p == 1 { "" } else { "s" }
        ),
    }
}

/// The site of an error, with its worker in a fleet run's report: `load (worker 3)`.
pub(crate) fn error_site(e: &super::ErrorReport) -> String {
    match &e.worker {
        Some(w) => format!("{} (worker {w})", e.site),
        None => e.site.clone(),
    }
}

pub(crate) fn opt_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), bytes)
}

/// A site's largest peak RSS, marked `≈` when some of its calls' peaks are approximate.
fn peak_cell(m: &crate::report::snapshot::MemorySummary) -> String {
    match m.rss_peak {
        Some(p) if m.peak_approximate_calls > 0 => format!("≈{}", bytes(p.max)),
        p => opt_bytes(p.map(|p| p.max)),
    }
}

pub(crate) fn opt_count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), count)
}

/// The "vs baseline" cell, in words: `2 of 5 runs needed for a verdict`, `total time +31%
/// slower (regression)`, `within noise`. A regression is shown first, else an improvement.
pub(crate) fn vs_baseline(s: &SiteReport) -> String {
    let Some(b) = &s.baseline else {
        return "-".to_owned();
    };
    let flagged = |verdict: &str| b.metrics.iter().find(|m| m.verdict == verdict);
    if let Some(m) = flagged("regression").or_else(|| flagged("improvement")) {
        return change_in_words(m);
    }
    if b.metrics
        .iter()
        .any(|m| m.verdict == "insufficient_history")
    {
        return if b.runs_needed > b.runs_used {
            format!(
                "{} of {} runs needed for a verdict",
                b.runs_used, b.runs_needed
            )
        } else {
            "too few runs for a verdict".to_owned()
        };
    }
    if b.metrics.is_empty() {
        "-".to_owned()
    } else {
        "within noise".to_owned()
    }
}

/// One flagged change in words: `p95 +31% slower (regression)`, `peak RSS -20% less
/// (improvement)`, `rows +12% (regression)`.
pub(crate) fn change_in_words(m: &super::MetricComparison) -> String {
    let metric = Metric::from_name(&m.metric);
    let label: &str = match metric {
        Some(metric) => metric.label(),
        None => &m.metric,
    };
    let direction = match (metric, m.change_pct >= 0.0) {
        (Some(Metric::DurationTotal | Metric::DurationP95), true) => " slower",
        (Some(Metric::DurationTotal | Metric::DurationP95), false) => " faster",
        (Some(Metric::RssPeak | Metric::HeapPeak), true) => " more",
        (Some(Metric::RssPeak | Metric::HeapPeak), false) => " less",
        _ => "",
    };
    format!("{label} {:+.0}%{direction} ({})", m.change_pct, m.verdict)
}

/// The steps table's columns, most useful first: what stays when the terminal is narrow.
const STEP_PRIORITY: [&str; 13] = [
    "step",
    "total",
    "p95",
    "rows",
    "RSS peak",
    "errors",
    "vs baseline",
    "calls",
    "rows/s",
    "max",
    "p50",
    "heap peak",
    "dropped",
];

/// The queries table's columns, most useful first.
const QUERY_PRIORITY: [&str; 12] = [
    "query",
    "total",
    "p95",
    "calls",
    "slow",
    "errors",
    "vs baseline",
    "rows",
    "p99",
    "max",
    "mean",
    "RSS peak",
];

/// The queries shown under "Slow queries and plans": every slow one, and every one whose plan
/// was captured (`explain(.., mode = "always")` or `every = N` capture fast calls too).
pub(crate) fn slow_or_planned(r: &Report) -> Vec<&SiteReport> {
    r.queries
        .iter()
        .filter(|q| q.site.slow > 0 || !q.plans.is_empty())
        .collect()
}

/// A query's line after its name in that section: `3 of 40 calls slow (over 250 ms), max 1.2 s`
/// (`none of 2 calls slow ..` for a query listed for its plans).
pub(crate) fn slow_summary(q: &SiteReport) -> String {
    let threshold = q
        .site
        .slow_threshold_ms
        .map_or_else(String::new, |t| format!(" (over {})", duration_ms(t)));
    let slow = match q.site.slow {
        0 => "none".to_owned(),
        n => count(n),
    };
    format!(
        "{slow} of {} calls slow{threshold}, max {}",
        count(q.site.calls),
        duration_ms(q.site.duration_ms.max)
    )
}

/// Which optional columns a set of sites needs.
pub(crate) struct Columns {
    pub(crate) dropped: bool,
    pub(crate) rss: bool,
    pub(crate) heap: bool,
    pub(crate) baseline: bool,
}

impl Columns {
    pub(crate) fn for_sites(sites: &[SiteReport]) -> Self {
        Columns {
            dropped: sites.iter().any(|s| s.rows_dropped.is_some()),
            rss: sites.iter().any(|s| s.site.memory.rss_peak.is_some()),
            heap: sites.iter().any(|s| s.site.memory.heap_peak.is_some()),
            baseline: sites.iter().any(|s| s.baseline.is_some()),
        }
    }
}

/// Header and cells of the steps table (shared with the Markdown and HTML renderings).
pub(crate) fn step_rows(steps: &[SiteReport]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let cols = Columns::for_sites(steps);
    let mut header = vec![
        "step", "calls", "total", "p50", "p95", "max", "rows", "rows/s",
    ];
    if cols.dropped {
        header.push("dropped");
    }
    header.push("RSS peak");
    if cols.heap {
        header.push("heap peak");
    }
    header.push("errors");
    if cols.baseline {
        header.push("vs baseline");
    }
    let rows = steps
        .iter()
        .map(|s| {
            let d = &s.site.duration_ms;
            let mut r = vec![
                s.site.name.clone(),
                count(s.site.calls),
                duration_ms(d.total),
                duration_ms(d.p50),
                duration_ms(d.p95),
                duration_ms(d.max),
                opt_count(s.site.rows),
                s.rows_per_sec.map_or_else(|| "-".to_owned(), rate),
            ];
            if cols.dropped {
                r.push(opt_count(s.rows_dropped));
            }
            r.push(peak_cell(&s.site.memory));
            if cols.heap {
                r.push(opt_bytes(s.site.memory.heap_peak.map(|m| m.max)));
            }
            r.push(failures(s));
            if cols.baseline {
                r.push(vs_baseline(s));
            }
            r
        })
        .collect();
    (header, rows)
}

/// Header and cells of the queries table.
pub(crate) fn query_rows(queries: &[SiteReport]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let cols = Columns::for_sites(queries);
    let mut header = vec![
        "query", "calls", "total", "mean", "p95", "p99", "max", "rows", "slow", "errors",
    ];
    // Queries track memory only when asked (`#[monitor_query(.., memory)]`).
    if cols.rss {
        header.push("RSS peak");
    }
    if cols.baseline {
        header.push("vs baseline");
    }
    let rows = queries
        .iter()
        .map(|s| {
            let d = &s.site.duration_ms;
            let mut r = vec![
                s.site.name.clone(),
                count(s.site.calls),
                duration_ms(d.total),
                duration_ms(d.mean),
                duration_ms(d.p95),
                duration_ms(d.p99),
                duration_ms(d.max),
                opt_count(s.site.rows),
                count(s.site.slow),
                failures(s),
            ];
            if cols.rss {
                r.push(peak_cell(&s.site.memory));
            }
            if cols.baseline {
                r.push(vs_baseline(s));
            }
            r
        })
        .collect();
    (header, rows)
}

/// One line under the title: the run id, start, host and labels.
pub(crate) fn run_line(r: &Report) -> String {
    let mut line = format!("run {} · started {}", r.run_id, r.started_at);
    if let Some(h) = &r.host {
        let _ = write!(line, " · host {h}");
    }
    for (k, v) in &r.labels {
        let _ = write!(line, " · {k}={v}");
    }
    line
}

/// The run's memory in one line, or `None` when nothing was measured.
pub(crate) fn memory_line(r: &Report) -> Option<String> {
    let m = &r.memory;
    let mut parts = Vec::new();
    if let Some(v) = m.rss_start {
        parts.push(format!("{} at start", bytes(v)));
    }
    if let Some(v) = m.rss_end {
        parts.push(format!("{} at end", bytes(v)));
    }
    if let Some(v) = m.rss_peak {
        parts.push(format!("peak {}", bytes(v)));
    }
    let mut line = (!parts.is_empty()).then(|| format!("RSS {}", parts.join(", ")))?;
    if let Some(h) = m.heap_peak {
        let _ = write!(line, "; heap peak {}", bytes(h));
    }
    Some(line)
}

/// A summary of the chunks of chunked processing, one line per job.
/// Column names of the "against the baseline" table (Markdown and HTML).
pub(crate) const REGRESSION_HEADER: [&str; 6] =
    ["site", "metric", "baseline", "current", "change", "verdict"];

/// One row per regression for the "against the baseline" table (Markdown and HTML).
pub(crate) fn regression_rows(r: &Report) -> Vec<Vec<String>> {
    r.regressions
        .iter()
        .map(|g| {
            let metric = Metric::from_name(&g.comparison.metric);
            let value = |v: f64| metric.map_or_else(|| format!("{v:.3}"), |m| m.format_value(v));
            vec![
                g.name.clone(),
                metric.map_or_else(|| g.comparison.metric.clone(), |m| m.label().to_owned()),
                value(g.comparison.baseline),
                value(g.comparison.current),
                format!("{:+.1}%", g.comparison.change_pct),
                g.comparison.verdict.clone(),
            ]
        })
        .collect()
}

pub(crate) fn chunk_lines(r: &Report) -> Vec<String> {
    let mut names: Vec<&str> = r.chunks.iter().map(|c| c.name.as_str()).collect();
    names.dedup();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let chunks: Vec<_> = r.chunks.iter().filter(|c| c.name == name).collect();
            let rows_in: u64 = chunks.iter().map(|c| c.rows_in).sum();
            let rows_out: u64 = chunks.iter().map(|c| c.rows_out).sum();
            let skipped: u64 = chunks.iter().map(|c| c.skipped).sum();
            let mut durations: Vec<f64> = chunks.iter().map(|c| c.duration_ms).collect();
            durations.sort_by(f64::total_cmp);
            let median = durations.get(durations.len() / 2).copied().unwrap_or(0.0);
            let max = durations.last().copied().unwrap_or(0.0);
            let peak = chunks.iter().filter_map(|c| c.rss_peak).max();
            let mut line = format!(
                "{name}: {} chunks, {} rows in, {} out",
                count(chunks.len() as u64),
                count(rows_in),
                count(rows_out)
            );
            if skipped > 0 {
                let _ = write!(line, ", {} malformed skipped", count(skipped));
            }
            let _ = write!(
                line,
                "; per chunk {} median, {} max",
                duration_ms(median),
                duration_ms(max)
            );
            if let Some(p) = peak {
                let _ = write!(line, "; RSS peak {}", bytes(p));
            }
            line
        })
        .collect()
}

impl Report {
    /// The report as text for the terminal it is printed to: its tables fit
    /// [`text_width`](super::text_width) (`MONITOR_REPORT_WIDTH`, else the terminal's width,
    /// else 100 columns).
    #[must_use]
    pub fn to_text(&self) -> String {
        self.to_text_width(fit::text_width())
    }

    /// The report as text with every table at most `width` columns wide: columns that do not
    /// fit move to a continuation table (the name column repeated), the most useful ones staying
    /// in the first; no cell is wrapped.
    #[must_use]
    pub fn to_text_width(&self, width: u16) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Pipeline {} · {} · {}",
            self.pipeline,
            self.status,
            duration_ms(self.duration_ms)
        );
        if let Some(f) = &self.failure {
            let _ = writeln!(out, "failed: {f}");
        }
        let _ = writeln!(out, "{}", run_line(self));
        if let Some(f) = super::fleet::fleet_line(self) {
            let _ = writeln!(out, "{f}");
        }
        if let Some(m) = memory_line(self) {
            let _ = writeln!(out, "{m}");
        }
        for (title, (header, rows), priority) in [
            ("Steps", step_rows(&self.steps), &STEP_PRIORITY[..]),
            ("Queries", query_rows(&self.queries), &QUERY_PRIORITY[..]),
        ] {
            if rows.is_empty() {
                continue;
            }
            let tables = fit::fit(&Cells { header, rows }, priority, width);
            for (i, t) in tables.iter().enumerate() {
                let more = if i == 0 { "" } else { " (continued)" };
                let _ = write!(out, "\n{title}{more}\n{t}\n");
            }
        }
        if self.steps.is_empty() && self.queries.is_empty() {
            out.push_str("\nNo monitored step or query ran in this run.\n");
        }
        let (rows, more) = super::fleet::worker_rows(self, super::fleet::WORKERS_SHOWN);
        if !rows.is_empty() {
            let header = super::fleet::WORKER_HEADER.to_vec();
            let tables = fit::fit(&Cells { header, rows }, &super::fleet::WORKER_HEADER, width);
            for (i, t) in tables.iter().enumerate() {
                let title = if i == 0 {
                    "Workers, slowest first"
                } else {
                    "Workers (continued)"
                };
                let _ = write!(out, "\n{title}\n{t}\n");
            }
            if more > 0 {
                let _ = writeln!(out, "  ... and {} more workers", count(more as u64));
            }
        }
        let approximate: u64 = self
            .steps
            .iter()
            .chain(&self.queries)
            .map(|s| s.site.memory.peak_approximate_calls)
            .sum();
        if approximate > 0 {
            let _ = writeln!(
                out,
                "≈ approximate peak RSS for {} call(s): {} monitored calls were already in flight, \
                 so the sampler could not follow them (entry, exit and the kernel's high-water \
                 mark still count)",
                count(approximate),
                crate::background::inflight::SLOTS
            );
        }

        let slow = slow_or_planned(self);
        if !slow.is_empty() {
            out.push_str("\nSlow queries and plans\n");
            for q in slow {
                let _ = writeln!(out, "  {}: {}", q.site.name, slow_summary(q));
                for p in &q.plans {
                    let _ = writeln!(
                        out,
                        "    plan ({}): {}",
                        duration_ms(p.duration_ms),
                        p.plan.sql
                    );
                    for line in p.plan.text.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                    for f in &p.plan.findings {
                        let _ = writeln!(out, "    ! {f}");
                    }
                }
            }
        }

        let chunks = chunk_lines(self);
        if !chunks.is_empty() {
            out.push_str("\nChunks\n");
            for c in chunks {
                let _ = writeln!(out, "  {c}");
            }
        }

        if !self.regressions.is_empty() {
            out.push_str("\nAgainst the baseline\n");
            for g in &self.regressions {
                let metric = Metric::from_name(&g.comparison.metric);
                let value =
                    |v: f64| metric.map_or_else(|| format!("{v:.3}"), |m| m.format_value(v));
                let _ = writeln!(
                    out,
                    "  {}: {}, {} -> {} (baseline of {} runs)",
                    g.name,
                    change_in_words(&g.comparison),
                    value(g.comparison.baseline),
                    value(g.comparison.current),
                    g.runs_used
                );
            }
        }

        let total_errors = self.errors.len() as u64 + self.errors_not_kept;
        if total_errors > 0 {
            let _ = writeln!(out, "\nErrors ({})", count(total_errors));
            for e in self.errors.iter().take(ERRORS_SHOWN) {
                let _ = writeln!(
                    out,
                    "  +{:<9} {} {} {}: {}",
                    duration_ms(e.at_ms),
                    e.kind.as_str(),
                    error_site(e),
                    e.outcome_label(),
                    e.message
                );
            }
            let not_listed =
                total_errors.saturating_sub(ERRORS_SHOWN.min(self.errors.len()) as u64);
            if not_listed > 0 {
                let _ = writeln!(out, "  ... and {} more", count(not_listed));
            }
        }
        if let Some(line) = super::own_cost::own_cost_line(self) {
            // A figure and its unit stay on one line when the sentence wraps.
            let _ = write!(out, "\n{}\n", super::own_cost::unbreakable_units(&line));
        }
        fit::wrap_lines(&out, width)
    }
}
