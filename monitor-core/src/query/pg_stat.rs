//! The server's own figures for a run, from PostgreSQL's `pg_stat_statements`.
//!
//! Take a [`PgStatStatements`] snapshot when the run starts and another when it ends; their
//! [`delta`](PgStatStatements::delta) is what the server did in between. [`join_sites`] matches
//! each named query (every `#[monitor_query(.., explain(conn = .., sql = ..))]` site knows its SQL)
//! to the server's entries by normalized text, and [`attach_to_report`] puts the figures into the
//! run's report next to the client-side ones:
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # fn demo(client: &mut postgres::Client) -> Result<(), monitor_core::pg_stat::PgStatError> {
//! use monitor_core::pg_stat::{attach_to_report, PgStatStatements};
//! let run = monitor_core::Pipeline::start("nightly");
//! let before = PgStatStatements::snapshot(client)?;
//! // ... the pipeline's queries ...
//! let after = PgStatStatements::snapshot(client)?;
//! let mut report = run.finish();
//! attach_to_report(&mut report, &before.delta(&after));
//! # Ok(()) }
//! ```
//!
//! The extension must be preloaded (`shared_preload_libraries = 'pg_stat_statements'`) and
//! created in the database (`CREATE EXTENSION pg_stat_statements`); a missing extension is an
//! error naming it, never a panic. Needs PostgreSQL 13 or later (`total_exec_time`). The query
//! texts kept here are normalized like everything else ([`crate::query::sql::normalize`]); the server
//! already replaces constants by `$n`.

use crate::query::sql;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One statement's cumulative figures on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgStatEntry {
    /// The server's statement id.
    pub queryid: i64,
    /// The statement text, normalized.
    pub query: String,
    /// Executions.
    pub calls: i64,
    /// Total execution time, milliseconds.
    pub total_exec_time_ms: f64,
    /// Rows returned or affected.
    pub rows: i64,
    /// Shared buffer hits.
    pub shared_blks_hit: i64,
    /// Shared blocks read (from the OS cache or disk).
    pub shared_blks_read: i64,
}

impl PgStatEntry {
    /// Mean execution time, milliseconds.
    #[must_use]
    pub fn mean_exec_time_ms(&self) -> f64 {
        if self.calls > 0 {
            #[allow(clippy::cast_precision_loss)]
            let m = self.total_exec_time_ms / self.calls as f64;
            m
        } else {
            0.0
        }
    }
}

/// `pg_stat_statements` as of one moment (this database's entries only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PgStatStatements {
    /// The entries, by `queryid`.
    pub entries: BTreeMap<i64, PgStatEntry>,
}

/// The view could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgStatError(String);

impl fmt::Display for PgStatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read pg_stat_statements: {}", self.0)
    }
}

impl std::error::Error for PgStatError {}

impl PgStatError {
    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    fn from_db(e: &tokio_postgres::Error) -> Self {
        let text = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned());
        let hint = if text.contains("pg_stat_statements") {
            " (is the extension preloaded with shared_preload_libraries and created with CREATE EXTENSION pg_stat_statements?)"
        } else {
            ""
        };
        PgStatError(format!("{}{hint}", sql::redact_literals(&text)))
    }
}

#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
const SNAPSHOT_SQL: &str = "SELECT queryid, query, calls, total_exec_time, rows, \
     shared_blks_hit, shared_blks_read FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND queryid IS NOT NULL";

impl PgStatStatements {
    #[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
    fn from_rows(rows: &[tokio_postgres::Row]) -> Self {
        let mut entries = BTreeMap::new();
        for r in rows {
            let (Ok(queryid), Ok(query), Ok(calls), Ok(time), Ok(n), Ok(hit), Ok(read)) = (
                r.try_get::<_, i64>(0),
                r.try_get::<_, String>(1),
                r.try_get::<_, i64>(2),
                r.try_get::<_, f64>(3),
                r.try_get::<_, i64>(4),
                r.try_get::<_, i64>(5),
                r.try_get::<_, i64>(6),
            ) else {
                continue;
            };
            // The same queryid can appear twice (top-level and nested); add them up.
            let e = entries.entry(queryid).or_insert_with(|| PgStatEntry {
                queryid,
                query: sql::normalize(&query),
                calls: 0,
                total_exec_time_ms: 0.0,
                rows: 0,
                shared_blks_hit: 0,
                shared_blks_read: 0,
            });
            e.calls += calls;
            e.total_exec_time_ms += time;
            e.rows += n;
            e.shared_blks_hit += hit;
            e.shared_blks_read += read;
        }
        PgStatStatements { entries }
    }

    /// Reads the view through a synchronous client.
    ///
    /// # Errors
    /// When the extension is missing or the query fails.
    #[cfg(feature = "postgres")]
    pub fn snapshot(client: &mut postgres::Client) -> Result<Self, PgStatError> {
        let rows = client
            .query(SNAPSHOT_SQL, &[])
            .map_err(|e| PgStatError::from_db(&e))?;
        Ok(Self::from_rows(&rows))
    }

