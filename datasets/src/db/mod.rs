//! [`ScheduleDb`]: the SQLite schedule database (rusqlite, bundled SQLite).
//!
//! Holds workloads, targets and every committed [`Record`] (schema in [`schema`]); answers
//! "what is the best schedule of this workload on this target" with an explicit lookup policy
//! ([`Lookup`], documented in [`lookup`]). It can always be rebuilt from tuning logs
//! ([`ScheduleDb::import_log`]).
//!
//! Several processes may write the same database at once: the database runs in WAL mode,
//! every connection waits up to [`BUSY_TIMEOUT`] for a lock, and every write is one
//! `BEGIN IMMEDIATE` transaction (the write lock is taken up front, so two writers never
//! deadlock upgrading read locks). Commits are idempotent: a record identical to a stored one
//! (same JSON) is stored once.

mod lookup;
mod maintain;
mod row;
pub mod schema;
mod stats;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::{DatasetError, Record, TargetInfo};

pub use lookup::Lookup;
pub use maintain::{ImportStats, MergeStats};
pub use schema::DB_SCHEMA_VERSION;
pub use stats::DbStats;

/// How long a connection waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open schedule database.
#[derive(Debug)]
pub struct ScheduleDb {
    path: PathBuf,
    conn: Connection,
}

fn sql_err(path: &Path, e: impl std::fmt::Display) -> DatasetError {
    DatasetError::Db {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

impl ScheduleDb {
    /// Opens the database at `path`, creating the file and its schema if needed.
    ///
    /// Errors: the file is not a database, or was written by a newer schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<ScheduleDb, DatasetError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_flags(path.as_ref(), flags)
    }

    /// Opens an existing database; an error (not an empty new database) if `path` is missing.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<ScheduleDb, DatasetError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(sql_err(path, "no such database file"));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_flags(path, flags)
    }

    fn open_flags(path: &Path, flags: OpenFlags) -> Result<ScheduleDb, DatasetError> {
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sql_err(path, e))?;
        let mode = wal_mode(&conn).map_err(|e| sql_err(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(sql_err(
                path,
                format!("could not switch to WAL mode (journal mode is `{mode}`)"),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| sql_err(path, e))?;
        let mut db = ScheduleDb {
            path: path.to_path_buf(),
            conn,
        };
        let state = db.write(|tx| schema::migrate(tx))?;
        if let schema::SchemaState::Newer(v) = state {
            return Err(sql_err(
                path,
                format!(
                    "database schema version {v} is newer than this build reads \
                     ({DB_SCHEMA_VERSION}); upgrade tilegrad"
                ),
            ));
        }
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` succeeds.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DatasetError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&self.path, e))?;
        let out = f(&tx).map_err(|e| sql_err(&self.path, e))?;
        tx.commit().map_err(|e| sql_err(&self.path, e))?;
        Ok(out)
    }

    /// Stores `record`; `Ok(false)` when an identical record was already stored.
    pub fn commit(&mut self, record: &Record) -> Result<bool, DatasetError> {
        Ok(self.commit_all(std::slice::from_ref(record))? == 1)
    }

    /// Stores `records` in one transaction (all or nothing); returns how many were new.
    pub fn commit_all(&mut self, records: &[Record]) -> Result<usize, DatasetError> {
        let prepared = records
            .iter()
            .map(row::Prepared::of)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_err(&self.path, e))?;
        self.write(|tx| {
            let mut added = 0;
            for p in &prepared {
                added += row::insert(tx, p)?;
            }
            Ok(added)
        })
    }

    /// Every stored record, in commit order.
    pub fn records(&self) -> Result<Vec<Record>, DatasetError> {
        row::select(&self.conn, "", []).map_err(|e| sql_err(&self.path, e))
    }

    /// Every distinct target description stored, ordered by key.
    pub fn targets(&self) -> Result<Vec<TargetInfo>, DatasetError> {
        row::targets(&self.conn).map_err(|e| sql_err(&self.path, e))
    }

    /// Every stored workload as `(key, canonical text)`, ordered by key.
    pub fn workloads(&self) -> Result<Vec<(String, String)>, DatasetError> {
        let run = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut st = self
                .conn
                .prepare("SELECT key, text FROM workloads ORDER BY key")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        run().map_err(|e| sql_err(&self.path, e))
    }
}

/// Switches `conn` to WAL mode and returns the journal mode now in force. SQLite does not call
/// the busy handler for a journal-mode change, so several processes opening a new database at
/// once get `SQLITE_BUSY` at once: retried here for up to [`BUSY_TIMEOUT`].
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}
