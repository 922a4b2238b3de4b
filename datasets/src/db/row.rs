//! Records to rows and back.

use rusqlite::{params, Connection, OptionalExtension, Params, Row};

use crate::{Outcome, Provenance, Record, TargetInfo, Timings};

/// A record ready to insert: its fingerprint and its samples as JSON.
pub(crate) struct Prepared<'a> {
    pub record: &'a Record,
    pub fingerprint: String,
    pub samples_json: Option<String>,
}

impl<'a> Prepared<'a> {
    /// Serialises what the insert needs (a JSON error is impossible for these plain types but
    /// still reported).
    pub fn of(record: &'a Record) -> Result<Prepared<'a>, serde_json::Error> {
        let json = serde_json::to_string(record)?;
        let samples_json = match &record.outcome {
            Outcome::Ok(t) => Some(serde_json::to_string(&t.samples_s)?),
            Outcome::Error { .. } => None,
        };
        Ok(Prepared {
            record,
            fingerprint: fingerprint(&json),
            samples_json,
        })
    }
}

/// FNV-1a 128 of `text`, 32 hex digits: the identity of a record.
pub(crate) fn fingerprint(text: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for &b in text.as_bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:032x}")
}

fn conflict(msg: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(msg.into())
}

fn workload_id(conn: &Connection, key: &str, text: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO workloads (key, text) VALUES (?1, ?2)")?
        .execute(params![key, text])?;
    let (id, stored): (i64, String) = conn
        .prepare_cached("SELECT id, text FROM workloads WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if stored != text {
        return Err(conflict(format!(
            "workload key {key} is stored for `{stored}` but the record says `{text}`"
        )));
    }
    Ok(id)
}

fn target_id(conn: &Connection, t: &TargetInfo) -> rusqlite::Result<i64> {
    let p = params![
        t.key,
        t.kind,
        t.name,
        t.arch,
        t.units,
        t.driver,
        t.toolchain
    ];
    let found = conn
        .prepare_cached(
            "SELECT id FROM targets WHERE key = ?1 AND kind = ?2 AND name = ?3 AND arch = ?4 \
             AND units = ?5 AND driver = ?6 AND toolchain = ?7",
        )?
        .query_row(p, |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO targets (key, kind, name, arch, units, driver, toolchain) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(p)?;
    Ok(conn.last_insert_rowid())
}

/// Inserts one record (workload and target rows as needed); 1 if new, 0 if already stored.
pub(crate) fn insert(conn: &Connection, p: &Prepared<'_>) -> rusqlite::Result<usize> {
    let r = p.record;
    let exists = conn
        .prepare_cached("SELECT 1 FROM records WHERE fingerprint = ?1")?
        .query_row([&p.fingerprint], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(0);
    }
    let w = workload_id(conn, &r.workload_key, &r.workload)?;
    let t = target_id(conn, &r.target)?;
    let (outcome, timings, err) = match &r.outcome {
        Outcome::Ok(t) => ("ok", Some(t), None),
        Outcome::Error { kind, message } => ("error", None, Some((kind, message))),
    };
    let pv = &r.provenance;
    conn.prepare_cached(
        "INSERT INTO records (fingerprint, workload_id, target_id, v, sketch, assignment, \
         outcome, rank_s, median_s, spread, build_s, samples_json, error_kind, error_message, \
         tilegrad, model, policy, seed, round, timestamp, interference) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
         ?21)",
    )?
    .execute(params![
        p.fingerprint,
        w,
        t,
        r.v,
        r.sketch,
        r.assignment,
        outcome,
        r.median_s(),
        timings.map(|t| t.median_s),
        timings.map(|t| t.spread),
        timings.map(|t| t.build_s),
        p.samples_json,
        err.map(|e| e.0),
        err.map(|e| e.1),
        pv.tilegrad,
        pv.model,
        pv.policy,
        pv.seed as i64,
        pv.round,
        pv.timestamp,
        timings.and_then(|t| t.interference),
    ])?;
    Ok(1)
}