    /// Reads the view through an async client.
    ///
    /// # Errors
    /// When the extension is missing or the query fails.
    #[cfg(feature = "tokio-postgres")]
    pub async fn snapshot_async(client: &tokio_postgres::Client) -> Result<Self, PgStatError> {
        let rows = client
            .query(SNAPSHOT_SQL, &[])
            .await
            .map_err(|e| PgStatError::from_db(&e))?;
        Ok(Self::from_rows(&rows))
    }

    /// What happened between `self` (earlier) and `later`: per statement, the differences, for
    /// statements that ran in between. A statement evicted or reset in between counts from zero.
    #[must_use]
    pub fn delta(&self, later: &PgStatStatements) -> Vec<PgStatEntry> {
        let mut out = Vec::new();
        for (id, e) in &later.entries {
            let d = match self.entries.get(id) {
                Some(b) if b.calls <= e.calls => PgStatEntry {
                    queryid: *id,
                    query: e.query.clone(),
                    calls: e.calls - b.calls,
                    total_exec_time_ms: (e.total_exec_time_ms - b.total_exec_time_ms).max(0.0),
                    rows: e.rows - b.rows,
                    shared_blks_hit: e.shared_blks_hit - b.shared_blks_hit,
                    shared_blks_read: e.shared_blks_read - b.shared_blks_read,
                },
                _ => e.clone(),
            };
            if d.calls > 0 {
                out.push(d);
            }
        }
        out
    }
}

/// The server's figures for one named query during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerQueryStats {
    /// The `#[monitor_query]` name.
    pub name: String,
    /// The site's SQL, normalized.
    pub sql: String,
    /// The matching `pg_stat_statements` ids.
    pub queryids: Vec<i64>,
    /// Executions on the server.
    pub calls: i64,
    /// Mean execution time on the server, milliseconds.
    pub mean_exec_time_ms: f64,
    /// Total execution time on the server, milliseconds.
    pub total_exec_time_ms: f64,
    /// Rows returned or affected.
    pub rows: i64,
    /// Shared buffer hits.
    pub shared_blks_hit: i64,
    /// Shared blocks read.
    pub shared_blks_read: i64,
}

/// Matches each query site that knows its SQL (`explain(..)` sites that have run) to the delta's
/// entries with the same normalized text.
#[must_use]
pub fn join_sites(delta: &[PgStatEntry]) -> Vec<ServerQueryStats> {
    let mut out = Vec::new();
    crate::query::explain_site::for_each_explain_site(|site| {
        let Some(site_sql) = site.sql() else {
            return;
        };
        let key = sql::fingerprint(site_sql);
        let matching: Vec<&PgStatEntry> = delta
            .iter()
            .filter(|e| sql::fingerprint(&e.query) == key)
            .collect();
        if matching.is_empty() {
            return;
        }
        let mut s = ServerQueryStats {
            name: site.callsite().metadata().name.to_owned(),
            sql: site_sql.to_owned(),
            queryids: matching.iter().map(|e| e.queryid).collect(),
            calls: 0,
            mean_exec_time_ms: 0.0,
            total_exec_time_ms: 0.0,
            rows: 0,
            shared_blks_hit: 0,
            shared_blks_read: 0,
        };
        for e in matching {
            s.calls += e.calls;
            s.total_exec_time_ms += e.total_exec_time_ms;
            s.rows += e.rows;
            s.shared_blks_hit += e.shared_blks_hit;
            s.shared_blks_read += e.shared_blks_read;
        }
        if s.calls > 0 {
            #[allow(clippy::cast_precision_loss)]
            let m = s.total_exec_time_ms / s.calls as f64;
            s.mean_exec_time_ms = m;
        }
        out.push(s);
    });
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Puts the server's figures into the report, next to each matching query.
pub fn attach_to_report(report: &mut crate::Report, delta: &[PgStatEntry]) {
    let joined = join_sites(delta);
    for q in &mut report.queries {
        q.server = joined.iter().find(|s| s.name == q.site.name).cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, q: &str, calls: i64, t: f64) -> PgStatEntry {
        PgStatEntry {
            queryid: id,
            query: q.into(),
            calls,
            total_exec_time_ms: t,
            rows: calls,
            shared_blks_hit: 10 * calls,
            shared_blks_read: calls,
        }
    }

    #[test]
    fn delta_subtracts_and_drops_idle_statements() {
        let a = PgStatStatements {
            entries: [
                (1, entry(1, "select $1", 5, 10.0)),
                (2, entry(2, "x", 3, 1.0)),
            ]
            .into(),
        };
        let b = PgStatStatements {
            entries: [
                (1, entry(1, "select $1", 8, 16.0)),
                (2, entry(2, "x", 3, 1.0)),
                (3, entry(3, "y", 2, 4.0)),
            ]
            .into(),
        };
        let d = a.delta(&b);
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].calls, d[0].total_exec_time_ms, d[0].shared_blks_hit),
            (3, 6.0, 30)
        );
        assert_eq!(d[0].mean_exec_time_ms(), 2.0);
        assert_eq!(d[1].queryid, 3);
    }
}
