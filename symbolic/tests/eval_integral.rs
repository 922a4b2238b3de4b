//! Static integrality analysis (the rule that decides the comparison margin).

use tilegrad_symbolic::integral::{integral_nodes, is_integral};
use tilegrad_symbolic::ExprArena;

#[test]
fn integrality_rule() {
    let cases: &[(&str, bool)] = &[
        ("x", true),
        ("3", true),
        ("2.5", false),
        ("(+ x (* 2 y))", true),
        ("(- x (neg y))", true),
        ("(mod x 3)", true),
        ("(mod x 2.5)", false),
        ("(min x (max y 4))", true),
        ("(max x 0.5)", false),
        ("(floordiv (/ x 3) 2.5)", true),
        ("(ceildiv (exp x) y)", true),
        ("(/ x y)", false),
        ("(pow x 2)", true),
        ("(pow x 0.5)", false),
        ("(pow x -1)", false),
        ("(pow (/ x 2) 2)", false),
        ("(exp x)", false),
        ("(log x)", false),
        ("(< (/ x 2) y)", true),
        ("(and (< x y) (not (== x 2)))", true),
        ("(select (< x y) x (* 2 y))", true),
        ("(select (< x y) x (/ y 2))", false),
        ("(+ x (/ y 2))", false),
    ];
    for &(text, want) in cases {
        let mut arena = ExprArena::new();
        let id = arena.parse(text).expect("parse");
        assert_eq!(is_integral(&arena, id), want, "{text}");
        assert_eq!(integral_nodes(&arena)[id.index()], want, "{text}");
    }
}
