//! Chunked CSV processing: bounded memory on a large file, output identical to a one-shot
//! transform, per-chunk figures in the run, and malformed records reported or skipped.
use monitor::chunked::{ChunkError, CsvChunks, Progress};
use monitor::Pipeline;
use serde::{Deserialize, Serialize};
use serial_test::serial;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct Order {
    order_id: u64,
    customer_id: u32,
    order_date: String,
    status: String,
    quantity: u32,
    unit_price: f64,
    note: String,
}

#[derive(Debug, Serialize)]
struct CleanOrder {
    order_id: u64,
    customer_id: u32,
    order_date: String,
    status: String,
    total_amount: f64,
    note_len: usize,
}

/// Row by row, so chunking cannot change the result: drop cancelled orders, add the total.
fn clean(orders: Vec<Order>) -> Result<Vec<CleanOrder>, String> {
    Ok(orders
        .into_iter()
        .filter(|o| o.status != "cancelled")
        .map(|o| CleanOrder {
            total_amount: (f64::from(o.quantity) * o.unit_price * 100.0).round() / 100.0,
            status: o.status.to_uppercase(),
            note_len: o.note.len(),
            order_id: o.order_id,
            customer_id: o.customer_id,
            order_date: o.order_date,
        })
        .collect())
}

/// Writes `n` deterministic orders (a quoted note with a comma in every fifth one).
fn write_orders(path: &Path, n: u64) -> u64 {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(
        w,
        "order_id,customer_id,order_date,status,quantity,unit_price,note"
    )
    .unwrap();
    let statuses = ["shipped", "delivered", "cancelled", "pending", "delivered"];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for id in 1..=n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let note = if id % 5 == 0 {
            "\"gift wrap, fragile\""
        } else {
            "standard delivery"
        };
        writeln!(
            w,
            "{id},{},2024-{:02}-{:02},{},{},{}.{:02},{note}",
            x % 50_000 + 1,
            x % 12 + 1,
            x % 28 + 1,
            statuses[(x % 5) as usize],
            x % 9 + 1,
            x % 500 + 1,
            x % 100
        )
        .unwrap();
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn one_shot(input: &Path) -> Vec<u8> {
    let mut r = csv::Reader::from_path(input).unwrap();
    let all: Vec<Order> = r.deserialize().collect::<Result<_, _>>().unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in clean(all).unwrap() {
        w.serialize(row).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
#[serial]
fn two_million_rows_in_chunks_keep_memory_bounded_and_match_a_one_shot_transform() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    let output = dir.path().join("orders_clean.csv");
    let file_size = write_orders(&input, 2_000_000);
    assert!(
        file_size > 100 << 20,
        "a file worth chunking: {file_size} bytes"
    );

    let run = Pipeline::start("chunked_big");
    let summary = CsvChunks::open(&input)
        .chunk_size(10_000)
        .progress(Progress::Off)
        .transform_to_csv(&output, clean)
        .unwrap();
    let report = run.finish();

    assert_eq!(summary.chunks, 200);
    assert_eq!(summary.rows_in, 2_000_000);
    assert!(summary.rows_out > 1_000_000 && summary.rows_out < 2_000_000);
    let growth = summary.rss_peak.unwrap() - summary.rss_start.unwrap();
    println!(
        "file {} MiB, RSS at start {} MiB, peak growth {} KiB",
        file_size >> 20,
        summary.rss_start.unwrap() >> 20,
        growth >> 10
    );
    assert!(
        growth < file_size / 20,
        "peak RSS grew by {growth} bytes for a {file_size}-byte file"
    );

    // The run has every chunk, as report entries and as calls of the `csv_chunk` step.
    assert_eq!(report.chunks.len(), 200);
    assert_eq!(
        report.chunks.iter().map(|c| c.rows_in).sum::<u64>(),
        2_000_000
    );
    assert_eq!(
        report.chunks.iter().map(|c| c.rows_out).sum::<u64>(),
        summary.rows_out
    );
    assert_eq!(report.chunks[0].first_line, 2);
    assert_eq!(report.chunks[1].first_line, 10_002);
    assert_eq!(report.chunks[199].index, 199);
    assert!(report
        .chunks
        .iter()
        .all(|c| c.name == "orders" && c.duration_ms > 0.0 && c.rss_peak.is_some()));
    let step = report.step("csv_chunk").unwrap();
    assert_eq!(step.site.calls, 200);
    assert_eq!(step.site.rows_in, Some(2_000_000));
    assert_eq!(step.site.rows, Some(summary.rows_out));
    assert_eq!(step.rows_dropped, Some(2_000_000 - summary.rows_out));
    assert!(report
        .to_text()
        .contains("orders: 200 chunks, 2,000,000 rows in"));

    let chunked = std::fs::read(&output).unwrap();
    assert_eq!(
        chunked.iter().filter(|b| **b == b'\n').count() as u64,
        summary.rows_out + 1,
        "header once"
    );
    let expected = one_shot(&input);
    assert!(
        chunked == expected,
        "chunked output differs from the one-shot transform"
    );
}

#[test]
#[serial]
fn a_malformed_record_is_an_error_naming_its_line_and_chunk() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    write_orders(&input, 12);
    let mut text = std::fs::read_to_string(&input).unwrap();
    // Line 9 (record 8, in chunk 2 of 3-record chunks) gets a quantity that is not a number.
    let lines: Vec<&str> = text.lines().collect();
    let mut fields: Vec<String> = lines[8].split(',').map(str::to_owned).collect();
    fields[4] = "three".into();
    let bad = fields.join(",");
    text = lines[..8]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + &bad
        + "\n"
        + &lines[9..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>();
    std::fs::write(&input, text).unwrap();

    let err = CsvChunks::open(&input)
        .chunk_size(3)
        .progress(Progress::Off)
        .transform_to_csv(dir.path().join("out.csv"), clean)
        .unwrap_err();
    match &err {
        ChunkError::Malformed {
            line,
            chunk,
            record,
            message,
            ..
        } => {
            assert_eq!((*line, *chunk, *record), (9, 2, 8));
            assert!(message.contains("field 5"), "{message}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("line 9") && shown.contains("chunk 2") && shown.contains("bad.csv"),
        "{shown}"
    );
}

#[test]
#[serial]
fn malformed_records_can_be_skipped_and_counted() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.csv");
    write_orders(&input, 20);
    let mut text = std::fs::read_to_string(&input).unwrap();
    // A short record after line 6 (it becomes line 7), and one with a bad price at the end.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.insert(6, "999,1,2024-01-01".to_owned());
    lines.push("1000,1,2024-01-01,shipped,2,not-a-price,x".to_owned());
    text = lines.join("\n") + "\n";
    std::fs::write(&input, text).unwrap();

    let run = Pipeline::start("chunked_skip");
    let summary = CsvChunks::open(&input)
        .chunk_size(8)
        .skip_malformed(true)
        .progress(Progress::Off)
        .transform_to_csv(dir.path().join("out.csv"), clean)
        .unwrap();
    let report = run.finish();
    assert_eq!(summary.rows_in, 20);
    assert_eq!(summary.skipped, 2);
    assert_eq!(summary.skipped_lines, vec![7, 23]);
    assert_eq!(report.chunks.iter().map(|c| c.skipped).sum::<u64>(), 2);
    assert!(report.to_text().contains("2 malformed skipped"));
    let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(!out.contains("999,") && !out.contains("1000,"));
}

#[test]
#[serial]
fn a_failing_transform_names_its_chunk_and_counts_as_an_error() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    write_orders(&input, 25);
    let run = Pipeline::start("chunked_fail");
    let mut seen = 0;
    let err = CsvChunks::open(&input)
        .chunk_size(10)
        .progress(Progress::Off)
        .for_each_chunk(|chunk: monitor::chunked::Chunk<Order>| {
            seen += 1;
            if chunk.index == 1 {
                Err(format!("rejected order {}", chunk.rows[0].order_id))
            } else {
                Ok(chunk.rows.len() as u64)
            }
        })
        .unwrap_err();
    let report = run.finish();
    assert_eq!(seen, 2, "stops at the failing chunk");
    assert!(
        matches!(&err, ChunkError::Transform { chunk: 1, first_line: 12, source } if source == "rejected order 11")
    );
    assert_eq!(
        err.to_string(),
        "the transform failed on chunk 1 (records from line 12): rejected order 11"
    );
    let step = report.step("csv_chunk").unwrap();
    assert_eq!((step.site.calls, step.site.errors), (2, 1));
    assert_eq!(report.errors[0].message, "rejected order 11");
}

#[test]
#[serial]
fn without_a_terminal_each_chunk_logs_a_line() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    write_orders(&input, 250);
    let (summary, events) = monitor::testing::capture(|| {
        CsvChunks::open(&input)
            .name("orders_log")
            .chunk_size(100)
            .progress(Progress::Log)
            .for_each_chunk(
                |c: monitor::chunked::Chunk<Order>| Ok::<_, String>(c.rows.len() as u64),
            )
            .unwrap()
    });
    assert_eq!(summary.chunks, 3);
    let lines: Vec<_> = events
        .iter()
        .filter(|e| e.message == "chunk processed")
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|e| e.level == tracing::Level::INFO && e.str("job") == Some("orders_log")));
    assert_eq!(
        lines
            .iter()
            .map(|e| e.u64("rows_in").unwrap())
            .collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    assert_eq!(lines[2].u64("rows_total"), Some(250));
    assert!((lines[2].f64("progress_pct").unwrap() - 100.0).abs() < 1e-9);
}

#[test]
fn a_missing_input_is_a_clear_error() {
    monitor::testing::without_history();
    let err = CsvChunks::open("/nonexistent/orders.csv")
        .for_each_chunk(|c: monitor::chunked::Chunk<Order>| Ok::<_, String>(c.rows.len() as u64))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot open /nonexistent/orders.csv: "),
        "{err}"
    );
}
