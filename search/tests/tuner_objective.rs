//! `ModelObjective`: its gradients match central finite differences of its own scores and
//! penalties on real sketches (matmul gpu-tiling on an H100 preset, cpu-tiling on a CPU), with
//! a smooth analytic model and with an MLP ensemble; exact scoring flags illegal points.

use std::sync::Arc;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_cost_model::{
    AnalyticConfig, AnalyticModel, CostModel, EnsembleModel, FeatureBatch, MlpConfig,
};
use tilegrad_search::model_objective::values_of;
use tilegrad_search::{feature_spec, ModelObjective, ModelRef, Objective};
use tilegrad_symbolic::features::FEATURE_NAMES;
use tilegrad_symbolic::{Mode, Target};
use tilegrad_templates::{sketches, Sketch, Workload};

fn cpu() -> Target {
    Target::example_cpu()
}

fn sketch(text: &str, target: &Target, id: &str) -> Arc<Sketch> {
    let w: Workload = text.parse().unwrap();
    let all = sketches(&w, target).unwrap();
    Arc::new(all.into_iter().find(|s| s.id == id).expect(id))
}

fn analytic() -> AnalyticModel {
    let col = |n: &str| FEATURE_NAMES.iter().position(|&x| x == n).unwrap();
    AnalyticModel::new(
        &feature_spec(),
        AnalyticConfig {
            flops_col: col("float_ops"),
            bytes_col: col("b1.unique_bytes"),
            peak_flops: 1e12,
            bandwidth: 1e10,
            overhead_s: 1e-6,
            sharpness: 4.0,
        },
    )
    .unwrap()
}

/// The objective's gradients against central differences (relative step 1e-5; the relaxed
/// features curve sharply near integers). The score's chain rule is checked through the
/// features: `d_score[j]` must equal `Σ_k g_k · ∂f_k/∂x_j` with `g` the model's gradient at
/// the point and `∂f/∂x_j` by central differences of the f64 features (the model itself reads
/// f32 features and returns an f32 score, too coarse for differences at this step). The
/// penalty is f64 throughout and is differenced directly.
fn check_fd(obj: &ModelObjective, model: &dyn CostModel, tau: f64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let space = obj.space();
    let fs = obj.features();
    let mode = Mode::Relaxed { tau };
    let pts: Vec<_> = (0..6).map(|_| space.sample(&mut rng).unwrap()).collect();
    let mut x = values_of(space, &pts).unwrap();
    // Move off the integers a little so that relaxed kinks at integers are not probed.
    x.mapv_inplace(|v| v * 1.013);
    let ev = obj.evaluate(x.view(), tau).unwrap();
    ev.check_shape(x.nrows(), space.num_vars()).unwrap();
    let feats = fs.eval(x.view(), mode).unwrap().features;
    let h = 1e-5;
    let mut checked = 0;
    for i in 0..x.nrows() {
        assert!(ev.ok[i], "row {i} not finite");
        let rows: Vec<f32> = feats
            .slice(ndarray::s![i, .., ..])
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut batch = FeatureBatch::new(FEATURE_NAMES.len());
        batch.push(&rows).unwrap();
        let g = model.predict_with_grad(&batch).unwrap().grads;
        assert!((f64::from(model.predict(&batch).unwrap()[0]) - ev.score[i]).abs() < 1e-4);
        let scale_s = ev.d_score.row(i).iter().fold(0f64, |m, v| m.max(v.abs()));
        let scale_p = ev.d_penalty.row(i).iter().fold(0f64, |m, v| m.max(v.abs()));
        for j in 0..x.ncols() {
            let step = h * x[[i, j]].abs().max(1.0);
            let mut pair = Array2::from_shape_fn((2, x.ncols()), |(_, c)| x[[i, c]]);
            pair[[0, j]] += step;
            pair[[1, j]] -= step;
            let e = obj.evaluate(pair.view(), tau).unwrap();
            let f = fs.eval(pair.view(), mode).unwrap().features;
            let fd_s: f64 = f
                .slice(ndarray::s![0, .., ..])
                .iter()
                .zip(f.slice(ndarray::s![1, .., ..]).iter())
                .zip(&g)
                .map(|((a, b), &gk)| f64::from(gk) * (a - b) / (2.0 * step))
                .sum();
            let fd_p = (e.penalty[0] - e.penalty[1]) / (2.0 * step);
            let an_s = ev.d_score[[i, j]];
            let an_p = ev.d_penalty[[i, j]];
            assert!(
                (fd_s - an_s).abs() <= 2e-3 * scale_s.max(1e-6) + 1e-3 * an_s.abs(),
                "d_score row {i} var {j}: fd {fd_s} vs analytic {an_s} (scale {scale_s})"
            );
            assert!(
                (fd_p - an_p).abs() <= 2e-2 * scale_p.max(1e-6) + 1e-3 * an_p.abs(),
                "d_penalty row {i} var {j}: fd {fd_p} vs analytic {an_p} (scale {scale_p})"
            );
            checked += 1;
        }
        assert!(
            scale_s > 0.0,
            "row {i}: the score does not depend on the schedule"
        );
    }
    assert!(checked > 20);
}

