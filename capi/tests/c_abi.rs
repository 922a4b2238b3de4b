//! The C ABI from C: builds a small database, compiles `tests/c/test_best.c` with the system
//! C compiler against `include/tilegrad.h` and the built cdylib, runs it and checks what it
//! prints against the Rust API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad::database::target_info;
use tilegrad::{Database, Launch};
use tilegrad_datasets::{Outcome, Provenance, Record, ScheduleDb, Timings, LOG_VERSION};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

const WORKLOAD: &str = "matmul(M=64,N=32,K=16)+relu";

fn record(w: &Workload, t: &Target, rule: &str, seed: u64, median_s: f64) -> Record {
    let sk = sketches(w, t).unwrap();
    let s = sk
        .iter()
        .find(|s| s.id == rule)
        .or_else(|| sk.iter().find(|s| s.id.starts_with(rule)))
        .unwrap();
    let a = s.sample(&mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
    Record {
        v: LOG_VERSION,
        workload_key: w.key().to_string(),
        workload: w.to_string(),
        target: target_info(t),
        sketch: s.id.clone(),
        assignment: a.to_string(),
        outcome: Outcome::Ok(Timings {
            samples_s: vec![median_s],
            median_s,
            spread: 0.0,
            build_s: 0.1,
            interference: None,
        }),
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

/// The directory holding the cdylib built for this test run (next to the test executable).
fn cdylib_dir() -> PathBuf {
    let name = format!(
        "{}tilegrad_capi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let found = [deps, deps.parent().unwrap()]
        .into_iter()
        .find(|d| d.join(&name).is_file())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("{name} not found next to {}", exe.display()))
}

fn compile(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = cdylib_dir();
    let exe = dir.join("test_best");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("tests/c/test_best.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-ltilegrad_capi", "-lm"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "C build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs the C program; `key=value` lines as a map (later keys win), plus the raw text.
fn run(exe: &Path, db: &Path, target: &str) -> (HashMap<String, String>, String) {
    run_for(exe, db, WORKLOAD, target)
}

/// [`run`] for another workload.
fn run_for(
    exe: &Path,
    db: &Path,
    workload: &str,
    target: &str,
) -> (HashMap<String, String>, String) {
    // `cargo test` puts `target/<profile>` on LD_LIBRARY_PATH, which beats the program's
    // RUNPATH: a stale cdylib uplifted there by an earlier `cargo build` would be loaded.
    let out = Command::new(exe)
        .env("LD_LIBRARY_PATH", cdylib_dir())
        .arg(db)
        .arg(workload)
        .arg(target)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "test_best {target} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (map, text)
}

#[test]
fn c_program_reads_the_best_kernel_through_the_header_and_cdylib() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("tilegrad.db");
    let w: Workload = WORKLOAD.parse().unwrap();
    let cpu = tilegrad_measure::host_cpu(None);
    let h100 = Target::preset("h100-sxm").unwrap();
    let linear: Workload = "matmul(M=16,N=32,K=64,trans_b=1)+bias".parse().unwrap();
    let mut db = ScheduleDb::open(&db_path).unwrap();
    db.commit_all(&[
        record(&w, &cpu, "cpu-tiling", 1, 3.0e-4),
        record(&w, &cpu, "cpu-tiling", 2, 1.25e-4),
        record(&w, &h100, "gpu-tiling", 3, 7.5e-6),
        record(&linear, &cpu, "cpu-tiling/packed", 4, 2.0e-5),
    ])
    .unwrap();
    drop(db);
    let exe = compile(dir.path());

    // Exact CPU lookup: the C side sees what the Rust API returns.
    let want = Database::open(&db_path).unwrap().best(&w, &cpu).unwrap();
    let (got, text) = run(&exe, &db_path, "cpu");
    assert_eq!(got["failures"], "0", "{text}");
    assert_eq!(got["status"], "0", "{text}");
    assert_eq!(got["entry"], want.entry);
    assert_eq!(got["source_has_entry"], "1");
    assert_eq!(got["source_bytes"], want.source.len().to_string());
    assert_eq!(got["time_s"].parse::<f64>().unwrap(), 1.25e-4);
    assert_eq!(
        (got["exact"].as_str(), got["warning"].as_str()),
        ("1", "(none)")
    );
    let Launch::Cpu { threads } = want.launch else {
        panic!("{:?}", want.launch)
    };
    assert!(
        text.contains(&format!("launch_kind=0 threads={threads} grid=0,0,0")),
        "{text}"
    );
    assert_eq!(got["params"], "3");
    assert!(text.contains("(out)[64,32]"), "{text}");
    assert_eq!(got["prepare_entry"], "(none)", "{text}");

    // A dense layer's packed schedule: its weight is prepared once, by a second function,
    // into a buffer the caller allocates (the argument after the output).
    let want = Database::open(&db_path)
        .unwrap()
        .best(&linear, &cpu)
        .unwrap();
    let (got, text) = run_for(&exe, &db_path, &linear.to_string(), "cpu");
    assert_eq!(got["failures"], "0", "{text}");
    let prepare = want.prepare_entry.clone().expect("a prepared kernel");
    assert_eq!(got["prepare_entry"], prepare, "{text}");
    assert!(want.source.contains(&format!("void {prepare}(")), "{text}");
    assert_eq!(got["params"], "5", "{text}");
    assert!(text.contains("param=B.packed(prepared)["), "{text}");
    assert_eq!(got["not_tuned_status"], "1");
    assert!(got["not_tuned_error"].contains("not tuned"), "{text}");
    assert!(got["bad_target_error"].contains("no-such-gpu"), "{text}");
    assert!(!got["open_missing_error"].is_empty());

    // Compatible GPU lookup (tuned on an H100, asked for an H200): warning and CUDA launch.
    let (got, text) = run(&exe, &db_path, "h200");
    assert_eq!(
        (got["status"].as_str(), got["exact"].as_str()),
        ("0", "0"),
        "{text}"
    );
    assert!(got["warning"].contains(&target_info(&h100).key), "{text}");
    assert!(text.contains("launch_kind=1 threads=0"), "{text}");
    assert_eq!(got["time_s"].parse::<f64>().unwrap(), 7.5e-6);
}
