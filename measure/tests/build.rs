//! Parallel C builds: order, failures, timeouts, missing compiler.

use std::os::unix::fs::PermissionsExt;
use tilegrad_measure::{build_cpu, BuildDir, BuildOptions, CpuKernel, MeasureError};

fn kernel(entry: &str, body: &str) -> CpuKernel {
    CpuKernel::new(
        format!("void {entry}(float *const *args) {{ {body} }}"),
        entry.into(),
    )
}

#[test]
fn results_keep_input_order_and_failures_stay_local() {
    let dir = BuildDir::new().unwrap();
    let ks: Vec<CpuKernel> = (0..6)
        .map(|i| {
            if i == 3 {
                kernel("k3", "this is not C;")
            } else {
                kernel(&format!("k{i}"), "args[1][0] = args[0][0];")
            }
        })
        .collect();
    let opts = BuildOptions {
        jobs: 3,
        ..BuildOptions::default()
    };
    let r = build_cpu(&ks, &opts, &dir);
    assert_eq!(r.len(), 6);
    for (i, b) in r.iter().enumerate() {
        if i == 3 {
            assert!(matches!(b, Err(MeasureError::BuildError { log }) if log.contains("error")));
        } else {
            let b = b.as_ref().unwrap();
            assert_eq!(b.entry, format!("k{i}"));
            assert!(b.lib_path.exists() && b.lib_path.starts_with(dir.path()));
        }
    }
}

#[test]
fn slow_compiler_times_out_and_missing_compiler_is_unavailable() {
    let dir = BuildDir::new().unwrap();
    let script = dir.path().join("slowcc");
    let marker = format!("5.{}", std::process::id());
    std::fs::write(&script, format!("#!/bin/sh\nsleep {marker}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = BuildOptions {
        compiler: script.to_string_lossy().into_owned(),
        timeout_s: 0.2,
        ..BuildOptions::default()
    };
    let t0 = std::time::Instant::now();
    let r = build_cpu(&[kernel("k", "")], &opts, &dir);
    assert!(
        matches!(r[0], Err(MeasureError::BuildTimeout { limit_s }) if limit_s == 0.2),
        "{:?}",
        r[0]
    );
    assert!(
        t0.elapsed().as_secs_f64() < 4.0,
        "the compiler was not killed"
    );
    let opts = BuildOptions {
        compiler: "/nonexistent/cc".into(),
        ..BuildOptions::default()
    };
    let r = build_cpu(&[kernel("k", "")], &opts, &dir);
    assert!(
        matches!(r[0], Err(MeasureError::Unavailable(_))),
        "{:?}",
        r[0]
    );
}
