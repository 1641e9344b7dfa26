//! Shared by the sqlx plan tests: the four connection shapes `explain(conn = ..)` takes, each a
//! monitored site running the file's `SQL` look-up, and reading a site's captured plans.
#![allow(dead_code)] // each test file uses part of it

use monitor::{CapturedPlan, Finding, FindingKind, Plan};

/// Declares `via_pool`, `via_pool_conn`, `via_conn` and `via_tx`: the file's `SQL` look-up by
/// customer through a pool, a pool connection, a connection and a transaction of database `db`,
/// each its own `#[monitor_query]` site (named by `sites`, in that order) with `rows` and
/// `explain(.., mode = "always")`; and `SITES`, those four names.
macro_rules! every_shape {
    (
        db = $db:ty,
        pool = $pool:ty,
        connection = $connection:ty,
        customer = $customer:ty,
        sites = [$pool_site:literal, $pool_conn_site:literal, $conn_site:literal, $tx_site:literal]
    ) => {
        #[monitor::monitor_query($pool_site, rows, explain(conn = pool, sql = SQL, mode = "always"))]
        async fn via_pool(pool: &$pool, customer: $customer) -> sqlx::Result<Vec<(i64, f64)>> {
            sqlx::query_as(SQL).bind(customer).fetch_all(pool).await
        }

        #[monitor::monitor_query($pool_conn_site, rows, explain(conn = conn, sql = SQL, mode = "always"))]
        async fn via_pool_conn(
            conn: &mut sqlx::pool::PoolConnection<$db>,
            customer: $customer,
        ) -> sqlx::Result<Vec<(i64, f64)>> {
            sqlx::query_as(SQL)
                .bind(customer)
                .fetch_all(&mut **conn)
                .await
        }

        #[monitor::monitor_query($conn_site, rows, explain(conn = conn, sql = SQL, mode = "always"))]
        async fn via_conn(
            conn: &mut $connection,
            customer: $customer,
        ) -> sqlx::Result<Vec<(i64, f64)>> {
            sqlx::query_as(SQL).bind(customer).fetch_all(conn).await
        }

        #[monitor::monitor_query($tx_site, rows, explain(conn = tx, sql = SQL, mode = "always"))]
        async fn via_tx(
            tx: &mut sqlx::Transaction<'_, $db>,
            customer: $customer,
        ) -> sqlx::Result<Vec<(i64, f64)>> {
            sqlx::query_as(SQL)
                .bind(customer)
                .fetch_all(&mut **tx)
                .await
        }

        const SITES: [&str; 4] = [$pool_site, $pool_conn_site, $conn_site, $tx_site];
    };
}
pub(crate) use every_shape;

/// The plans `site` has kept so far.
pub fn plans(site: &str) -> Vec<CapturedPlan> {
    monitor::snapshot()
        .site(site)
        .unwrap_or_else(|| panic!("site {site} recorded"))
        .plans
        .clone()
}

/// The one plan `site` has kept (failing if it kept none or several).
pub fn only_plan(site: &str) -> Plan {
    let plans = plans(site);
    assert_eq!(plans.len(), 1, "{site}: {plans:#?}");
    plans[0].plan.clone()
}

/// `plan`'s full-scan finding (failing if it flagged none).
pub fn full_scan<'p>(site: &str, plan: &'p Plan) -> &'p Finding {
    plan.findings
        .iter()
        .find(|f| f.kind == FindingKind::FullScan)
        .unwrap_or_else(|| panic!("{site}: full scan flagged: {:#?}", plan.findings))
}