fn cases() -> Vec<(Arc<Sketch>, Target)> {
    let h100 = Target::preset("h100-sxm").unwrap();
    vec![
        (
            sketch("matmul(M=256,N=256,K=256)", &h100, "gpu-tiling"),
            h100,
        ),
        (
            sketch("matmul(M=512,N=512,K=512)", &cpu(), "cpu-tiling"),
            cpu(),
        ),
    ]
}

#[test]
fn gradients_match_finite_differences_with_the_analytic_model() {
    let model = analytic();
    for (i, (sk, target)) in cases().into_iter().enumerate() {
        let obj = ModelObjective::build(sk, &target, ModelRef::Plain(&model)).unwrap();
        check_fd(&obj, &model, 0.5, i as u64);
    }
}

#[test]
fn gradients_match_finite_differences_with_an_ensemble() {
    let cfg = MlpConfig {
        hidden: 32,
        seed: 3,
        ..MlpConfig::default()
    };
    let model = EnsembleModel::new(&feature_spec(), "t", cfg, 2).unwrap();
    for (i, (sk, target)) in cases().into_iter().enumerate() {
        let obj = ModelObjective::build(sk, &target, ModelRef::Ensemble(&model)).unwrap();
        // As a `CostModel`, the ensemble scores by its members' mean (what the objective uses).
        check_fd(&obj, &model, 0.5, 10 + i as u64);
        // The ensemble's spread is the uncertainty, at relaxed and exact points alike.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let a = obj.space().sample(&mut rng).unwrap();
        let ex = obj.score_exact(std::slice::from_ref(&a)).unwrap();
        assert!(ex[0].uncertainty > 0.0 && ex[0].score.is_finite());
    }
}

#[test]
fn exact_scores_and_features_of_sampled_assignments() {
    let model = analytic();
    for (sk, target) in cases() {
        let obj = ModelObjective::build(sk, &target, ModelRef::Plain(&model)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let pts: Vec<_> = (0..32)
            .map(|_| obj.space().sample(&mut rng).unwrap())
            .collect();
        let ex = obj.score_exact(&pts).unwrap();
        let feats = obj.exact_features(&pts).unwrap();
        assert_eq!((ex.len(), feats.len()), (32, 32));
        let f = feats[0].as_ref().expect("finite features");
        assert_eq!(f.n_rows, obj.features().n_rows());
        assert_eq!(f.rows.len(), f.n_rows * FEATURE_NAMES.len());
        // Scores differ between schedules (the model sees the schedule).
        let distinct = ex
            .iter()
            .map(|e| e.score.to_bits())
            .collect::<std::collections::HashSet<_>>();
        assert!(distinct.len() >= 4, "{distinct:?}");
    }
}
