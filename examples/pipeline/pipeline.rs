//! The example pipeline: a nightly ETL over a generated shop data set, monitored end to end.
//!
//! ```sh
//! cargo run --release --example pipeline                      # 1,000,000 orders
//! cargo run --release --example pipeline -- --orders 200000 --out target/reports
//! ```
//!
//! 1. generate customers and about a million orders as CSV (deterministic: same bytes every run,
//!    including a few malformed lines, as a partial upstream write would leave);
//! 2. clean the orders in chunks of 10,000 (CSV to CSV: skip malformed lines, drop cancelled
//!    orders, convert to EUR);
//! 3. load customers and cleaned orders into SQLite, chunk by chunk;
//! 4. run the seed's customer aggregation before and after indexing the date column, with its
//!    plan captured (`explain(..)`): the first plan scans the orders table and suggests the
//!    `CREATE INDEX` the second one uses; three more queries under `#[monitor_query]`;
//! 5. rank customers in memory, the way the seed's pandas step did: its true peak is printed
//!    next to the end-minus-start figure the seed would have shown;
//! 6. analytics on Parquet with DataFusion: the cleaned orders written as a Parquet file, and the
//!    last quarter's daily revenue queried from it (`monitor::datafusion::query!`), its plan and
//!    per-operator metrics kept from the one execution: over the file in order-id order every
//!    row group is read and the plan says to sort the file by date; over the copy sorted by date
//!    the same query skips the row groups outside the quarter;
//! 7. print the run's report, and write `report.json` and `report.html` (and append the Markdown
//!    form to `$GITHUB_STEP_SUMMARY` when it is set).
//!
//! Options: `--orders N` (default 1,000,000), `--customers N` (default 50,000), `--chunk N`
//! (default 10,000), `--out DIR` for the reports (default: the current directory), `--work DIR`
//! for the data (default: a temporary directory, removed at the end), `--runs N` to run it N
//! times into a temporary history, the last run slowed on purpose, so that the report shows a
//! regression verdict (`--runs 6`: five runs make the baseline), `--slower` to slow one step of
//! a single run on purpose.
//!
//! Logs go to stderr through a `tracing_subscriber::fmt` subscriber that honours `RUST_LOG`
//! (default `warn`; `RUST_LOG=monitor=info` shows every step and chunk).

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use monitor::chunked::{Chunk, CsvChunks, Progress};
use monitor::report::Format;
use monitor::{monitor_query, monitor_step, Pipeline};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

struct Options {
    orders: u64,
    customers: u64,
    chunk: usize,
    out: PathBuf,
    work: Option<PathBuf>,
    runs: u32,
    slower: bool,
}

