//! Tables that fit a terminal: how wide the text report may be, and how a table too wide for it
//! is split into tables that fit, never wrapping a cell.
//!
//! A table keeps its first column (the step or query name) and takes the other columns in order
//! of usefulness while they fit; the columns left over go to a continuation table with the name
//! again, and so on. Only a name too long to fit beside a single figure is shortened (with `…`).

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use unicode_width::UnicodeWidthStr;

/// The environment variable that sets the text report's width in columns.
pub const REPORT_WIDTH_VAR: &str = "MONITOR_REPORT_WIDTH";
/// The width when stdout is not a terminal and `MONITOR_REPORT_WIDTH` is not set.
pub const DEFAULT_WIDTH: u16 = 100;
/// The narrowest and widest `MONITOR_REPORT_WIDTH` accepted.
pub const WIDTH_RANGE: (u16, u16) = (40, 1000);

/// How wide the text report is printed: `MONITOR_REPORT_WIDTH` when set, else the width of the
/// terminal stdout is, else 100 columns. A bad `MONITOR_REPORT_WIDTH` is reported (variable and
/// value) once per call and ignored.
#[must_use]
pub fn text_width() -> u16 {
    if let Some(raw) = std::env::var_os(REPORT_WIDTH_VAR) {
        let raw = raw.to_string_lossy();
        match parse_width(&raw) {
            Some(w) => return w,
            None => crate::config::stderr_events::surfaced(|| {
                tracing::warn!(
                    target: "monitor",
                    variable = REPORT_WIDTH_VAR,
                    value = %raw,
                    "{REPORT_WIDTH_VAR}={raw:?} is not valid: expected a number of columns from {} to {}; ignored",
                    WIDTH_RANGE.0,
                    WIDTH_RANGE.1
                );
            }),
        }
    }
    terminal_size::terminal_size_of(std::io::stdout())
        .map_or(DEFAULT_WIDTH, |(terminal_size::Width(w), _)| w)
}

fn parse_width(raw: &str) -> Option<u16> {
    raw.trim()
        .parse::<u16>()
        .ok()
        .filter(|w| (WIDTH_RANGE.0..=WIDTH_RANGE.1).contains(w))
}

/// A table's cells: a header and rows of the same length, column 0 naming the row.
pub(crate) struct Cells {
    pub(crate) header: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Cells {
    /// The columns' display widths (the widest of header and cells).
    fn widths(&self) -> Vec<usize> {
        (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].width())
                    .chain([self.header[c].width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// The width of a rendered table with these column widths: `│ a │ b │`, one space of padding
/// on each side of a cell and one border between and around.
fn table_width(widths: impl IntoIterator<Item = usize>) -> usize {
    1 + widths.into_iter().map(|w| w + 3).sum::<usize>()
}

/// Renders `cells` in tables no wider than `width`: the first holds the most useful columns
/// (by `priority`, a list of header names, most useful first; unlisted columns come last),
/// each further one the name column and the columns left. Figures are right-aligned.
pub(crate) fn fit(cells: &Cells, priority: &[&str], width: u16) -> Vec<Table> {
    let width = usize::from(width);
    let widths = cells.widths();
    let mut order: Vec<usize> = (1..cells.header.len()).collect();
    order.sort_by_key(|&c| {
        priority
            .iter()
            .position(|p| *p == cells.header[c])
            .unwrap_or(usize::MAX)
    });

    // A name column as wide as the widest single-figure table allows.
    let widest_figure = order.iter().map(|&c| widths[c]).max().unwrap_or(0);
    let name_room = width.saturating_sub(table_width([0, widest_figure])).max(1);
    let name_width = widths[0].min(name_room);

    let mut tables = Vec::new();
    let mut left = order;
    while !left.is_empty() || tables.is_empty() {
        let mut taken = vec![0];
        let mut used = table_width([name_width]);
        left.retain(|&c| {
            if used + widths[c] + 3 <= width || taken.len() == 1 {
                used += widths[c] + 3;
                taken.push(c);
                false
            } else {
                true
            }
        });
        taken.sort_unstable();
        tables.push(render(cells, &taken, name_width));
    }
    tables
}

fn render(cells: &Cells, columns: &[usize], name_width: usize) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    t.apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS);
    // Widths are chosen above; comfy-table must never wrap a cell.
    t.set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(columns.iter().map(|&c| cells.header[c]));
    for row in &cells.rows {
        t.add_row(columns.iter().map(|&c| {
            if c == 0 {
                shorten(&row[0], name_width)
            } else {
                row[c].clone()
            }
        }));
    }
    for i in 1..columns.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Lines of prose wider than `width` (chunk summaries, plans, errors) wrapped at word
/// boundaries, each continuation indented four spaces past the line's own indent. Tables are
/// already no wider than `width` and pass through untouched.
pub(crate) fn wrap_lines(text: &str, width: u16) -> String {
    let width = usize::from(width);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.width() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let more = format!("{indent}    ");
        let options = textwrap::Options::new(width)
            .initial_indent(indent)
            .subsequent_indent(&more)
            // Break at spaces only: `etl-worker-1` and paths stay whole.
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for part in textwrap::wrap(body, options) {
            out.push_str(&part);
            out.push('\n');
        }
    }
    out
}

/// `text` cut to `width` display columns, ending in `…` when cut.
fn shorten(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(names: &[&str], ncols: usize) -> Cells {
        const HEADERS: [&str; 8] = ["step", "a", "b", "c", "d", "e", "f", "g"];
        Cells {
            header: HEADERS[..ncols].to_vec(),
            rows: names
                .iter()
                .map(|n| {
                    let mut r = vec![(*n).to_owned()];
                    r.extend((1..ncols).map(|i| format!("{i}{i}{i}.{i} ms")));
                    r
                })
                .collect(),
        }
    }

    fn lines_within(tables: &[Table], width: u16) {
        for t in tables {
            for line in t.to_string().lines() {
                assert!(
                    line.width() <= usize::from(width),
                    "{line:?} wider than {width}"
                );
            }
        }
    }

    #[test]
    fn a_table_that_fits_stays_whole() {
        let c = cells(&["load", "transform"], 4);
        let mut t = fit(&c, &[], 100);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].column_count(), 4);
    }

