//! The report as GitHub-flavoured Markdown, for CI job summaries (`$GITHUB_STEP_SUMMARY`) and
//! pull-request comments.

use super::text::{
    chunk_lines, memory_line, query_rows, regression_rows, run_line, slow_or_planned, slow_summary,
    step_rows, ERRORS_SHOWN, REGRESSION_HEADER,
};
use super::units::{count, duration_ms};
use super::{Report, RunStatus};
use std::fmt::Write;

/// A table cell: pipes escaped, line breaks flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A table; with `numeric`, every column after the first is right-aligned.
fn md_table(out: &mut String, header: &[&str], rows: &[Vec<String>], numeric: bool) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let align: Vec<&str> = (0..header.len())
        .map(|i| if i == 0 || !numeric { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

impl Report {
    /// The report as Markdown: a title line with the status, the steps and queries tables, slow
    /// queries, chunks, regressions, and the errors in a collapsed section.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let mark = match self.status {
            RunStatus::Ok => "✅",
            RunStatus::Failed => "❌",
            RunStatus::Unknown => "❔",
        };
        let _ = writeln!(
            out,
            "### {mark} Pipeline `{}`: {} in {}\n",
            cell(&self.pipeline),
            self.status,
            duration_ms(self.duration_ms)
        );
        if let Some(f) = &self.failure {
            let _ = writeln!(out, "**Failed:** {}\n", cell(f));
        }
        let _ = writeln!(out, "{}", cell(&run_line(self)));
        if let Some(f) = super::fleet::fleet_line(self) {
            let _ = writeln!(out, "<br>{}", cell(&f));
        }
        if let Some(m) = memory_line(self) {
            let _ = writeln!(out, "<br>{m}");
        }
        if let Some(c) = super::own_cost::own_cost_line(self) {
            let _ = writeln!(out, "<br>{c}");
        }
        out.push('\n');
        let (rows, more) = super::fleet::worker_rows(self, super::fleet::WORKERS_SHOWN);
        if !rows.is_empty() {
            out.push_str("#### Workers, slowest first\n\n");
            md_table(&mut out, &super::fleet::WORKER_HEADER, &rows, true);
            if more > 0 {
                let _ = writeln!(out, "\n… and {} more workers", count(more as u64));
            }
            out.push('\n');
        }
        for (title, (header, rows)) in [
            ("Steps", step_rows(&self.steps)),
            ("Queries", query_rows(&self.queries)),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(out, "#### {title}\n");
            md_table(&mut out, &header, &rows, true);
            out.push('\n');
        }
        let slow = slow_or_planned(self);
        if !slow.is_empty() {
            out.push_str("#### Slow queries and plans\n\n");
            for q in slow {
                let _ = writeln!(out, "- `{}`: {}", cell(&q.site.name), slow_summary(q));
                for p in &q.plans {
                    let _ = writeln!(
                        out,
                        "\n  ```\n  {}\n\n  {}\n  ```",
                        p.plan.sql,
                        p.plan.text.replace('\n', "\n  ")
                    );
                    for f in &p.plan.findings {
                        let _ = writeln!(out, "  - ⚠️ {}", cell(&f.to_string()));
                    }
                }
            }
            out.push('\n');
        }
        let chunks = chunk_lines(self);
        if !chunks.is_empty() {
            out.push_str("#### Chunks\n\n");
            for c in chunks {
                let _ = writeln!(out, "- {}", cell(&c));
            }
            out.push('\n');
        }
        if !self.regressions.is_empty() {
            out.push_str("#### Against the baseline\n\n");
            let rows = regression_rows(self);
            md_table(&mut out, &REGRESSION_HEADER, &rows, false);
            out.push('\n');
        }
        let total = self.errors.len() as u64 + self.errors_not_kept;
        if total > 0 {
            let _ = writeln!(
                out,
                "<details><summary>{} error{}</summary>\n",
                count(total),
                if total == 1 { "" } else { "s" }
            );
            let rows: Vec<Vec<String>> = self
                .errors
                .iter()
                .take(ERRORS_SHOWN)
                .map(|e| {
                    vec![
                        format!("+{}", duration_ms(e.at_ms)),
                        super::text::error_site(e),
                        e.kind.as_str().to_owned(),
                        e.outcome_label(),
                        e.message.clone(),
                    ]
                })
                .collect();
            md_table(
                &mut out,
                &["when", "site", "kind", "outcome", "message"],
                &rows,
                false,
            );
            let listed = rows.len() as u64;
            if total > listed {
                let _ = writeln!(out, "\n… and {} more", count(total - listed));
            }
            out.push_str("\n</details>\n");
        }
        out
    }
}
