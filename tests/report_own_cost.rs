//! A run's report says what watching it cost: the sampler thread's CPU time and ticks, the
//! memory-tracked calls' readings, the plans captured and the report's own building, each
//! counted where it was spent and only while the run was open; the text, Markdown, HTML and JSON
//! forms carry it.
use monitor::{monitor_query, monitor_step, Pipeline};
use rusqlite::Connection;
use std::time::Duration;

#[monitor_step]
fn quiet(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[monitor_step]
fn long_step() {
    // Long enough for several 10 ms ticks of the sampler.
    std::thread::sleep(Duration::from_millis(120));
}

#[monitor_query("orders_of", explain(conn = conn, sql = sql, mode = "always"))]
fn orders_of(conn: &Connection, sql: &str, customer: i64) -> rusqlite::Result<i64> {
    conn.query_row(sql, [customer], |r| r.get(0))
}

fn database() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO orders (customer_id, amount) SELECT i % 50, i * 1.5 FROM n;",
    )
    .unwrap();
    conn
}

const SQL: &str = "SELECT count(*) FROM orders WHERE customer_id = ?1";

#[test]
fn the_report_counts_monitors_own_work_during_the_run() {
    monitor::testing::without_history();
    monitor::Config::builder()
        .sample_interval(Duration::from_millis(10))
        .install();
    let conn = database();
    // Work before the run is not the run's.
    for i in 0..50 {
        quiet(i);
    }
    orders_of(&conn, SQL, 1).unwrap();

    let run = Pipeline::start("own_cost");
    for i in 0..500 {
        quiet(i);
    }
    long_step();
    for customer in 0..3 {
        orders_of(&conn, SQL, customer).unwrap();
    }
    let report = run.finish();
    let c = report.own_cost;
    println!("{c:#?}\n{}", report.to_text_width(100));

    assert_eq!(
        c.memory_tracked_calls, 501,
        "the run's steps, not the ones before it"
    );
    assert!(c.memory_reads_ms > 0.0, "{c:?}");
    // 501 calls at a few µs of readings each: well under a second, well over nothing.
    assert!(c.memory_reads_ms < 500.0, "{c:?}");
    assert_eq!(c.plans_captured, 3, "one EXPLAIN per call in the run");
    assert!(c.plan_capture_ms > 0.0, "{c:?}");
    assert!(c.sampler_ticks >= 4, "120 ms at 10 ms: {c:?}");
    assert!(c.sampler_cpu_ms > 0.0, "{c:?}");
    assert!(
        c.sampler_cpu_ms < report.duration_ms,
        "the sampler's CPU within the run's wall time: {c:?}"
    );
    assert!(c.finish_ms > 0.0, "{c:?}");
    assert!(c.total_ms() < report.duration_ms, "{c:?}");

    let text = report.to_text_width(100);
    let line = text
        .lines()
        .find(|l| l.starts_with("monitor's own work: "))
        .unwrap_or_else(|| panic!("no own-cost line:\n{text}"));
    assert!(line.contains("% of the run)"), "{line}");
    // A figure and its unit are joined by a no-break space, so wrapping never parts them.
    assert!(text.contains("(501\u{a0}calls)"), "{text}");
    assert!(report.to_markdown().contains("monitor's own work: "));
    assert!(report
        .to_html()
        .contains("<div class=\"meta\">monitor&#39;s own work: "));

    let json = report.to_json();
    let back = monitor::Report::from_json(&json).unwrap();
    assert_eq!(back.own_cost, c);
    assert!(json.contains("\"own_cost\""));

    // A second run counts only its own work.
    let run = Pipeline::start("own_cost");
    quiet(1);
    let second = run.finish().own_cost;
    assert_eq!(second.memory_tracked_calls, 1, "{second:?}");
    assert_eq!(second.plans_captured, 0, "{second:?}");
}