fn options() -> Res<Options> {
    let mut o = Options {
        orders: 1_000_000,
        customers: 50_000,
        chunk: 10_000,
        out: PathBuf::from("."),
        work: None,
        runs: 1,
        slower: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--orders" => o.orders = value()?.parse().map_err(|e| format!("--orders: {e}"))?,
            "--customers" => {
                o.customers = value()?.parse().map_err(|e| format!("--customers: {e}"))?;
            }
            "--chunk" => o.chunk = value()?.parse().map_err(|e| format!("--chunk: {e}"))?,
            "--out" => o.out = PathBuf::from(value()?),
            "--work" => o.work = Some(PathBuf::from(value()?)),
            "--runs" => o.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--slower" => o.slower = true,
            "-h" | "--help" => {
                println!(
                    "usage: pipeline [--orders N] [--customers N] [--chunk N] [--out DIR] [--work DIR] \
                     [--runs N] [--slower]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    if o.customers == 0 {
        return Err("--customers must be at least 1".into());
    }
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(o)
}

/// A small deterministic generator (SplitMix64): the data set is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "Guido",
    "Hedy",
    "John",
    "Sophie",
    "Bjarne",
    "Joan",
    "Niklaus",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "van Rossum",
    "Lamarr",
    "Backus",
    "Wilson",
    "Stroustrup",
    "Clarke",
    "Wirth",
];
const COUNTRIES: &[&str] = &["DE", "FR", "GB", "US", "NL", "ES", "IT", "SE", "PL", "CA"];
const STATUSES: &[&str] = &[
    "delivered",
    "delivered",
    "delivered",
    "shipped",
    "shipped",
    "pending",
    "cancelled",
    "returned",
];
const CURRENCIES: &[&str] = &["EUR", "EUR", "EUR", "USD", "USD", "GBP"];

fn day(rng: &mut Rng) -> String {
    // 2023-01-01 .. 2024-12-28, months of 28 days keep it simple and valid.
    format!(
        "{}-{:02}-{:02}",
        2023 + rng.below(2),
        rng.below(12) + 1,
        rng.below(28) + 1
    )
}

// The datasets each step reads and writes, for OpenLineage (`MONITOR_OPENLINEAGE_URL`): the CSV
// files by their names in the work directory (a temporary one by default, so its path would
// change every run), the SQLite tables by database and table.
#[monitor_step(rows, outputs = "file:customers.csv")]
fn generate_customers(path: &Path, n: u64) -> Res<u64> {
    let mut rng = Rng(42);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        w,
        "id,customer_id,customer_name,email,country,customer_status,signup_date"
    )?;
    for id in 1..=n {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let status = match rng.below(10) {
            0 => "inactive",
            1 => "suspended",
            _ => "active",
        };
        writeln!(
            w,
            "{id},C{id:06},\"{first} {last}\",{}.{}{id}@example.com,{},{status},{}",
            first.to_lowercase(),
            last.to_lowercase().replace(' ', ""),
            rng.pick(COUNTRIES),
            day(&mut rng)
        )?;
    }
    w.flush()?;
    Ok(n)
}

#[monitor_step(rows, outputs = "file:orders.csv")]
fn generate_orders(path: &Path, n: u64, customers: u64) -> Res<u64> {
    let mut rng = Rng(7);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        w,
        "order_id,customer_id,order_date,status,product_sku,quantity,unit_price,currency"
    )?;
    for id in 1..=n {
        // A few customers buy a lot: square a uniform draw to skew towards low ids.
        let u = rng.below(1 << 20) as f64 / f64::from(1u32 << 20);
        let customer = ((u * u * customers as f64) as u64).min(customers - 1) + 1;
        let line = format!(
            "{id},{customer},{},{},SKU-{:05},{},{}.{:02},{}",
            day(&mut rng),
            rng.pick(STATUSES),
            rng.below(5_000),
            rng.below(5) + 1,
            rng.below(300) + 2,
            rng.below(100),
            rng.pick(CURRENCIES)
        );
        if id % 333_333 == 0 {
            // A partial write upstream: the line is cut short.
            writeln!(w, "{}", &line[..line.len() / 2])?;
        } else {
            writeln!(w, "{line}")?;
        }
    }
    w.flush()?;
    Ok(n)
}

#[derive(Debug, Deserialize)]
struct RawOrder {
    order_id: u64,
    customer_id: u64,
    order_date: String,
    status: String,
    product_sku: String,
    quantity: u32,
    unit_price: f64,
    currency: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    order_id: u64,
    customer_id: u64,
    order_date: String,
    status: String,
    product_sku: String,
    quantity: u32,
    total_amount: f64,
}

fn to_eur(amount: f64, currency: &str) -> f64 {
    let rate = match currency {
        "USD" => 0.92,
        "GBP" => 1.17,
        _ => 1.0,
    };
    (amount * rate * 100.0).round() / 100.0
}

