//! Filling and reshaping databases: log import, merge, distill.

use super::lookup::USABLE;
use std::path::Path;

use super::{row, sql_err, ScheduleDb};
use crate::{DatasetError, TuningLog};

/// What [`ScheduleDb::import_log`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Records read from the log.
    pub records: usize,
    /// Records newly stored.
    pub added: usize,
    /// Records already in the database (stored once).
    pub duplicates: usize,
    /// Lines skipped, with file and line number (a torn last line left by a killed write).
    pub warnings: Vec<String>,
}

/// What [`ScheduleDb::merge`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeStats {
    /// Records read from the other database.
    pub records: usize,
    /// Records newly stored.
    pub added: usize,
    /// Records already in this database.
    pub duplicates: usize,
}

const MERGE_BATCH: i64 = 4096;

impl ScheduleDb {
    /// Imports every record of the tuning log at `path` in one transaction.
    ///
    /// A torn last line (a killed write) is skipped and reported in
    /// [`ImportStats::warnings`]; any other line that does not parse is an error naming its
    /// line ([`DatasetError::LogLine`]) and nothing of the log is stored.
    pub fn import_log(&mut self, path: impl AsRef<Path>) -> Result<ImportStats, DatasetError> {
        let contents = TuningLog::read(path)?;
        let added = self.commit_all(&contents.records)?;
        Ok(ImportStats {
            records: contents.records.len(),
            added,
            duplicates: contents.records.len() - added,
            warnings: contents.warnings,
        })
    }

    /// Copies every record of the database at `other` (which must exist) into this one, in
    /// batches of one transaction each; records already here are stored once.
    pub fn merge(&mut self, other: impl AsRef<Path>) -> Result<MergeStats, DatasetError> {
        let src = ScheduleDb::open_existing(other)?;
        let mut stats = MergeStats::default();
        let mut after = 0i64;
        loop {
            let batch: Vec<(i64, crate::Record)> = {
                let run = || -> rusqlite::Result<Vec<(i64, crate::Record)>> {
                    let mut st = src.conn.prepare(&format!(
                        "{} WHERE r.id > ?1 ORDER BY r.id LIMIT ?2",
                        row::SELECT.replacen("SELECT ", "SELECT r.id, ", 1)
                    ))?;
                    let rows = st.query_map([after, MERGE_BATCH], |r| {
                        Ok((r.get(0)?, row::record_of_offset(r, 1)?))
                    })?;
                    rows.collect()
                };
                run().map_err(|e| sql_err(&src.path, e))?
            };
            let Some(last) = batch.last() else { break };
            after = last.0;
            let records: Vec<crate::Record> = batch.into_iter().map(|(_, r)| r).collect();
            let added = self.commit_all(&records)?;
            stats.records += records.len();
            stats.added += added;
            stats.duplicates += records.len() - added;
        }
        Ok(stats)
    }

    /// Writes a new database at `dest` (which must not exist) holding only the fastest usable
    /// record of each workload on each target key; returns how many records it holds.
    pub fn distill(&self, dest: impl AsRef<Path>) -> Result<usize, DatasetError> {
        let dest = dest.as_ref();
        if dest.exists() {
            return Err(sql_err(dest, "distill destination already exists"));
        }
        let best = row::select(
            &self.conn,
            &format!(
                "WHERE r.id IN (SELECT id FROM (SELECT r.id AS id, ROW_NUMBER() OVER \
                 (PARTITION BY r.workload_id, t2.key ORDER BY r.rank_s, r.id) AS rn \
                 FROM records r JOIN targets t2 ON t2.id = r.target_id \
                 WHERE {USABLE}) WHERE rn = 1) ORDER BY r.id"
            ),
            [],
        )
        .map_err(|e| sql_err(&self.path, e))?;
        let mut out = ScheduleDb::open(dest)?;
        out.commit_all(&best)
    }
}
