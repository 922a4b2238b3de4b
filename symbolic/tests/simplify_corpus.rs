//! Feature-like expressions: the simplifier shrinks them and keeps their values;
//! substitution instantiates them.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{
    dag_size, eval_exact, simplify_many_with, substitute, substitute_many, substitute_values,
    substitute_values_with, ExprArena, ExprId, SimplifyOptions, Var,
};

/// Feature-like expressions as a naive builder emits them, with the canonical form the
/// simplifier must reach under positive schedule variables. (Logs of products grow a
/// little when split, to be shared as `log sp_i` across features; the corpus as a whole
/// shrinks.)
const CORPUS: [(&str, &str); 16] = [
    ("(* (* (* 1 sp_0) (* sp_1 1)) (* sp_2 sp_3))", "(* (* (* sp_0 sp_1) sp_2) sp_3)"),
    ("(* (* (* sp_1 sp_2) 4) (+ 0 (* sp_3 1)))", "(* (* (* sp_1 sp_2) sp_3) 4)"),
    (
        "(log (* (* sp_0 sp_1) (* sp_2 4)))",
        "(+ (+ (+ (log sp_0) (log sp_1)) (log sp_2)) 1.3862943611198906)",
    ),
    ("(floordiv (* (* sp_0 sp_1) 64) (* sp_1 16))", "(* sp_0 4)"),
    ("(+ (* (* sp_0 sp_1) sp_2) (* sp_2 (* sp_1 sp_0)))", "(* (* (* sp_0 sp_1) sp_2) 2)"),
    ("(min (* sp_0 sp_1) (* sp_1 sp_0))", "(* sp_0 sp_1)"),
    ("(floordiv (floordiv 1024 sp_0) sp_1)", "(floordiv 1024 (* sp_0 sp_1))"),
    ("(- (+ (* sp_0 32) (* sp_1 32)) (* 32 sp_0))", "(* sp_1 32)"),
    ("(max 1 (* sp_0 (* sp_1 1)))", "(* sp_0 sp_1)"),
    ("(/ (* (* 1024 sp_0) sp_1) (* sp_0 8))", "(* sp_1 128)"),
    ("(select (<= 1 (* sp_0 sp_1)) (* sp_0 sp_1) 0)", "(* sp_0 sp_1)"),
    ("(log (+ 1 (- (* sp_0 (* sp_1 sp_2)) 0)))", "(log (+ (* (* sp_0 sp_1) sp_2) 1))"),
    ("(ceildiv (* (* sp_2 sp_3) 256) (* 64 sp_3))", "(* sp_2 4)"),
    ("(+ (* (floordiv (+ (* i 16) j) 16) 16) (mod (+ (* i 16) j) 16))", "(+ (* i 16) j)"),
    (
        "(* (ceildiv 512 (* sp_2 4)) (* (* sp_2 4) (* (ceildiv 512 (* sp_2 4)) 1)))",
        "(* (* sp_2 (pow (ceildiv 128 sp_2) 2)) 4)",
    ),
    (
        "(+ (log (+ 1 (* (* sp_0 sp_1) (floordiv 4096 (* sp_0 sp_1))))) (log (+ 1 (* (floordiv 4096 (* sp_1 sp_0)) (* sp_1 sp_0)))))",
        "(* (log (+ (* (* sp_0 sp_1) (floordiv 4096 (* sp_0 sp_1))) 1)) 2)",
    ),
];

/// Random positive integer points (1..=16 per variable).
fn points(n_vars: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..n_vars)
                .map(|_| rng.random_range(1..=16) as f64)
                .collect()
        })
        .collect()
}

fn assert_same_values(a: &ExprArena, before: &[ExprId], after: &[ExprId]) {
    for pt in points(a.num_vars(), 50, 11) {
        for (&e, &s) in before.iter().zip(after) {
            if let Ok(want) = eval_exact(a, e, &pt) {
                let got =
                    eval_exact(a, s, &pt).unwrap_or_else(|err| panic!("{}: {err}", a.display(s)));
                assert!(
                    (want - got).abs() <= 1e-9 * want.abs().max(1.0),
                    "{} at {pt:?}",
                    a.display(e)
                );
            }
        }
    }
}

#[test]
fn corpus_shrinks_to_canonical_forms() {
    let mut a = ExprArena::new();
    let before: Vec<ExprId> = CORPUS.iter().map(|(t, _)| a.parse(t).unwrap()).collect();
    let after = simplify_many_with(&mut a, &before, SimplifyOptions::positive());
    for ((input, expect), &s) in CORPUS.iter().zip(&after) {
        assert_eq!(a.display(s), *expect, "simplifying {input}");
    }
    let (n0, n1) = (dag_size(&a, &before), dag_size(&a, &after));
    println!("corpus: {n0} → {n1} nodes");
    assert!(
        n1 * 10 < n0 * 7,
        "corpus DAG {n0} → {n1} nodes: less than 30% smaller"
    );
    assert_same_values(&a, &before, &after);
}