/// Drops cancelled orders and converts every amount to EUR, one chunk at a time. `slower`
/// makes it half as slow again on purpose (`--slower`, and the last of `--runs N`), so that the
/// history's verdict has a regression to show.
#[monitor_step(inputs = "file:orders.csv", outputs = "file:orders_clean.csv")]
fn clean_orders(input: &Path, output: &Path, chunk: usize, slower: bool) -> Res<u64> {
    let started = Instant::now();
    let summary = CsvChunks::open(input)
        .name("clean_orders")
        .chunk_size(chunk)
        .skip_malformed(true)
        .progress(Progress::Auto)
        .transform_to_csv(output, |orders: Vec<RawOrder>| {
            Ok::<_, String>(
                orders
                    .into_iter()
                    .filter(|o| o.status != "cancelled")
                    .map(|o| Order {
                        total_amount: to_eur(f64::from(o.quantity) * o.unit_price, &o.currency),
                        order_id: o.order_id,
                        customer_id: o.customer_id,
                        order_date: o.order_date,
                        status: o.status,
                        product_sku: o.product_sku,
                        quantity: o.quantity,
                    })
                    .collect::<Vec<_>>(),
            )
        })?;
    monitor::record_rows_in(summary.rows_in + summary.skipped);
    monitor::record_rows(summary.rows_out);
    if slower {
        std::thread::sleep(started.elapsed() / 2);
    }
    if summary.skipped > 0 {
        eprintln!(
            "clean_orders: skipped {} malformed lines (lines {:?})",
            summary.skipped, summary.skipped_lines
        );
    }
    Ok(summary.rows_out)
}

#[monitor_query("create_schema")]
fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         CREATE TABLE dim_customers (
             id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, customer_name TEXT NOT NULL,
             email TEXT NOT NULL, country TEXT NOT NULL, customer_status TEXT NOT NULL,
             signup_date TEXT NOT NULL);
         CREATE TABLE fact_orders (
             order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, order_date TEXT NOT NULL,
             status TEXT NOT NULL, product_sku TEXT NOT NULL, quantity INTEGER NOT NULL,
             total_amount REAL NOT NULL);",
    )
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: u64,
    customer_id: String,
    customer_name: String,
    email: String,
    country: String,
    customer_status: String,
    signup_date: String,
}

#[monitor_query("insert_customers", rows)]
fn insert_customers(conn: &mut Connection, rows: &[Customer]) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare_cached("INSERT INTO dim_customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        for c in rows {
            stmt.execute(params![
                c.id as i64,
                c.customer_id,
                c.customer_name,
                c.email,
                c.country,
                c.customer_status,
                c.signup_date
            ])?;
        }
    }
    tx.commit()?;
    Ok(rows.len())
}

#[monitor_query("insert_orders", rows)]
fn insert_orders(conn: &mut Connection, rows: &[Order]) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare_cached("INSERT INTO fact_orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        for o in rows {
            stmt.execute(params![
                o.order_id as i64,
                o.customer_id as i64,
                o.order_date,
                o.status,
                o.product_sku,
                o.quantity,
                o.total_amount
            ])?;
        }
    }
    tx.commit()?;
    Ok(rows.len())
}

#[monitor_step(
    rows,
    inputs = "file:customers.csv",
    outputs = "sqlite://shop.sqlite/dim_customers"
)]
fn load_customers(conn: &mut Connection, path: &Path, chunk: usize) -> Res<u64> {
    load_csv(path, "load_customers", chunk, Progress::Off, |rows| {
        insert_customers(conn, rows)
    })
}

#[monitor_step(
    rows,
    inputs = "file:orders_clean.csv",
    outputs = "sqlite://shop.sqlite/fact_orders"
)]
fn load_orders(conn: &mut Connection, path: &Path, chunk: usize) -> Res<u64> {
    load_csv(path, "load_orders", chunk, Progress::Auto, |rows| {
        insert_orders(conn, rows)
    })
}

/// Loads a CSV file chunk by chunk with `insert`; the rows it wrote.
fn load_csv<T: serde::de::DeserializeOwned>(
    path: &Path,
    name: &str,
    chunk: usize,
    progress: Progress,
    mut insert: impl FnMut(&[T]) -> rusqlite::Result<usize>,
) -> Res<u64> {
    let summary = CsvChunks::open(path)
        .name(name)
        .chunk_size(chunk)
        .progress(progress)
        .for_each_chunk(|c: Chunk<T>| insert(&c.rows).map(|n| n as u64))?;
    Ok(summary.rows_out)
}

#[monitor_query("create_indexes", memory)]
fn create_indexes(conn: &Connection, statements: &str) -> rusqlite::Result<()> {
    conn.execute_batch(statements)
}

