//! Static integrality analysis.
//!
//! An expression is *integral* when its exact value is an integer at every integer
//! schedule point, as far as a purely syntactic rule can tell. The rule (the contract of
//! the relaxation, see [`crate::relax`]):
//!
//! * constants are integral iff they are whole numbers; every variable is integral
//!   (schedule variables are integers);
//! * `+ − * mod min max neg` of integral operands, and `select(c, a, b)` with integral
//!   branches `a` and `b`, are integral;
//! * `floordiv` and `ceildiv` are always integral (their exact value is an integer
//!   whatever the operands; this refines the contract, which asks for integral operands);
//! * booleans are integral: comparisons `< <= ==` always, and `and`, `or`, `not` always
//!   (their exact value is 0 or 1);
//! * `pow(a, k)` is integral when `a` is and `k` is a non-negative whole constant.
//! * `/`, other `pow`, `exp`, `log` are never integral.
//!
//! Comparisons between two integral operands get a margin of ½ in the relaxation, which
//! is what makes ties such as `(< 1 x)` at `x = 1` converge to the exact value.

use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp};

/// Whether a single node is integral, given the integrality of its children.
pub fn node_is_integral(
    node: &Expr,
    child: impl Fn(ExprId) -> bool,
    constant: impl Fn(ExprId) -> Option<f64>,
) -> bool {
    match *node {
        Expr::Const(bits) => {
            let v = f64::from_bits(bits);
            v.is_finite() && v.fract() == 0.0
        }
        Expr::Var(_) => true,
        Expr::Unary(op, a) => match op {
            UnOp::Neg => child(a),
            UnOp::Not => true,
            UnOp::Exp | UnOp::Log => false,
        },
        Expr::Binary(op, a, b) => match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Mod | BinOp::Min | BinOp::Max => {
                child(a) && child(b)
            }
            BinOp::FloorDiv | BinOp::CeilDiv => true,
            BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::And | BinOp::Or => true,
            // `a^k` with `a` integral and `k` a non-negative whole constant (`x*x` simplifies to
            // `(pow x 2)`, which must keep the comparison margin of the product).
            BinOp::Pow => child(a) && constant(b).is_some_and(|k| k >= 0.0 && k.fract() == 0.0),
            BinOp::Div => false,
        },
        Expr::Select(_, a, b) => child(a) && child(b),
    }
}

/// Integrality of every node of `arena`, indexed by [`ExprId::index`].
pub fn integral_nodes(arena: &ExprArena) -> Vec<bool> {
    let mut out: Vec<bool> = Vec::with_capacity(arena.len());
    for node in arena.nodes() {
        let flag = node_is_integral(node, |c| out[c.index()], |c| arena.as_const(c));
        out.push(flag);
    }
    out
}

/// Integrality of the nodes reachable from `roots`: a vector of the arena's length in
/// which only the reachable entries are meaningful (the others are `false`).
pub fn integral_reachable(arena: &ExprArena, reachable: &[ExprId]) -> Vec<bool> {
    let mut out = vec![false; arena.len()];
    for &id in reachable {
        out[id.index()] =
            node_is_integral(arena.get(id), |c| out[c.index()], |c| arena.as_const(c));
    }
    out
}

/// Whether the expression `id` is integral.
pub fn is_integral(arena: &ExprArena, id: ExprId) -> bool {
    let reach = arena.reachable(&[id]);
    integral_reachable(arena, &reach)[id.index()]
}
