//! Tape on hand-written expressions: per-row flagging of non-finite values, exact-mode
//! (a.e.) gradients, chunk boundaries and input validation.

use ndarray::{array, Array2};
use tilegrad_symbolic::{
    eval_exact, eval_relaxed, ExprArena, ExprId, Mode, RowStatus, SymbolicError, Tape, Var,
};

/// Parses `texts` over variables `x`, `y` (columns in that order).
fn build(texts: &[&str]) -> (ExprArena, Vec<ExprId>, Vec<Var>) {
    let mut arena = ExprArena::new();
    let cols = vec![arena.declare_var("x"), arena.declare_var("y")];
    let ids = texts
        .iter()
        .map(|t| arena.parse(t).expect("parse"))
        .collect();
    (arena, ids, cols)
}

#[test]
fn non_finite_rows_are_flagged_individually() {
    let (arena, ids, cols) = build(&["(+ y (log (- x 3)))", "(* x y)"]);
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    let points = array![[4.0, 1.0], [2.0, 1.0], [5.0, 2.0], [3.0, 7.0]];
    let d = array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]];
    for mode in [Mode::Exact, Mode::Relaxed { tau: 0.1 }] {
        let (ev, grad) = tape.vjp(points.view(), mode, d.view()).expect("vjp");
        assert_eq!(
            ev.status,
            vec![
                RowStatus::Finite,
                RowStatus::NonFiniteValue { output: 0 },
                RowStatus::Finite,
                RowStatus::NonFiniteValue { output: 0 }
            ]
        );
        assert_eq!(ev.num_flagged(), 2);
        assert!(ev.row_ok(0) && !ev.row_ok(1) && !ev.row_ok(99));
        // Good rows are exact and unaffected; bad rows have a zero gradient.
        assert_eq!(ev.values[[0, 0]], 1.0);
        assert_eq!(ev.values[[2, 1]], 10.0);
        assert_eq!(grad.row(0).to_vec(), vec![1.0 + 1.0, 1.0 + 4.0]);
        assert_eq!(grad.row(2).to_vec(), vec![0.5 + 2.0, 1.0 + 5.0]);
        assert_eq!(grad.row(1).to_vec(), vec![0.0, 0.0]);
        assert_eq!(grad.row(3).to_vec(), vec![0.0, 0.0]);
    }
}

#[test]
fn non_finite_gradients_are_flagged() {
    // sqrt(x) is finite at 0 but its derivative is not.
    let (arena, ids, cols) = build(&["(+ (pow x 0.5) y)"]);
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    let points = array![[0.0, 1.0], [4.0, 1.0]];
    let (ev, grad) = tape
        .vjp(points.view(), Mode::Exact, array![[1.0], [1.0]].view())
        .expect("vjp");
    assert_eq!(
        ev.status,
        vec![
            RowStatus::NonFiniteGradient { column: 0 },
            RowStatus::Finite
        ]
    );
    assert_eq!(ev.values[[0, 0]], 1.0);
    assert_eq!(grad.row(0).to_vec(), vec![0.0, 0.0]);
    assert_eq!(grad.row(1).to_vec(), vec![0.25, 1.0]);
    // A zero cotangent does not turn an infinite partial into NaN.
    let (ev, grad) = tape
        .vjp(points.view(), Mode::Exact, array![[0.0], [0.0]].view())
        .expect("vjp");
    assert_eq!(ev.num_flagged(), 0);
    assert!(grad.iter().all(|&g| g == 0.0));
}

#[test]
fn exact_gradients_are_almost_everywhere_derivatives() {
    let texts = [
        "(floordiv x 3)",
        "(mod x 3)",
        "(max x y)",
        "(min x y)",
        "(select (< x y) (* x x) y)",
        "(< x y)",
        "(* (exp x) (log y))",
        "(ceildiv (* x y) 4)",
    ];
    let (arena, ids, cols) = build(&texts);
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    let points = array![[7.0, 9.0], [10.0, 2.0]];
    let expect: [[[f64; 2]; 8]; 2] = [
        [
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 0.0],
            [14.0, 0.0],
            [0.0, 0.0],
            [(7.0f64).exp() * 9f64.ln(), 7f64.exp() / 9.0],
            [0.0, 0.0],
        ],
        [
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [0.0, 1.0],
            [0.0, 0.0],
            [10f64.exp() * 2f64.ln(), 10f64.exp() / 2.0],
            [0.0, 0.0],
        ],
    ];
    for (k, text) in texts.iter().enumerate() {
        let mut d = Array2::zeros((2, texts.len()));
        d.column_mut(k).fill(1.0);
        let (ev, grad) = tape.vjp(points.view(), Mode::Exact, d.view()).expect("vjp");
        for r in 0..2 {
            assert!(ev.row_ok(r));
            for j in 0..2 {
                let (g, e) = (grad[[r, j]], expect[r][k][j]);
                assert!(
                    (g - e).abs() <= 1e-12 * (1.0 + e.abs()),
                    "{text} row {r} col {j}: {g} vs {e}"
                );
            }
        }
    }
    // mod's ∂/∂b = −⌊a/b⌋.
    let (arena, ids, cols) = build(&["(mod x y)"]);
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    let (_, grad) = tape
        .vjp(
            array![[17.0, 5.0]].view(),
            Mode::Exact,
            array![[1.0]].view(),
        )
        .expect("vjp");
    assert_eq!(grad.row(0).to_vec(), vec![1.0, -3.0]);
}

