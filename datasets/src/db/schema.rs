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
//!   record's JSON) is unique, which makes every commit idempotent; `interference` (since
//!   version 2) is the timings' share of other processes' CPU time, NULL where unknown.
//!
//! Version 1 lacked `interference`: a record read back lost it, so its JSON (and fingerprint)
//! changed, and a distilled or merged copy counted as a new record. [`migrate`] adds the
//! column to a version 1 database (its old records keep NULL).
//!
//! Indexes: `records_rank(workload_id, target_id, rank_s) WHERE rank_s IS NOT NULL` serves
//! best/top-k lookups; `targets_key(key)` the target lookups.

use rusqlite::Connection;

/// Schema version of databases written by this build.
pub const DB_SCHEMA_VERSION: u32 = 2;

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

/// Version 1 to 2: the timings' interference.
const V1_TO_V2: &str = "ALTER TABLE records ADD COLUMN interference REAL;";

/// What [`migrate`] found.
pub(crate) enum SchemaState {
    /// Ready at the current version.
    Current,
    /// Written by a newer build (its version).
    Newer(u32),
}

/// Creates the schema in an empty database, or upgrades an older one to the current
/// version (inside the caller's transaction), or reports a newer one.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<SchemaState> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > DB_SCHEMA_VERSION {
        return Ok(SchemaState::Newer(version));
    }
    if version == DB_SCHEMA_VERSION {
        return Ok(SchemaState::Current);
    }
    if version == 0 {
        conn.execute_batch(SCHEMA_V1)?;
    }
    if version <= 1 {
        conn.execute_batch(V1_TO_V2)?;
    }
    conn.execute_batch(&format!("PRAGMA user_version = {DB_SCHEMA_VERSION}"))?;
    Ok(SchemaState::Current)
}
