//! The report as one self-contained HTML file: a Gantt chart of the run's step calls and the
//! memory over time as inline SVG, then the tables. No script, no external style sheet, font or
//! image: it opens the same offline, from a CI artifact or an e-mail attachment.

use super::text::{
    chunk_lines, memory_line, query_rows, regression_rows, run_line, slow_or_planned, slow_summary,
    step_rows, ERRORS_SHOWN, REGRESSION_HEADER,
};
use super::units::{bytes, count, duration_ms};
use super::{Report, RunStatus};
use crate::Kind;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; background: #fff; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.status { display: inline-block; padding: 1px 10px; border-radius: 10px; font-size: 13px; font-weight: 600;
          vertical-align: middle; margin-left: 8px; }
.status.ok { background: #dafbe1; color: #116329; }
.status.failed { background: #ffebe9; color: #a40e26; }
.meta { color: #57606a; font-size: 13px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
th { background: #f6f8fa; text-align: right; font-weight: 600; }
td { text-align: right; }
th:first-child, td:first-child { text-align: left; }
#errors th, #errors td { text-align: left; }
td.msg { text-align: left; white-space: normal; max-width: 640px; }
svg { display: block; margin: 6px 0; max-width: 100%; height: auto; }
.scroll { overflow-x: auto; max-width: 100%; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
h1, p, li, div { overflow-wrap: anywhere; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1f2328; }
svg .axis text { fill: #57606a; font-size: 11px; }
svg .grid { stroke: #eaeef2; }
.bar.ok { fill: #4e79a7; } .bar.query.ok { fill: #59a14f; } .bar.error { fill: #e15759; } .bar.panic { fill: #b07aa1; } .bar.cancelled { fill: #bab0ac; }
.rss-line { fill: none; stroke: #4e79a7; stroke-width: 2; }
.rss-area { fill: #4e79a7; fill-opacity: 0.12; }
.heap-line { fill: none; stroke: #f28e2b; stroke-width: 1.5; stroke-dasharray: 4 3; }
.peak { stroke: #e15759; stroke-width: 2; }
.legend { font-size: 12px; color: #57606a; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin: 0 4px 0 12px; }
ul.plain { padding-left: 18px; }
"#;

const LABEL_W: f64 = 190.0;
const CHART_W: f64 = 900.0;
const RIGHT_PAD: f64 = 40.0;

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` ticks over `range`.
fn nice_step(range: f64, target: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn ticks(max: f64, target: f64) -> Vec<f64> {
    let step = nice_step(max, target);
    let mut v = Vec::new();
    let mut t = 0.0;
    while t <= max * 1.000_001 && v.len() < 50 {
        v.push(t);
        t += step;
    }
    v
}

fn time_axis(out: &mut String, span_ms: f64, top: f64, bottom: f64) {
    let x = |ms: f64| LABEL_W + ms / span_ms * CHART_W;
    out.push_str("<g class=\"axis\">");
    for t in ticks(span_ms, 8.0) {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{label}</text>",
            x = x(t),
            ty = top - 6.0,
            label = esc(&duration_ms(t)),
        );
    }
    out.push_str("</g>");
}

/// The Gantt chart: one row per step, then one per query, and one `rect.bar` per kept call.
fn gantt(out: &mut String, r: &Report, span_ms: f64) {
    let mut names: Vec<(&str, Kind)> = r
        .steps
        .iter()
        .chain(&r.queries)
        .map(|s| (s.site.name.as_str(), s.site.kind))
        .collect();
    for s in &r.timeline.calls {
        if !names.contains(&(s.name.as_str(), s.kind)) {
            names.push((&s.name, s.kind));
        }
    }
    if names.is_empty() || r.timeline.calls.is_empty() {
        out.push_str("<p class=\"meta\">No step or query calls were recorded on the timeline.</p>");
        return;
    }
    let row_h = 24.0;
    let top = 24.0;
    #[allow(clippy::cast_precision_loss)]
    let height = top + row_h * names.len() as f64 + 8.0;
    let width = LABEL_W + CHART_W + RIGHT_PAD;
    let _ = write!(
        out,
        "<svg id=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"Timeline of the run's step calls\">"
    );
    time_axis(out, span_ms, top, height - 8.0);
    for (i, (name, kind)) in names.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = top + row_h * i as f64;
        let _ = write!(
            out,
            "<text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{n}{q}</text>",
            lx = LABEL_W - 8.0,
            ty = y + row_h / 2.0 + 4.0,
            n = esc(name),
            q = if *kind == Kind::Query { " (query)" } else { "" },
        );
    }
    for s in &r.timeline.calls {
        let Some(row) = names.iter().position(|(n, k)| *n == s.name && *k == s.kind) else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let y = top + row_h * row as f64 + 5.0;
        let x = LABEL_W + s.start_ms / span_ms * CHART_W;
        let w = (s.duration_ms / span_ms * CHART_W).max(1.5);
        let mut tip = format!(
            "{} · {} · from +{}",
            s.name,
            duration_ms(s.duration_ms),
            duration_ms(s.start_ms)
        );
        if let Some(rows) = s.rows {
            let _ = write!(tip, " · {} rows", count(rows));
        }
        if let Some(p) = s.rss_peak {
            let _ = write!(tip, " · RSS peak {}", bytes(p));
        }
        if s.outcome != "ok" {
            let _ = write!(tip, " · {}", s.outcome);
        }
        let _ = write!(
            out,
            "<rect class=\"bar {k} {o}\" data-{k}=\"{n}\" data-outcome=\"{o}\" x=\"{x:.2}\" \
             y=\"{y:.1}\" width=\"{w:.2}\" height=\"{h:.1}\" rx=\"2\"><title>{t}</title></rect>",
            k = s.kind.as_str(),
            o = esc(&s.outcome),
            n = esc(&s.name),
            h = row_h - 10.0,
            t = esc(&tip),
        );
    }
    out.push_str("</svg>");
    let _ = write!(
        out,
        "<div class=\"legend\"><span class=\"swatch\" style=\"background:#4e79a7\"></span>step\
         <span class=\"swatch\" style=\"background:#59a14f\"></span>query\
         <span class=\"swatch\" style=\"background:#e15759\"></span>error\
         <span class=\"swatch\" style=\"background:#b07aa1\"></span>panic\
         <span class=\"swatch\" style=\"background:#bab0ac\"></span>cancelled</div>"
    );
    if r.timeline.calls_not_kept > 0 {
        let _ = write!(
            out,
            "<p class=\"meta\">{} more calls are counted in the tables but not drawn.</p>",
            count(r.timeline.calls_not_kept)
        );
    }
}

/// RSS (and heap) over time, with each step call's peak as a red mark over its span.
fn memory_chart(out: &mut String, r: &Report, span_ms: f64) {
    let points = &r.timeline.memory;
    let peaks: Vec<(f64, f64, u64)> = r
        .timeline
        .calls
        .iter()
        .filter_map(|s| {
            s.rss_peak
                .map(|p| (s.start_ms, s.start_ms + s.duration_ms, p))
        })
        .collect();
    if points.is_empty() && peaks.is_empty() {
        out.push_str("<p class=\"meta\">No memory readings were taken in this run.</p>");
        return;
    }
    let readings = || {
        points
            .iter()
            .flat_map(|p| [Some(p.rss), p.heap])
            .flatten()
            .chain(peaks.iter().map(|p| p.2))
    };
    let hi = readings().max().unwrap_or(1).max(1);
    let lo = readings().min().unwrap_or(0);
    // Ticks in whole binary units (KiB, MiB, GiB) so labels read `64 MiB`, not `61.04 MiB`.
    let unit = [1u64 << 30, 1 << 20, 1 << 10, 1]
        .into_iter()
        .find(|u| hi >= 4 * u)
        .unwrap_or(1);
    #[allow(clippy::cast_precision_loss)]
    let (hi_u, lo_u, unit_f) = (
        hi as f64 / unit as f64,
        lo as f64 / unit as f64,
        unit as f64,
    );
    let step_u = nice_step((hi_u - lo_u).max(hi_u * 0.05), 5.0);
    // Start the axis at zero unless the readings sit far above it, then just below the lowest.
    let y_lo = if lo_u > hi_u * 0.5 {
        ((lo_u - step_u) / step_u).floor().max(0.0) * step_u * unit_f
    } else {
        0.0
    };
    let y_hi = ((hi_u / step_u).floor() + 1.0) * step_u * unit_f;
    let (top, plot_h) = (24.0, 200.0);
    let height = top + plot_h + 10.0;
    let width = LABEL_W + CHART_W + RIGHT_PAD;
    let x = |ms: f64| LABEL_W + ms / span_ms * CHART_W;
    #[allow(clippy::cast_precision_loss)]
    let y = |b: u64| top + plot_h - ((b as f64 - y_lo) / (y_hi - y_lo)) * plot_h;
    let _ = write!(
        out,
        "<svg id=\"memory\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" \
         aria-label=\"Memory over the run\">"
    );
    time_axis(out, span_ms, top, top + plot_h);
    out.push_str("<g class=\"axis\">");
    let step = step_u * unit_f;
    let mut v = y_lo;
    while v <= y_hi * 1.000_001 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let b = v as u64;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x0:.1}\" y1=\"{yy:.1}\" x2=\"{x1:.1}\" y2=\"{yy:.1}\"/>\
             <text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{l}</text>",
            x0 = LABEL_W,
            x1 = LABEL_W + CHART_W,
            yy = y(b),
            lx = LABEL_W - 8.0,
            ty = y(b) + 4.0,
            l = esc(&bytes(b)),
        );
        v += step;
    }
    out.push_str("</g>");
    if !points.is_empty() {
        // A reading holds until the next one: drawn as steps, never interpolated, since nothing
        // is known about memory between two readings.
        let mut line: Vec<String> = Vec::with_capacity(points.len() * 2);
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                line.push(format!("{:.1},{:.1}", x(p.at_ms), y(points[i - 1].rss)));
            }
            line.push(format!("{:.1},{:.1}", x(p.at_ms), y(p.rss)));
        }
        let base = top + plot_h;
        let first_x = points.first().map_or(LABEL_W, |p| x(p.at_ms));
        let last_x = points.last().map_or(LABEL_W, |p| x(p.at_ms));
        let _ = write!(
            out,
            "<polygon class=\"rss-area\" points=\"{first_x:.1},{base:.1} {l} {last_x:.1},{base:.1}\"/>\
             <polyline class=\"rss-line\" points=\"{l}\"><title>RSS</title></polyline>",
            l = line.join(" ")
        );
        let heap: Vec<String> = points
            .iter()
            .filter_map(|p| p.heap.map(|h| format!("{:.1},{:.1}", x(p.at_ms), y(h))))
            .collect();
        if !heap.is_empty() {
            let _ = write!(
                out,
                "<polyline class=\"heap-line\" points=\"{}\"><title>live heap</title></polyline>",
                heap.join(" ")
            );
        }
    }
    for (s, e, p) in &peaks {
        let _ = write!(
            out,
            "<line class=\"peak\" x1=\"{:.1}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\">\
             <title>step peak RSS {}</title></line>",
            x(*s),
            x(*e).max(x(*s) + 2.0),
            esc(&bytes(*p)),
            yy = y(*p),
        );
    }
    out.push_str("</svg>");
    out.push_str(
        "<div class=\"legend\"><span class=\"swatch\" style=\"background:#4e79a7\"></span>RSS \
         (readings as the run and each call start and end, and samples while calls run)<span class=\"swatch\" \
         style=\"background:#e15759\"></span>peak RSS of a step call",
    );
    if points.iter().any(|p| p.heap.is_some()) {
        out.push_str("<span class=\"swatch\" style=\"background:#f28e2b\"></span>live heap");
    }
    out.push_str("</div>");
}

fn html_table(out: &mut String, id: &str, header: &[&str], rows: &[Vec<String>]) {
    // A table wider than the screen scrolls inside its box; the page itself never does.
    let _ = write!(out, "<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

impl Report {
    /// The report as one self-contained HTML page (inline CSS and SVG; no script, no network).
    #[must_use]
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(16 * 1024 + self.timeline.calls.len() * 200);
        let span_ms = self
            .timeline
            .calls
            .iter()
            .map(|s| s.start_ms + s.duration_ms)
            .chain(self.timeline.memory.iter().map(|p| p.at_ms))
            .fold(self.duration_ms, f64::max)
            .max(0.001);
        let status_class = match self.status {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Unknown => "unknown",
        };
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{p} · {s} · {d}</title><style>{STYLE}</style></head><body>\
             <h1>Pipeline {p}<span class=\"status {status_class}\">{s}</span></h1>\
             <div class=\"meta\">{d} · {line}</div>",
            p = esc(&self.pipeline),
            s = self.status,
            d = esc(&duration_ms(self.duration_ms)),
            line = esc(&run_line(self)),
        );
        if let Some(f) = &self.failure {
            let _ = write!(
                out,
                "<p class=\"meta\"><strong>Failed:</strong> {}</p>",
                esc(f)
            );
        }
        if let Some(f) = super::fleet::fleet_line(self) {
            let _ = write!(out, "<div class=\"meta\">{}</div>", esc(&f));
        }
        if let Some(m) = memory_line(self) {
            let _ = write!(out, "<div class=\"meta\">{}</div>", esc(&m));
        }
        if let Some(c) = super::own_cost::own_cost_line(self) {
            let _ = write!(out, "<div class=\"meta\">{}</div>", esc(&c));
        }
        let (rows, _) = super::fleet::worker_rows(self, usize::MAX);
        if !rows.is_empty() {
            out.push_str("<h2>Workers, slowest first</h2>");
            html_table(&mut out, "workers", &super::fleet::WORKER_HEADER, &rows);
        }
        out.push_str("<h2>Timeline</h2>");
        gantt(&mut out, self, span_ms);
        out.push_str("<h2>Memory over time</h2>");
        memory_chart(&mut out, self, span_ms);
        let (h, rows) = step_rows(&self.steps);
        if !rows.is_empty() {
            out.push_str("<h2>Steps</h2>");
            html_table(&mut out, "steps", &h, &rows);
        }
        let (h, rows) = query_rows(&self.queries);
        if !rows.is_empty() {
            out.push_str("<h2>Queries</h2>");
            html_table(&mut out, "queries", &h, &rows);
        }
        let slow = slow_or_planned(self);
        if !slow.is_empty() {
            out.push_str("<h2>Slow queries and plans</h2><ul class=\"plain\">");
            for q in slow {
                let _ = write!(
                    out,
                    "<li><strong>{}</strong>: {}",
                    esc(&q.site.name),
                    esc(&slow_summary(q))
                );
                for p in &q.plans {
                    let _ = write!(
                        out,
                        "<pre>{}\n\n{}</pre>",
                        esc(&p.plan.sql),
                        esc(&p.plan.text)
                    );
                    for f in &p.plan.findings {
                        let _ = write!(out, "<div>⚠ {}</div>", esc(&f.to_string()));
                    }
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        let chunks = chunk_lines(self);
        if !chunks.is_empty() {
            out.push_str("<h2>Chunks</h2><ul class=\"plain\">");
            for c in chunks {
                let _ = write!(out, "<li>{}</li>", esc(&c));
            }
            out.push_str("</ul>");
        }
        if !self.regressions.is_empty() {
            out.push_str("<h2>Against the baseline</h2>");
            let rows = regression_rows(self);
            html_table(&mut out, "regressions", &REGRESSION_HEADER, &rows);
        }
        let total = self.errors.len() as u64 + self.errors_not_kept;
        if total > 0 {
            let _ = write!(out, "<h2>Errors ({})</h2><div class=\"scroll\"><table id=\"errors\"><thead><tr>\
                <th>when</th><th>site</th><th>kind</th><th>outcome</th><th>message</th></tr></thead><tbody>", count(total));
            for e in self.errors.iter().take(ERRORS_SHOWN * 5) {
                let _ = write!(
                    out,
                    "<tr><td>+{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
                    esc(&duration_ms(e.at_ms)),
                    esc(&super::text::error_site(e)),
                    e.kind.as_str(),
                    esc(&e.outcome_label()),
                    esc(&e.message)
                );
            }
            out.push_str("</tbody></table></div>");
            let listed = self.errors.len().min(ERRORS_SHOWN * 5) as u64;
            if total > listed {
                let _ = write!(
                    out,
                    "<p class=\"meta\">… and {} more</p>",
                    count(total - listed)
                );
            }
        }
        let _ = writeln!(
            out,
            "<p class=\"meta\" style=\"margin-top:32px\">{} · generated by monitor</p></body></html>",
            esc(super::SCHEMA)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(ticks(10.0, 5.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert!((nice_step(1234.0, 8.0) - 200.0).abs() < 1e-9);
        assert!((nice_step(0.03, 5.0) - 0.01).abs() < 1e-12);
    }
}
