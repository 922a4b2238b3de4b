//! ScheduleDb: round trips, lookup policy, distill, merge, stats, log import.

mod db_support;

use std::io::Write;

use db_support::{cpu, failed, gpu, ok, W1, W2};
use tilegrad_datasets::{DatasetError, Lookup, ScheduleDb, TuningLog, DB_SCHEMA_VERSION};

/// `r` with its timings' interference set to `share`.
fn with_interference(mut r: tilegrad_datasets::Record, share: f64) -> tilegrad_datasets::Record {
    if let tilegrad_datasets::Outcome::Ok(t) = &mut r.outcome {
        t.interference = Some(share);
    }
    r
}

fn temp_db() -> (tempfile::TempDir, ScheduleDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = ScheduleDb::open(dir.path().join("s.db")).unwrap();
    (dir, db)
}

#[test]
fn every_field_round_trips_and_commits_are_idempotent() {
    let (dir, mut db) = temp_db();
    let t = cpu("x86_64", "Test CPU", 2);
    let g = gpu("sm_90", "NVIDIA H100", 132);
    let records = vec![
        with_interference(ok(W1, &t, 1, 1.5e-3), 0.375),
        failed(W1, &t, 2, "wrong_answer"),
        ok(W2, &g, 3, 2.0e-5),
        failed(W2, &g, 4, "build_error"),
    ];
    assert_eq!(db.commit_all(&records).unwrap(), 4);
    assert_eq!(
        db.commit_all(&records).unwrap(),
        0,
        "same records twice: stored once"
    );
    assert!(!db.commit(&records[0]).unwrap());
    let mut changed = records[0].clone();
    changed.provenance.timestamp += 1.0;
    assert!(db.commit(&changed).unwrap(), "a different record is new");
    drop(db);
    let db = ScheduleDb::open(dir.path().join("s.db")).unwrap();
    let mut want = records.clone();
    want.push(changed);
    assert_eq!(db.records().unwrap(), want);
    assert_eq!(db.targets().unwrap(), vec![t, g]);
    assert_eq!(
        db.workloads().unwrap(),
        vec![
            (W1.1.to_string(), W1.0.to_string()),
            (W2.1.to_string(), W2.0.to_string())
        ]
    );
}

#[test]
fn a_workload_key_with_two_texts_is_refused() {
    let (_dir, mut db) = temp_db();
    let t = cpu("x86_64", "Test CPU", 2);
    db.commit(&ok(W1, &t, 1, 1e-3)).unwrap();
    let mut bad = ok(W1, &t, 2, 1e-3);
    bad.workload = "matmul(M=1,N=1,K=1)".into();
    let err = db.commit_all(&[ok(W1, &t, 3, 1e-3), bad]).unwrap_err();
    assert!(err.to_string().contains("is stored for"), "{err}");
    assert_eq!(
        db.records().unwrap().len(),
        1,
        "the failed transaction stored nothing"
    );
}

/// `(target asked, expected kind, expected median or None, expected tuned_on key)`.
fn check(
    db: &ScheduleDb,
    w: &str,
    target: &tilegrad_datasets::TargetInfo,
    expect: (&str, Option<f64>, Option<&str>),
) {
    let got = db.best(w, target).unwrap();
    assert_eq!(got.kind(), expect.0, "{got:?}");
    assert_eq!(got.record().and_then(|r| r.median_s()), expect.1, "{got:?}");
    match (&got, expect.2) {
        (
            Lookup::Compatible {
                tuned_on,
                warning,
                record,
            },
            Some(key),
        ) => {
            assert_eq!(tuned_on.key, key);
            assert_eq!(&record.target, tuned_on);
            assert!(
                warning.contains(&target.key) && warning.contains(key),
                "{warning}"
            );
        }
        (Lookup::Compatible { .. }, None) => panic!("unexpected compatible answer {got:?}"),
        (_, Some(_)) => panic!("expected a compatible answer, got {got:?}"),
        _ => {}
    }
}

