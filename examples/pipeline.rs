//! A small pipeline: three steps and a query, then the per-site snapshot as JSON.
use monitor::{monitor_query, monitor_step};

#[monitor_step(rows)]
fn extract(n: u64) -> Vec<u64> {
    (0..n).collect()
}

#[monitor_step]
fn transform(rows: &[u64]) -> Vec<u64> {
    monitor::record_rows_in(rows.len() as u64);
    let out: Vec<u64> = rows.iter().filter(|r| *r % 3 != 0).map(|r| r * 2).collect();
    monitor::record_rows(out.len() as u64);
    out
}

#[monitor_query("sum_orders", slow = "50ms")]
fn sum(rows: &[u64]) -> Result<u64, String> {
    rows.iter()
        .try_fold(0u64, |a, b| a.checked_add(*b))
        .ok_or_else(|| "overflow".to_owned())
}

fn main() {
    let rows = extract(1_000_000);
    let rows = transform(&rows);
    let total = sum(&rows).unwrap_or(0);
    println!("total = {total}");
    match serde_json::to_string_pretty(&monitor::snapshot()) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("could not render the snapshot: {e}"),
    }
}
