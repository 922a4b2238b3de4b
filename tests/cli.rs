//! End-to-end tests of the `tilegrad` binary: help, devices, sketches, networks, measure, and
//! the exit codes for bad input and missing hardware.

use std::process::{Command, Output};

fn tilegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(args)
        .output()
        .expect("the tilegrad binary runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Runs, checks the exit code, returns (stdout, stderr).
fn run(args: &[&str], code: i32) -> (String, String) {
    let out = tilegrad(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "tilegrad {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

#[test]
fn help_works_for_every_command() {
    let (top, _) = run(&["--help"], 0);
    let commands = [
        "tune", "best", "export", "report", "replay", "db", "bench", "devices", "sketches",
        "networks", "measure",
    ];
    for cmd in commands {
        assert!(
            top.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "{cmd} missing from:\n{top}"
        );
        let (help, _) = run(&[cmd, "--help"], 0);
        assert!(help.contains("Usage: tilegrad"), "{cmd}:\n{help}");
    }
    for sub in ["import", "distill", "merge", "stats"] {
        let (help, _) = run(&["db", sub, "--help"], 0);
        assert!(
            help.contains(&format!("Usage: tilegrad db {sub}")),
            "{sub}:\n{help}"
        );
    }
    let (help, _) = run(&["bench", "search", "--help"], 0);
    assert!(help.contains("Usage: tilegrad bench search"), "{help}");
    assert!(!top.contains("__worker"), "the worker command is hidden");
    // Usage errors are clap's: exit 2.
    run(&["nosuchcommand"], 2);
    run(&["measure"], 2);
    run(&["tune"], 2);
    run(&["db"], 2);
}

#[test]
fn devices_names_the_cpu_and_the_cuda_status() {
    let (out, _) = run(&["devices"], 0);
    let cpu = tilegrad::measure::host_cpu(None);
    assert!(out.contains(&cpu.name), "{out}");
    assert!(
        out.contains("SIMD") && out.contains("CUDA") && out.contains("NVRTC"),
        "{out}"
    );
    let (json, _) = run(&["devices", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let first = &v["targets"][0];
    let t: tilegrad::symbolic::Target =
        serde_json::from_value(first.clone()).expect("the first target is a Target");
    assert_eq!(t.kind(), "cpu");
    let gpus = tilegrad::measure::cuda_device_count().unwrap_or(0);
    assert_eq!(v["targets"].as_array().unwrap().len(), 1 + gpus);
    assert_eq!(v["cuda"]["error"].is_null(), gpus > 0, "{json}");
}

#[test]
fn sketches_lists_cpu_tiling_and_samples() {
    let args = [
        "sketches",
        "matmul(M=64,N=64,K=64)",
        "--sample",
        "2",
        "--seed",
        "3",
    ];
    let (out, _) = run(&args, 0);
    assert!(out.contains("cpu-tiling"), "{out}");
    assert!(
        out.contains("space size") && out.contains("samples:"),
        "{out}"
    );
    // Deterministic for a seed.
    assert_eq!(run(&args, 0).0, out);
    let (tree, _) = run(&["sketches", "matmul(M=64,N=64,K=64)", "--tree"], 0);
    assert!(tree.contains("kernel "), "{tree}");
    let (gpu, _) = run(
        &["sketches", "matmul(M=64,N=64,K=64)", "--target", "a100"],
        0,
    );
    assert!(
        gpu.contains("(cuda)") && !gpu.contains("cpu-tiling"),
        "{gpu}"
    );
}

#[test]
fn networks_lists_resnet50_tasks() {
    let (out, _) = run(&["networks", "resnet50", "--batch", "1"], 0);
    assert!(out.contains("27 tasks"), "{out}");
    let rows = out
        .lines()
        .filter(|l| l.contains("conv2d(") || l.contains("(N="))
        .count();
    assert!(rows >= 20, "{out}");
    let (list, _) = run(&["networks"], 0);
    for name in ["resnet50", "mobilenet_v2", "llama_7b"] {
        assert!(list.contains(name), "{list}");
    }
    let (_, err) = run(&["networks", "nosuchnet"], 2);
    assert!(err.contains("nosuchnet"), "{err}");
}

#[test]
fn measure_random_candidates_on_the_cpu() {
    let (out, _) = run(
        &[
            "measure",
            "matmul(M=64,N=64,K=64)",
            "--random",
            "2",
            "--seed",
            "1",
            "--threads",
            "1",
        ],
        0,
    );
    assert!(
        out.contains("GFLOP/s") && out.contains("2/2 succeeded"),
        "{out}"
    );
}

#[test]
fn measure_an_explicit_assignment() {
    let (sk, _) = run(
        &[
            "sketches",
            "matmul(M=16,N=16,K=16)",
            "--sample",
            "1",
            "--seed",
            "5",
        ],
        0,
    );
    let line = sk
        .lines()
        .skip_while(|l| l.trim() != "samples:")
        .nth(1)
        .expect("a sample line");
    let assignment = line.trim();
    let id = sk
        .lines()
        .find(|l| !l.is_empty() && !l.starts_with(' ') && l.contains("cpu-"))
        .expect("a sketch id");
    let (out, _) = run(
        &[
            "measure",
            "matmul(M=16,N=16,K=16)",
            "--sketch",
            id,
            "--assignment",
            assignment,
        ],
        0,
    );
    assert!(
        out.contains("1/1 succeeded") && out.contains(assignment),
        "{out}"
    );
    let (_, err) = run(
        &[
            "measure",
            "matmul(M=16,N=16,K=16)",
            "--assignment",
            "nosuchvar=3",
        ],
        2,
    );
    assert!(err.contains("nosuchvar"), "{err}");
    let (_, err) = run(
        &["measure", "matmul(M=16,N=16,K=16)", "--sketch", "nope"],
        2,
    );
    assert!(err.contains("no sketch `nope`"), "{err}");
}

#[test]
fn malformed_workloads_exit_2_and_name_the_problem() {
    for cmd in ["sketches", "measure"] {
        let (_, err) = run(&[cmd, "matmul(M=64,N=64"], 2);
        assert!(
            err.contains("malformed workload `matmul(M=64,N=64`"),
            "{err}"
        );
        let (_, err) = run(&[cmd, "nosuchop(M=1)"], 2);
        assert!(err.contains("nosuchop"), "{err}");
    }
    let (_, err) = run(
        &["sketches", "matmul(M=8,N=8,K=8)", "--target", "nosuchgpu"],
        2,
    );
    assert!(err.contains("nosuchgpu"), "{err}");
}

#[test]
fn measure_on_cuda_fails_cleanly_without_a_gpu() {
    let out = tilegrad(&["measure", "matmul(M=64,N=64,K=64)", "--target", "cuda"]);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    if tilegrad::measure::cuda_device_count().is_err() {
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(err.contains("no CUDA device"), "{err}");
    } else {
        // With a GPU the candidates are measured there.
        assert_eq!(out.status.code(), Some(0), "{err}");
    }
}

#[test]
fn measure_exits_1_when_every_candidate_fails() {
    // A compiler that always fails: every candidate gets a typed build error.
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(["measure", "matmul(M=16,N=16,K=16)", "--random", "2"])
        .env("CC", "false")
        .output()
        .expect("the tilegrad binary runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("build error") && stdout.contains("0/2 succeeded"),
        "{stdout}"
    );
    assert!(stderr.contains("all 2 candidate(s) failed"), "{stderr}");
    let (_, err) = run(&["measure", "matmul(M=16,N=16,K=16)", "--random", "0"], 2);
    assert!(err.contains("nothing to measure"), "{err}");
}
