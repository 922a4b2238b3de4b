//! Best-schedule lookups and their policy.
//!
//! [`ScheduleDb::best`] answers in this order, and says which rule answered:
//! 1. **Exact**: the fastest usable record of the workload on a target with the same
//!    [`TargetInfo::key`] (any driver or toolchain version of that device class).
//! 2. **Compatible**: no exact record, but one on a target of the same `kind` and the same
//!    *family*: the `arch` field when set (GPUs: `sm_90`, so an H100 record serves an H200),
//!    else the second `/`-separated part of the key (CPUs: the ISA, `x86_64` in
//!    `cpu/x86_64/<model>/<cores>`). Among compatible targets one with the same device
//!    `name` (e.g. the same CPU model with another core count) wins, then the fastest
//!    record. The answer carries the target it was tuned on and a warning to show the user.
//! 3. **Not tuned**: otherwise, with the reason (no record at all, only failures, or only
//!    records on incompatible targets). Never a silent fallback.
//!
//! A record is *usable* only if its outcome is `Ok` with a finite positive median: failed
//! builds, crashes, timeouts and wrong answers are never returned. And only while no later
//! head-to-head record of the same candidate exists (`policy = 'confirm'`: the tuner measured
//! a would-be best again, and that record's median is the candidate's time from then on): a
//! lucky single timing is not served once it has been contradicted.

use std::collections::BTreeMap;

use super::{row, sql_err, ScheduleDb};
use crate::{DatasetError, Record, TargetInfo};

/// The answer of [`ScheduleDb::best`].
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// Tuned on this very target (same key).
    Exact {
        /// The fastest usable record.
        record: Record,
    },
    /// Not tuned on this target; the best record of a compatible target (same family).
    Compatible {
        /// The fastest usable record of the chosen compatible target.
        record: Record,
        /// The target it was measured on.
        tuned_on: TargetInfo,
        /// What to tell the user (which target, why it was accepted).
        warning: String,
    },
    /// Nothing usable for this target or a compatible one.
    NotTuned {
        /// Why (no records, only failures, only incompatible targets).
        reason: String,
    },
}

impl Lookup {
    /// The record found, if any.
    pub fn record(&self) -> Option<&Record> {
        match self {
            Lookup::Exact { record } | Lookup::Compatible { record, .. } => Some(record),
            Lookup::NotTuned { .. } => None,
        }
    }

    /// `exact`, `compatible` or `not_tuned`.
    pub fn kind(&self) -> &'static str {
        match self {
            Lookup::Exact { .. } => "exact",
            Lookup::Compatible { .. } => "compatible",
            Lookup::NotTuned { .. } => "not_tuned",
        }
    }
}

/// The compatibility family of a target (see the module docs); empty means "none".
pub fn target_family(t: &TargetInfo) -> String {
    if !t.arch.is_empty() {
        return t.arch.clone();
    }
    t.key.split('/').nth(1).unwrap_or("").to_string()
}

/// A record that can be served: a success (`rank_s` set) that no later head-to-head record
/// of the same candidate (`policy = 'confirm'`, written by the tuner when it re-measures a
/// would-be best) supersedes. With alias `r` for `records`.
pub(crate) const USABLE: &str = "r.rank_s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records c \
     WHERE c.policy = 'confirm' AND c.workload_id = r.workload_id \
     AND c.target_id = r.target_id AND c.sketch = r.sketch AND c.assignment = r.assignment \
     AND (c.timestamp > r.timestamp OR (c.timestamp = r.timestamp AND c.id > r.id)))";

impl ScheduleDb {
    /// The best usable record of `workload_key` for `target`, by the policy of the module
    /// docs.
    pub fn best(&self, workload_key: &str, target: &TargetInfo) -> Result<Lookup, DatasetError> {
        let map = |e| sql_err(&self.path, e);
        let exact = row::select(
            &self.conn,
            &format!(
                "WHERE w.key = ?1 AND t.key = ?2 AND {USABLE} ORDER BY r.rank_s, r.id LIMIT 1"
            ),
            [workload_key, &target.key],
        )
        .map_err(map)?;
        if let Some(record) = exact.into_iter().next() {
            return Ok(Lookup::Exact { record });
        }
        let family = target_family(target);
        let others = row::select(
            &self.conn,
            &format!(
                "WHERE w.key = ?1 AND t.kind = ?2 AND t.key <> ?3 AND {USABLE} \
                 ORDER BY r.rank_s, r.id"
            ),
            [workload_key, &target.kind, &target.key],
        )
        .map_err(map)?;
        let compatible: Vec<Record> = others
            .into_iter()
            .filter(|r| !family.is_empty() && target_family(&r.target) == family)
            .collect();
        let chosen = compatible
            .iter()
            .find(|r| r.target.name == target.name)
            .or_else(|| compatible.first());
        if let Some(record) = chosen {
            let tuned_on = record.target.clone();
            let warning = format!(
                "workload {workload_key} is not tuned on `{}`; using the schedule tuned on the \
                 compatible target `{}` (same {} family `{family}`), which may be slower here; \
                 tune on this target for its own best schedule",
                target.key, tuned_on.key, target.kind
            );
            return Ok(Lookup::Compatible {
                record: record.clone(),
                tuned_on,
                warning,
            });
        }
        Ok(Lookup::NotTuned {
            reason: self.not_tuned_reason(workload_key, target)?,
        })
    }

    fn not_tuned_reason(
        &self,
        workload_key: &str,
        target: &TargetInfo,
    ) -> Result<String, DatasetError> {
        let all = row::select(&self.conn, "WHERE w.key = ?1 ORDER BY r.id", [workload_key])
            .map_err(|e| sql_err(&self.path, e))?;
        if all.is_empty() {
            return Ok(format!("workload {workload_key} has no records"));
        }
        let here: Vec<&Record> = all.iter().filter(|r| r.target.key == target.key).collect();
        if !here.is_empty() {
            let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
            for r in &here {
                let kind = match &r.outcome {
                    crate::Outcome::Error { kind, .. } => kind.clone(),
                    crate::Outcome::Ok(_) => "unusable_timing".to_string(),
                };
                *kinds.entry(kind).or_default() += 1;
            }
            let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            return Ok(format!(
                "all {} records of workload {workload_key} on `{}` failed ({}) and no \
                 compatible target has a working one",
                here.len(),
                target.key,
                kinds.join(", ")
            ));
        }
        let mut keys: Vec<&str> = all.iter().map(|r| r.target.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(format!(
            "workload {workload_key} has no working record on `{}` or a compatible target \
             ({} family `{}`); it has records on: {}",
            target.key,
            target.kind,
            target_family(target),
            keys.join(", ")
        ))
    }

    /// The `k` fastest usable records of `workload_key` on the target with key `target_key`
    /// (exact key only), fastest first.
    pub fn top_k(
        &self,
        workload_key: &str,
        target_key: &str,
        k: usize,
    ) -> Result<Vec<Record>, DatasetError> {
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        row::select(
            &self.conn,
            &format!(
                "WHERE w.key = ?1 AND t.key = ?2 AND {USABLE} ORDER BY r.rank_s, r.id LIMIT ?3"
            ),
            rusqlite::params![workload_key, target_key, k],
        )
        .map_err(|e| sql_err(&self.path, e))
    }
}