/// A larger, generated feature set: per-store "bytes touched" and "loop product" sums over
/// tile factors of a 4-level tiled matmul, with `log(1 + x)` on top, built redundantly
/// (factors multiplied in varying orders, `· 1`, `+ 0`, repeated sub-terms).
fn generated_features(a: &mut ExprArena, seed: u64) -> Vec<ExprId> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sp: Vec<ExprId> = (0..12).map(|i| a.var(&format!("sp_{i}"))).collect();
    let one = a.constant(1.0);
    let zero = a.constant(0.0);
    let mut feats = Vec::new();
    for _ in 0..40 {
        let mut sum = zero;
        for _ in 0..rng.random_range(2..6) {
            let mut prod = a.constant([1.0, 2.0, 4.0, 8.0][rng.random_range(0..4)]);
            for _ in 0..rng.random_range(2..6) {
                let f = sp[rng.random_range(0..sp.len())];
                let f = if rng.random_bool(0.3) {
                    a.mul(f, one)
                } else {
                    f
                };
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
            sum = a.add(sum, prod);
        }
        let l = a.add(one, sum);
        feats.push(a.log(l));
    }
    feats
}

#[test]
fn generated_feature_set_shrinks() {
    let mut a = ExprArena::new();
    let before = generated_features(&mut a, 5);
    let after = simplify_many_with(&mut a, &before, SimplifyOptions::positive());
    let (n0, n1) = (dag_size(&a, &before), dag_size(&a, &after));
    println!("generated features: {n0} → {n1} nodes");
    assert!(n1 < n0, "generated features {n0} → {n1} nodes");
    assert_same_values(&a, &before, &after);
}

#[test]
fn substitution_renames_and_instantiates() {
    let mut a = ExprArena::new();
    let e = a.parse("(+ (* x (floordiv 64 y)) (log z))").unwrap();
    let (x, y) = (a.lookup_var("x").unwrap(), a.lookup_var("y").unwrap());
    let w = a.var("w");
    let renamed = substitute(&mut a, e, &HashMap::from([(x, w)]));
    assert_eq!(a.display(renamed), "(+ (* w (floordiv 64 y)) (log z))");
    // Unchanged sub-DAGs keep their ids; an empty map is the identity.
    assert_eq!(substitute(&mut a, e, &HashMap::new()), e);
    let log_z = a.parse("(log z)").unwrap();
    let z = a.lookup_var("z").unwrap();
    assert_eq!(substitute(&mut a, log_z, &HashMap::from([(x, w)])), log_z);
    // Shared sub-DAGs are rebuilt once: both roots see the same new node.
    let f = a.parse("(* 2 (floordiv 64 y))").unwrap();
    let eight = a.constant(8.0);
    let both = substitute_many(&mut a, &[e, f], &HashMap::from([(y, eight)]));
    assert_eq!(a.display(both[1]), "(* 2 (floordiv 64 8))");
    let shared = a.parse("(floordiv 64 8)").unwrap();
    assert!(a.reachable(&[both[0]]).contains(&shared) && a.reachable(&[both[1]]).contains(&shared));
    // Instantiating a point folds everything to a constant.
    let vals: HashMap<Var, f64> = HashMap::from([(x, 3.0), (y, 8.0), (z, 1.0)]);
    let inst = substitute_values(&mut a, &[e], &vals);
    assert_eq!(a.as_const(inst[0]), Some(24.0));
    // A partial instantiation simplifies what it can.
    let part = substitute_values(&mut a, &[e], &HashMap::from([(y, 16.0)]));
    assert_eq!(a.display(part[0]), "(+ (* x 4) (log z))");
    // Under positive variables the log of a product splits.
    let g = a.parse("(log (* (* x y) z))").unwrap();
    let part = substitute_values_with(
        &mut a,
        &[g],
        &HashMap::from([(y, 2.0)]),
        SimplifyOptions::positive(),
    );
    assert_eq!(
        a.display(part[0]),
        "(+ (+ (log x) (log z)) 0.6931471805599453)"
    );
}

#[test]
fn long_chains_are_flattened() {
    // 3000 additions over 10 variables (plus subtractions of constants): the intermediate
    // sums are folded without being built.
    let mut a = ExprArena::new();
    let vars: Vec<ExprId> = (0..10).map(|i| a.var(&format!("v{i}"))).collect();
    let one = a.constant(1.0);
    let mut e = a.constant(0.0);
    for i in 0..3000 {
        e = a.add(e, vars[i % 10]);
        if i % 100 == 0 {
            e = a.sub(e, one);
        }
    }
    let before = a.len();
    let s = simplify_many_with(&mut a, &[e], SimplifyOptions::default())[0];
    let expect = (0..10)
        .map(|i| format!("(* v{i} 300)"))
        .reduce(|acc, t| format!("(+ {acc} {t})"))
        .unwrap_or_default();
    assert_eq!(a.display(s), format!("(- {expect} 30)"));
    assert!(
        a.len() - before < 100,
        "built {} new nodes",
        a.len() - before
    );
    // A long product chain.
    let mut p = a.constant(1.0);
    for i in 0..2000 {
        p = a.mul(vars[i % 4], p);
    }
    let s = simplify_many_with(&mut a, &[p], SimplifyOptions::default())[0];
    assert_eq!(
        a.display(s),
        "(* (* (* (pow v0 500) (pow v1 500)) (pow v2 500)) (pow v3 500))"
    );
}
