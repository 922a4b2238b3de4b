//! Property tests of the Tape on random expression DAGs: agreement with scalar evaluation
//! (exact and relaxed) and vector-Jacobian products against central finite differences.

use ndarray::{Array2, ArrayView2};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::testgen::{random_dag, Dag, GenOptions};
use tilegrad_symbolic::{eval_exact_many, eval_relaxed_many, ExprArena, Mode, RowStatus, Tape};

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A random DAG over 3–4 variables, well defined at `rows` random points.
fn setup(seed: u64, integer: bool, taus: Vec<f64>) -> (ExprArena, Dag, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_vars = rng.random_range(3..=4);
    let rows = 6;
    let points = Array2::from_shape_fn((rows, n_vars), |_| {
        if integer {
            rng.random_range(1..=12) as f64
        } else {
            rng.random_range(1.05..9.95)
        }
    });
    let refs: Vec<Vec<f64>> = points.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut arena = ExprArena::new();
    let opts = GenOptions {
        vars: n_vars,
        nodes: rng.random_range(10..40),
        bound: 1e5,
        taus,
        ..GenOptions::default()
    };
    let dag = random_dag(&mut arena, &opts, &refs, &mut rng);
    (arena, dag, points)
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn agreement_case(seed: u64) -> Result<(), TestCaseError> {
    let (arena, dag, points) = setup(seed, true, vec![0.05, 0.7]);
    let tape = Tape::compile(&arena, &dag.outputs, &dag.vars)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(tape.num_outputs(), dag.outputs.len());
    prop_assert_eq!(tape.num_columns(), dag.vars.len());
    let ev = tape
        .forward(points.view(), Mode::Exact)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (r, row) in points.rows().into_iter().enumerate() {
        let want = eval_exact_many(
            &arena,
            &dag.outputs,
            row.as_slice().unwrap_or(&row.to_vec()),
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ev.status[r], RowStatus::Finite);
        for (k, w) in want.iter().enumerate() {
            prop_assert!(
                same(ev.values[[r, k]], *w),
                "exact row {} output {}: tape {} scalar {}",
                r,
                k,
                ev.values[[r, k]],
                w
            );
        }
    }
    for tau in [0.05, 0.7] {
        let ev = tape
            .forward(points.view(), Mode::Relaxed { tau })
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (r, row) in points.rows().into_iter().enumerate() {
            let want = eval_relaxed_many(&arena, &dag.outputs, &row.to_vec(), tau);
            for (k, w) in want.iter().enumerate() {
                prop_assert!(
                    same(ev.values[[r, k]], *w),
                    "relaxed τ={} row {} output {}: tape {} scalar {}",
                    tau,
                    r,
                    k,
                    ev.values[[r, k]],
                    w
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128, 21))]

    /// (a) Exact Tape forward equals `eval_exact` at integer points (bit for bit), and
    /// relaxed Tape forward equals `eval_relaxed`.
    #[test]
    fn tape_matches_scalar_evaluation(seed in any::<u64>()) {
        agreement_case(seed)?;
    }
}

/// Σ_k d[r,k]·out[r,k] for every row.
fn losses(tape: &Tape, points: ArrayView2<f64>, mode: Mode, d: ArrayView2<f64>) -> Vec<f64> {
    let ev = tape.forward(points, mode).expect("forward");
    (0..points.nrows())
        .map(|r| (0..d.ncols()).map(|k| d[[r, k]] * ev.values[[r, k]]).sum())
        .collect()
}

/// Central differences of the per-row loss w.r.t. every column, at steps `h·scale`.
fn central_differences(
    tape: &Tape,
    points: &Array2<f64>,
    mode: Mode,
    d: &Array2<f64>,
    h: f64,
) -> Array2<f64> {
    let (rows, cols) = points.dim();
    // One batch: for each (r, j), rows with x_j ± step.
    let mut batch = Array2::zeros((rows * cols * 2, cols));
    let mut dd = Array2::zeros((rows * cols * 2, d.ncols()));
    let mut steps = vec![0.0; rows * cols];
    for r in 0..rows {
        for j in 0..cols {
            let step = h * points[[r, j]].abs().max(1.0);
            steps[r * cols + j] = step;
            for (s, sign) in [1.0, -1.0].into_iter().enumerate() {
                let i = (r * cols + j) * 2 + s;
                batch.row_mut(i).assign(&points.row(r));
                batch[[i, j]] += sign * step;
                dd.row_mut(i).assign(&d.row(r));
            }
        }
    }
    let l = losses(tape, batch.view(), mode, dd.view());
    Array2::from_shape_fn((rows, cols), |(r, j)| {
        let i = (r * cols + j) * 2;
        (l[i] - l[i + 1]) / (2.0 * steps[r * cols + j])
    })
}

/// (c) Every VJP against central finite differences of the relaxed forward, on random
/// DAGs at non-integer points. Entries where the finite difference is not stable under
/// halving the step (a floor jump or a regime switch inside the stencil) are skipped; at
/// least 70% of all entries must be checked.
#[test]
fn vjp_matches_finite_differences() {
    let mut runner = TestRunner::new(config(96, 33));
    let checked = std::cell::Cell::new(0usize);
    let total = std::cell::Cell::new(0usize);
    runner
        .run(&any::<u64>(), |seed| {
            let tau = 0.3;
            let mode = Mode::Relaxed { tau };
            let (arena, dag, points) = setup(seed, false, vec![tau]);
            let tape = Tape::compile(&arena, &dag.outputs, &dag.vars)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd1ff);
            let d = Array2::from_shape_fn((points.nrows(), tape.num_outputs()), |_| {
                rng.random_range(-1.0..1.0)
            });
            let (ev, grad) = tape
                .vjp(points.view(), mode, d.view())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let fd1 = central_differences(&tape, &points, mode, &d, 1e-5);
            let fd2 = central_differences(&tape, &points, mode, &d, 5e-6);
            let scale: Vec<f64> = (0..points.nrows())
                .map(|r| ev.values.row(r).iter().map(|v| v.abs()).sum::<f64>())
                .collect();
            for ((r, j), &g) in grad.indexed_iter() {
                total.set(total.get() + 1);
                prop_assert!(
                    ev.status[r].is_ok(),
                    "row {} flagged: {:?}",
                    r,
                    ev.status[r]
                );
                // Round-off of the loss divided by the step.
                let noise = 1e-10 * scale[r] / (1e-5 * points[[r, j]].abs().max(1.0));
                let (f1, f2) = (fd1[[r, j]], fd2[[r, j]]);
                if (f1 - f2).abs() > 1e-4 * (1.0 + f1.abs()) + 4.0 * noise {
                    continue; // non-smooth inside the stencil
                }
                checked.set(checked.get() + 1);
                prop_assert!(
                    (g - f1).abs() <= 2e-4 * (1.0 + f1.abs() + g.abs()) + 4.0 * noise,
                    "row {} col {}: vjp {} vs finite difference {} ({})",
                    r,
                    j,
                    g,
                    f1,
                    f2
                );
            }
            Ok(())
        })
        .unwrap();
    assert!(
        checked.get() * 10 >= total.get() * 7,
        "only {} of {} gradient entries checked",
        checked.get(),
        total.get()
    );
}