#[test]
fn batches_across_chunks_agree_with_scalar_evaluation() {
    let texts = [
        "(ceildiv (* x y) (max 1 (- y 3)))",
        "(select (<= x y) (pow x 1.5) (min x (* 2 y)))",
        "(== (mod x 4) 0)",
    ];
    let (arena, ids, cols) = build(&texts);
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    assert!(tape.len() >= 10 && !tape.is_empty());
    let rows = 301;
    let points = Array2::from_shape_fn((rows, 2), |(r, j)| ((r * (j + 3)) % 17 + 1) as f64);
    let ev = tape.forward(points.view(), Mode::Exact).expect("forward");
    let evr = tape
        .forward(points.view(), Mode::Relaxed { tau: 0.2 })
        .expect("forward");
    assert_eq!(ev.values.dim(), (rows, 3));
    for r in 0..rows {
        let p = points.row(r).to_vec();
        for (k, &id) in ids.iter().enumerate() {
            assert_eq!(
                ev.values[[r, k]],
                eval_exact(&arena, id, &p).expect("exact")
            );
            assert_eq!(evr.values[[r, k]], eval_relaxed(&arena, id, &p, 0.2));
        }
    }
    let empty = tape
        .forward(Array2::zeros((0, 2)).view(), Mode::Exact)
        .expect("empty");
    assert_eq!(empty.values.dim(), (0, 3));
}

#[test]
fn invalid_inputs_are_errors() {
    let (mut arena, ids, cols) = build(&["(+ x y)"]);
    let z = arena.var("z");
    let xz = arena.add(ids[0], z);
    assert!(
        matches!(Tape::compile(&arena, &[xz], &cols), Err(SymbolicError::UnboundVar(n)) if n == "z")
    );
    assert!(matches!(
        Tape::compile(&arena, &ids, &[cols[0], cols[0]]),
        Err(SymbolicError::InvalidInput(_))
    ));
    assert!(Tape::compile(&arena, &[ExprId(10_000)], &cols).is_err());
    let tape = Tape::compile(&arena, &ids, &cols).expect("compile");
    assert_eq!(
        (tape.num_outputs(), tape.num_columns(), tape.len()),
        (1, 2, 1)
    );
    let p = array![[1.0, 2.0]];
    assert!(matches!(
        tape.forward(array![[1.0, 2.0, 3.0]].view(), Mode::Exact),
        Err(SymbolicError::InvalidInput(_))
    ));
    assert!(matches!(
        tape.forward(p.view(), Mode::Relaxed { tau: 0.0 }),
        Err(SymbolicError::InvalidInput(_))
    ));
    assert!(matches!(
        tape.forward(p.view(), Mode::Relaxed { tau: f64::NAN }),
        Err(SymbolicError::InvalidInput(_))
    ));
    assert!(matches!(
        tape.vjp(p.view(), Mode::Exact, array![[1.0, 1.0]].view()),
        Err(SymbolicError::InvalidInput(_))
    ));
    // Outputs that are bare variables or constants need no instruction.
    let one = arena.constant(1.0);
    let x = arena.var("x");
    let tape = Tape::compile(&arena, &[x, one], &cols).expect("compile");
    assert!(tape.is_empty());
    let (ev, grad) = tape
        .vjp(p.view(), Mode::Exact, array![[2.0, 5.0]].view())
        .expect("vjp");
    assert_eq!(ev.values.row(0).to_vec(), vec![1.0, 1.0]);
    assert_eq!(grad.row(0).to_vec(), vec![2.0, 0.0]);
}
