//! End to end: `tilegrad bench kernels` on a one-workload suite with a tiny budget, without
//! ONNX Runtime (`--python /nonexistent`: our column only, exit 0) and, where a Python with
//! onnxruntime is found, with it. Asserts on the files and columns, never on timings.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const WORKLOAD: &str = "matmul(M=8,N=16,K=8,trans_b=1)+bias+relu";

fn run_in(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(args)
        .current_dir(dir)
        .env_remove("TILEGRAD_PYTHON")
        .output()
        .expect("the tilegrad binary runs");
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

fn suite(dir: &Path) -> String {
    let p = dir.join("tiny.txt");
    std::fs::write(
        &p,
        format!("# one workload\ntiny {WORKLOAD}\ntiny softmax(M=4,N=8)\n"),
    )
    .unwrap();
    p.display().to_string()
}

fn bench(dir: &Path, python: &str) -> (String, Value) {
    let suite = suite(dir);
    let (stdout, _) = run_in(
        dir,
        &[
            "bench",
            "kernels",
            "--suite",
            &suite,
            "--only",
            "matmul",
            "--trials",
            "4",
            "--per-round",
            "4",
            "--rounds",
            "2",
            "--min-time",
            "0.01",
            "--threads",
            "1",
            "--python",
            python,
            "--out",
            "out",
            "--json",
            "k.json",
            "--quiet",
        ],
        0,
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("k.json")).unwrap()).unwrap();
    (stdout, json)
}

#[test]
fn without_onnx_runtime_our_column_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, json) = bench(dir.path(), "/nonexistent/python");
    assert!(stdout.contains("ONNX Runtime is not available"), "{stdout}");
    assert!(stdout.contains("scripts/setup-ort"), "{stdout}");
    assert!(!stdout.contains("ORT GFLOP/s"), "{stdout}");
    assert!(
        stdout.contains(WORKLOAD) && !stdout.contains("softmax"),
        "{stdout}"
    );
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(row["ours_gflops"].as_f64().unwrap() > 0.0, "{row}");
    assert_eq!(row["ours_rounds_s"].as_array().unwrap().len(), 2);
    assert!(
        row["ort_gflops"].is_null() && row["ratio"].is_null(),
        "{row}"
    );
    assert_eq!(row["trials"], 4);
    assert!(row["trials_to_95"].as_u64().unwrap() <= 4);
    let out = dir.path().join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("kernels.json")).unwrap(),
        std::fs::read_to_string(dir.path().join("k.json")).unwrap()
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("bench kernels") && readme.contains("CPU:"),
        "{readme}"
    );
    assert!(readme.contains(&format!("`{WORKLOAD}`")), "{readme}");
    let log = PathBuf::from(row["log"].as_str().unwrap());
    assert!(
        dir.path().join(&log).exists() || log.exists(),
        "{}",
        log.display()
    );
}

#[test]
fn with_onnx_runtime_both_columns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = [
        std::env::var("TILEGRAD_PYTHON").ok(),
        Some(root.join(".cache/ort/bin/python").display().to_string()),
        Some("python3".to_string()),
    ]
    .into_iter()
    .flatten()
    .find(|p| {
        Command::new(p)
            .args(["-c", "import onnxruntime, onnx, numpy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let Some(python) = python else {
        eprintln!("note: no Python imports onnxruntime; skipped (scripts/setup-ort installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (stdout, json) = bench(dir.path(), &python);
    assert!(
        stdout.contains("ORT GFLOP/s") && stdout.contains("geomean"),
        "{stdout}"
    );
    let row = &json["rows"][0];
    assert!(row["ort_gflops"].as_f64().unwrap() > 0.0, "{row}");
    assert!(row["ratio"].as_f64().unwrap() > 0.0, "{row}");
    assert_eq!(row["ort_graph"].as_str().unwrap(), "Gemm+Relu (opset 23)");
    assert_eq!(json["summary"]["compared"], 1);
}

#[test]
fn bad_filters_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite(dir.path());
    let (_, stderr) = run_in(
        dir.path(),
        &["bench", "kernels", "--suite", &suite, "--only", "conv9d"],
        2,
    );
    assert!(stderr.contains("no workload"), "{stderr}");
    run_in(
        dir.path(),
        &["bench", "kernels", "--suite", "missing.txt"],
        2,
    );
}

#[test]
fn every_zoo_workload_has_a_cpu_schedule() {
    let target = tilegrad::measure::host_cpu(Some(2));
    for e in tilegrad::datasets::Suite::zoo().unwrap().entries {
        let s = tilegrad::templates::sketches(&e.workload, &target)
            .unwrap_or_else(|err| panic!("{}: {err}", e.workload));
        assert!(!s.is_empty(), "{}: no CPU sketch", e.workload);
    }
}
