//! Error types as labels: the static type of `E`, bounded per site (the first four types keep
//! their own series, later ones share `error_type="__other__"`), summing to the error count,
//! and accepted by promtool.
use monitor::export::labels::OVERFLOW;
use monitor::export::{self, prometheus::render};
use monitor::{monitor_query, Kind};
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

#[test]
fn types_past_the_bound_share_one_overflow_series() {
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
