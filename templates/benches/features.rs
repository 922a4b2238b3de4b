//! Building the [`FeatureSet`] (features + constraints → simplify → one tape) of the
//! ResNet-50 3×3 conv2d GPU sketch on h100-sxm. Prints the tape size once.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tilegrad_symbolic::{FeatureSet, Target};
use tilegrad_templates::{sketches, Workload};

const RESNET_CONV: &str = "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu";

fn bench(c: &mut Criterion) {
    let w: Workload = RESNET_CONV.parse().expect("workload");
    let t = Target::preset("h100-sxm").expect("preset");
    let all = sketches(&w, &t).expect("sketches");
    let s = all.iter().find(|s| s.id == "gpu-tiling").unwrap_or(&all[0]);
    let fs = FeatureSet::build(&s.tree, &s.space, &t).expect("feature set");
    eprintln!(
        "{RESNET_CONV} sketch `{}`: {} rows × {} features + {} constraints; tape {} instructions, {} slots, {} columns",
        s.id,
        fs.n_rows(),
        fs.n_features(),
        fs.constraint_names().len(),
        fs.tape().len(),
        fs.tape().num_slots(),
        fs.tape().num_columns()
    );
    c.bench_function("features/build_resnet50_conv3x3_gpu", |b| {
        b.iter(|| {
            FeatureSet::build(black_box(&s.tree), black_box(&s.space), &t).expect("feature set")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