/// The SELECT every record query starts with; `r`, `w`, `t` alias records, workloads, targets.
pub(crate) const SELECT: &str = "SELECT r.v, w.key, w.text, t.key, t.kind, t.name, t.arch, \
    t.units, t.driver, t.toolchain, r.sketch, r.assignment, r.outcome, r.median_s, r.spread, \
    r.build_s, r.samples_json, r.error_kind, r.error_message, r.tilegrad, r.model, r.policy, \
    r.seed, r.round, r.timestamp, r.interference FROM records r JOIN workloads w ON w.id = r.workload_id \
    JOIN targets t ON t.id = r.target_id";

fn bad(i: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, msg.into())
}

/// The record of a row of [`SELECT`].
pub(crate) fn record_of(row: &Row<'_>) -> rusqlite::Result<Record> {
    record_of_offset(row, 0)
}

/// The record of a row whose [`SELECT`] columns start at column `o`.
pub(crate) fn record_of_offset(row: &Row<'_>, o: usize) -> rusqlite::Result<Record> {
    let outcome: String = row.get(12 + o)?;
    let outcome = match outcome.as_str() {
        "ok" => {
            let samples: String = row.get::<_, Option<String>>(16 + o)?.unwrap_or_default();
            let samples_s =
                serde_json::from_str(&samples).map_err(|e| bad(16 + o, e.to_string()))?;
            Outcome::Ok(Timings {
                samples_s,
                median_s: row.get::<_, Option<f64>>(13 + o)?.unwrap_or(f64::NAN),
                spread: row.get::<_, Option<f64>>(14 + o)?.unwrap_or(f64::NAN),
                build_s: row.get::<_, Option<f64>>(15 + o)?.unwrap_or(f64::NAN),
                interference: row.get::<_, Option<f64>>(25 + o)?,
            })
        }
        _ => Outcome::Error {
            kind: row.get::<_, Option<String>>(17 + o)?.unwrap_or_default(),
            message: row.get::<_, Option<String>>(18 + o)?.unwrap_or_default(),
        },
    };
    Ok(Record {
        v: row.get(o)?,
        workload_key: row.get(1 + o)?,
        workload: row.get(2 + o)?,
        target: TargetInfo {
            key: row.get(3 + o)?,
            kind: row.get(4 + o)?,
            name: row.get(5 + o)?,
            arch: row.get(6 + o)?,
            units: row.get(7 + o)?,
            driver: row.get(8 + o)?,
            toolchain: row.get(9 + o)?,
        },
        sketch: row.get(10 + o)?,
        assignment: row.get(11 + o)?,
        outcome,
        provenance: Provenance {
            tilegrad: row.get(19 + o)?,
            model: row.get(20 + o)?,
            policy: row.get(21 + o)?,
            seed: row.get::<_, i64>(22 + o)? as u64,
            round: row.get(23 + o)?,
            timestamp: row.get(24 + o)?,
        },
    })
}

/// Records of [`SELECT`] followed by `rest` (WHERE / ORDER BY / LIMIT); commit order when
/// `rest` is empty.
pub(crate) fn select(
    conn: &Connection,
    rest: &str,
    params: impl Params,
) -> rusqlite::Result<Vec<Record>> {
    let rest = if rest.is_empty() {
        "ORDER BY r.id"
    } else {
        rest
    };
    let mut st = conn.prepare_cached(&format!("{SELECT} {rest}"))?;
    let rows = st.query_map(params, record_of)?;
    rows.collect()
}

/// The target description of a row `key, kind, name, arch, units, driver, toolchain`.
pub(crate) fn target_of(row: &Row<'_>) -> rusqlite::Result<TargetInfo> {
    Ok(TargetInfo {
        key: row.get(0)?,
        kind: row.get(1)?,
        name: row.get(2)?,
        arch: row.get(3)?,
        units: row.get(4)?,
        driver: row.get(5)?,
        toolchain: row.get(6)?,
    })
}

/// Every target row, ordered by key then id.
pub(crate) fn targets(conn: &Connection) -> rusqlite::Result<Vec<TargetInfo>> {
    let mut st = conn.prepare_cached(
        "SELECT key, kind, name, arch, units, driver, toolchain FROM targets ORDER BY key, id",
    )?;
    let rows = st.query_map([], target_of)?;
    rows.collect()
}
