//! Tuning-log round trips and damage handling.

use std::io::Write;

use tilegrad_datasets::{
    DatasetError, Outcome, Provenance, Record, TargetInfo, Timings, TuningLog, LOG_VERSION,
};

fn record(i: u32, ok: bool) -> Record {
    Record {
        v: LOG_VERSION,
        workload_key: "dfad0297e2c50ee5".into(),
        workload: "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu".into(),
        target: TargetInfo {
            key: "cpu/x86_64/Test CPU/2".into(),
            kind: "cpu".into(),
            name: "Test CPU".into(),
            arch: String::new(),
            units: 2,
            driver: String::new(),
            toolchain: "gcc 12.2".into(),
        },
        sketch: "cpu-tiling".into(),
        assignment: format!("sp_i_1={},sp_j_1=4,unroll=16", 1 << (i % 4)),
        outcome: if ok {
            Outcome::Ok(Timings {
                samples_s: vec![1.5e-3, 1.25e-3, 1.75e-3],
                median_s: 1.5e-3,
                spread: 0.25,
                build_s: 0.0625,
                interference: None,
            })
        } else {
            Outcome::Error {
                kind: "build_error".into(),
                message: "k.c:3: error: expected ';'".into(),
            }
        },
        provenance: Provenance {
            tilegrad: "0.1.0".into(),
            model: "abc123".into(),
            policy: "gradient".into(),
            seed: 7,
            round: i,
            timestamp: 1_795_000_000.5 + i as f64,
        },
    }
}

/// Floats read back are bit-identical to those written (serde_json's `float_roundtrip`): the
/// database deduplicates a run's records against the same records re-read from its log on
/// resume, and timestamps such as this one parsed one ULP off without it.
#[test]
fn floats_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut written: Vec<Record> = (0..64).map(|i| record(i, true)).collect();
    for (i, r) in written.iter_mut().enumerate() {
        r.provenance.timestamp = 1_796_692_249.239_220_1 + i as f64 * 0.013_717;
        if let Outcome::Ok(t) = &mut r.outcome {
            t.median_s = 1.0 / (3.0 + i as f64);
        }
    }
    let mut log = TuningLog::open(&path).unwrap();
    log.append(&written).unwrap();
    drop(log);
    let read = TuningLog::read(&path).unwrap();
    for (a, b) in written.iter().zip(&read.records) {
        assert_eq!(
            a.provenance.timestamp.to_bits(),
            b.provenance.timestamp.to_bits()
        );
        assert_eq!(a, b);
    }
}

#[test]
fn every_field_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let written: Vec<Record> = (0..6).map(|i| record(i, i % 3 != 2)).collect();
    let mut log = TuningLog::open(&path).unwrap();
    log.append(&written[..4]).unwrap();
    log.append(&written[4..]).unwrap();
    drop(log);
    let read = TuningLog::read(&path).unwrap();
    assert_eq!(read.records, written);
    assert!(read.warnings.is_empty());
    assert_eq!(read.records[0].median_s(), Some(1.5e-3));
    assert_eq!(read.records[2].median_s(), None);
}

#[test]
fn torn_last_line_is_skipped_then_repaired_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    TuningLog::open(&path)
        .unwrap()
        .append(&[record(0, true), record(1, true)])
        .unwrap();
    let full = serde_json::to_string(&record(2, true)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&full.as_bytes()[..full.len() / 2])
        .unwrap();

    let read = TuningLog::read(&path).unwrap();
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.warnings.len(), 1);
    assert!(
        read.warnings[0].contains(":3: torn last line"),
        "{:?}",
        read.warnings
    );

    let mut log = TuningLog::open(&path).unwrap();
    assert!(log.repaired().unwrap().contains("torn"));
    log.append(&[record(3, false)]).unwrap();
    let read = TuningLog::read(&path).unwrap();
    assert_eq!(
        read.records,
        vec![record(0, true), record(1, true), record(3, false)]
    );
    assert!(read.warnings.is_empty());
}

#[test]
fn complete_last_record_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, serde_json::to_string(&record(0, true)).unwrap()).unwrap();
    let mut log = TuningLog::open(&path).unwrap();
    assert!(log.repaired().is_none());
    log.append(&[record(1, true)]).unwrap();
    assert_eq!(
        TuningLog::read(&path).unwrap().records,
        vec![record(0, true), record(1, true)]
    );
}

#[test]
fn corrupted_middle_line_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let good = serde_json::to_string(&record(0, true)).unwrap();
    std::fs::write(&path, format!("{good}\n{{\"v\":1,\"oops\n{good}\n")).unwrap();
    match TuningLog::read(&path) {
        Err(DatasetError::LogLine { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn newer_schema_is_refused_and_missing_version_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let mut v = serde_json::to_value(record(0, true)).unwrap();
    v["v"] = serde_json::json!(LOG_VERSION + 1);
    std::fs::write(&path, format!("{v}\n")).unwrap();
    let err = TuningLog::read(&path).unwrap_err().to_string();
    assert!(err.contains("newer") && err.contains(":1:"), "{err}");

    v.as_object_mut().unwrap().remove("v");
    std::fs::write(&path, format!("{v}\n")).unwrap();
    let err = TuningLog::read(&path).unwrap_err().to_string();
    assert!(err.contains("schema version"), "{err}");
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        TuningLog::read(dir.path().join("none.jsonl")),
        Err(DatasetError::Io { .. })
    ));
}
