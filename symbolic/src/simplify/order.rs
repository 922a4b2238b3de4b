//! A total structural order on expressions that does not depend on creation order.

use std::cmp::Ordering;

use crate::expr::{Expr, ExprArena, ExprId};

fn rank(e: &Expr) -> u8 {
    match e {
        Expr::Const(_) => 0,
        Expr::Var(_) => 1,
        Expr::Unary(..) => 2,
        Expr::Binary(..) => 3,
        Expr::Select(..) => 4,
    }
}

/// Compares the heads of two nodes (kind, constant value, variable name, operator).
fn head_cmp(arena: &ExprArena, x: &Expr, y: &Expr) -> Ordering {
    match (x, y) {
        (Expr::Const(a), Expr::Const(b)) => f64::from_bits(*a).total_cmp(&f64::from_bits(*b)),
        (Expr::Var(a), Expr::Var(b)) => arena.var_name(*a).cmp(arena.var_name(*b)),
        (Expr::Unary(a, _), Expr::Unary(b, _)) => a.cmp(b),
        (Expr::Binary(a, ..), Expr::Binary(b, ..)) => a.cmp(b),
        _ => rank(x).cmp(&rank(y)),
    }
}

/// Structural order of the trees below `a` and `b`: constants (by value) before variables
/// (by name) before unary, binary and `select` nodes (by operator, then children left to
/// right). Two ids compare equal only if they are the same id (hash-consing), and the
/// order of two expressions is the same in every arena whatever the order they were built
/// in. Iterative, and cheap on shared sub-DAGs (equal ids are not descended into).
pub fn structural_cmp(arena: &ExprArena, a: ExprId, b: ExprId) -> Ordering {
    let mut stack = vec![(a, b)];
    while let Some((x, y)) = stack.pop() {
        if x == y {
            continue;
        }
        let (nx, ny) = (arena.get(x), arena.get(y));
        let head = head_cmp(arena, nx, ny);
        if head != Ordering::Equal {
            return head;
        }
        let kids: Vec<(ExprId, ExprId)> = nx.children().zip(ny.children()).collect();
        stack.extend(kids.into_iter().rev());
    }
    Ordering::Equal
}
