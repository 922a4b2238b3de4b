//! Time of one `propose` round (k = 32) per policy on the roofline matmul objective.
//!
//! `cargo bench -p tilegrad-search --bench propose`

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::synthetic::Roofline;
use tilegrad_search::{
    EvolutionConfig, EvolutionarySearch, GradientConfig, GradientSearch, LbfgsConfig, Optimizer,
    RandomConfig, RandomSearch, SearchPolicy, SeenSet,
};

fn bench(c: &mut Criterion) {
    let obj = Roofline::matmul(1024, 1024, 512).expect("objective");
    let base = GradientConfig {
        n_starts: 32,
        n_steps: 40,
        ..GradientConfig::default()
    };
    let lbfgs = GradientConfig {
        n_starts: 8,
        n_steps: 30,
        optimizer: Optimizer::Lbfgs(LbfgsConfig::default()),
        ..base
    };
    let policies: Vec<(&str, Box<dyn SearchPolicy>)> = vec![
        (
            "adam-32x40",
            Box::new(GradientSearch::new(base).expect("config")),
        ),
        (
            "lbfgs-8x30",
            Box::new(GradientSearch::new(lbfgs).expect("config")),
        ),
        (
            "evolutionary-256x4",
            Box::new(
                EvolutionarySearch::new(EvolutionConfig {
                    population: 256,
                    ..EvolutionConfig::default()
                })
                .expect("config"),
            ),
        ),
        (
            "random-ranked-2k",
            Box::new(
                RandomSearch::new(RandomConfig {
                    oversample: 64,
                    rank_by_model: true,
                    kappa: 0.0,
                })
                .expect("config"),
            ),
        ),
    ];
    let mut group = c.benchmark_group("propose_roofline_k32");
    group.sample_size(10);
    for (name, mut policy) in policies {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                policy
                    .propose(&[&obj], &SeenSet::new(), 32, &mut rng)
                    .expect("propose")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
