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
//! 4. run the seed's customer aggregation and three more queries under `#[monitor_query]`;
//! 5. print the run's report, and write `report.json` and `report.html` (and append the Markdown
//!    form to `$GITHUB_STEP_SUMMARY` when it is set).
//!
//! Options: `--orders N` (default 1,000,000), `--customers N` (default 50,000), `--chunk N`
//! (default 10,000), `--out DIR` for the reports (default: the current directory), `--work DIR`
//! for the data (default: a temporary directory, removed at the end).
//!
//! Logs go to stderr through a `tracing_subscriber::fmt` subscriber that honours `RUST_LOG`
//! (default `warn`; `RUST_LOG=monitor=info` shows every step and chunk).

use monitor::chunked::{Chunk, CsvChunks, Progress};
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
}

fn options() -> Res<Options> {
    let mut o = Options {
        orders: 1_000_000,
        customers: 50_000,
        chunk: 10_000,
        out: PathBuf::from("."),
        work: None,
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
            "-h" | "--help" => {
                println!(
                    "usage: pipeline [--orders N] [--customers N] [--chunk N] [--out DIR] [--work DIR]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    if o.customers == 0 {
        return Err("--customers must be at least 1".into());
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

#[monitor_step(rows)]
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

#[monitor_step(rows)]
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

/// Drops cancelled orders and converts every amount to EUR, one chunk at a time.
#[monitor_step]
fn clean_orders(input: &Path, output: &Path, chunk: usize) -> Res<u64> {
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

#[monitor_step(rows)]
fn load_customers(conn: &mut Connection, path: &Path, chunk: usize) -> Res<u64> {
    let summary = CsvChunks::open(path)
        .name("load_customers")
        .chunk_size(chunk)
        .progress(Progress::Off)
        .for_each_chunk(|c: Chunk<Customer>| insert_customers(conn, &c.rows).map(|n| n as u64))?;
    Ok(summary.rows_out)
}

#[monitor_step(rows)]
fn load_orders(conn: &mut Connection, path: &Path, chunk: usize) -> Res<u64> {
    let summary = CsvChunks::open(path)
        .name("load_orders")
        .chunk_size(chunk)
        .progress(Progress::Auto)
        .for_each_chunk(|c: Chunk<Order>| insert_orders(conn, &c.rows).map(|n| n as u64))?;
    Ok(summary.rows_out)
}

#[monitor_query("create_indexes", memory)]
fn create_indexes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE INDEX fact_orders_customer ON fact_orders (customer_id);
         CREATE INDEX fact_orders_date ON fact_orders (order_date);
         ANALYZE;",
    )
}

#[derive(Debug, Serialize)]
struct CustomerRevenue {
    customer_id: String,
    customer_name: String,
    order_count: u64,
    total_revenue: f64,
}

/// The seed's customer aggregation, on SQLite.
#[monitor_query("customer_aggregation", slow = "2s", rows, memory)]
fn customer_aggregation(conn: &Connection, since: &str) -> rusqlite::Result<Vec<CustomerRevenue>> {
    let mut stmt = conn.prepare(
        "SELECT c.customer_id, c.customer_name,
                COUNT(o.order_id) AS order_count, SUM(o.total_amount) AS total_revenue
         FROM fact_orders o
         JOIN dim_customers c ON o.customer_id = c.id
         WHERE o.order_date >= ?1 AND c.customer_status = 'active'
         GROUP BY c.customer_id, c.customer_name
         HAVING COUNT(o.order_id) > 5
         ORDER BY total_revenue DESC",
    )?;
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

#[monitor_step(rows)]
fn export_top_customers(path: &Path, rows: &[CustomerRevenue]) -> Res<usize> {
    let mut w = csv::Writer::from_path(path)?;
    for r in rows.iter().take(1_000) {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(rows.len().min(1_000))
}

fn run_pipeline(o: &Options, work: &Path) -> Res<()> {
    let customers_csv = work.join("customers.csv");
    let orders_csv = work.join("orders.csv");
    let clean_csv = work.join("orders_clean.csv");
    generate_customers(&customers_csv, o.customers)?;
    generate_orders(&orders_csv, o.orders, o.customers)?;
    clean_orders(&orders_csv, &clean_csv, o.chunk)?;

    let mut conn = Connection::open(work.join("shop.sqlite"))?;
    create_schema(&conn)?;
    load_customers(&mut conn, &customers_csv, o.chunk)?;
    load_orders(&mut conn, &clean_csv, o.chunk)?;
    create_indexes(&conn)?;

    let top = customer_aggregation(&conn, "2024-01-01")?;
    let metrics = customer_metrics(&conn, "2024-01-01")?;
    let months = monthly_revenue(&conn)?;
    let countries = revenue_by_country(&conn)?;
    export_top_customers(&work.join("top_customers.csv"), &top)?;

    println!(
        "{} active customers with more than 5 orders since 2024-01-01 (top: {} {}, {:.2} EUR); \
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

fn main() -> Res<()> {
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

    let run = Pipeline::builder("nightly_etl")
        .label("example", "pipeline")
        .start();
    let outcome = run_pipeline(&o, &work);
    let report = run.finish_with(&outcome);

    println!("\n{}", report.to_text());
    std::fs::create_dir_all(&o.out)?;
    let json = o.out.join("report.json");
    let html = o.out.join("report.html");
    std::fs::write(&json, report.to_json())?;
    std::fs::write(&html, report.to_html())?;
    // In a GitHub Actions job, the report also lands in the job's summary page.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(summary)?;
        writeln!(f, "{}", report.to_markdown())?;
    }
    println!(
        "wrote {} and {} in {:.1} s",
        json.display(),
        html.display(),
        started.elapsed().as_secs_f64()
    );
    outcome
}
