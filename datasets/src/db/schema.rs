//! The database schema (version [`DB_SCHEMA_VERSION`], stored in SQLite's `user_version`).
//!
//! * `workloads(id, key UNIQUE, text)`: one row per workload key and its canonical text;
//! * `targets(id, key, kind, name, arch, units, driver, toolchain)`: one row per distinct
//!   [`crate::TargetInfo`] (unique over all fields, so records keep their exact driver and
//!   toolchain; lookups go by `key`);
//! * `records`: every field of a [`crate::Record`]; the outcome as `outcome` (`ok`/`error`),
//!   timings as columns with the samples as a JSON array, failures as `error_kind`/
//!   `error_message`; `rank_s` is the median of a usable success (finite, positive) and NULL
//!   otherwise, so failures and wrong answers can never rank; `fingerprint` (FNV-1a 128 of the
//!   record's JSON) is unique, which makes every commit idempotent.
//!
//! Indexes: `records_rank(workload_id, target_id, rank_s) WHERE rank_s IS NOT NULL` serves
//! best/top-k lookups; `targets_key(key)` the target lookups.

use rusqlite::Connection;

/// Schema version of databases written by this build.
pub const DB_SCHEMA_VERSION: u32 = 1;

const SCHEMA_V1: &str = "
CREATE TABLE workloads (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL
);
CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    arch TEXT NOT NULL,
    units INTEGER NOT NULL,
    driver TEXT NOT NULL,
    toolchain TEXT NOT NULL,
    UNIQUE (key, kind, name, arch, units, driver, toolchain)
);
CREATE INDEX targets_key ON targets(key);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    workload_id INTEGER NOT NULL REFERENCES workloads(id),
    target_id INTEGER NOT NULL REFERENCES targets(id),
    v INTEGER NOT NULL,
    sketch TEXT NOT NULL,
    assignment TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
    rank_s REAL,
    median_s REAL,
    spread REAL,
    build_s REAL,
    samples_json TEXT,
    error_kind TEXT,
    error_message TEXT,
    tilegrad TEXT NOT NULL,
    model TEXT NOT NULL,
    policy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    round INTEGER NOT NULL,
    timestamp REAL NOT NULL
);
CREATE INDEX records_rank ON records(workload_id, target_id, rank_s) WHERE rank_s IS NOT NULL;
CREATE INDEX records_error ON records(error_kind) WHERE error_kind IS NOT NULL;
";

/// What [`migrate`] found.
pub(crate) enum SchemaState {
    /// Ready at the current version.
    Current,
    /// Written by a newer build (its version).
    Newer(u32),
}

/// Creates the schema in an empty database (inside the caller's transaction) or checks the
/// version of an existing one.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<SchemaState> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > DB_SCHEMA_VERSION {
        return Ok(SchemaState::Newer(version));
    }
    if version == 0 {
        conn.execute_batch(SCHEMA_V1)?;
        conn.execute_batch(&format!("PRAGMA user_version = {DB_SCHEMA_VERSION}"))?;
    }
    Ok(SchemaState::Current)
}
