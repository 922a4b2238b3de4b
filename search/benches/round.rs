//! Time of one gradient-search round (`propose`, k = 8, default settings, the shipped CPU
//! model) on the three sketches of the 1x1 conv whose rounds once took 80 s.
//!
//! `cargo bench -p tilegrad-search --bench round`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::tuner::TunerModel;
use tilegrad_search::{
    GradientConfig, GradientSearch, ModelObjective, Objective, SearchPolicy, SeenSet,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

fn bench(c: &mut Criterion) {
    let target = Target::example_cpu();
    let model = TunerModel::pretrained_for(&target)
        .expect("model")
        .expect("a shipped CPU model");
    let w: Workload = "conv2d(N=1,H=14,W=14,C=80,K=480,R=1,S=1,stride=1,pad=0)+bias"
        .parse()
        .expect("workload");
    let objs: Vec<ModelObjective> = sketches(&w, &target)
        .expect("sketches")
        .into_iter()
        .map(|s| ModelObjective::build(Arc::new(s), &target, model.as_ref()).expect("features"))
        .collect();
    let tasks: Vec<&dyn Objective> = objs.iter().map(|o| o as &dyn Objective).collect();
    let mut group = c.benchmark_group("gradient_round_conv1x1");
    group.sample_size(10);
    group.bench_function("propose_k8", |b| {
        b.iter(|| {
            let mut g = GradientSearch::new(GradientConfig::default()).expect("config");
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            g.propose(&tasks, &SeenSet::new(), 8, &mut rng)
                .expect("propose")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
