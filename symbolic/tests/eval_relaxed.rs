//! Relaxed scalar evaluation: the documented formulas, and convergence to the exact value
//! as τ → 0 at integer points (ties included).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::relax::sigmoid;
use tilegrad_symbolic::testgen::{random_dag, GenOptions};
use tilegrad_symbolic::{eval_exact, eval_exact_many, eval_relaxed, eval_relaxed_many, ExprArena};

fn relaxed(text: &str, vars: &[(&str, f64)], tau: f64) -> f64 {
    let mut arena = ExprArena::new();
    for (name, _) in vars {
        arena.declare_var(name);
    }
    let id = arena.parse(text).expect("parse");
    let values: Vec<f64> = vars.iter().map(|v| v.1).collect();
    eval_relaxed(&arena, id, &values, tau)
}

fn exact(text: &str, vars: &[(&str, f64)]) -> f64 {
    let mut arena = ExprArena::new();
    for (name, _) in vars {
        arena.declare_var(name);
    }
    let id = arena.parse(text).expect("parse");
    let values: Vec<f64> = vars.iter().map(|v| v.1).collect();
    eval_exact(&arena, id, &values).expect("exact")
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn formulas_at_moderate_temperature() {
    let r = |tau: f64| 1.0 - (-1.0 / tau).exp();
    let (a, b): (f64, f64) = (3.0, 4.0);
    let ab = [("a", a), ("b", b)];
    let cases: Vec<(&str, f64, f64)> = vec![
        // p-norm max / min with p = 1/τ.
        ("(max a b)", 0.5, (a * a + b * b).sqrt()),
        ("(min a b)", 1.0, 1.0 / (1.0 / a + 1.0 / b)),
        // Absolute smooth max (an operand non-positive): s = max(1, 3, 0) = 3, t = τ·s = 1.5.
        ("(max (neg a) 0)", 0.5, 1.5 * (1.0 + (-2.0f64).exp()).ln()),
        (
            "(min (neg a) 0)",
            0.5,
            -3.0 - 1.5 * (1.0 + (-2.0f64).exp()).ln(),
        ),
        // floor_τ(x) = x − r·(x − ⌊x⌋).
        ("(floordiv 6 b)", 0.5, 1.5 - r(0.5) * 0.5),
        ("(ceildiv 6 b)", 0.5, 1.5 + r(0.5) * 0.5),
        ("(mod 6 b)", 0.5, 6.0 - 4.0 * (1.5 - r(0.5) * 0.5)),
        ("(floordiv 7 b)", 0.01, 1.0),
        // Comparisons: integral operands get the margin h = ½.
        (
            "(< a b)",
            0.5,
            sigmoid((b.asinh() - (a + 0.5).asinh()) / 0.5),
        ),
        (
            "(<= a b)",
            0.5,
            sigmoid(((b + 0.5).asinh() - a.asinh()) / 0.5),
        ),
        (
            "(< (/ a 2) b)",
            0.5,
            sigmoid((b.asinh() - 1.5f64.asinh()) / 0.5),
        ),
        (
            "(== a b)",
            2.0,
            sigmoid(((b + 0.5).asinh() - a.asinh()) / 2.0)
                * sigmoid(((a + 0.5).asinh() - b.asinh()) / 2.0),
        ),
        // Logic and select.
        ("(and (/ 1 a) (/ 1 b))", 1.0, 1.0 / 12.0),
        ("(or (/ 1 a) (/ 1 b))", 1.0, 1.0 / 3.0 + 0.25 - 1.0 / 12.0),
        ("(not (/ 1 a))", 1.0, 2.0 / 3.0),
        ("(select (/ 1 b) a b)", 1.0, 0.25 * 3.0 + 0.75 * 4.0),
    ];
    for (text, tau, expect) in cases {
        let got = relaxed(text, &ab, tau);
        assert!(
            close(got, expect, 1e-12),
            "{text} at τ={tau}: {got} vs {expect}"
        );
    }
    // Large τ: floordiv tends to real division.
    assert!(close(relaxed("(floordiv 7 b)", &ab, 1e6), 1.75, 1e-5));
}

#[test]
fn ties_converge_to_exact() {
    let cases: &[(&str, &[(&str, f64)])] = &[
        ("(< 1 x)", &[("x", 1.0)]),
        ("(< x 1)", &[("x", 1.0)]),
        ("(<= x y)", &[("x", 5.0), ("y", 5.0)]),
        ("(< x y)", &[("x", 5.0), ("y", 5.0)]),
        ("(== x y)", &[("x", 5.0), ("y", 5.0)]),
        ("(== x y)", &[("x", 5.0), ("y", 6.0)]),
        ("(floordiv x y)", &[("x", 12.0), ("y", 4.0)]),
        ("(floordiv x y)", &[("x", 13.0), ("y", 4.0)]),
        ("(ceildiv x y)", &[("x", 12.0), ("y", 4.0)]),
        ("(ceildiv x y)", &[("x", 13.0), ("y", 4.0)]),
        ("(mod x y)", &[("x", 12.0), ("y", 4.0)]),
        ("(mod x y)", &[("x", 13.0), ("y", 4.0)]),
        ("(max x y)", &[("x", 4.0), ("y", 4.0)]),
        ("(min x y)", &[("x", 4.0), ("y", 4.0)]),
        ("(min x y)", &[("x", 0.0), ("y", 0.0)]),
        ("(max x y)", &[("x", -3.0), ("y", -3.0)]),
        // Smooth min/max overshoot at ties must not move floor/ceil.
        ("(ceildiv x (min x y))", &[("x", 8.0), ("y", 8.0)]),
        ("(floordiv (max x y) 2)", &[("x", 6.0), ("y", 6.0)]),
        ("(ceildiv (max x y) 2)", &[("x", 6.0), ("y", 6.0)]),
        ("(floordiv (min x y) y)", &[("x", 6.0), ("y", 6.0)]),
        ("(<= (min x y) 6)", &[("x", 6.0), ("y", 6.0)]),
        ("(< (max x y) 6)", &[("x", 6.0), ("y", 6.0)]),
        ("(select (< x y) x (* 2 y))", &[("x", 3.0), ("y", 3.0)]),
        ("(and (<= x y) (not (< x y)))", &[("x", 3.0), ("y", 3.0)]),
    ];
    for &(text, vars) in cases {
        let want = exact(text, vars);
        for tau in [1e-3, 1e-6] {
            let got = relaxed(text, vars, tau);
            let tol = 4.0 * tau; // smooth max/min are within τ·ln 2 (relative) at ties
            assert!(
                close(got, want, tol),
                "{text} at {vars:?}, τ={tau}: relaxed {got}, exact {want}"
            );
        }
    }
    // Comparisons work in log units: a tie of integral values near X needs τ ≪ 1/(2X).
    let big = [("x", 25.0), ("y", 40.0)];
    assert_eq!(exact("(< 1000 (* x y))", &big), 0.0);
    assert!(relaxed("(< 1000 (* x y))", &big, 1e-3) > 0.3);
    assert!(relaxed("(< 1000 (* x y))", &big, 1e-6) < 1e-9);
    assert!(relaxed("(<= 1000 (* x y))", &big, 1e-6) > 1.0 - 1e-9);
}

#[test]
fn invalid_temperature_or_missing_values_give_nan() {
    assert!(relaxed("(+ a 1)", &[("a", 1.0)], 0.0).is_nan());
    assert!(relaxed("(+ a 1)", &[("a", 1.0)], f64::INFINITY).is_nan());
    let mut arena = ExprArena::new();
    let x = arena.var("x");
    assert!(eval_relaxed(&arena, x, &[], 0.1).is_nan());
    assert!(
        eval_relaxed_many(&arena, &[x, tilegrad_symbolic::ExprId(77)], &[1.0], 0.1)
            .iter()
            .all(|v| v.is_nan())
    );
}

fn convergence_case(seed: u64) -> Result<(), TestCaseError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_vars = rng.random_range(3..=4);
    let refs: Vec<Vec<f64>> = (0..4)
        .map(|_| {
            (0..n_vars)
                .map(|_| rng.random_range(1..=12) as f64)
                .collect()
        })
        .collect();
    let mut arena = ExprArena::new();
    let opts = GenOptions {
        vars: n_vars,
        nodes: rng.random_range(12..40),
        cmp_gap: 0.05,
        bound: 1e5,
        ..GenOptions::default()
    };
    let dag = random_dag(&mut arena, &opts, &refs, &mut rng);
    for point in &refs {
        let want = eval_exact_many(&arena, &dag.outputs, point)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got = eval_relaxed_many(&arena, &dag.outputs, point, 1e-9);
        for ((w, g), id) in want.iter().zip(&got).zip(&dag.outputs) {
            prop_assert!(
                close(*g, *w, 1e-6),
                "{} at {point:?}: relaxed {g}, exact {w}",
                arena.display(*id)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 128, rng_seed: RngSeed::Fixed(11), failure_persistence: None, ..Config::default() })]

    /// Random DAGs at integer points: relaxed(τ = 1e-9) equals exact.
    #[test]
    fn random_dags_converge_to_exact(seed in any::<u64>()) {
        convergence_case(seed)?;
    }
}
