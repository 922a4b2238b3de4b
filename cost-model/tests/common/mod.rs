//! Shared synthetic data for the integration tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_cost_model::{FeatureSpec, ProgramFeatures, Sample};

/// Columns of the synthetic feature rows.
pub const NF: usize = 8;

/// The spec used by the tests.
pub fn spec() -> FeatureSpec {
    FeatureSpec::new("test-v1", NF)
}

/// A hidden "true" score: a smooth non-linear function summed over rows.
pub fn true_score(rows: &[f32]) -> f64 {
    rows.chunks_exact(NF)
        .map(|r| {
            let r: Vec<f64> = r.iter().map(|&v| v as f64).collect();
            1.5 * r[0] - 0.8 * r[1] * r[1] + (r[2] * r[3]).tanh() + 0.5 * r[4].sin() + r[7]
        })
        .sum::<f64>()
}

/// `n_tasks` tasks of `per_task` programs with 1..=4 rows each; labels from [`true_score`]
/// (column 7 is a per-task constant, so tasks differ in level). With `failures`, a program whose column 5 sums above 0.8
/// over its rows fails (about 20 % of them), so failure is learnable from the features.
pub fn synthetic(n_tasks: usize, per_task: usize, failures: bool, seed: u64) -> Vec<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for t in 0..n_tasks {
        let level = 2.0 * t as f32 / n_tasks.max(1) as f32 - 1.0;
        for _ in 0..per_task {
            let n_rows = rng.random_range(1..=4usize);
            let mut rows: Vec<f32> = (0..n_rows * NF)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            rows.iter_mut().skip(7).step_by(NF).for_each(|v| *v = level);
            let failed = failures && rows.iter().skip(5).step_by(NF).sum::<f32>() > 0.8;
            let label = (!failed).then(|| true_score(&rows));
            out.push(Sample {
                task: format!("task{t}"),
                features: ProgramFeatures::new(rows, n_rows),
                label,
            });
        }
    }
    out
}