#[derive(Debug, Serialize)]
struct CustomerRevenue {
    customer_id: String,
    customer_name: String,
    order_count: u64,
    total_revenue: f64,
}

/// One customer's orders, as a dashboard or an API would ask for them.
const ORDERS_OF_CUSTOMER: &str =
    "SELECT order_id, order_date, total_amount FROM fact_orders WHERE customer_id = ?1";

/// One customer's orders, with every call's plan captured: the first calls scan the table and
/// their plan suggests an index; the calls after it is created search it.
#[monitor_query(
    "orders_of_customer",
    slow = "5ms",
    rows,
    explain(conn = conn, sql = sql, mode = "always")
)]
fn orders_of_customer(
    conn: &Connection,
    sql: &str,
    customer: u64,
) -> rusqlite::Result<Vec<(i64, String, f64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([customer as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// The start of the aggregations' window: the last quarter of the generated two years.
const SINCE: &str = "2024-10-01";

/// The seed's customer aggregation.
const CUSTOMER_AGGREGATION: &str = "SELECT c.customer_id, c.customer_name,
        COUNT(o.order_id) AS order_count, SUM(o.total_amount) AS total_revenue
 FROM fact_orders o
 JOIN dim_customers c ON o.customer_id = c.id
 WHERE o.order_date >= ?1 AND c.customer_status = 'active'
 GROUP BY c.customer_id, c.customer_name
 HAVING COUNT(o.order_id) > 5
 ORDER BY total_revenue DESC";

/// The seed's customer aggregation, on SQLite, with its plan captured on every call: the report
/// shows its plan and findings.
#[monitor_query(
    "customer_aggregation",
    slow = "250ms",
    rows,
    memory,
    explain(conn = conn, sql = sql, mode = "always")
)]
fn customer_aggregation(
    conn: &Connection,
    sql: &str,
    since: &str,
) -> rusqlite::Result<Vec<CustomerRevenue>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([since], |r| {
        Ok(CustomerRevenue {
            customer_id: r.get(0)?,
            customer_name: r.get(1)?,
            order_count: r.get::<_, i64>(2)? as u64,
            total_revenue: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// The seed's `get_customer_metrics`: purchases and spend per customer since a date.
#[monitor_query("customer_metrics", slow = "2s", rows, memory)]
fn customer_metrics(conn: &Connection, since: &str) -> rusqlite::Result<Vec<(i64, i64, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT customer_id, COUNT(*) AS purchase_count, SUM(total_amount) AS total_spent
         FROM fact_orders WHERE order_date >= ?1 GROUP BY customer_id",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

#[monitor_query("monthly_revenue", slow = "2s", rows, memory)]
fn monthly_revenue(conn: &Connection) -> rusqlite::Result<Vec<(String, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT substr(order_date, 1, 7) AS month, SUM(total_amount)
         FROM fact_orders WHERE status IN ('delivered', 'shipped')
         GROUP BY month ORDER BY month",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[monitor_query("revenue_by_country", slow = "2s", rows, memory)]
fn revenue_by_country(conn: &Connection) -> rusqlite::Result<Vec<(String, i64, f64)>> {
    let mut stmt = conn.prepare(
        "SELECT c.country, COUNT(DISTINCT c.id), SUM(o.total_amount)
         FROM fact_orders o JOIN dim_customers c ON o.customer_id = c.id
         GROUP BY c.country ORDER BY 3 DESC",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// The seed's pandas-style step: every cleaned order in memory, totals per customer, the top
/// 100 kept and the rest dropped before returning. RSS at the end is close to RSS at the start,
/// so end minus start (what the seed printed as "peak memory") says almost nothing; the true
/// peak in between is what this step costs.
#[monitor_step(rows, inputs = "file:orders_clean.csv")]
fn rank_customers_in_memory(path: &Path) -> Res<Vec<(u64, f64)>> {
    let mut orders: Vec<Order> = Vec::new();
    for o in csv::Reader::from_path(path)?.deserialize() {
        orders.push(o?);
    }
    let mut totals: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    for o in &orders {
        *totals.entry(o.customer_id).or_default() += o.total_amount;
    }
    let mut ranked: Vec<(u64, f64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(100);
    drop(orders);
    Ok(ranked)
}

#[monitor_step(rows, outputs = "file:top_customers.csv")]
fn export_top_customers(path: &Path, rows: &[CustomerRevenue]) -> Res<usize> {
    let mut w = csv::Writer::from_path(path)?;
    for r in rows.iter().take(1_000) {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(rows.len().min(1_000))
}

/// Rows per Parquet row group: small enough that a quarter of the two years spans only some of
/// them, so a file sorted by date lets the query skip the others.
const ROW_GROUP_ROWS: usize = 100_000;

/// The last quarter's revenue per day, as an analyst would ask it of the Parquet file.
const DAILY_REVENUE: &str = "SELECT order_date, count(*) AS orders, sum(total_amount) AS revenue
 FROM orders WHERE order_date >= '2024-10-01' GROUP BY order_date ORDER BY order_date";

/// A DataFusion session that writes row groups of [`ROW_GROUP_ROWS`].
fn analytics_session() -> Res<SessionContext> {
    let mut config = SessionConfig::new().with_target_partitions(2);
    config.options_mut().execution.parquet.max_row_group_size = ROW_GROUP_ROWS;
    Ok(SessionContext::new_with_config(config))
}

/// The cleaned orders as Parquet, in their order-id order and a copy sorted by date; rows written.
#[monitor_step(
    rows,
    inputs = "file:orders_clean.csv",
    outputs = "file:orders.parquet, file:orders_by_date.parquet"
)]
fn orders_to_parquet(rt: &tokio::runtime::Runtime, csv: &Path, work: &Path) -> Res<u64> {
    rt.block_on(async {
        let ctx = analytics_session()?;
        ctx.register_csv("orders_clean", path_str(csv)?, CsvReadOptions::new())
            .await?;
        let orders = ctx.table("orders_clean").await?;
        let written = orders
            .clone()
            .write_parquet(
                path_str(&work.join("orders.parquet"))?,
                DataFrameWriteOptions::new().with_single_file_output(true),
                None,
            )
            .await?;
        orders
            .sort_by(vec![datafusion::prelude::col("order_date")])?
            .write_parquet(
                path_str(&work.join("orders_by_date.parquet"))?,
                DataFrameWriteOptions::new().with_single_file_output(true),
                None,
            )
            .await?;
        // DataFusion answers a write with one row: the count of rows written.
        let count = written
            .first()
            .and_then(|b| b.column(0).as_primitive_opt::<UInt64Type>())
            .filter(|c| !c.is_empty())
            .map(|c| c.value(0))
            .ok_or("DataFusion's Parquet write returned no row count")?;
        Ok(count)
    })
}

/// The last quarter's daily revenue from one Parquet file of orders: one query site for both
/// files, so the report shows its plan over each.
async fn daily_revenue(path: &Path) -> Res<Vec<datafusion::arrow::array::RecordBatch>> {
    let ctx = analytics_session()?;
    ctx.register_parquet("orders", path_str(path)?, ParquetReadOptions::default())
        .await?;
    Ok(monitor::datafusion::query!("daily_revenue_parquet")
        .sql(&ctx, DAILY_REVENUE)
        .await?)
}

/// The analytics stage: the daily revenue over the file as written, then over the sorted copy.
#[monitor_step(rows, inputs = "file:orders.parquet, file:orders_by_date.parquet")]
fn analytics_on_parquet(rt: &tokio::runtime::Runtime, work: &Path) -> Res<u64> {
    rt.block_on(async {
        let unsorted = daily_revenue(&work.join("orders.parquet")).await?;
        let sorted = daily_revenue(&work.join("orders_by_date.parquet")).await?;
        let days: usize = sorted.iter().map(|b| b.num_rows()).sum();
        if days != unsorted.iter().map(|b| b.num_rows()).sum::<usize>() {
            return Err("the two Parquet files disagree on the daily revenue".into());
        }
        Ok(days as u64)
    })
}

fn path_str(path: &Path) -> Res<&str> {
    path.to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", path.display()).into())
}

fn run_pipeline(o: &Options, work: &Path, slower: bool) -> Res<()> {
    let customers_csv = work.join("customers.csv");
    let orders_csv = work.join("orders.csv");
    let clean_csv = work.join("orders_clean.csv");
    generate_customers(&customers_csv, o.customers)?;
    generate_orders(&orders_csv, o.orders, o.customers)?;
    clean_orders(&orders_csv, &clean_csv, o.chunk, slower)?;
    rank_customers_in_memory(&clean_csv)?;

    let db = work.join("shop.sqlite");
    // A fresh database each run (`--work` may hold the last one).
    let _ = std::fs::remove_file(&db);
    let mut conn = Connection::open(&db)?;
    create_schema(&conn)?;
    load_customers(&mut conn, &customers_csv, o.chunk)?;
    load_orders(&mut conn, &clean_csv, o.chunk)?;
    // Customer look-ups before the orders have an index: each call scans the table, is slow,
    // and its captured plan says which index would fix it ...
    let customers: Vec<u64> = (1..=5).map(|i| i * o.customers / 5).collect();
    for &c in &customers {
        orders_of_customer(&conn, ORDERS_OF_CUSTOMER, c)?;
    }
    let mut indexes = suggested_indexes("orders_of_customer");
    if indexes.is_empty() {
        // No plan was captured (`MONITOR_DISABLE=1`): create the index it suggests anyway, so the
        // pipeline does the same work monitored or not (and the two can be compared).
        indexes.push(
            "CREATE INDEX idx_fact_orders_customer_id ON fact_orders (customer_id);".to_owned(),
        );
    } else {
        println!("orders_of_customer's plan suggests: {}", indexes.join(" "));
    }
    indexes.push("CREATE INDEX fact_orders_date ON fact_orders (order_date);".to_owned());
    indexes.push("ANALYZE;".to_owned());
    create_indexes(&conn, &indexes.join("\n"))?;
    // ... and with it the same look-ups search the index (the report shows both plans).
    for &c in &customers {
        orders_of_customer(&conn, ORDERS_OF_CUSTOMER, c)?;
    }

    let top = customer_aggregation(&conn, CUSTOMER_AGGREGATION, SINCE)?;
    let metrics = customer_metrics(&conn, SINCE)?;
    let months = monthly_revenue(&conn)?;
    let countries = revenue_by_country(&conn)?;
    export_top_customers(&work.join("top_customers.csv"), &top)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    orders_to_parquet(&rt, &clean_csv, work)?;
    analytics_on_parquet(&rt, work)?;
    print_pruning("daily_revenue_parquet");

    println!(
        "{} active customers with more than 5 orders since {SINCE} (top: {} {}, {:.2} EUR); \
         {} customers bought since then; {} months; {} countries",
        top.len(),
        top.first().map_or("-", |t| t.customer_id.as_str()),
        top.first().map_or("-", |t| t.customer_name.as_str()),
        top.first().map_or(0.0, |t| t.total_revenue),
        metrics.len(),
        months.len(),
        countries.len()
    );
    Ok(())
}

/// Logs to stderr through a `tracing_subscriber::fmt` subscriber: `RUST_LOG` as usual
/// (`RUST_LOG=monitor=info` shows every step), `warn` when it is not set, so monitor's warnings
/// (a slow query, a history that cannot be written) are seen. Without any subscriber monitor
/// would print its warnings and errors on stderr itself.
fn install_logging() {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Errors end the example with their message (a path and the reason, not a `Debug` dump).
fn main() -> std::process::ExitCode {
    match run_example() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipeline: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_example() -> Res<()> {
    install_logging();
    let o = options()?;
    let started = Instant::now();
    let temp;
    let work = match &o.work {
        Some(w) => {
            std::fs::create_dir_all(w)?;
            w.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };

    // `--runs N`: a history of these runs only, in a temporary file, so the last run's verdict
    // compares it with the runs just made (five make a baseline).
    let history = if o.runs > 1 {
        let dir = tempfile::tempdir()?;
        monitor::history::HistorySettings::builder()
            .path(dir.path().join("history.jsonl"))
            .record(true)
            .install();
        Some(dir)
    } else {
        None
    };
    let mut outcome = Ok(());
    let mut last = None;
    for i in 1..=o.runs {
        let is_last = i == o.runs;
        let run = Pipeline::builder("nightly_etl")
            .label("example", "pipeline")
            .start();
        // The last of several runs is slowed on purpose: the verdict has something to find.
        outcome = run_pipeline(&o, &work, o.slower || (o.runs > 1 && is_last));
        let report = run.finish_with(&outcome);
        if !is_last {
            println!(
                "run {i} of {}: {} in {:.1} s",
                o.runs,
                report.status,
                report.duration_ms / 1000.0
            );
        }
        last = Some(report);
        if outcome.is_err() {
            break;
        }
    }
    let Some(report) = last else {
        return outcome;
    };

    // Rendering and writing the report is the program's own work after the run, timed apart.
    let rendering = Instant::now();
    println!("\n{}", report.to_text());
    print_true_peak(&report, "rank_customers_in_memory");
    std::fs::create_dir_all(&o.out)
        .map_err(|e| format!("cannot create {}: {e}", o.out.display()))?;
    let json = o.out.join("report.json");
    let html = o.out.join("report.html");
    // Whole files or none: a full disk leaves the previous report, never half of one.
    report.write_to(&json, Format::Json)?;
    report.write_to(&html, Format::Html)?;
    // In a GitHub Actions job, the report also lands in the job's summary page.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let append = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&summary)?;
            writeln!(f, "{}", report.to_markdown())
        };
        append().map_err(|e| {
            format!(
                "cannot append to {}: {e}",
                std::path::Path::new(&summary).display()
            )
        })?;
    }
    println!(
        "wrote {} and {} in {:.1} s (the report printed and written in {:.0} ms)",
        json.display(),
        html.display(),
        started.elapsed().as_secs_f64(),
        rendering.elapsed().as_secs_f64() * 1000.0
    );
    if history.is_none() {
        println!(
            "to see a regression verdict: cargo run --release --example pipeline -- --runs 6 \
             (six runs into a temporary history, the last one slowed on purpose)"
        );
    }
    outcome
}

/// The `CREATE INDEX` statements the plans captured for `query` suggest, as the report shows them.
fn suggested_indexes(query: &str) -> Vec<String> {
    let mut out: Vec<String> = monitor::snapshot()
        .site(query)
        .into_iter()
        .flat_map(|s| s.plans.iter())
        .flat_map(|p| p.plan.findings.iter())
        .filter_map(|f| f.suggestion.clone())
        .collect();
    out.dedup();
    out
}

/// What the Parquet query's plans say: the finding over the unsorted file, and the row groups
/// the sorted copy let the scan skip.
fn print_pruning(query: &str) {
    let snapshot = monitor::snapshot();
    let Some(site) = snapshot.site(query) else {
        return;
    };
    for captured in &site.plans {
        let plan = &captured.plan;
        let pruned = plan
            .text
            .split("row_groups_pruned=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or("none");
        match plan.findings.first() {
            Some(f) => println!("{query}: row groups pruned: {pruned}; {}", f.message),
            None => println!("{query}: row groups pruned: {pruned}; nothing flagged"),
        }
    }
}

/// The step's true peak next to the end-minus-start figure the seed printed as its peak.
fn print_true_peak(report: &monitor::Report, step: &str) {
    use monitor::report::units::bytes;
    let Some(m) = report
        .steps
        .iter()
        .find(|s| s.site.name == step)
        .map(|s| &s.site.memory)
    else {
        return;
    };
    let (Some(start), Some(end), Some(peak)) = (m.rss_start, m.rss_end, m.rss_peak) else {
        return;
    };
    let (start, end, peak) = (start.last, end.last, peak.last);
    let delta = if end >= start {
        format!("+{}", bytes(end - start))
    } else {
        format!("-{}", bytes(start - end))
    };
    println!(
        "{step}: true peak {} (+{} over its start); end minus start, the seed's \"peak\": {delta}",
        bytes(peak),
        bytes(peak.saturating_sub(start))
    );
}
