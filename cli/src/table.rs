//! Tables for the terminal (comfy-table, the same crate as the text report).

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

/// A table with `header`, plain ASCII borders, numeric columns (`right`) aligned right.
pub fn new(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}
