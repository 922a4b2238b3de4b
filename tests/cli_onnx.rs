//! `tilegrad networks model.onnx` and `tilegrad tune model.onnx` end to end on the committed
//! test models (tests/data/onnx, written by scripts/make-onnx-models); bad models and bad
//! `--input` shapes exit 2 with the importer's message.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/onnx")
        .join(name)
}

/// Runs in `dir`, checks the exit code, returns (stdout, stderr).
fn run_in(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(args)
        .current_dir(dir)
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

fn run(args: &[&str], code: i32) -> (String, String) {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, code)
}

#[test]
fn networks_lists_the_tasks_of_the_onnx_resnet50() {
    let model = data("resnet50.onnx");
    let (out, _) = run(&["networks", model.to_str().unwrap()], 0);
    assert!(out.contains("122 nodes, opset 13: 27 tasks"), "{out}");
    // Every shipped task, with its weight, in the shipped order.
    let shipped = tilegrad_datasets::networks::load("resnet50", 1).unwrap();
    let rows: Vec<&str> = out.lines().filter(|l| l.contains('(')).collect();
    for (t, row) in shipped.iter().zip(&rows) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[1], t.weight.to_string(), "{row}");
        assert_eq!(*cols.last().unwrap(), t.workload.to_string(), "{row}");
    }
    assert!(out.contains("Flatten"), "{out}");
    assert!(
        out.contains("coverage: the tasks cover 100.0% of the model's FLOPs"),
        "{out}"
    );
}

#[test]
fn networks_lists_untuned_operators() {
    let model = data("transformer_block.onnx");
    let (out, _) = run(&["networks", model.to_str().unwrap()], 0);
    for s in [
        "8 tasks",
        "matmul(M=16,N=256,K=64,trans_b=1)+bias+gelu",
        "batch_matmul(B=4,M=16,N=16,K=16,trans_b=1)+scale(0.25)",
        "untuned: 10 node(s)",
        "Reshape",
        "Transpose",
    ] {
        assert!(out.contains(s), "{s} missing:\n{out}");
    }
}

#[test]
fn bad_models_exit_2_with_their_message() {
    for (file, inputs, msg) in [
        ("bad/not_onnx.onnx", None, "not an ONNX model"),
        (
            "bad/truncated.onnx",
            None,
            "not an ONNX model, or a truncated one",
        ),
        ("bad/opset_99.onnx", None, "unsupported opset 99"),
        (
            "bad/symbolic_batch.onnx",
            None,
            "input `x` has a symbolic dimension 0 (`batch`): give its shape, e.g. --input x=1x4",
        ),
        (
            "bad/symbolic_batch.onnx",
            Some("x=2"),
            "--input x: the model gives it 2 dimensions",
        ),
        (
            "bad/symbolic_batch.onnx",
            Some("x=2y4"),
            "malformed input shape `x=2y4`",
        ),
        (
            "bad/cycle.onnx",
            None,
            "the graph has a cycle through node `r1` (Relu)",
        ),
        ("bad/missing_initializer.onnx", None, "reads `bias`"),
        ("no_such_model.onnx", None, "cannot read the ONNX model"),
    ] {
        let model = data(file);
        let mut args = vec!["networks", model.to_str().unwrap()];
        if let Some(i) = inputs {
            args.extend(["--input", i]);
        }
        let (_, err) = run(&args, 2);
        assert!(err.contains(msg), "{file}: `{msg}` missing:\n{err}");
    }
    let model = data("bad/symbolic_batch.onnx");
    let (out, _) = run(
        &["networks", model.to_str().unwrap(), "--input", "x=8x4"],
        0,
    );
    assert!(out.contains("matmul(M=8,N=4,K=4)"), "{out}");
    let (_, err) = run(&["networks", "resnet50", "--input", "x=1x3"], 2);
    assert!(err.contains("--input is for ONNX models"), "{err}");
}

#[test]
fn tune_an_onnx_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = data("transformer_block.onnx");
    let (out, _) = run_in(
        dir.path(),
        &[
            "tune",
            model.to_str().unwrap(),
            "--target",
            "cpu",
            "--threads",
            "1",
            "--tasks",
            "2",
            "--trials",
            "8",
            "--per-round",
            "4",
            "-q",
        ],
        0,
    );
    for s in [
        "tasks:   2 (transformer_block)",
        "layer_norm(M=16,N=64)",
        "matmul(M=16,N=64,K=64)+bias",
        "untuned: 10 node(s)",
        "the estimate leaves the untuned operators out",
    ] {
        assert!(out.contains(s), "{s} missing:\n{out}");
    }
    // The partial sum, unless every candidate of a task failed on this machine.
    assert!(
        out.contains(
            "over the 2 tuned tasks only, not end to end (6 of the model's 8 tasks were not tuned)"
        ) || out.contains("network: no estimate"),
        "{out}"
    );
    assert!(dir
        .path()
        .join("tilegrad-out/transformer_block-cpu.jsonl")
        .exists());
    // The same through --onnx; a bad model or a stray --input is bad input.
    let bad = data("bad/cycle.onnx");
    let (_, err) = run_in(
        dir.path(),
        &["tune", "--onnx", bad.to_str().unwrap(), "--target", "cpu"],
        2,
    );
    assert!(err.contains("cycle"), "{err}");
    let (_, err) = run_in(
        dir.path(),
        &[
            "tune",
            "matmul(M=8,N=8,K=8)",
            "--input",
            "x=1x3",
            "--target",
            "cpu",
        ],
        2,
    );
    assert!(err.contains("--input gives the shapes"), "{err}");
}
