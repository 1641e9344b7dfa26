//! The report as text for a terminal or a log: a header, a table of steps and one of queries,
//! then slow queries, chunks and errors.

use super::units::{bytes, count, duration_ms, rate};
use super::{Report, SiteReport};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use std::fmt::Write;

/// How many errors the text and Markdown renderings list (the JSON keeps all kept errors).
pub(crate) const ERRORS_SHOWN: usize = 20;

fn table(width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS);
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

fn right_align_from(t: &mut Table, first: usize) {
    let n = t.column_count();
    for i in first..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

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

pub(crate) fn opt_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), bytes)
}

/// A site's largest peak RSS, marked `≈` when some of its calls' peaks are approximate.
fn peak_cell(m: &crate::snapshot::MemorySummary) -> String {
    match m.rss_peak {
        Some(p) if m.peak_approximate_calls > 0 => format!("≈{}", bytes(p.max)),
        p => opt_bytes(p.map(|p| p.max)),
    }
}

pub(crate) fn opt_count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), count)
}

/// The first baseline metric worth showing: a regression first, else the first compared one.
pub(crate) fn vs_baseline(s: &SiteReport) -> String {
    let Some(b) = &s.baseline else {
        return "-".to_owned();
    };
    let pick = b
        .metrics
        .iter()
        .find(|m| m.verdict == "regression")
        .or_else(|| b.metrics.first());
    match pick {
        Some(m) => format!("{:+.0}% {} ({})", m.change_pct, m.metric, m.verdict),
        None => "-".to_owned(),
    }
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
            vec![
                g.name.clone(),
                g.comparison.metric.clone(),
                format!("{:.3}", g.comparison.baseline),
                format!("{:.3}", g.comparison.current),
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
    /// The report as text, each table as wide as its content.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.render_text(None)
    }

    /// The report as text with tables fitted to `width` columns (cells wrap when needed).
    #[must_use]
    pub fn to_text_width(&self, width: u16) -> String {
        self.render_text(Some(width))
    }

    fn render_text(&self, width: Option<u16>) -> String {
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
        if let Some(m) = memory_line(self) {
            let _ = writeln!(out, "{m}");
        }
        for (title, (header, rows)) in [
            ("Steps", step_rows(&self.steps)),
            ("Queries", query_rows(&self.queries)),
        ] {
            if rows.is_empty() {
                continue;
            }
            let mut t = table(width);
            t.set_header(header);
            for r in rows {
                t.add_row(r);
            }
            right_align_from(&mut t, 1);
            let _ = write!(out, "\n{title}\n{t}\n");
        }
        if self.steps.is_empty() && self.queries.is_empty() {
            out.push_str("\nNo monitored step or query ran in this run.\n");
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
                crate::inflight::SLOTS
            );
        }

        let slow: Vec<&SiteReport> = self.queries.iter().filter(|q| q.site.slow > 0).collect();
        if !slow.is_empty() {
            out.push_str("\nSlow queries\n");
            for q in slow {
                let _ = writeln!(
                    out,
                    "  {}: {} of {} calls slow, max {}",
                    q.site.name,
                    count(q.site.slow),
                    count(q.site.calls),
                    duration_ms(q.site.duration_ms.max)
                );
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
                let _ = writeln!(
                    out,
                    "  {} {} {}: {:.3} -> {:.3} ({:+.1}%, {} runs)",
                    g.comparison.verdict,
                    g.name,
                    g.comparison.metric,
                    g.comparison.baseline,
                    g.comparison.current,
                    g.comparison.change_pct,
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
                    e.site,
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
        out
    }
}
