//! The README's "Configuration" table and the runtime's settings are one list: every setting
//! declared in `monitor::config` (its variable, meaning and default, `config::VARIABLES`) is a row
//! of the table, word for word and in the same order, so neither can change alone.

use std::path::Path;

/// The rows of the table under `## Configuration`: (variable, meaning, default).
fn readme_rows() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("a Configuration section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| `MONITOR_"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {l}");
            (
                cells[0].trim_matches('`').to_owned(),
                cells[1].to_owned(),
                cells[2].to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_setting_is_a_row_of_the_readme_table_word_for_word() {
    let rows = readme_rows();
    let declared: Vec<(String, String, String)> = monitor::config::VARIABLES
        .iter()
        .map(|v| {
            (
                v.name.to_owned(),
                v.meaning.to_owned(),
                v.default.to_owned(),
            )
        })
        .collect();
    let documented: Vec<(String, String, String)> = rows
        .iter()
        .filter(|(name, _, _)| declared.iter().any(|(d, _, _)| d == name))
        .cloned()
        .collect();
    assert_eq!(documented, declared);
    // The table's other rows are variables read elsewhere (the report's width), never a
    // setting missing from `Config`.
    let others: Vec<&str> = rows
        .iter()
        .map(|(n, _, _)| n.as_str())
        .filter(|n| !declared.iter().any(|(d, _, _)| d == n))
        .collect();
    assert_eq!(others, ["MONITOR_REPORT_WIDTH"]);
}

#[test]
fn every_variable_is_read_by_the_environment_reader() {
    // A value no reader accepts makes one error per variable, naming it.
    let (_, errors) = monitor::Config::from_lookup(&|_| Some("not a value".to_owned()));
    let named: Vec<&str> = errors.iter().map(|e| e.variable.as_str()).collect();
    let declared: Vec<&str> = monitor::config::VARIABLES.iter().map(|v| v.name).collect();
    assert_eq!(named, declared);
}
