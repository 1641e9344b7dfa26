//! DataFusion plans (features `datafusion` and `parquet`): a query over a generated Parquet file
//! of two million rows runs once, as a query site, and its report carries the logical and
//! physical plans with each operator's metrics from that one execution; a filter that prunes no
//! row group is flagged with the change to make, and once the file is written sorted the same
//! query prunes and is not flagged; a sort that does not fit its memory pool spills and is
//! flagged; large repartitions are flagged.
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use monitor::{FindingKind, Pipeline, PlanSource};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serial_test::serial;
use std::path::Path;
use std::sync::Arc;

const ROWS: i64 = 2_000_000;
const TOP: &str = "SELECT customer_id, sum(amount) AS total FROM orders WHERE amount >= 990 \
                   GROUP BY customer_id ORDER BY total DESC LIMIT 10";

fn amount(id: i64) -> f64 {
    let x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (x % 100_000) as f64 / 100.0
}

/// Two million orders in row groups of 100,000; `sorted` writes them in order of amount.
fn write_orders(path: &Path, sorted: bool) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let mut ids: Vec<i64> = (0..ROWS).collect();
    if sorted {
        ids.sort_by(|a, b| amount(*a).total_cmp(&amount(*b)));
    }
    let props = WriterProperties::builder()
        .set_max_row_group_size(100_000)
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        schema.clone(),
        Some(props),
    )
    .unwrap();
    for chunk in ids.chunks(100_000) {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(chunk.to_vec())),
            Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|i| i % 50_000),
            )),
            Arc::new(Float64Array::from_iter_values(
                chunk.iter().map(|i| amount(*i)),
            )),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
            .unwrap();
    }
    w.close().unwrap();
}

