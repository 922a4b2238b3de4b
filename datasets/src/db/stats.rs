//! [`DbStats`]: what a database holds.

use std::collections::BTreeMap;

use super::{sql_err, ScheduleDb};
use crate::DatasetError;

/// Counts over a database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Schema version of the file.
    pub schema_version: u32,
    /// Distinct workloads.
    pub workloads: u64,
    /// Distinct target keys (device classes).
    pub targets: u64,
    /// Records.
    pub records: u64,
    /// Records usable for lookups (`Ok` with a finite positive median).
    pub successes: u64,
    /// Failed records by failure kind (`build_error`, `wrong_answer`, …); `Ok` records with
    /// an unusable median count as `unusable_timing`.
    pub failures_by_kind: BTreeMap<String, u64>,
}

impl DbStats {
    /// All failed records.
    pub fn failures(&self) -> u64 {
        self.failures_by_kind.values().sum()
    }
}

impl ScheduleDb {
    /// Counts workloads, targets, records and failures by kind.
    pub fn stats(&self) -> Result<DbStats, DatasetError> {
        let run = || -> rusqlite::Result<DbStats> {
            let count = |sql: &str| -> rusqlite::Result<u64> {
                self.conn
                    .query_row(sql, [], |r| r.get::<_, i64>(0).map(|n| n as u64))
            };
            let mut st = self.conn.prepare(
                "SELECT COALESCE(error_kind, 'unusable_timing'), COUNT(*) FROM records \
                 WHERE rank_s IS NULL GROUP BY 1 ORDER BY 1",
            )?;
            let failures = st
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
            Ok(DbStats {
                schema_version: self
                    .conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))?,
                workloads: count("SELECT COUNT(*) FROM workloads")?,
                targets: count("SELECT COUNT(DISTINCT key) FROM targets")?,
                records: count("SELECT COUNT(*) FROM records")?,
                successes: count("SELECT COUNT(*) FROM records WHERE rank_s IS NOT NULL")?,
                failures_by_kind: failures,
            })
        };
        run().map_err(|e| sql_err(&self.path, e))
    }
}
