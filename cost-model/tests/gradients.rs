//! Input gradients against central finite differences, for every model.

mod common;

use common::{spec, synthetic, NF};
use tilegrad_cost_model::{
    batch_of, AnalyticConfig, AnalyticModel, CostModel, EnsembleModel, FeatureBatch, FitOptions,
    MlpConfig, MlpModel,
};

fn small() -> MlpConfig {
    MlpConfig {
        hidden: 32,
        n_residual: 2,
        seed: 3,
    }
}

/// Checks every gradient entry of `model` on `batch` against a central difference of `score`.
fn check_fd(
    batch: &FeatureBatch,
    grads: &[f32],
    eps: f32,
    tol: f64,
    score: &dyn Fn(&FeatureBatch) -> Vec<f32>,
) {
    let base = score(batch);
    let mut max_abs = 0f64;
    for (i, &g) in grads.iter().enumerate() {
        let p = batch
            .row_offsets
            .partition_point(|&o| o * batch.n_features <= i)
            - 1;
        let (mut up, mut dn) = (batch.clone(), batch.clone());
        up.data[i] += eps;
        dn.data[i] -= eps;
        let up_scores = score(&up);
        let fd = (up_scores[p] as f64 - score(&dn)[p] as f64) / (2.0 * eps as f64);
        let g = g as f64;
        max_abs = max_abs.max(g.abs());
        assert!(
            (fd - g).abs() <= tol * (1.0 + fd.abs()),
            "value {i} (program {p}): analytic {g} vs finite difference {fd}; base {}",
            base[p]
        );
        // Other programs do not depend on this value.
        for (q, (u, b)) in up_scores.iter().zip(&base).enumerate() {
            if q != p {
                assert_eq!(u, b);
            }
        }
    }
    assert!(max_abs > 1e-3, "gradients are all ~0");
}

#[test]
fn mlp_gradients_match_finite_differences() {
    let samples = synthetic(2, 6, false, 11);
    let mut m = MlpModel::new(&spec(), "cpu", small()).unwrap();
    let opts = FitOptions {
        max_epochs: 5,
        ..FitOptions::default()
    };
    m.fit(&samples, &opts).unwrap(); // non-trivial normaliser and weights
    let batch = batch_of(NF, &samples[..5]).unwrap();
    let pred = m.predict_with_grad(&batch).unwrap();
    assert_eq!(pred.scores, m.predict(&batch).unwrap());
    check_fd(&batch, &pred.grads, 1e-2, 3e-2, &|b| m.predict(b).unwrap());
}

#[test]
fn ensemble_mean_and_std_gradients_match_finite_differences() {
    let samples = synthetic(1, 6, false, 12);
    let e = EnsembleModel::new(&spec(), "cpu", small(), 3).unwrap();
    let batch = batch_of(NF, &samples[..3]).unwrap();
    let u = e.predict_with_uncertainty(&batch).unwrap();
    assert!(u.std.iter().all(|&s| s > 0.0), "members must disagree");
    check_fd(&batch, &u.grad_mean, 1e-2, 3e-2, &|b| e.predict(b).unwrap());
    check_fd(&batch, &u.grad_std, 1e-2, 5e-2, &|b| {
        e.predict_with_uncertainty(b).unwrap().std
    });
    let p = e.predict_with_grad(&batch).unwrap();
    assert_eq!(p.grads, u.grad_mean);
}

#[test]
fn analytic_gradients_match_finite_differences() {
    let cfg = AnalyticConfig {
        flops_col: 0,
        bytes_col: 1,
        peak_flops: 1e4,
        bandwidth: 1e3,
        overhead_s: 1e-4,
        sharpness: 4.0,
    };
    let m = AnalyticModel::new(&spec(), cfg).unwrap();
    let mut batch = FeatureBatch::new(NF);
    // Compute-bound, memory-bound and balanced programs (log1p-encoded counts).
    let row = |f: f32, b: f32| {
        let mut r = vec![0.5f32; NF];
        r[0] = f;
        r[1] = b;
        r
    };
    batch.push(&row(6.0, 2.0)).unwrap();
    batch
        .push(&[row(2.0, 6.0), row(1.0, 3.0)].concat())
        .unwrap();
    batch.push(&row(4.0, 1.7)).unwrap();
    let p = m.predict_with_grad(&batch).unwrap();
    check_fd(&batch, &p.grads, 1e-3, 1e-2, &|b| m.predict(b).unwrap());
    // More work means a lower score.
    assert!(p.grads[0] < 0.0 && p.grads[NF + 1] < 0.0);
}
