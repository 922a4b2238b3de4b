//! End to end on the CPU: `tilegrad tune` a small workload with few trials, then `best`,
//! `export`, `report`, `replay` and `db`; bad input exits 2 with a clear message.

use std::path::Path;
use std::process::{Command, Output};

const WORKLOAD: &str = "matmul(M=32,N=32,K=32)";

fn tilegrad_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tilegrad binary runs")
}

/// Runs in `dir`, checks the exit code, returns (stdout, stderr).
fn run_in(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = tilegrad_in(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "tilegrad {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn tune_then_best_export_report_replay_and_db() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Default paths: everything lands under ./tilegrad-out/.
    let (out, _) = run_in(
        d,
        &[
            "tune",
            WORKLOAD,
            "--target",
            "cpu",
            "--threads",
            "1",
            "--trials",
            "12",
            "--per-round",
            "4",
            "--seed",
            "7",
            "-q",
        ],
        0,
    );
    for s in [
        "task", "weight", "trials", "best ms", "GFLOP/s", "sketch", WORKLOAD,
    ] {
        assert!(out.contains(s), "summary lacks `{s}`:\n{out}");
    }
    assert!(out.contains("trial_budget after 12 trial(s)"), "{out}");
    let outdir = d.join("tilegrad-out");
    let log = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("a log under tilegrad-out/");
    let report = log.with_extension("report.json");
    assert!(report.exists(), "{}", report.display());
    let text = std::fs::read_to_string(&log).unwrap();
    let confirms = text
        .lines()
        .filter(|l| l.contains(r#""policy":"confirm""#))
        .count();
    assert_eq!(
        text.lines().count() - confirms,
        12,
        "one log line per trial"
    );
    assert!(
        confirms >= 1,
        "the first best is confirmed (--confirm-best 2)"
    );

    // The database holds every record.
    let (stats, _) = run_in(d, &["db", "stats", "--json"], 0);
    let stats = json(&stats);
    assert_eq!(stats["records"], 12 + confirms, "{stats}");
    assert_eq!(stats["workloads"], 1, "{stats}");

    // best: the schedule, its time, exact lookup, the source.
    let (best, _) = run_in(
        d,
        &["best", WORKLOAD, "--target", "cpu", "--threads", "1"],
        0,
    );
    assert!(best.contains("lookup:    exact"), "{best}");
    assert!(
        best.contains("measured:") && best.contains("GFLOP/s"),
        "{best}"
    );
    assert!(best.contains("void tg_matmul"), "{best}");

    // export: JSON with source, entry and launch; a C header.
    let (exp, _) = run_in(
        d,
        &["export", WORKLOAD, "--target", "cpu", "--threads", "1"],
        0,
    );
    let k = json(&exp);
    let entry = k["entry"].as_str().unwrap();
    assert!(k["source"].as_str().unwrap().contains(entry), "{exp}");
    assert_eq!(k["launch"]["kind"], "cpu");
    assert_eq!(k["launch"]["threads"], 1);
    // A, B, the output, then a packed B when the schedule prepares one.
    let params = k["params"].as_array().unwrap();
    let prepared = params.iter().filter(|p| p["prepared"] == true).count();
    assert_eq!(params.len(), 3 + prepared, "{exp}");
    assert_eq!(k["prepare_entry"].is_string(), prepared > 0, "{exp}");
    assert_eq!(k["lookup"]["kind"], "exact");
    let header = d.join("k.h");
    run_in(
        d,
        &[
            "export",
            WORKLOAD,
            "--target",
            "cpu",
            "--threads",
            "1",
            "--format",
            "header",
            "-o",
            header.to_str().unwrap(),
        ],
        0,
    );
    let h = std::fs::read_to_string(&header).unwrap();
    assert!(
        h.contains("#ifndef TILEGRAD_") && h.contains("_THREADS 1"),
        "{h}"
    );
    assert!(h.contains(&format!("void {entry}(")), "{h}");
    if let Some(prep) = k["prepare_entry"].as_str() {
        assert!(h.contains(&format!("void {prep}(")), "{h}");
        assert!(h.contains("_PREPARE_ENTRY"), "{h}");
    }

    // report: the summary and an SVG of the curves.
    let svg = d.join("curves.svg");
    let (rep, _) = run_in(
        d,
        &[
            "report",
            report.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
        ],
        0,
    );
    assert!(rep.contains("policy:      gradient (seed 7)"), "{rep}");
    assert!(
        rep.contains("12 trial(s)") && rep.contains(WORKLOAD),
        "{rep}"
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );

    // replay: the same policy, seed and budget asks for exactly the logged candidates.
    let (rp, _) = run_in(d, &["replay", log.to_str().unwrap()], 0);
    assert!(
        rp.contains("asked 12 candidate(s) (12 distinct, at most 1 time(s) each): 12 answered from the log, 0 not in it"),
        "{rp}"
    );

    // db import (idempotent), distill, merge.
    let other = d.join("other.db");
    let (imp, _) = run_in(
        d,
        &[
            "db",
            "import",
            log.to_str().unwrap(),
            "--db",
            other.to_str().unwrap(),
        ],
        0,
    );
    let n = 12 + confirms;
    assert!(
        imp.contains(&format!("{n} record(s), {n} added, 0 already present")),
        "{imp}"
    );
    let (imp, _) = run_in(
        d,
        &[
            "db",
            "import",
            log.to_str().unwrap(),
            "--db",
            other.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        imp.contains(&format!("{n} record(s), 0 added, {n} already present")),
        "{imp}"
    );
    let small = d.join("small.db");
    let (dist, _) = run_in(d, &["db", "distill", small.to_str().unwrap()], 0);
    assert!(dist.contains(": 1 record(s)"), "{dist}");
    let (m, _) = run_in(
        d,
        &[
            "db",
            "merge",
            small.to_str().unwrap(),
            "--db",
            other.to_str().unwrap(),
        ],
        0,
    );
    assert!(m.contains("1 record(s), 0 added, 1 already present"), "{m}");
    // distill refuses to overwrite.
    let (_, err) = run_in(d, &["db", "distill", small.to_str().unwrap()], 2);
    assert!(err.contains("already exists"), "{err}");
    // The log exists: without --resume tune refuses to append to it.
    let (_, err) = run_in(
        d,
        &[
            "tune",
            WORKLOAD,
            "--target",
            "cpu",
            "--threads",
            "1",
            "--trials",
            "4",
            "--seed",
            "7",
        ],
        2,
    );
    assert!(err.contains("--resume"), "{err}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&[&str], &str)] = &[
        (&["tune", "matmul(M=8,N=8"], "malformed workload"),
        (&["tune", "--network", "nosuchnet"], "nosuchnet"),
        (
            &["tune", "matmul(M=8,N=8,K=8)", "--network", "resnet50"],
            "cannot be used with",
        ),
        (
            &["tune", "matmul(M=8,N=8,K=8)", "--target", "nosuchgpu"],
            "unknown target `nosuchgpu`",
        ),
        (
            &["tune", "matmul(M=8,N=8,K=8)", "--target", "cuda:x"],
            "bad device ordinal",
        ),
        (
            &["tune", "matmul(M=8,N=8,K=8)", "--time-limit", "0"],
            "positive duration",
        ),
        (
            &["tune", "matmul(M=8,N=8,K=8)", "--policy", "annealing"],
            "annealing",
        ),
        (
            &["tune", "--network", "resnet50", "--tasks", "0"],
            "--tasks must be at least 1",
        ),
        (
            &["tune", "--file", "no-such-file.txt"],
            "cannot read no-such-file.txt",
        ),
        (
            &["best", "matmul(M=8,N=8,K=8)", "--db", "none.db"],
            "no schedule database at none.db",
        ),
        (&["db", "stats", "--db", "none.db"], "no schedule database"),
        (
            &["db", "import", "none.jsonl", "--db", "x.db"],
            "no log at none.jsonl",
        ),
        (&["report", "none.json"], "cannot read the report none.json"),
        (&["replay", "none.jsonl"], "cannot read the log none.jsonl"),
        (
            &["tune", "softmax(M=4,N=8)", "--sketch", "cpu-tiling/packed"],
            "has no sketch cpu-tiling/packed",
        ),
    ];
    for (args, want) in cases {
        let (_, err) = run_in(d, args, 2);
        assert!(
            err.contains(want),
            "tilegrad {args:?}: `{want}` not in:\n{err}"
        );
    }
    // Missing hardware is a failure (exit 1), not a usage error.
    if tilegrad::measure::cuda_device_count().is_err() {
        let (_, err) = run_in(d, &["tune", "matmul(M=8,N=8,K=8)", "--target", "cuda"], 1);
        assert!(err.contains("no CUDA device 0"), "{err}");
        let (_, err) = run_in(d, &["tune", "matmul(M=8,N=8,K=8)", "--target", "t4"], 1);
        assert!(err.contains("matching GPU"), "{err}");
    }
    // Not a report: a JSON file of another kind.
    std::fs::write(d.join("x.json"), "{\"a\": 1}").unwrap();
    let (_, err) = run_in(d, &["report", "x.json"], 2);
    assert!(err.contains("x.json is not a tilegrad report"), "{err}");
}

#[test]
fn tune_searches_only_the_sketches_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("packed.jsonl");
    run_in(
        d,
        &[
            "tune",
            "matmul(M=8,N=16,K=8)",
            "--target",
            "cpu",
            "--threads",
            "1",
            "--trials",
            "3",
            "--model",
            "none",
            "--sketch",
            "cpu-tiling/packed",
            "--log",
            log.to_str().unwrap(),
            "--quiet",
        ],
        0,
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let sketches: Vec<String> = text
        .lines()
        .map(|l| json(l)["sketch"].as_str().unwrap().to_string())
        .collect();
    assert!(!sketches.is_empty(), "{text}");
    assert!(
        sketches.iter().all(|s| s == "cpu-tiling/packed"),
        "{sketches:?}"
    );
}

#[test]
fn an_untuned_workload_is_not_a_silent_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("l.jsonl");
    let db = d.join("s.db");
    run_in(
        d,
        &[
            "tune",
            "matmul(M=16,N=16,K=16)",
            "--target",
            "cpu",
            "--threads",
            "1",
            "--trials",
            "4",
            "--per-round",
            "4",
            "--log",
            log.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--report",
            d.join("r.json").to_str().unwrap(),
            "-q",
        ],
        0,
    );
    // Another workload, and the same workload on a GPU preset: exit 1 with the reason.
    let (_, err) = run_in(
        d,
        &[
            "best",
            "matmul(M=16,N=16,K=32)",
            "--target",
            "cpu",
            "--threads",
            "1",
            "--db",
            db.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        err.contains("no tuned schedule") && err.contains("no records"),
        "{err}"
    );
    let (_, err) = run_in(
        d,
        &[
            "export",
            "matmul(M=16,N=16,K=16)",
            "--target",
            "a100",
            "--db",
            db.to_str().unwrap(),
        ],
        1,
    );
    assert!(err.contains("not tuned") && err.contains("sm_80"), "{err}");
}

#[test]
fn bench_search_prints_the_policy_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let json_path = d.join("bench.json");
    let (out, _) = run_in(
        d,
        &[
            "bench",
            "search",
            "matmul(M=16,N=16,K=16)",
            "--target",
            "cpu",
            "--threads",
            "1",
            "--trials",
            "4",
            "--per-round",
            "4",
            "--policies",
            "gradient,random",
            "--seeds",
            "5",
            "--confirm",
            "2",
            "--json",
            json_path.to_str().unwrap(),
            "-q",
        ],
        0,
    );
    assert!(out.contains("2 run(s) of 4 trial(s)"), "{out}");
    assert!(out.contains("re-measured 2 time(s)"), "{out}");
    for s in [
        "reach 90%",
        "reach 95%",
        "reach 99%",
        "gradient",
        "random",
        "final best",
    ] {
        assert!(out.contains(s), "`{s}` missing:\n{out}");
    }
    assert!(!out.contains("evolutionary"), "{out}");
    let v = json(&std::fs::read_to_string(&json_path).unwrap());
    assert_eq!(v["curves"].as_array().unwrap().len(), 2, "{v}");
    // Every run's picks were measured again; the task is judged on them.
    assert_eq!(v["comparison"]["tasks"][0]["confirmed"], true, "{v}");
    for c in v["curves"].as_array().unwrap() {
        let picks = c["picks"].as_array().unwrap();
        assert!(!picks.is_empty(), "{c}");
        assert!(
            picks
                .iter()
                .all(|p| p["confirmed_gflops"].as_f64().unwrap() > 0.0),
            "{c}"
        );
    }
    // Several runs' files merge into one table (here the same file twice: 4 runs).
    let j = json_path.to_str().unwrap();
    let (merged, _) = run_in(d, &["bench", "summarize", j, j], 0);
    assert!(merged.contains("4 run(s) from 2 file(s)"), "{merged}");
    assert!(
        merged.contains("reach 95%") && merged.contains("gradient"),
        "{merged}"
    );
    let bad = d.join("bad.json");
    std::fs::write(&bad, "{\"curves\": 3}").unwrap();
    let (_, err) = run_in(d, &["bench", "summarize", bad.to_str().unwrap()], 2);
    assert!(err.contains("not a `bench search --json` file"), "{err}");
}
