//! Speed of the cost model: `predict_with_grad` on 1,024 programs of 4 rows, and fine-tuning on
//! 2,000 samples to convergence (early stopping). Run: `cargo bench -p tilegrad-cost-model --bench cost_model`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_cost_model::{
    CostModel, FeatureBatch, FeatureSpec, FitOptions, MlpConfig, MlpModel, ProgramFeatures, Sample,
};

/// Feature columns, close to Felix's 154.
const NF: usize = 160;

fn rows(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n * NF).map(|_| rng.random_range(0.0f32..8.0)).collect()
}

fn samples(n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let r = rows(&mut rng, 4);
            let label = r
                .chunks(NF)
                .map(|x| (x[0] - x[1]).tanh() as f64 + 0.1 * x[2] as f64)
                .sum();
            Sample {
                task: format!("task{}", i % 10),
                features: ProgramFeatures::new(r, 4),
                label: if i % 17 == 0 { None } else { Some(label) },
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let spec = FeatureSpec::new("bench", NF);
    let model = MlpModel::new(&spec, "cpu", MlpConfig::default()).unwrap();
    let felix = MlpModel::new(
        &spec,
        "cpu",
        MlpConfig {
            hidden: 256,
            ..MlpConfig::default()
        },
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut batch = FeatureBatch::with_capacity(NF, 1024, 4096);
    for _ in 0..1024 {
        batch.push(&rows(&mut rng, 4)).unwrap();
    }
    let mut g = c.benchmark_group("cost_model");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("predict_with_grad_1024x4", |b| {
        b.iter(|| black_box(model.predict_with_grad(black_box(&batch)).unwrap()))
    });
    g.bench_function("predict_with_grad_1024x4_hidden256", |b| {
        b.iter(|| black_box(felix.predict_with_grad(black_box(&batch)).unwrap()))
    });
    g.bench_function("predict_1024x4", |b| {
        b.iter(|| black_box(model.predict(black_box(&batch)).unwrap()))
    });

    // Fine-tuning: pre-train once, then fine-tune a copy on 2,000 new samples until early stopping.
    let mut pre = MlpModel::new(&spec, "cpu", MlpConfig::default()).unwrap();
    pre.fit(
        &samples(2000, 2),
        &FitOptions {
            max_epochs: 5,
            ..FitOptions::default()
        },
    )
    .unwrap();
    let fresh = samples(2000, 3);
    let opts = FitOptions::finetune();
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("finetune_2000", |b| {
        b.iter(|| {
            let mut m = pre.clone();
            black_box(m.fit(black_box(&fresh), &opts).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
