//! An `Err` return is counted and logged at `error` with the error's `Display` text; `?` and
//! early `return` behave exactly as without the macro.
use monitor::testing::capture;
use monitor::{monitor_query, monitor_step};
use std::num::ParseIntError;

#[derive(Debug)]
struct LoadError {
    file: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}", self.file)
    }
}

#[monitor_step]
fn parse_total(input: &str) -> Result<u64, ParseIntError> {
    let mut total = 0;
    for part in input.split(',') {
        total += part.trim().parse::<u64>()?;
    }
    if total == 0 {
        return Ok(0);
    }
    Ok(total)
}

#[monitor_query("load_file")]
fn load(file: &str) -> Result<usize, LoadError> {
    Err(LoadError {
        file: file.to_owned(),
    })
}

#[derive(Debug)]
struct DebugOnly(#[allow(dead_code)] u8);

#[monitor_step]
fn debug_only_error() -> Result<(), DebugOnly> {
    Err(DebugOnly(7))
}

type MyResult<T> = std::result::Result<T, String>;

#[monitor_step]
fn aliased_result() -> MyResult<()> {
    Err("through an alias".to_owned())
}

#[test]
fn errors_are_counted_and_logged_with_their_text() {
    let (results, events) = capture(|| {
        (
            parse_total("1, 2, 3"),
            parse_total("1, x"),
            parse_total("0"),
            load("orders.csv").map_err(|e| e.to_string()),
            debug_only_error(),
            aliased_result(),
        )
    });
    assert_eq!(results.0, Ok(6));
    assert_eq!(
        results.1.as_ref().map_err(ToString::to_string),
        Err("invalid digit found in string".to_owned())
    );
    assert_eq!(results.2, Ok(0));
    assert_eq!(results.3, Err("cannot read orders.csv".to_owned()));
    assert!(results.4.is_err() && results.5.is_err());

    let snap = monitor::snapshot();
    let p = snap.site("parse_total").expect("registered");
    assert_eq!((p.calls, p.errors), (3, 1));
    assert_eq!(snap.site("load_file").expect("registered").errors, 1);

    let errors: Vec<_> = events
        .iter()
        .filter(|e| e.message == "call returned an error")
        .collect();
    assert_eq!(errors.len(), 4, "{events:#?}");
    assert!(errors
        .iter()
        .all(|e| e.level == tracing::Level::ERROR && e.target == "monitor"));
    // The `error` (text) and `error_type` fields of a site's error event.
    let field = |name: &str, key: &str| {
        errors
            .iter()
            .find(|e| e.str("name") == Some(name))
            .and_then(|e| e.str(key))
            .map(ToOwned::to_owned)
    };
    for (site, text, ty) in [
        (
            "parse_total",
            "invalid digit found in string",
            "core::num::error::ParseIntError",
        ),
        ("load_file", "cannot read orders.csv", "errors::LoadError"),
        ("debug_only_error", "DebugOnly(7)", "errors::DebugOnly"),
        (
            "aliased_result",
            "through an alias",
            "alloc::string::String",
        ),
    ] {
        assert_eq!(field(site, "error").as_deref(), Some(text), "{site}");
        // The error's type travels with it (the label exporters use), never its message.
        assert_eq!(field(site, "error_type").as_deref(), Some(ty), "{site}");
    }
    let by_type = &snap.site("load_file").expect("registered").error_types;
    assert_eq!(
        by_type.iter().collect::<Vec<_>>(),
        [(&"errors::LoadError".to_owned(), &1)]
    );
    // Successful calls log their completion instead (info for steps).
    let finished = events
        .iter()
        .filter(|e| e.message == "step finished")
        .count();
    assert_eq!(finished, 2);
}
