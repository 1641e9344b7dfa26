//! `MONITOR_DISABLE` (here through the builder) records nothing and logs nothing, while the
//! annotated code still runs and returns the same values.
use monitor::monitor_step;
use monitor::testing::capture;

#[monitor_step]
fn doubled(x: u32) -> Result<u32, String> {
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x * 2)
    }
}

#[test]
fn disabled_records_nothing() {
    monitor::Config::builder().disabled(true).install();
    let (r, events) = capture(|| (doubled(2), doubled(0)));
    assert_eq!(r, (Ok(4), Err("zero".to_owned())));
    assert!(events.is_empty(), "{events:#?}");
    assert!(monitor::snapshot().site("doubled").is_none());

    monitor::Config::builder().disabled(false).install();
    assert_eq!(doubled(3), Ok(6));
    assert_eq!(
        monitor::snapshot().site("doubled").map(|s| s.calls),
        Some(1)
    );
}
