//! Row counts end to end: from return values, from `record_rows`/`record_rows_in` inside a body,
//! and what a filter dropped, per run.
use monitor::{monitor_step, Pipeline};
use serial_test::serial;

#[monitor_step(rows)]
fn read_batch(n: usize) -> Result<Vec<u32>, String> {
    Ok(vec![1; n])
}

#[monitor_step(rows)]
fn maybe_read(n: usize) -> Option<Vec<u32>> {
    (n > 0).then(|| vec![2; n])
}

#[monitor_step]
fn keep_even(rows: &[u32]) -> Vec<u32> {
    monitor::record_rows_in(rows.len() as u64);
    let out: Vec<u32> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, r)| *r)
        .collect();
    monitor::record_rows(out.len() as u64);
    out
}

#[monitor_step]
fn write_in_parts(parts: &[usize]) {
    std::thread::sleep(std::time::Duration::from_millis(10));
    for p in parts {
        monitor::record_rows(*p as u64);
    }
}

#[test]
#[serial]
fn rows_rows_per_second_and_dropped_rows_reach_the_report() {
    monitor::testing::without_history();
    let run = Pipeline::start("rows");
    let a = read_batch(1_000).unwrap();
    let b = read_batch(500).unwrap();
    assert!(maybe_read(0).is_none());
    maybe_read(7);
    keep_even(&a);
    keep_even(&b);
    write_in_parts(&[100, 200, 300]);
    let r = run.finish();

    let read = r.step("read_batch").unwrap();
    assert_eq!(read.site.rows, Some(1_500));
    assert_eq!(read.rows_dropped, None, "no rows in reported");
    let maybe = r.step("maybe_read").unwrap();
    assert_eq!(
        (maybe.site.calls, maybe.site.rows),
        (2, Some(7)),
        "None carries no rows"
    );

    let filter = r.step("keep_even").unwrap();
    assert_eq!(filter.site.rows_in, Some(1_500));
    assert_eq!(filter.site.rows, Some(750));
    assert_eq!(filter.rows_dropped, Some(750));

    let write = r.step("write_in_parts").unwrap();
    assert_eq!(write.site.rows, Some(600));
    let rate = write.rows_per_sec.unwrap();
    let expected = 600.0 / (write.site.duration_ms.total / 1000.0);
    assert!(
        (rate - expected).abs() < 1e-6 * expected,
        "{rate} vs {expected}"
    );
    assert!(
        rate < 600.0 / 0.010 && rate > 0.0,
        "600 rows in at least 10 ms: {rate}"
    );

    let text = r.to_text();
    let line = text.lines().find(|l| l.contains("keep_even")).unwrap();
    assert!(line.contains("750"), "{line}");
    // Row counts per call on the timeline.
    let spans: Vec<_> = r
        .timeline
        .calls
        .iter()
        .filter(|s| s.name == "read_batch")
        .collect();
    assert_eq!(
        spans.iter().map(|s| s.rows).collect::<Vec<_>>(),
        vec![Some(1_000), Some(500)]
    );
}

#[test]
#[serial]
fn rows_outside_a_run_still_count_globally_but_not_in_the_next_run() {
    monitor::testing::without_history();
    read_batch(3).unwrap();
    let r = Pipeline::start("rows_next").finish();
    assert!(r.step("read_batch").is_none());
    assert!(
        monitor::snapshot()
            .site("read_batch")
            .unwrap()
            .rows
            .unwrap()
            >= 3
    );
}
