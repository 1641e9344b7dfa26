//! Calls attach to the ambient run from every thread and task, and detached runs side by side
//! receive only the calls made inside their own scopes.
use monitor::{monitor_query, monitor_step, Pipeline};
use serial_test::serial;

#[monitor_step(rows)]
fn work(n: usize) -> Vec<u32> {
    vec![0; n]
}

#[monitor_query("lookup")]
fn lookup(k: u32) -> u32 {
    k + 1
}

#[monitor_step]
async fn async_work(n: u64) -> u64 {
    tokio::task::yield_now().await;
    monitor::record_rows(n);
    n
}

#[test]
#[serial]
fn ambient_run_collects_calls_from_scoped_threads_and_rayon() {
    monitor::testing::without_history();
    let run = Pipeline::start("ambient_threads");
    assert!(run.is_ambient());
    work(5);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    work(2);
                    lookup(1);
                }
            });
        }
    });
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        (0..300u32).into_par_iter().for_each(|k| {
            lookup(k);
        })
    });
    let report = run.finish();
    let step = report.step("work").expect("work attached");
    assert_eq!(step.site.calls, 1 + 4 * 25);
    assert_eq!(step.site.rows, Some(5 + 4 * 25 * 2));
    let q = report.query("lookup").expect("lookup attached");
    assert_eq!(q.site.calls, 4 * 25 + 300);
    assert_eq!(
        report.timeline.calls.len(),
        101 + 100 + 300,
        "every call of the run is on the timeline"
    );
}

#[test]
#[serial]
fn ambient_run_collects_tokio_tasks_on_worker_threads() {
    monitor::testing::without_history();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = Pipeline::start("ambient_tokio");
    rt.block_on(async {
        let tasks: Vec<_> = (0..20).map(|i| tokio::spawn(async_work(i))).collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let report = run.finish();
    let step = report.step("async_work").expect("tokio calls attached");
    assert_eq!(step.site.calls, 20);
    assert_eq!(step.site.rows, Some((0..20).sum()));
    assert!(step.site.busy_ms.is_some());
}

#[test]
#[serial]
fn calls_after_finish_or_outside_runs_do_not_attach() {
    monitor::testing::without_history();
    work(1);
    let run = Pipeline::start("late");
    let report = run.finish();
    work(1);
    assert!(
        report.step("work").is_none(),
        "a call before the run is not in it"
    );
    assert!(report.steps.is_empty());
}

#[test]
#[serial]
fn detached_runs_side_by_side_stay_apart() {
    monitor::testing::without_history();
    let a = Pipeline::builder("side_a").detached().start();
    let b = Pipeline::builder("side_b").detached().start();
    assert!(!a.is_ambient() && !b.is_ambient());
    work(100); // in neither run: nothing entered, nothing ambient
    let (ha, hb) = (a.handle(), b.handle());
    std::thread::scope(|s| {
        s.spawn(|| {
            let _in_a = ha.enter();
            for _ in 0..10 {
                work(1);
            }
        });
        s.spawn(|| {
            hb.in_scope(|| {
                for _ in 0..7 {
                    work(3);
                }
                // Entering another run nests and is undone on drop.
                ha.in_scope(|| lookup(1));
                lookup(2);
            });
        });
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ta = tokio::spawn(ha.instrument(async_work(11)));
        let tb = tokio::spawn(hb.instrument(async { async_work(13).await + async_work(17).await }));
        ta.await.unwrap();
        tb.await.unwrap();
    });
    let (ra, rb) = (a.finish(), b.finish());
    assert_eq!(ra.step("work").unwrap().site.calls, 10);
    assert_eq!(ra.step("work").unwrap().site.rows, Some(10));
    assert_eq!(rb.step("work").unwrap().site.calls, 7);
    assert_eq!(rb.step("work").unwrap().site.rows, Some(21));
    assert_eq!(ra.query("lookup").unwrap().site.calls, 1);
    assert_eq!(rb.query("lookup").unwrap().site.calls, 1);
    assert_eq!(ra.step("async_work").unwrap().site.rows, Some(11));
    assert_eq!(rb.step("async_work").unwrap().site.rows, Some(30));
    assert_ne!(ra.run_id, rb.run_id);
}

#[test]
#[serial]
fn an_entered_run_wins_over_the_ambient_one() {
    monitor::testing::without_history();
    let ambient = Pipeline::start("ambient");
    let second = Pipeline::start("second");
    assert!(ambient.is_ambient());
    assert!(!second.is_ambient(), "only one ambient run at a time");
    work(1);
    second.in_scope(|| work(2));
    let (r2, r1) = (second.finish(), ambient.finish());
    assert_eq!(r1.step("work").unwrap().site.rows, Some(1));
    assert_eq!(r2.step("work").unwrap().site.rows, Some(2));
    // After the ambient run finished, a new one can become ambient.
    let next = Pipeline::start("next");
    assert!(next.is_ambient());
    drop(next);
}

#[test]
#[serial]
fn sites_past_the_run_bound_are_counted_not_recorded() {
    monitor::testing::without_history();
    // Make sure `work` and `lookup` have ids, then allow only ids below the smaller one.
    work(1);
    lookup(1);
    let run = Pipeline::builder("bounded").max_sites(0).start();
    work(1);
    lookup(1);
    let report = run.finish();
    assert!(report.steps.is_empty() && report.queries.is_empty());
    assert_eq!(report.sites_not_tracked, 2);
}

#[test]
#[serial]
fn the_current_run_can_be_looked_up_and_handed_on() {
    monitor::testing::without_history();
    assert!(monitor::RunHandle::current().is_none());
    let detached = Pipeline::builder("handed_on").detached().start();
    let handle = detached
        .in_scope(monitor::RunHandle::current)
        .expect("entered run");
    assert_eq!(handle.run_id(), detached.run_id());
    std::thread::spawn(move || handle.in_scope(|| work(4)))
        .join()
        .unwrap();
    let r = detached.finish();
    assert_eq!(r.step("work").unwrap().site.rows, Some(4));
}
