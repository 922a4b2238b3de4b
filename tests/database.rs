//! `tilegrad::Database`: lookups rebuild the measured kernel; the policy is explicit.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad::database::target_info;
use tilegrad::datasets::{Outcome, Provenance, Record, ScheduleDb, Timings, LOG_VERSION};
use tilegrad::measure::codegen::{c, cuda};
use tilegrad::measure::cpu_measurer::entry_name;
use tilegrad::symbolic::Target;
use tilegrad::templates::{sketches, Workload};
use tilegrad::{Database, Error, Language, Launch, LookupKind};

const MATMUL: &str = "matmul(M=64,N=32,K=16)";

/// A record of the first sketch with id prefix `rule` for `w` on `t`, at a seeded random
/// legal assignment; `ok` is the median, `None` a wrong answer.
fn record(w: &Workload, t: &Target, rule: &str, seed: u64, median: Option<f64>) -> Record {
    let sk = sketches(w, t).unwrap();
    let s = sk.iter().find(|s| s.id.starts_with(rule)).unwrap();
    let a = s.sample(&mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
    Record {
        v: LOG_VERSION,
        workload_key: w.key().to_string(),
        workload: w.to_string(),
        target: target_info(t),
        sketch: s.id.clone(),
        assignment: a.to_string(),
        outcome: match median {
            Some(m) => Outcome::Ok(Timings {
                samples_s: vec![m, m * 1.1],
                median_s: m,
                spread: 0.1,
                build_s: 0.2,
                interference: None,
            }),
            None => Outcome::Error {
                kind: "wrong_answer".into(),
                message: "max error 3.5".into(),
            },
        },
        provenance: Provenance {
            tilegrad: "0.1.0".into(),
            model: String::new(),
            policy: "random".into(),
            seed,
            round: 0,
            timestamp: 1.0e9,
        },
    }
}

/// The kernel source the measurement of `r` compiled, for checking the rebuild.
fn source_of(r: &Record, w: &Workload, t: &Target) -> (String, String) {
    let sk = sketches(w, t).unwrap();
    let s = sk.iter().find(|s| s.id == r.sketch).unwrap();
    let tree = s
        .instantiate(&s.space.parse_assignment(&r.assignment).unwrap())
        .unwrap();
    let entry = entry_name(&tree);
    let src = match t.cpu() {
        Some(cpu) => c::emit_with(
            &tree,
            &entry,
            &c::COptions {
                simd_bytes: cpu.simd_bytes,
            },
        )
        .unwrap(),
        None => cuda::emit(&tree, &entry).unwrap().source,
    };
    (src, entry)
}

#[test]
fn best_rebuilds_the_fastest_working_kernel_and_reports_the_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w: Workload = MATMUL.parse().unwrap();
    let cpu = tilegrad::measure::host_cpu(Some(1));
    let h100 = Target::preset("h100-sxm").unwrap();
    let slow = record(&w, &cpu, "cpu-tiling", 1, Some(2e-4));
    let fast = record(&w, &cpu, "cpu-tiling", 2, Some(1e-4));
    let wrong = record(&w, &cpu, "cpu-tiling", 3, None);
    let gpu = record(&w, &h100, "gpu-tiling", 4, Some(5e-6));
    let mut db = ScheduleDb::open(&path).unwrap();
    db.commit_all(&[slow, fast.clone(), wrong, gpu.clone()])
        .unwrap();
    drop(db);

    let db = Database::open(&path).unwrap();
    let k = db.best(&w, &cpu).unwrap();
    let (src, entry) = source_of(&fast, &w, &cpu);
    assert_eq!(
        (k.source.as_str(), k.entry.as_str()),
        (src.as_str(), entry.as_str())
    );
    assert_eq!(k.language, Language::C);
    assert_eq!(k.launch, Launch::Cpu { threads: 1 });
    assert_eq!(k.lookup, LookupKind::Exact);
    assert_eq!((k.median_s, &k.record), (1e-4, &fast));
    let shapes: Vec<Vec<usize>> = k.params.iter().map(|p| p.shape.clone()).collect();
    let mut want = w.input_shapes();
    want.push(w.output_shape());
    assert_eq!(shapes, want);
    assert_eq!(k.params.iter().filter(|p| p.output).count(), 1);
    assert!(k.params.last().unwrap().output && k.params.iter().all(|p| p.dtype == "f32"));
    let json = serde_json::to_value(&k).unwrap();
    assert_eq!(
        json["launch"],
        serde_json::json!({"kind": "cpu", "threads": 1})
    );
    assert_eq!(json["lookup"]["kind"], "exact");

    // H200 (same sm_90 as the H100 it was tuned on): compatible, with a warning.
    let h200 = Target::preset("h200").unwrap();
    let k = db.best(&w, &h200).unwrap();
    let (src, entry) = source_of(&gpu, &w, &h200);
    assert_eq!((k.source, k.entry), (src, entry));
    assert_eq!(k.language, Language::Cuda);
    match (&k.launch, &k.lookup) {
        (Launch::Cuda { grid, block, .. }, LookupKind::Compatible { tuned_on, warning }) => {
            assert!(grid.iter().product::<u32>() >= 1 && block.iter().product::<u32>() >= 1);
            assert_eq!(tuned_on.key, target_info(&h100).key);
            assert!(warning.contains(&tuned_on.key), "{warning}");
        }
        other => panic!("{other:?}"),
    }
    // A100 (sm_80): not tuned, never a fallback.
    match db.best(&w, &Target::preset("a100").unwrap()) {
        Err(Error::NotTuned { target, reason, .. }) => {
            assert!(
                target.contains("sm_80") && reason.contains("sm_90"),
                "{target}: {reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A different workload: not tuned.
    let other: Workload = "matmul(M=8,N=8,K=8)".parse().unwrap();
    assert!(matches!(db.best(&other, &cpu), Err(Error::NotTuned { .. })));
}

#[test]
fn a_record_that_no_longer_applies_is_an_error_not_another_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let w: Workload = MATMUL.parse().unwrap();
    let t4 = Target::preset("t4").unwrap();
    let mut unknown_sketch = record(&w, &t4, "gpu-tiling", 1, Some(1e-5));
    unknown_sketch.sketch = "gpu-retired-rule".into();
    let mut bad_assignment = record(&w, &t4, "gpu-tiling", 2, Some(2e-5));
    bad_assignment.assignment = "nonsense=3".into();
    let mut db = ScheduleDb::open(&path).unwrap();
    db.commit(&unknown_sketch).unwrap();
    let db2 = Database::open(&path).unwrap();
    match db2.best(&w, &t4) {
        Err(Error::RecordDoesNotApply { msg, .. }) => {
            assert!(msg.contains("gpu-retired-rule"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    let path2 = dir.path().join("u.db");
    ScheduleDb::open(&path2)
        .unwrap()
        .commit(&bad_assignment)
        .unwrap();
    assert!(matches!(
        Database::open(&path2).unwrap().best(&w, &t4),
        Err(Error::RecordDoesNotApply { .. })
    ));
    assert!(matches!(
        Database::open(dir.path().join("missing.db")),
        Err(Error::Dataset(_))
    ));
}
