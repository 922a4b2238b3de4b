//! Property tests of the simplifier: values kept at random positive integer points,
//! idempotence, and independence of construction order.

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::integral::is_integral;
use tilegrad_symbolic::{
    eval_exact, eval_relaxed, simplify_many_with, simplify_with, BinOp, Expr, ExprArena, ExprId,
    SimplifyOptions, UnOp,
};

const VARS: [&str; 4] = ["x0", "x1", "x2", "x3"];
const CONSTS: [f64; 11] = [0.0, 1.0, 2.0, 3.0, 4.0, 8.0, 16.0, 0.5, -1.0, -2.0, 1.5];
// `pow` only gets small constant exponents (below): `x^x` leaves the exact range of f64.
const ALL_BIN: [BinOp; 14] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::FloorDiv,
    BinOp::CeilDiv,
    BinOp::Mod,
    BinOp::Min,
    BinOp::Max,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Eq,
    BinOp::And,
    BinOp::Or,
];
const ARITH_BIN: [BinOp; 4] = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div];

/// A random expression DAG: `n` nodes, operands drawn from earlier nodes (so sub-DAGs are
/// shared), with a bias to the latest ones. `arith` restricts to `+ − * / neg exp log pow`.
fn random_expr(arena: &mut ExprArena, rng: &mut ChaCha8Rng, n: usize, arith: bool) -> ExprId {
    let mut pool: Vec<ExprId> = VARS.iter().map(|v| arena.var(v)).collect();
    let pick = |pool: &[ExprId], rng: &mut ChaCha8Rng, a: &mut ExprArena| -> ExprId {
        if rng.random_bool(0.2) {
            a.constant(CONSTS[rng.random_range(0..CONSTS.len())])
        } else if rng.random_bool(0.6) {
            pool[pool.len() - 1 - rng.random_range(0..pool.len().min(4))]
        } else {
            pool[rng.random_range(0..pool.len())]
        }
    };
    for _ in 0..n {
        let a = pick(&pool, rng, arena);
        let b = pick(&pool, rng, arena);
        let id = match rng.random_range(0..10) {
            0 => {
                let ops = [UnOp::Neg, UnOp::Exp, UnOp::Log, UnOp::Not];
                let op = ops[rng.random_range(0..if arith { 3 } else { 4 })];
                arena.unary(op, a)
            }
            1 if !arith => {
                let c = pick(&pool, rng, arena);
                arena.select(c, a, b)
            }
            2 => {
                let k = arena.constant([2.0, 3.0, 0.5, -1.0, 0.0, 1.0][rng.random_range(0..6)]);
                arena.pow(a, k)
            }
            _ => {
                let op = if arith {
                    ARITH_BIN[rng.random_range(0..ARITH_BIN.len())]
                } else {
                    ALL_BIN[rng.random_range(0..ALL_BIN.len())]
                };
                arena.binary(op, a, b)
            }
        };
        pool.push(id);
    }
    *pool.last().unwrap_or(&pool[0])
}

fn close(x: f64, y: f64) -> bool {
    (x - y).abs() <= 1e-7 * x.abs().max(y.abs()).max(1.0)
}

/// Whether `e` at `pt` is far from the discontinuities of f64 arithmetic and from
/// catastrophic cancellation (a non-integral sum 1e6 times smaller than its operands), so that a
/// reassociated but equal expression must agree with it: no intermediate above 1e7 (so cancellation loses no digit that matters), no
/// `floordiv`/`ceildiv`/`mod` of non-integral operands whose quotient is within 1e-6 of an integer,
/// no comparison of nearly equal non-integral operands, no truth test, `log`, division or power of
/// a non-integral value within 1e-9 of 0 ("integral" in the static sense of [`is_integral`]).
fn well_conditioned(a: &ExprArena, e: ExprId, pt: &[f64]) -> bool {
    let val = |id: ExprId| eval_exact(a, id, pt).ok();
    let near_int = |x: f64| (x - x.round()).abs() < 1e-6;
    let int = |id: ExprId| is_integral(a, id);
    let tiny = |x: f64| x.abs() < 1e-9;
    a.reachable(&[e]).into_iter().all(|id| {
        if val(id).is_some_and(|v| v.abs() > 1e7) {
            return false;
        }
        match *a.get(id) {
            Expr::Binary(op, x, y) => match (op, val(x), val(y)) {
                (BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod, Some(u), Some(v)) => {
                    (int(x) && int(y)) || !near_int(u / v)
                }
                (BinOp::Lt | BinOp::Le | BinOp::Eq, Some(u), Some(v)) => {
                    (int(x) && int(y)) || (u - v).abs() > 1e-9 * u.abs().max(1.0)
                }
                (BinOp::And | BinOp::Or, Some(u), Some(v)) => {
                    (int(x) || !tiny(u)) && (int(y) || !tiny(v))
                }
                (BinOp::Div, _, Some(v)) => int(y) || !tiny(v),
                (BinOp::Pow, Some(u), _) => int(x) || !tiny(u),
                // Cancellation of non-integers: the f64 original has lost its digits.
                (BinOp::Add | BinOp::Sub, Some(u), Some(v)) => {
                    (int(x) && int(y))
                        || val(id).is_some_and(|r| r.abs() * 1e6 >= u.abs().max(v.abs()))
                }
                _ => true,
            },
            Expr::Unary(UnOp::Not | UnOp::Log, x) | Expr::Select(x, _, _) => {
                int(x) || !val(x).is_some_and(tiny)
            }
            _ => true,
        }
    })
}