async fn context(path: &Path, config: SessionConfig, memory: Option<usize>) -> SessionContext {
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(bytes) = memory {
        runtime = runtime.with_memory_limit(bytes, 1.0);
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc().unwrap());
    ctx.register_parquet(
        "orders",
        path.to_str().unwrap(),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    ctx
}

/// One site for both runs of the query (before and after the file is sorted).
async fn top_customers(ctx: &SessionContext) -> datafusion::error::Result<Vec<RecordBatch>> {
    monitor::datafusion::query!("top_customers")
        .sql(ctx, TOP)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[serial]
async fn a_query_keeps_its_plan_and_metrics_and_an_unpruned_scan_is_flagged() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.parquet");
    write_orders(&path, false);
    let config = SessionConfig::new().with_target_partitions(2);
    let ctx = context(&path, config.clone(), None).await;

    let run = Pipeline::start("datafusion_plans");
    let top = top_customers(&ctx).await.unwrap();
    let df = ctx
        .table("orders")
        .await
        .unwrap()
        .limit(0, Some(7))
        .unwrap();
    let first = monitor::datafusion::query!("first_orders")
        .collect(df)
        .await
        .unwrap();
    let report = run.finish();
    assert_eq!(top.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);
    assert_eq!(first.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);

    let q = report.query("top_customers").unwrap();
    assert_eq!((q.site.calls, q.site.rows), (1, Some(10)));
    let p = &q.plans[0].plan;
    println!("{}\n{:#?}", p.text, p.findings);
    assert_eq!(p.source, PlanSource::Datafusion);
    assert!(p.analyzed);
    assert_eq!(p.sql, "SELECT customer_id, sum(amount) AS total FROM orders WHERE amount >= ? GROUP BY customer_id ORDER BY total DESC LIMIT ?");
    assert!(p.text.starts_with("Logical plan:"), "{}", p.text);
    assert!(
        p.text.contains("Physical plan, after execution:"),
        "{}",
        p.text
    );
    assert!(p.text.contains("DataSourceExec"), "{}", p.text);
    assert!(
        p.text.contains("FilterExec: amount >= ?"),
        "literals are redacted: {}",
        p.text
    );
    // Per-operator metrics of the one execution: the scan read every row.
    let ops = p.json.as_ref().unwrap().as_array().unwrap();
    let scan = ops
        .iter()
        .find(|o| o["operator"] == "DataSourceExec")
        .unwrap();
    assert_eq!(scan["output_rows"], ROWS);
    assert_eq!(scan["row_groups_pruned_statistics"], 0);
    assert_eq!(scan["row_groups_matched_statistics"], 20);
    assert!(ops
        .iter()
        .filter(|o| o["operator"] != "RepartitionExec")
        .all(|o| o["output_rows"].is_u64()));
    let full = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::FullScan)
        .expect("the unpruned scan is flagged");
    assert!(
        full.message.contains("pruned none of its 20 row groups"),
        "{}",
        full.message
    );
    assert!(
        full.message.contains("sorted by the filtered columns"),
        "{}",
        full.message
    );
    // In the report under the query, like every plan.
    let text = report.to_text_width(200);
    assert!(
        text.contains("top_customers") && text.contains("DataSourceExec"),
        "{text}"
    );
    let df_sql = &report.query("first_orders").unwrap().plans[0].plan.sql;
    assert!(df_sql.starts_with("DataFrame"), "{df_sql}");

    // The change applied: the file written sorted by amount; the same query prunes row groups.
    let sorted = dir.path().join("orders_sorted.parquet");
    write_orders(&sorted, true);
    let ctx = context(&sorted, config, None).await;
    monitor::reset();
    let run = Pipeline::start("datafusion_sorted");
    top_customers(&ctx).await.unwrap();
    let report = run.finish();
    let p = &report.query("top_customers").unwrap().plans[0].plan;
    println!("{}", p.text);
    let scan = p
        .json
        .as_ref()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operator"] == "DataSourceExec")
        .unwrap()
        .clone();
    assert_eq!(scan["row_groups_pruned_statistics"], 19, "{scan}");
    assert!(
        p.findings.iter().all(|f| f.kind != FindingKind::FullScan),
        "{:?}",
        p.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[serial]
async fn a_sort_past_its_memory_spills_and_large_repartitions_are_flagged() {
    monitor::testing::without_history();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.parquet");
    write_orders(&path, false);
    // One partition, one sorter on one key: a 48 MiB pool for 32 MiB of batches spills twice.
    let config = SessionConfig::new().with_target_partitions(1);
    let ctx = context(&path, config, Some(48 << 20)).await;
    let run = Pipeline::start("datafusion_spill");
    let sorted = monitor::datafusion::query!("sorted_orders")
        .sql(&ctx, "SELECT order_id, amount FROM orders ORDER BY amount")
        .await
        .unwrap();
    // Without the memory limit: two million rows hash-partitioned on each side of the join.
    let unlimited = context(&path, SessionConfig::new().with_target_partitions(2), None).await;
    let joined = monitor::datafusion::query!("self_join")
        .sql(
            &unlimited,
            "SELECT count(*) AS n FROM orders a JOIN orders b ON a.order_id = b.order_id",
        )
        .await;
    let report = run.finish();
    assert_eq!(
        sorted.iter().map(RecordBatch::num_rows).sum::<usize>() as i64,
        ROWS
    );
    let p = &report.query("sorted_orders").unwrap().plans[0].plan;
    println!("{}\n{:#?}", p.text, p.findings);
    let kinds: Vec<FindingKind> = p.findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::Spill), "{kinds:?}");
    assert!(kinds.contains(&FindingKind::TempSort), "{kinds:?}");
    let spill = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Spill)
        .unwrap();
    assert!(
        spill.message.starts_with("SortExec spilled to disk"),
        "{}",
        spill.message
    );
    assert!(p.text.contains("spill_count="), "{}", p.text);

    // The join's repartitions of two million rows on each side are flagged.
    let q = report.query("self_join").unwrap();
    let n = joined.unwrap();
    assert_eq!(
        q.site.rows,
        Some(n.iter().map(|b| b.num_rows() as u64).sum())
    );
    let p = &q.plans[0].plan;
    println!("{}\n{:#?}", p.text, p.findings);
    let repartitions = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Repartition)
        .count();
    assert!(repartitions >= 1, "{:?}", p.findings);
    assert!(
        p.findings
            .iter()
            .any(|f| f.message.contains("moved 2000000 rows")),
        "{:?}",
        p.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[serial]
async fn switched_off_at_run_time_a_query_is_datafusions_own_collect() {
    let ctx = SessionContext::new();
    let sql = "SELECT column1 AS n FROM (VALUES (1), (2), (3)) WHERE column1 > 1";
    monitor::Config::builder().disabled(true).install();
    let got = monitor::datafusion::query!("switched_off")
        .sql(&ctx, sql)
        .await;
    monitor::Config::builder().disabled(false).install();
    let want = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    assert_eq!(got.unwrap(), want);
    assert!(
        monitor::snapshot().site("switched_off").is_none(),
        "nothing recorded, no plan built"
    );
}
