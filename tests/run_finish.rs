//! A run always ends with a report: by `finish`, by dropping the guard, and when the pipeline
//! panics (then marked failed).
use monitor::{monitor_step, Pipeline, Report, RunStatus};
use serial_test::serial;
use std::sync::{Arc, Mutex};

#[monitor_step]
fn step_ok() -> u32 {
    std::thread::sleep(std::time::Duration::from_millis(5));
    1
}

#[monitor_step]
fn step_boom() -> u32 {
    panic!("boom in step")
}

fn collect_reports() -> (monitor::SinkId, Arc<Mutex<Vec<Report>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let id = monitor::add_report_sink(move |r| sink_seen.lock().unwrap().push(r.clone()));
    (id, seen)
}

#[test]
#[serial]
fn finish_returns_the_report_with_id_start_status_and_duration() {
    monitor::testing::without_history();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let run = Pipeline::builder("nightly_etl")
        .label("version", "1.2.3")
        .start();
    let id = run.run_id().to_owned();
    step_ok();
    step_ok();
    let report = run.finish();
    assert_eq!(report.pipeline, "nightly_etl");
    assert_eq!(report.run_id, id);
    // A UUIDv7 (the run's OpenLineage id), whose first 48 bits are the start in Unix ms.
    assert_eq!((id.len(), &id[14..15]), (36, "7"), "{id}");
    let id_ms = u64::from_str_radix(&id.replace('-', "")[..12], 16).unwrap();
    assert!(
        id_ms <= report.started_at_unix_ms && report.started_at_unix_ms - id_ms < 1_000,
        "{id} vs {}",
        report.started_at_unix_ms
    );
    assert_eq!(report.status, RunStatus::Ok);
    assert_eq!(report.failure, None);
    assert!(report.started_at_unix_ms >= before && report.started_at_unix_ms < before + 5_000);
    assert!(
        report.started_at.ends_with('Z') && report.started_at.len() == 24,
        "{}",
        report.started_at
    );
    assert!(
        report.duration_ms >= 10.0,
        "two 5 ms steps: {}",
        report.duration_ms
    );
    assert_eq!(
        report.labels.get("version").map(String::as_str),
        Some("1.2.3")
    );
    let step = report.step("step_ok").unwrap();
    assert_eq!(step.site.calls, 2);
    assert!(step.site.duration_ms.total >= 10.0);
    assert!(step.site.duration_ms.total <= report.duration_ms);
    assert_eq!(report.timeline.calls.len(), 2);
    assert!(report.timeline.calls[1].start_ms >= report.timeline.calls[0].start_ms + 5.0);
}

#[test]
#[serial]
fn dropping_the_guard_finishes_the_run_and_hands_out_the_report() {
    monitor::testing::without_history();
    let (sink, seen) = collect_reports();
    {
        let _run = Pipeline::start("dropped");
        step_ok();
    }
    monitor::remove_report_sink(sink);
    let reports = seen.lock().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].pipeline, "dropped");
    assert_eq!(reports[0].status, RunStatus::Ok);
    assert_eq!(reports[0].step("step_ok").unwrap().site.calls, 1);
    let last = monitor::last_report().unwrap();
    assert_eq!(last.run_id, reports[0].run_id);
}

#[test]
#[serial]
fn a_panicking_pipeline_still_reports_and_is_marked_failed() {
    monitor::testing::without_history();
    let (sink, seen) = collect_reports();
    let caught = std::panic::catch_unwind(|| {
        let _run = Pipeline::start("panicky");
        step_ok();
        step_boom();
    });
    monitor::remove_report_sink(sink);
    assert!(caught.is_err());
    let reports = seen.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.pipeline, "panicky");
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.failure.as_deref(), Some("the pipeline panicked"));
    assert_eq!(r.step("step_boom").unwrap().site.panics, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].site, "step_boom");
    assert_eq!(r.errors[0].outcome, monitor::report::ErrorOutcome::Panic);
    // The next run can be ambient: the panicking one let go of the slot.
    let next = Pipeline::start("after_panic");
    assert!(next.is_ambient());
    drop(next);
}

#[test]
#[serial]
fn finish_with_an_err_marks_the_run_failed_with_its_message() {
    monitor::testing::without_history();
    let run = Pipeline::start("fails");
    step_ok();
    let outcome: Result<(), String> = Err("upstream file missing".into());
    let report = run.finish_with(&outcome);
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.failure.as_deref(), Some("upstream file missing"));
}

#[test]
#[serial]
fn a_panicking_sink_does_not_reach_the_pipeline() {
    monitor::testing::without_history();
    let bad = monitor::add_report_sink(|_| panic!("sink bug"));
    let (good, seen) = collect_reports();
    let report = Pipeline::start("sinks").finish();
    monitor::remove_report_sink(bad);
    monitor::remove_report_sink(good);
    assert_eq!(report.status, RunStatus::Ok);
    assert_eq!(seen.lock().unwrap().len(), 1, "later sinks still run");
}
