//! Charts of one figure over runs: a terminal sparkline and a self-contained HTML page with an
//! inline SVG line chart (no script, no network).

use std::fmt::Write as _;

/// How a run's point is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointMark {
    /// Within the noise, or no verdict.
    Normal,
    /// Flagged as a regression against the runs before it.
    Regression,
    /// Flagged as an improvement.
    Improvement,
    /// The run failed.
    Failed,
}

impl PointMark {
    /// `regression`, `improvement`, `failed run`, `normal`.
    pub fn as_str(self) -> &'static str {
        match self {
            PointMark::Normal => "normal",
            PointMark::Regression => "regression",
            PointMark::Improvement => "improvement",
            PointMark::Failed => "failed run",
        }
    }

    fn color(self) -> &'static str {
        match self {
            PointMark::Normal => "#2563eb",
            PointMark::Regression => "#dc2626",
            PointMark::Improvement => "#16a34a",
            PointMark::Failed => "#6b7280",
        }
    }
}

/// One run's value.
#[derive(Debug, Clone)]
pub struct Point {
    /// `2026-11-24 16:05:12 <run id>`.
    pub label: String,
    /// The figure.
    pub value: f64,
    /// Its mark.
    pub mark: PointMark,
}

/// Min, median, max and latest of the points.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub latest: f64,
}

impl Summary {
    /// The summary of a non-empty list (zeros when empty).
    pub fn of(points: &[Point]) -> Summary {
        let mut v: Vec<f64> = points.iter().map(|p| p.value).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Summary {
                min: 0.0,
                median: 0.0,
                max: 0.0,
                latest: 0.0,
            };
        }
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            min: v[0],
            median,
            max: v[n - 1],
            latest: points[n - 1].value,
        }
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▁▂▁▃█▂`: one bar per run, scaled between the smallest and largest value.
pub fn sparkline(points: &[Point]) -> String {
    let s = Summary::of(points);
    let span = s.max - s.min;
    points
        .iter()
        .map(|p| {
            if span <= 0.0 {
                return BARS[3];
            }
            let level = ((p.value - s.min) / span * 7.0).round();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = level.clamp(0.0, 7.0) as usize;
            BARS[i]
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page: title, an SVG line chart (one circle per run, coloured by its
/// mark, with a tooltip), the median as a dashed line, and a table of the points.
pub fn html_page(title: &str, points: &[Point], fmt: &dyn Fn(f64) -> String) -> String {
    const W: f64 = 900.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 90.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 40.0;
    let s = Summary::of(points);
    let lo = s.min.min(0.0_f64.max(s.min - (s.max - s.min) * 0.1));
    let hi = if s.max > lo {
        s.max + (s.max - lo) * 0.05
    } else {
        lo + 1.0
    };
    #[allow(clippy::cast_precision_loss)]
    let n = points.len().max(2) as f64 - 1.0;
    #[allow(clippy::cast_precision_loss)]
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * (i as f64) / n;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"##,
        escape(title)
    );
    // Axes and labels.
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#9ca3af"/><line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#9ca3af"/>"##,
        H - BOTTOM,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM
    );
    for v in [lo, (lo + hi) / 2.0, hi] {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#374151">{}</text>"##,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&fmt(v))
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        for (i, p, anchor) in [(0, first, "start"), (points.len() - 1, last, "end")] {
            let date = p.label.split(' ').next().unwrap_or_default();
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="{anchor}" fill="#374151">{}</text>"##,
                x(i),
                H - BOTTOM + 16.0,
                escape(date)
            );
        }
    }
    // The median, dashed.
    let _ = write!(
        svg,
        r##"<line class="median" x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#9ca3af" stroke-dasharray="4 4"/>"##,
        y(s.median),
        W - RIGHT
    );
    // The line and the points.
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{}"/>"##,
        path.join(" ")
    );
    for (i, p) in points.iter().enumerate() {
        let r = if p.mark == PointMark::Normal {
            3.0
        } else {
            5.0
        };
        let _ = write!(
            svg,
            r##"<circle class="point {}" cx="{:.1}" cy="{:.1}" r="{r}" fill="{}"><title>{}: {} ({})</title></circle>"##,
            p.mark.as_str().replace(' ', "-"),
            x(i),
            y(p.value),
            p.mark.color(),
            escape(&p.label),
            escape(&fmt(p.value)),
            p.mark.as_str()
        );
    }
    svg.push_str("</svg>");

    let mut rows = String::new();
    for p in points.iter().rev() {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&p.label),
            escape(&fmt(p.value)),
            p.mark.as_str()
        );
    }
    format!(
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#111827}}
table{{border-collapse:collapse;margin-top:1rem}}td,th{{padding:2px 10px;border-bottom:1px solid #e5e7eb}}
.num{{text-align:right;font-variant-numeric:tabular-nums}}</style></head>
<body><h1>{t}</h1>
<p>min {min} · median {median} · max {max} · latest {latest}. Red: flagged as a regression
against the runs before it; green: an improvement; grey: a failed run.</p>
{svg}
<table><thead><tr><th>run</th><th>value</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"##,
        t = escape(title),
        min = escape(&fmt(s.min)),
        median = escape(&fmt(s.median)),
        max = escape(&fmt(s.max)),
        latest = escape(&fmt(s.latest)),
    )
}
