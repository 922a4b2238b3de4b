//! Simplifier speed on a generated feature set (a few thousand nodes).

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{dag_size, simplify_many_with, ExprArena, ExprId, SimplifyOptions};

/// `log(1 + Σ k·Π sp)` features with redundant construction, as in the corpus test.
fn features(a: &mut ExprArena, n: usize, seed: u64) -> Vec<ExprId> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sp: Vec<ExprId> = (0..16).map(|i| a.var(&format!("sp_{i}"))).collect();
    let one = a.constant(1.0);
    let mut feats = Vec::new();
    for _ in 0..n {
        let mut sum = a.constant(0.0);
        for _ in 0..rng.random_range(2..8) {
            let mut prod = a.constant([1.0, 2.0, 4.0, 8.0][rng.random_range(0..4)]);
            for _ in 0..rng.random_range(2..7) {
                let f = sp[rng.random_range(0..sp.len())];
                prod = if rng.random_bool(0.5) {
                    a.mul(prod, f)
                } else {
                    a.mul(f, prod)
                };
            }
            if rng.random_bool(0.3) {
                let e = a.constant(4096.0);
                let d = a.floordiv(e, prod);
                prod = a.mul(prod, d);
            }
            let t = a.constant(2.0);
            let small = a.lt(t, prod);
            let z = a.constant(0.0);
            let guarded = a.select(small, prod, z);
            sum = a.add(sum, guarded);
        }
        let l = a.add(one, sum);
        feats.push(a.log(l));
    }
    feats
}

fn bench(c: &mut Criterion) {
    let mut base = ExprArena::new();
    let roots = features(&mut base, 150, 1);
    let nodes = dag_size(&base, &roots);
    c.bench_function(&format!("simplify_many {nodes} nodes"), |b| {
        b.iter_batched(
            || base.clone(),
            |mut a| simplify_many_with(&mut a, &roots, SimplifyOptions::positive()),
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
