//! Shared fixture of the pretraining tests: a small CPU target and synthesized tuning logs
//! (every few legal assignments of small workloads, a smooth latency, some wrong answers).

use std::sync::Arc;

use tilegrad_datasets::{Provenance, Record};
use tilegrad_measure::record::{record_of, target_info};
use tilegrad_measure::{MeasureError, MeasureInput, MeasureResult, Measurement, Timing, WrongKind};
use tilegrad_search::pretrain::PretrainConfig;
use tilegrad_symbolic::{Assignment, Target};
use tilegrad_templates::{sketches, Sketch, Workload};

pub fn cpu() -> Target {
    Target::example_cpu()
}

/// Deterministic latency: a bowl in log space around 4 (every 13th assignment, by a hash
/// of its text, is a wrong answer), scaled by the workload's size.
pub fn result(scale: f64, a: &Assignment) -> MeasureResult {
    let text = a.to_string();
    let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    if h % 13 == 0 {
        return Err(MeasureError::WrongAnswer {
            kind: WrongKind::Mismatch,
            max_abs_err: 1.0,
            max_rel_err: 1.0,
            first_bad_index: 0,
        });
    }
    let bowl: f64 = a
        .values()
        .iter()
        .map(|&v| ((v as f64).ln() - 4f64.ln()).powi(2))
        .sum();
    let t = scale * 1e-5 * (0.2 * bowl).exp();
    Ok(Measurement {
        timing: Timing::from_samples(vec![t, t * 1.01, t * 0.99]).unwrap(),
        build_s: 0.0,
    })
}

pub fn prov() -> Provenance {
    Provenance {
        tilegrad: "test".into(),
        model: String::new(),
        policy: "enumerate".into(),
        seed: 0,
        round: 0,
        timestamp: 0.0,
    }
}

pub fn sketches_of(workload: &str) -> (Workload, Vec<Arc<Sketch>>) {
    let w: Workload = workload.parse().unwrap();
    let sk = sketches(&w, &cpu())
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect();
    (w, sk)
}

/// Up to `limit` legal assignments per sketch of `workload`, measured by [`result`].
pub fn log_of(workload: &str, limit: usize) -> Vec<Record> {
    log_every(workload, 3, limit)
}

/// Like [`log_of`], every `step`-th enumerated assignment (1: all, so a replay of it can
/// answer any legal candidate).
pub fn log_every(workload: &str, step: usize, limit: usize) -> Vec<Record> {
    let (w, sk) = sketches_of(workload);
    let info = target_info(&cpu());
    let scale = w.flops() / 1e5;
    let mut out = Vec::new();
    for s in &sk {
        for a in s
            .space
            .enumerate(200_000)
            .unwrap()
            .into_iter()
            .step_by(step)
            .take(limit)
        {
            let input = MeasureInput {
                sketch: s.clone(),
                assignment: a.clone(),
            };
            out.push(record_of(&input, &info, &result(scale, &a), prov()));
        }
    }
    out
}

pub const TRAIN: [&str; 3] = [
    "matmul(M=16,N=16,K=16)",
    "matmul(M=32,N=16,K=8)",
    "matmul(M=8,N=32,K=16)+bias+relu",
];

pub fn small_config(seed: u64) -> PretrainConfig {
    PretrainConfig {
        members: 2,
        seed,
        hidden: Some(16),
        epochs: Some(8),
        folds: 3,
        ..PretrainConfig::default()
    }
}
