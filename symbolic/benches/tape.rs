//! Criterion bench `tape`: forward + vector-Jacobian product of a generated ~5,000-node
//! expression DAG (a third of the operations transcendental or relaxed; 8 variables, 64
//! outputs; the compiled tape has 4,986 instructions) over 1,024 points, τ = 0.1.
//!
//! Run: `cargo bench -p tilegrad-symbolic --bench tape`.

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;
use tilegrad_symbolic::testgen::{random_dag, GenOptions};
use tilegrad_symbolic::{ExprArena, Mode, Tape};

const VARS: usize = 8;
const ROWS: usize = 1024;

fn setup() -> (Tape, Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let refs: Vec<Vec<f64>> = (0..24)
        .map(|_| (0..VARS).map(|_| rng.random_range(1.0..64.0)).collect())
        .collect();
    let mut arena = ExprArena::new();
    let opts = GenOptions {
        vars: VARS,
        nodes: 4870,
        taus: vec![0.1],
        max_outputs: 64,
        ..GenOptions::default()
    };
    let dag = random_dag(&mut arena, &opts, &refs, &mut rng);
    let tape = Tape::compile(&arena, &dag.outputs, &dag.vars).expect("compile");
    let points = Array2::from_shape_fn((ROWS, VARS), |_| rng.random_range(1.0..64.0));
    let d_out = Array2::from_shape_fn((ROWS, tape.num_outputs()), |_| rng.random_range(-1.0..1.0));
    (tape, points, d_out)
}

fn bench_tape(c: &mut Criterion) {
    let (tape, points, d_out) = setup();
    let mut group = c.benchmark_group("tape");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let relaxed = Mode::Relaxed { tau: 0.1 };
    group.bench_function("fwd_vjp_relaxed_5000x1024", |b| {
        b.iter(|| black_box(tape.vjp(points.view(), relaxed, d_out.view()).expect("vjp")))
    });
    group.bench_function("fwd_vjp_exact_5000x1024", |b| {
        b.iter(|| {
            black_box(
                tape.vjp(points.view(), Mode::Exact, d_out.view())
                    .expect("vjp"),
            )
        })
    });
    group.bench_function("fwd_relaxed_5000x1024", |b| {
        b.iter(|| black_box(tape.forward(points.view(), relaxed).expect("fwd")))
    });
    group.finish();
}

criterion_group!(benches, bench_tape);
criterion_main!(benches);
