//! Records for the schedule-database tests.

#![allow(dead_code)]

use tilegrad_datasets::{Outcome, Provenance, Record, TargetInfo, Timings, LOG_VERSION};

/// A CPU target `cpu/<isa>/<model>/<cores>`.
pub fn cpu(isa: &str, model: &str, cores: u32) -> TargetInfo {
    TargetInfo {
        key: format!("cpu/{isa}/{model}/{cores}"),
        kind: "cpu".into(),
        name: model.into(),
        arch: String::new(),
        units: cores,
        driver: String::new(),
        toolchain: "gcc 12.2".into(),
    }
}

/// A GPU target `cuda/<arch>/<name>`.
pub fn gpu(arch: &str, name: &str, sms: u32) -> TargetInfo {
    TargetInfo {
        key: format!("cuda/{arch}/{name}"),
        kind: "cuda".into(),
        name: name.into(),
        arch: arch.into(),
        units: sms,
        driver: "550.54".into(),
        toolchain: "12.4".into(),
    }
}

/// Workload texts with their keys.
pub const W1: (&str, &str) = ("matmul(M=64,N=64,K=64)", "0000000000000001");
/// A second workload.
pub const W2: (&str, &str) = ("matmul(M=128,N=64,K=32)", "0000000000000002");

/// A successful record with median `median_s`; `i` varies the assignment and provenance.
pub fn ok(w: (&str, &str), target: &TargetInfo, i: u32, median_s: f64) -> Record {
    Record {
        v: LOG_VERSION,
        workload_key: w.1.into(),
        workload: w.0.into(),
        target: target.clone(),
        sketch: "cpu-tiling".into(),
        assignment: format!("sp_i_1={},sp_j_1=4,unroll=16", i),
        outcome: Outcome::Ok(Timings {
            samples_s: vec![median_s * 0.9, median_s, median_s * 1.25],
            median_s,
            spread: 0.35,
            build_s: 0.0625,
            interference: None,
        }),
        provenance: Provenance {
            tilegrad: "0.1.0".into(),
            model: "abc123".into(),
            policy: "gradient".into(),
            seed: u64::MAX - u64::from(i),
            round: i,
            timestamp: 1_795_000_000.5 + f64::from(i),
        },
    }
}

/// A failed record of kind `kind`.
pub fn failed(w: (&str, &str), target: &TargetInfo, i: u32, kind: &str) -> Record {
    let mut r = ok(w, target, i, 1.0);
    r.outcome = Outcome::Error {
        kind: kind.into(),
        message: format!("{kind} at candidate {i}"),
    };
    r
}