    #[test]
    fn columns_move_to_continuations_by_priority_and_every_cell_is_kept() {
        let c = cells(&["load_orders", "transform"], 8);
        for width in [40, 60, 80] {
            let t = fit(&c, &["step", "g", "c"], width);
            assert!(t.len() > 1, "split at {width}");
            lines_within(&t, width);
            // The most useful columns come first, in their original order.
            let first = t[0].to_string();
            assert!(first.contains(" c ") && first.contains(" g "), "{first}");
            // Every column appears exactly once over the tables; every table names its rows.
            let all: Vec<String> = t.iter().map(ToString::to_string).collect();
            for h in ["a", "b", "c", "d", "e", "f", "g"] {
                let n = all
                    .iter()
                    .filter(|s| s.lines().nth(1).unwrap().contains(&format!(" {h} ")))
                    .count();
                assert_eq!(n, 1, "column {h} at {width}");
            }
            for s in &all {
                assert!(s.contains("load_orders") && s.contains("transform"), "{s}");
            }
        }
    }

    #[test]
    fn only_a_name_too_long_for_one_figure_is_shortened() {
        let long = "a_step_name_that_goes_on_and_on_for_far_longer_than_any_terminal";
        let c = cells(&[long], 3);
        let t = fit(&c, &[], 40);
        lines_within(&t, 40);
        let text = t[0].to_string();
        assert!(text.contains('…') && text.contains("a_step_name"), "{text}");
        assert!(fit(&c, &[], 200)[0].to_string().contains(long));
    }

    #[test]
    fn prose_wraps_under_its_indent_and_tables_pass_untouched() {
        let table = fit(&cells(&["load"], 3), &[], 40)[0].to_string();
        let text = format!(
            "{table}\n  clean_orders: 2 chunks, 20,000 rows in, 17,643 out; per chunk 30.4 ms median\n"
        );
        let wrapped = wrap_lines(&text, 40);
        assert!(wrapped.starts_with(&table), "{wrapped}");
        let prose: Vec<&str> = wrapped.lines().skip(table.lines().count()).collect();
        assert!(prose.len() > 1, "{wrapped}");
        assert!(prose[0].starts_with("  clean_orders:"), "{wrapped}");
        assert!(
            prose[1..].iter().all(|l| l.starts_with("      ")),
            "{wrapped}"
        );
        assert!(wrapped.lines().all(|l| l.width() <= 40), "{wrapped}");
    }

    #[test]
    fn widths_outside_the_range_are_refused() {
        assert_eq!(parse_width("100"), Some(100));
        assert_eq!(parse_width(" 80 "), Some(80));
        for bad in ["", "wide", "-5", "39", "1001", "80.5"] {
            assert_eq!(parse_width(bad), None, "{bad:?}");
        }
    }
}