/// Checks that `s` (the simplification of `e`) has `e`'s exact value wherever `e` is
/// defined, at `points` random positive integer points; with `relaxed`, also compares the
/// relaxed values. Returns the number of points where `e` was defined.
fn check_values(a: &ExprArena, e: ExprId, s: ExprId, rng: &mut ChaCha8Rng, relaxed: bool) -> usize {
    let mut defined = 0;
    for _ in 0..12 {
        let pt: Vec<f64> = (0..a.num_vars())
            .map(|_| rng.random_range(1..=12) as f64)
            .collect();
        let Ok(want) = eval_exact(a, e, &pt) else {
            continue;
        };
        if !well_conditioned(a, e, &pt) {
            continue;
        }
        defined += 1;
        let got = eval_exact(a, s, &pt).unwrap_or_else(|err| {
            panic!(
                "simplified is undefined at {pt:?}: {err}\n  {}\n→ {}",
                a.display(e),
                a.display(s)
            )
        });
        assert!(
            close(want, got),
            "at {pt:?}: {want} vs {got}\n  {}\n→ {}",
            a.display(e),
            a.display(s)
        );
        if relaxed {
            let (rw, rg) = (eval_relaxed(a, e, &pt, 0.5), eval_relaxed(a, s, &pt, 0.5));
            assert!(
                close(rw, rg),
                "relaxed at {pt:?}: {rw} vs {rg}\n  {}\n→ {}",
                a.display(e),
                a.display(s)
            );
        }
    }
    defined
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn keeps_exact_values(seed in any::<u64>(), positive in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = ExprArena::new();
        let e = random_expr(&mut a, &mut rng, 24, false);
        let opts = SimplifyOptions { assume_positive_vars: positive };
        let s = simplify_with(&mut a, e, opts);
        check_values(&a, e, s, &mut rng, false);
        let s2 = simplify_with(&mut a, s, opts);
        prop_assert_eq!(s2, s, "not idempotent: {} → {}", a.display(s), a.display(s2));
    }

    #[test]
    fn keeps_relaxed_values_of_arithmetic(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = ExprArena::new();
        let e = random_expr(&mut a, &mut rng, 20, true);
        let s = simplify_with(&mut a, e, SimplifyOptions::positive());
        check_values(&a, e, s, &mut rng, true);
        let s2 = simplify_with(&mut a, s, SimplifyOptions::positive());
        prop_assert_eq!(s2, s, "not idempotent: {} → {}", a.display(s), a.display(s2));
    }

    #[test]
    fn construction_order_does_not_matter(seed in any::<u64>()) {
        // The same sum of products, built with shuffled terms, factors and variable
        // declaration order, simplifies to the same text (and, in one arena, the same id).
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let terms: Vec<(f64, Vec<&str>)> = (0..rng.random_range(1..6))
            .map(|_| {
                let k = CONSTS[rng.random_range(0..CONSTS.len())];
                let f = (0..rng.random_range(1..4)).map(|_| VARS[rng.random_range(0..VARS.len())]).collect();
                (k, f)
            })
            .collect();
        let build = |a: &mut ExprArena, rng: &mut ChaCha8Rng| -> ExprId {
            let mut ts = terms.clone();
            ts.shuffle(rng);
            let mut sum: Option<ExprId> = None;
            for (k, mut fs) in ts {
                fs.shuffle(rng);
                let mut p = a.constant(k);
                for f in fs {
                    let v = a.var(f);
                    p = if rng.random_bool(0.5) { a.mul(p, v) } else { a.mul(v, p) };
                }
                sum = Some(match sum {
                    None => p,
                    Some(s) if rng.random_bool(0.5) => a.add(s, p),
                    Some(s) => a.add(p, s),
                });
            }
            sum.unwrap_or_else(|| a.constant(0.0))
        };
        let mut texts = Vec::new();
        let mut a = ExprArena::new();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let mut b = ExprArena::new();
            let mut names = VARS.to_vec();
            names.shuffle(&mut rng);
            for n in names {
                b.var(n);
            }
            let e = build(&mut b, &mut rng);
            let s = simplify_with(&mut b, e, SimplifyOptions::default());
            texts.push(b.display(s));
            let e = build(&mut a, &mut rng);
            ids.push(simplify_with(&mut a, e, SimplifyOptions::default()));
        }
        prop_assert!(texts.windows(2).all(|w| w[0] == w[1]), "{:?}", texts);
        prop_assert!(ids.windows(2).all(|w| w[0] == w[1]));
    }
}

#[test]
fn simplify_many_matches_simplify() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut a = ExprArena::new();
    let roots: Vec<ExprId> = (0..20)
        .map(|_| random_expr(&mut a, &mut rng, 15, false))
        .collect();
    let many = simplify_many_with(&mut a, &roots, SimplifyOptions::positive());
    for (&r, &m) in roots.iter().zip(&many) {
        assert_eq!(simplify_with(&mut a, r, SimplifyOptions::positive()), m);
    }
}

#[test]
fn value_checks_are_not_vacuous() {
    // Over 200 random expressions, a good share of the points are defined and well
    // conditioned, so the value checks above do compare values.
    let (mut checked, mut changed) = (0, 0);
    for seed in 0..200 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = ExprArena::new();
        let e = random_expr(&mut a, &mut rng, 24, false);
        let s = simplify_with(&mut a, e, SimplifyOptions::positive());
        changed += usize::from(s != e);
        checked += check_values(&a, e, s, &mut rng, false);
    }
    println!("{checked} of 2400 points checked, {changed} of 200 expressions changed");
    assert!(checked > 600, "only {checked} of 2400 points checked");
    assert!(changed > 150, "only {changed} of 200 expressions changed");
}
