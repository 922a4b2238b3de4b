//! `tilegrad model train|eval|info` end to end on a tiny synthesized CPU log, and the
//! `--model auto|none|PATH` flag through `replay` (no hardware).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tilegrad::datasets::{Outcome, Provenance, Record, TuningLog};
use tilegrad::measure::record::{record_of, target_info};
use tilegrad::measure::{MeasureInput, Measurement, Timing};
use tilegrad::templates::{sketches, Workload};

const WORKLOADS: [&str; 2] = ["matmul(M=16,N=16,K=16)", "matmul(M=32,N=16,K=8)+bias"];

/// Runs in `dir`, checks the exit code, returns stdout + stderr.
fn run_in(dir: &Path, args: &[&str], code: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tilegrad binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "tilegrad {args:?}\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

/// A log of up to 30 legal schedules per workload with a smooth synthetic latency, plus one
/// record of a workload that does not parse.
fn write_log(path: &Path) {
    let target = tilegrad::measure::host_cpu(Some(1));
    let info = target_info(&target);
    let mut records: Vec<Record> = Vec::new();
    for (k, text) in WORKLOADS.iter().enumerate() {
        let w: Workload = text.parse().unwrap();
        for s in sketches(&w, &target).unwrap().into_iter().map(Arc::new) {
            for a in s
                .space
                .enumerate(100_000)
                .unwrap()
                .into_iter()
                .step_by(2)
                .take(15)
            {
                let v: f64 = a.values().iter().map(|&x| (x as f64).ln()).sum();
                let t = 1e-5 * (1.0 + k as f64) * (1.0 + (v - 3.0).powi(2));
                let m = Measurement {
                    timing: Timing::from_samples(vec![t, t * 1.02]).unwrap(),
                    build_s: 0.0,
                };
                let input = MeasureInput {
                    sketch: s.clone(),
                    assignment: a,
                };
                let prov = Provenance {
                    tilegrad: "test".into(),
                    model: String::new(),
                    policy: "random".into(),
                    seed: 0,
                    round: records.len() as u32 / 8,
                    timestamp: 0.0,
                };
                records.push(record_of(&input, &info, &Ok(m), prov));
            }
        }
    }
    let mut bad = records[0].clone();
    bad.workload = "nosuchop(M=1)".into();
    bad.outcome = Outcome::Error {
        kind: "build_error".into(),
        message: "x".into(),
    };
    records.push(bad);
    TuningLog::open(path).unwrap().append(&records).unwrap();
}

#[test]
fn model_train_eval_info_and_the_model_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_log(&d.join("log.jsonl"));
    let train = [
        "model",
        "train",
        "--log",
        "log.jsonl",
        "--target",
        "cpu",
        "--out",
        "m/m.json",
        "--members",
        "1",
        "--epochs",
        "3",
        "--folds",
        "2",
        "--hidden",
        "16",
        "--report",
        "r.json",
    ];
    let out = run_in(d, &train, 0);
    for s in [
        "held-out metrics",
        "mean over 2 workload(s)",
        "1 bad workload",
        WORKLOADS[0],
        "spearman",
        "1 member(s), hidden 16",
    ] {
        assert!(out.contains(s), "missing `{s}`:\n{out}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["stats"]["bad_workload"], 1);
    assert_eq!(report["report"]["n_workloads"], 2);
    let spearman = report["report"]["holdout"]["spearman"].as_f64().unwrap();
    assert!(spearman.is_finite());
    // Training is deterministic for a seed.
    let first = std::fs::read(d.join("m/m.json")).unwrap();
    run_in(d, &train, 0);
    assert_eq!(first, std::fs::read(d.join("m/m.json")).unwrap());

    let eval = [
        "model",
        "eval",
        "--model",
        "m/m.json",
        "--log",
        "log.jsonl",
        "--target",
        "cpu",
    ];
    let out = run_in(d, &eval, 0);
    assert!(
        out.contains("mean over 2 workload(s)") && out.contains(WORKLOADS[1]),
        "{out}"
    );
    let out = run_in(
        d,
        &["model", "eval", "--log", "log.jsonl", "--target", "cpu"],
        0,
    );
    assert!(out.contains("model:   builtin"), "{out}");

    let out = run_in(d, &["model", "info"], 0);
    assert!(
        out.contains("builtin:cpu") && out.contains("builtin:cuda"),
        "{out}"
    );
    assert!(!out.contains("does not load"), "{out}");
    let out = run_in(d, &["model", "info", "--model", "m/m.json"], 0);
    assert!(out.contains("members:   1, hidden 16"), "{out}");

    // --model through replay: untrained, a file, the shipped one.
    for (model, shown) in [
        ("none", "model:  untrained"),
        ("m/m.json", "model:  file:m/m.json"),
        ("auto", "model:  builtin:cpu"),
    ] {
        let out = run_in(
            d,
            &[
                "replay",
                "log.jsonl",
                "--target",
                "cpu",
                "--policy",
                "random",
                "--trials",
                "8",
                "--model",
                model,
            ],
            0,
        );
        assert!(out.contains(shown), "{model}: {out}");
    }

    // Bad input exits 2.
    for args in [
        &[
            "model",
            "train",
            "--log",
            "nope.jsonl",
            "--target",
            "cpu",
            "--out",
            "x.json",
        ][..],
        &[
            "model",
            "train",
            "--log",
            "log.jsonl",
            "--target",
            "auto",
            "--out",
            "x.json",
        ],
        &[
            "model",
            "train",
            "--log",
            "log.jsonl",
            "--target",
            "a100",
            "--out",
            "x.json",
        ],
        &[
            "model",
            "eval",
            "--model",
            "none",
            "--log",
            "log.jsonl",
            "--target",
            "cpu",
        ],
        &[
            "model",
            "eval",
            "--model",
            "nope.json",
            "--log",
            "log.jsonl",
            "--target",
            "cpu",
        ],
        &[
            "replay",
            "log.jsonl",
            "--target",
            "cpu",
            "--model",
            "nope.json",
        ],
    ] {
        run_in(d, args, 2);
    }
}

#[test]
fn a_held_out_model_records_its_fold_and_bench_search_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_log(&d.join("log.jsonl"));
    // A fold of 1000 that holds neither logged workload: training keeps every record.
    let keys: Vec<u64> = WORKLOADS
        .iter()
        .map(|t| t.parse::<Workload>().unwrap().key().0 % 1000)
        .collect();
    let held = (0..1000u64).find(|h| !keys.contains(h)).unwrap();
    let split = format!("{held}/1000");
    let text = run_in(
        d,
        &[
            "model",
            "train",
            "--log",
            "log.jsonl",
            "--target",
            "cpu",
            "--out",
            "m.json",
            "--members",
            "1",
            "--epochs",
            "3",
            "--folds",
            "0",
            "--held-out",
            &split,
        ],
        0,
    );
    assert!(
        text.contains(&format!("held out: fold {split}, 0 record(s) left out")),
        "{text}"
    );
    let info = run_in(d, &["model", "info", "--model", "m.json"], 0);
    assert!(
        info.contains(&format!("held out:  workload fold {split}")),
        "{info}"
    );
    // A held-out comparison on another fold: the model saw that fold's workload. Refused
    // before anything is measured.
    let other = format!("{}/1000", keys[0]);
    let refused = run_in(
        d,
        &[
            "bench",
            "search",
            WORKLOADS[0],
            "--held-out",
            &other,
            "--model",
            "m.json",
            "--target",
            "cpu",
            "--trials",
            "1",
            "--seeds",
            "0",
            "--policies",
            "gradient",
        ],
        2,
    );
    assert!(refused.contains("was not trained with fold"), "{refused}");
    // A fold the suite does not reach is bad input too.
    let none = run_in(
        d,
        &[
            "bench",
            "search",
            WORKLOADS[0],
            "--held-out",
            &split,
            "--target",
            "cpu",
        ],
        2,
    );
    assert!(none.contains("no task falls in fold"), "{none}");
}
