//! Error kinds as labels: the static type of `E`, or the kind an `ErrorLabel` error names (an
//! enum's variant); bounded per site (the first four kinds keep their own series, later ones
//! share `error_type="__other__"`), summing to the error count, and accepted by promtool.
use monitor::export::labels::OVERFLOW;
use monitor::export::{self, prometheus::render};
use monitor::{monitor_query, monitor_step, ErrorLabel, Kind, Pipeline};
use monitor_test_support::prometheus::check_metrics;

#[derive(Debug, Default)]
struct Timeout;
#[derive(Debug, Default)]
struct Refused;
#[derive(Debug, Default)]
struct Corrupt;
#[derive(Debug, Default)]
struct Denied;
#[derive(Debug, Default)]
struct Full;

/// One site whatever `E` is (a generic function's `static` is shared by its instances), so its
/// errors come in as many types as it is called with.
#[monitor_query("generic_fetch")]
fn generic_fetch<E: std::fmt::Debug + Default>() -> Result<(), E> {
    Err(E::default())
}

/// A boxed error is one static type, whatever is inside.
#[monitor_query("boxed_fetch")]
fn boxed_fetch(refused: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if refused {
        Err("connection refused".into())
    } else {
        Err(Box::new(std::io::Error::other("timeout")))
    }
}

/// An error enum that names its variants.
#[derive(Debug)]
enum LoadError {
    Timeout,
    Refused { host: String },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Timeout => f.write_str("timed out"),
            LoadError::Refused { host } => write!(f, "{host} refused the connection"),
        }
    }
}

impl ErrorLabel for LoadError {
    fn error_label(&self) -> &'static str {
        match self {
            LoadError::Timeout => "LoadError::Timeout",
            LoadError::Refused { .. } => "LoadError::Refused",
        }
    }
}

#[monitor_step]
fn load(attempt: u32) -> Result<u32, LoadError> {
    match attempt % 3 {
        0 => Err(LoadError::Timeout),
        1 => Err(LoadError::Refused {
            host: format!("db-{attempt}.internal"),
        }),
        _ => Ok(attempt),
    }
}

/// The derive gives `Type::Variant` labels.
#[derive(Debug, monitor::ErrorLabel)]
enum WriteError {
    DiskFull,
    #[allow(dead_code)]
    Rejected(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[monitor_query("write_batch")]
fn write_batch() -> Result<(), WriteError> {
    Err(WriteError::DiskFull)
}

#[test]
fn an_error_enum_labels_its_variants() {
    monitor::testing::without_history();
    let _ = write_batch();
    assert_eq!(
        export::collect()
            .site(Kind::Query, "write_batch")
            .unwrap()
            .error_types,
        vec![("WriteError::DiskFull", 1)]
    );
    let run = Pipeline::start("labelled_errors");
    for attempt in 0..7 {
        let _ = load(attempt);
    }
    let report = run.finish();
    let f = export::collect();
    assert_eq!(
        f.site(Kind::Step, "load").unwrap().error_types,
        vec![("LoadError::Timeout", 3), ("LoadError::Refused", 2)]
    );
    // The report's error list names the kind; the message keeps the data, the label never does.
    // (The run is ambient: the other test's calls may join it, so look at this site's errors.)
    let errors: Vec<_> = report.errors.iter().filter(|e| e.site == "load").collect();
    assert_eq!(errors.len(), 5);
    assert_eq!(errors[1].error_type.as_deref(), Some("LoadError::Refused"));
    assert_eq!(errors[1].message, "db-1.internal refused the connection");
    let text = render();
    assert!(
        text.contains("error_type=\"LoadError::Refused\"} 2"),
        "{text}"
    );
    assert!(!text.contains("db-1.internal"));
}

#[test]
fn types_past_the_bound_share_one_overflow_series() {
    monitor::testing::without_history();
    for _ in 0..3 {
        let _ = generic_fetch::<Timeout>();
    }
    let _ = generic_fetch::<Refused>();
    let _ = generic_fetch::<Corrupt>();
    let _ = generic_fetch::<Denied>();
    let _ = generic_fetch::<Full>();
    let _ = generic_fetch::<Full>();
    let _ = generic_fetch::<Timeout>();
    let _ = boxed_fetch(true);
    let _ = boxed_fetch(false);

    let f = export::collect();
    let site = f.site(Kind::Query, "generic_fetch").expect("exported");
    assert_eq!(site.errors, 9);
    assert_eq!(
        site.error_types,
        vec![
            ("export_error_types::Timeout", 4),
            ("export_error_types::Refused", 1),
            ("export_error_types::Corrupt", 1),
            ("export_error_types::Denied", 1),
            (OVERFLOW, 2),
        ]
    );
    assert_eq!(
        f.site(Kind::Query, "boxed_fetch").unwrap().error_types,
        vec![(
            "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
            2
        )]
    );

    let text = render();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("monitor_errors_total{") && l.contains("generic_fetch"))
        .collect();
    assert_eq!(series.len(), 5, "{series:#?}");
    assert!(series
        .iter()
        .any(|l| l.contains("error_type=\"__other__\"") && l.ends_with(" 2")));
    check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}
