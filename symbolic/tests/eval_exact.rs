//! Exact scalar evaluation: values, snapping, typed errors.

use tilegrad_symbolic::{eval_exact, eval_exact_many, ExprArena, SymbolicError};

/// Parses `text` and evaluates it with `vars` = `[(name, value)]`.
fn exact(text: &str, vars: &[(&str, f64)]) -> Result<f64, SymbolicError> {
    let mut arena = ExprArena::new();
    for (name, _) in vars {
        arena.declare_var(name);
    }
    let id = arena.parse(text).expect("parse");
    let mut values = vec![f64::NAN; arena.num_vars()];
    for (name, v) in vars {
        values[arena.lookup_var(name).expect("var").index()] = *v;
    }
    // Variables first seen in `text` (declared after `vars`) stay unbound.
    values.truncate(vars.len());
    eval_exact(&arena, id, &values)
}

fn check(text: &str, vars: &[(&str, f64)], expect: f64) {
    let got = exact(text, vars).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(got, expect, "{text} at {vars:?}");
}

#[test]
fn integer_operations() {
    let xy = [("x", 7.0), ("y", -2.0)];
    let cases: &[(&str, f64)] = &[
        ("(floordiv x 2)", 3.0),
        ("(floordiv x y)", -4.0),
        ("(floordiv (neg x) 2)", -4.0),
        ("(ceildiv x 2)", 4.0),
        ("(ceildiv x y)", -3.0),
        ("(ceildiv 8 2)", 4.0),
        ("(mod x 3)", 1.0),
        ("(mod (neg x) 3)", 2.0),
        ("(mod x y)", -1.0),
        ("(mod 6 3)", 0.0),
        ("(min x y)", -2.0),
        ("(max x y)", 7.0),
        ("(< y x)", 1.0),
        ("(<= x x)", 1.0),
        ("(== x y)", 0.0),
        ("(and (< y x) (== x 7))", 1.0),
        ("(or (< x y) (== x 6))", 0.0),
        ("(not (< x y))", 1.0),
        ("(select (< x y) 10 20)", 20.0),
        ("(select 3 10 20)", 10.0),
        ("(pow 2 x)", 128.0),
        ("(/ x 2)", 3.5),
        ("(floordiv 7.5 2.5)", 3.0),
        ("(floordiv 7.4 2.5)", 2.0),
        ("(mod 7.5 2)", 1.5),
    ];
    for &(text, expect) in cases {
        check(text, &xy, expect);
    }
}

#[test]
fn snapping_makes_near_integers_exact() {
    // exp(log 3) = 3.0000000000000004: without snapping, ceildiv(.., 3) would be 2.
    check("(ceildiv (exp (log x)) 3)", &[("x", 3.0)], 1.0);
    check("(floordiv (* 3 (/ x 3)) x)", &[("x", 7.0)], 1.0);
    check("(mod (* 0.1 x) 1)", &[("x", 30.0)], 0.0);
    // Far from an integer: no snapping.
    check("(floordiv 2.9999 1)", &[], 2.0);
}

#[test]
fn large_integers_divide_exactly() {
    let big = 9_007_199_254_740_991.0; // 2^53 - 1
    check("(floordiv x 2)", &[("x", big)], 4_503_599_627_370_495.0);
    check("(mod x 10)", &[("x", big)], 1.0);
}

#[test]
fn errors_are_typed_values() {
    let x2 = [("x", 2.0)];
    assert!(
        matches!(exact("(/ x 0)", &x2), Err(SymbolicError::DivisionByZero { expr }) if expr == "(/ x 0)")
    );
    assert!(matches!(
        exact("(floordiv x (- x x))", &x2),
        Err(SymbolicError::DivisionByZero { .. })
    ));
    assert!(matches!(
        exact("(ceildiv x 0)", &x2),
        Err(SymbolicError::DivisionByZero { .. })
    ));
    assert!(matches!(
        exact("(mod x 0.0000000000001)", &x2),
        Err(SymbolicError::DivisionByZero { .. })
    ));
    match exact("(+ 1 (log (- x 5)))", &x2) {
        Err(SymbolicError::LogNonPositive { value, expr }) => {
            assert_eq!(value, -3.0);
            assert_eq!(expr, "(log (- x 5))");
        }
        other => panic!("expected LogNonPositive, got {other:?}"),
    }
    assert!(matches!(
        exact("(log 0)", &[]),
        Err(SymbolicError::LogNonPositive { .. })
    ));
    assert!(matches!(
        exact("(exp (* x 1000))", &x2),
        Err(SymbolicError::NonFinite { .. })
    ));
    assert!(matches!(
        exact("(pow 0 -1)", &[]),
        Err(SymbolicError::NonFinite { .. })
    ));
    assert!(matches!(exact("(+ x z)", &x2), Err(SymbolicError::UnboundVar(name)) if name == "z"));
}

#[test]
fn untaken_select_branch_is_not_an_error() {
    let x2 = [("x", 2.0)];
    check("(select (< x 3) x (log (- x 5)))", &x2, 2.0);
    assert!(matches!(
        exact("(select (< 3 x) x (log (- x 5)))", &x2),
        Err(SymbolicError::LogNonPositive { .. })
    ));
    // An error in the condition propagates.
    assert!(matches!(
        exact("(select (/ x 0) 1 2)", &x2),
        Err(SymbolicError::DivisionByZero { .. })
    ));
}

#[test]
fn long_error_texts_are_truncated() {
    let mut arena = ExprArena::new();
    let x = arena.var("x");
    let mut e = x;
    for _ in 0..40 {
        e = arena.add(e, e); // a DAG whose tree text would be 2^40 leaves long
    }
    let zero = arena.constant(0.0);
    let bad = arena.div(e, zero);
    match eval_exact(&arena, bad, &[1.0]) {
        Err(SymbolicError::DivisionByZero { expr }) => {
            assert!(expr.len() < 400, "{}", expr.len());
            assert!(expr.ends_with('…'));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn many_roots_share_work_and_report_first_error() {
    let mut arena = ExprArena::new();
    let x = arena.var("x");
    let y = arena.var("y");
    let s = arena.add(x, y);
    let p = arena.mul(s, s);
    let q = arena.floordiv(p, y);
    assert_eq!(
        eval_exact_many(&arena, &[s, p, q], &[3.0, 2.0]),
        Ok(vec![5.0, 25.0, 12.0])
    );
    assert!(matches!(
        eval_exact_many(&arena, &[s, q], &[3.0, 0.0]),
        Err(SymbolicError::DivisionByZero { .. })
    ));
    assert!(matches!(
        eval_exact(&arena, x, &[]),
        Err(SymbolicError::UnboundVar(_))
    ));
    assert!(eval_exact(&arena, tilegrad_symbolic::ExprId(999), &[1.0, 1.0]).is_err());
}