#[test]
fn lookup_policy_exact_compatible_not_tuned() {
    let (_dir, mut db) = temp_db();
    let h100 = gpu("sm_90", "NVIDIA H100", 132);
    let h200 = gpu("sm_90", "NVIDIA H200", 132);
    let a100 = gpu("sm_80", "NVIDIA A100", 108);
    let epyc2 = cpu("x86_64", "AMD EPYC", 2);
    let epyc8 = cpu("x86_64", "AMD EPYC", 8);
    let xeon = cpu("x86_64", "Intel Xeon", 16);
    let arm = cpu("aarch64", "Neoverse", 64);
    let mut h100_new_driver = h100.clone();
    h100_new_driver.driver = "560.1".into();
    db.commit_all(&[
        ok(W1, &h100, 1, 3e-5),
        ok(W1, &h100, 2, 2e-5),
        failed(W1, &h100, 3, "wrong_answer"),
        ok(W1, &h100_new_driver, 4, 2.5e-5),
        ok(W1, &xeon, 5, 1e-4),
        ok(W1, &epyc8, 6, 5e-4),
        failed(W2, &epyc2, 7, "build_error"),
        failed(W2, &epyc2, 8, "wrong_answer"),
        ok(W2, &arm, 9, 1e-3),
    ])
    .unwrap();
    // Exact key, any driver version; the fastest usable record.
    check(&db, W1.1, &h100, ("exact", Some(2e-5), None));
    check(&db, W1.1, &h100_new_driver, ("exact", Some(2e-5), None));
    // Same architecture: compatible with a warning.
    check(
        &db,
        W1.1,
        &h200,
        ("compatible", Some(2e-5), Some(&h100.key)),
    );
    // Other architecture: not tuned, never a silent fallback.
    check(&db, W1.1, &a100, ("not_tuned", None, None));
    // CPU: same model with other cores wins over a faster other model of the same ISA.
    check(
        &db,
        W1.1,
        &epyc2,
        ("compatible", Some(5e-4), Some(&epyc8.key)),
    );
    check(
        &db,
        W1.1,
        &cpu("x86_64", "Other", 4),
        ("compatible", Some(1e-4), Some(&xeon.key)),
    );
    check(&db, W1.1, &arm, ("not_tuned", None, None));
    // Only failures on the target (a compatible target has none either): not tuned.
    check(&db, W2.1, &epyc2, ("not_tuned", None, None));
    match db.best(W2.1, &epyc2).unwrap() {
        Lookup::NotTuned { reason } => {
            assert!(
                reason.contains("failed")
                    && reason.contains("1 build_error")
                    && reason.contains("1 wrong_answer"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    match db.best("00000000000000ff", &h100).unwrap() {
        Lookup::NotTuned { reason } => assert!(reason.contains("no records"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // top_k: exact key only, successes, fastest first.
    let top: Vec<f64> = db
        .top_k(W1.1, &h100.key, 5)
        .unwrap()
        .iter()
        .filter_map(|r| r.median_s())
        .collect();
    assert_eq!(top, vec![2e-5, 2.5e-5, 3e-5]);
    assert_eq!(db.top_k(W1.1, &h100.key, 1).unwrap().len(), 1);
    assert!(db.top_k(W2.1, &epyc2.key, 5).unwrap().is_empty());
}

#[test]
fn a_non_positive_or_nan_median_never_ranks() {
    let (_dir, mut db) = temp_db();
    let t = cpu("x86_64", "Test CPU", 2);
    db.commit_all(&[ok(W1, &t, 1, 0.0), ok(W1, &t, 2, -1.0)])
        .unwrap();
    assert_eq!(db.best(W1.1, &t).unwrap().kind(), "not_tuned");
    assert_eq!(
        db.stats().unwrap().failures_by_kind.get("unusable_timing"),
        Some(&2)
    );
}

#[test]
fn distill_keeps_the_best_per_workload_and_target() {
    let (dir, mut db) = temp_db();
    let t = cpu("x86_64", "Test CPU", 2);
    let g = gpu("sm_90", "NVIDIA H100", 132);
    db.commit_all(&[
        ok(W1, &t, 1, 3e-3),
        with_interference(ok(W1, &t, 2, 1e-3), 0.5),
        failed(W1, &t, 3, "crash"),
        ok(W1, &g, 4, 5e-5),
        ok(W1, &g, 5, 4e-5),
        ok(W2, &t, 6, 2e-3),
        failed(W2, &g, 7, "build_error"),
    ])
    .unwrap();
    let dest = dir.path().join("distilled.db");
    assert_eq!(db.distill(&dest).unwrap(), 3);
    let d = ScheduleDb::open_existing(&dest).unwrap();
    let mut got: Vec<(String, String, f64)> = d
        .records()
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.workload_key.clone(),
                r.target.key.clone(),
                r.median_s().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut want = vec![
        (W1.1.to_string(), t.key.clone(), 1e-3),
        (W1.1.to_string(), g.key.clone(), 4e-5),
        (W2.1.to_string(), t.key.clone(), 2e-3),
    ];
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, want);
    assert_eq!(d.best(W1.1, &t).unwrap(), db.best(W1.1, &t).unwrap());
    drop(d);
    let merged = db.merge(&dest).unwrap();
    assert_eq!(
        (merged.records, merged.added),
        (3, 0),
        "the distilled records are the source's own, interference included"
    );
    assert!(
        db.distill(&dest).is_err(),
        "an existing destination is refused"
    );
}

#[test]
fn merge_adds_only_new_records_and_stats_count_them() {
    let dir = tempfile::tempdir().unwrap();
    let t = cpu("x86_64", "Test CPU", 2);
    let g = gpu("sm_90", "NVIDIA H100", 132);
    let mut a = ScheduleDb::open(dir.path().join("a.db")).unwrap();
    let mut b = ScheduleDb::open(dir.path().join("b.db")).unwrap();
    let shared = ok(W1, &t, 1, 1e-3);
    a.commit_all(&[shared.clone(), failed(W1, &t, 2, "crash")])
        .unwrap();
    let b_records: Vec<_> = (0..5000u32)
        .map(|i| {
            if i.is_multiple_of(10) {
                failed(W2, &g, i, "run_timeout")
            } else {
                ok(W2, &g, i, 1e-5 + f64::from(i) * 1e-9)
            }
        })
        .chain([shared.clone()])
        .collect();
    b.commit_all(&b_records).unwrap();
    drop(b);
    let m = a.merge(dir.path().join("b.db")).unwrap();
    assert_eq!((m.records, m.added, m.duplicates), (5001, 5000, 1));
    let again = a.merge(dir.path().join("b.db")).unwrap();
    assert_eq!((again.added, again.duplicates), (0, 5001));
    let s = a.stats().unwrap();
    assert_eq!(s.schema_version, DB_SCHEMA_VERSION);
    assert_eq!(
        (s.workloads, s.targets, s.records, s.successes),
        (2, 2, 5002, 4501)
    );
    assert_eq!(s.failures(), 501);
    assert_eq!(s.failures_by_kind.get("crash"), Some(&1));
    assert_eq!(s.failures_by_kind.get("run_timeout"), Some(&500));
    assert_eq!(
        a.best(W2.1, &g).unwrap().record().unwrap().median_s(),
        Some(1e-5 + 1e-9)
    );
    assert!(a.merge(dir.path().join("missing.db")).is_err());
}

#[test]
fn import_of_a_log_with_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = cpu("x86_64", "Test CPU", 2);
    let log_path = dir.path().join("log.jsonl");
    let written = vec![
        ok(W1, &t, 1, 2e-3),
        failed(W1, &t, 2, "build_error"),
        ok(W1, &t, 3, 1e-3),
    ];
    TuningLog::open(&log_path)
        .unwrap()
        .append(&written)
        .unwrap();
    let torn = serde_json::to_string(&ok(W1, &t, 4, 1e-9)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap()
        .write_all(&torn.as_bytes()[..torn.len() / 2])
        .unwrap();
    let mut db = ScheduleDb::open(dir.path().join("s.db")).unwrap();
    let s = db.import_log(&log_path).unwrap();
    assert_eq!((s.records, s.added, s.duplicates), (3, 3, 0));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].contains(":4:") && s.warnings[0].contains("torn"),
        "{:?}",
        s.warnings
    );
    assert_eq!(db.records().unwrap(), written);
    assert_eq!(
        db.best(W1.1, &t).unwrap().record().unwrap().median_s(),
        Some(1e-3)
    );
    let again = db.import_log(&log_path).unwrap();
    assert_eq!((again.added, again.duplicates), (0, 3));
    // A corrupt middle line: an error naming the line, nothing stored.
    let bad_path = dir.path().join("bad.jsonl");
    let lines = [
        serde_json::to_string(&ok(W2, &t, 1, 1e-3)).unwrap(),
        "{not json".into(),
        serde_json::to_string(&ok(W2, &t, 2, 1e-3)).unwrap(),
    ];
    std::fs::write(&bad_path, lines.join("\n") + "\n").unwrap();
    match db.import_log(&bad_path) {
        Err(DatasetError::LogLine { line, .. }) => assert_eq!(line, 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.records().unwrap().len(), 3);
}

#[test]
fn open_refuses_missing_files_newer_schemas_and_non_databases() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ScheduleDb::open_existing(dir.path().join("none.db")).is_err());
    let newer = dir.path().join("newer.db");
    drop(ScheduleDb::open(&newer).unwrap());
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute_batch(&format!("PRAGMA user_version = {}", DB_SCHEMA_VERSION + 1))
        .unwrap();
    drop(conn);
    let err = ScheduleDb::open(&newer).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    assert!(ScheduleDb::open(&junk).is_err());
}

#[test]
fn a_version_1_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let t = cpu("x86_64", "Test CPU", 2);
    let old = ok(W1, &t, 1, 2e-3);
    ScheduleDb::open(&path).unwrap().commit(&old).unwrap();
    // What version 1 wrote: no interference column.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("ALTER TABLE records DROP COLUMN interference; PRAGMA user_version = 1")
        .unwrap();
    drop(conn);
    let mut db = ScheduleDb::open_existing(&path).unwrap();
    assert_eq!(db.stats().unwrap().schema_version, DB_SCHEMA_VERSION);
    let new = with_interference(ok(W1, &t, 2, 1e-3), 0.25);
    assert!(db.commit(&new).unwrap());
    assert_eq!(db.records().unwrap(), vec![old, new]);
}

/// A head-to-head record (the tuner's re-measurement) of candidate `i`, at time `at`.
fn confirm(
    i: u32,
    t: &tilegrad_datasets::TargetInfo,
    median_s: f64,
    at: f64,
) -> tilegrad_datasets::Record {
    let mut r = ok(W1, t, i, median_s);
    r.provenance.policy = "confirm".into();
    r.provenance.timestamp = at;
    r
}

#[test]
fn a_later_confirmation_supersedes_a_candidates_earlier_records() {
    let (dir, mut db) = temp_db();
    let t = cpu("x86_64", "Test CPU", 2);
    // Candidate 1 measured lucky at 1 ms, candidate 2 at 2 ms; re-measured, 1 takes 3 ms.
    let (one, two) = (ok(W1, &t, 1, 1e-3), ok(W1, &t, 2, 2e-3));
    let later = one.provenance.timestamp + 100.0;
    db.commit_all(&[one.clone(), two.clone(), confirm(1, &t, 3e-3, later)])
        .unwrap();
    let best = db.best(W1.1, &t).unwrap();
    assert_eq!(best.record().map(|r| &r.assignment), Some(&two.assignment));
    let top = db.top_k(W1.1, &t.key, 5).unwrap();
    let ranked: Vec<f64> = top.iter().filter_map(|r| r.median_s()).collect();
    assert_eq!(
        ranked,
        vec![2e-3, 3e-3],
        "the lucky 1 ms is no longer served"
    );
    let dest = dir.path().join("distilled.db");
    db.distill(&dest).unwrap();
    let d = ScheduleDb::open_existing(&dest).unwrap();
    assert_eq!(d.best(W1.1, &t).unwrap(), best);
    // A confirmation that the candidate is faster makes it the best, at its confirmed time.
    db.commit_all(&[confirm(1, &t, 1.5e-3, later + 1.0)])
        .unwrap();
    let best = db.best(W1.1, &t).unwrap();
    assert_eq!(best.record().and_then(|r| r.median_s()), Some(1.5e-3));
}
