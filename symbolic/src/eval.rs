//! Scalar evaluation of expressions: exact (with typed errors) and relaxed.
//!
//! Semantics of every operation, exact and relaxed, are documented in [`crate::relax`];
//! the batched [`crate::tape::Tape`] uses the same scalar functions, so it agrees with
//! these bit for bit.

use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp};
use crate::integral::integral_reachable;
use crate::relax::{self, Relax};
use crate::text::format_number;
use crate::{Result, SymbolicError};

/// Longest sub-expression text put into an error message (longer texts end in `…`).
pub const ERROR_TEXT_LIMIT: usize = 160;

/// Text of `id` for error messages, cut after about `limit` bytes (iterative, so it stays
/// cheap on huge shared DAGs).
pub fn short_text(arena: &ExprArena, id: ExprId, limit: usize) -> String {
    enum Item {
        Node(ExprId),
        Text(&'static str),
    }
    let mut out = String::new();
    let mut stack = vec![Item::Node(id)];
    while let Some(item) = stack.pop() {
        if out.len() > limit {
            let mut cut = limit;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            return out;
        }
        let id = match item {
            Item::Text(t) => {
                out.push_str(t);
                continue;
            }
            Item::Node(id) => id,
        };
        let (sym, kids): (&'static str, [Option<ExprId>; 3]) = match *arena.get(id) {
            Expr::Const(bits) => {
                out.push_str(&format_number(f64::from_bits(bits)));
                continue;
            }
            Expr::Var(v) => {
                out.push_str(arena.var_name(v));
                continue;
            }
            Expr::Unary(op, a) => (op.symbol(), [Some(a), None, None]),
            Expr::Binary(op, a, b) => (op.symbol(), [Some(a), Some(b), None]),
            Expr::Select(c, a, b) => ("select", [Some(c), Some(a), Some(b)]),
        };
        out.push('(');
        out.push_str(sym);
        stack.push(Item::Text(")"));
        for k in kids.iter().rev().flatten() {
            stack.push(Item::Node(*k));
            stack.push(Item::Text(" "));
        }
    }
    out
}

fn check_roots(arena: &ExprArena, roots: &[ExprId]) -> Result<()> {
    for &r in roots {
        arena.try_get(r)?;
    }
    Ok(())
}

/// Exact value of `id` with `values[v.index()]` the value of variable `v`.
///
/// Errors: [`SymbolicError::UnboundVar`] for a variable without a value,
/// [`SymbolicError::DivisionByZero`] (`/`, `floordiv`, `ceildiv`, `mod` by zero after
/// snapping), [`SymbolicError::LogNonPositive`], [`SymbolicError::NonFinite`] (any NaN or
/// infinite intermediate that is used), each naming the offending sub-expression. The
/// branch a `select` does not take is never an error.
pub fn eval_exact(arena: &ExprArena, id: ExprId, values: &[f64]) -> Result<f64> {
    Ok(eval_exact_many(arena, &[id], values)?[0])
}

/// Exact values of several roots, sharing common sub-expressions (one pass over the
/// reachable ids). Errors as in [`eval_exact`]; the first failing root (in order) wins.
pub fn eval_exact_many(arena: &ExprArena, roots: &[ExprId], values: &[f64]) -> Result<Vec<f64>> {
    check_roots(arena, roots)?;
    let reach = arena.reachable(roots);
    // Per node: Ok(value) or Err(index into `errors`); errors only surface when used.
    let mut slot: Vec<std::result::Result<f64, u32>> = vec![Ok(0.0); arena.len()];
    let mut errors: Vec<SymbolicError> = Vec::new();
    for &id in &reach {
        slot[id.index()] = match exact_node(arena, id, values, &slot) {
            Ok(v) => Ok(v),
            Err(NodeErr::Operand(e)) => Err(e),
            Err(NodeErr::Fresh(e)) => {
                errors.push(e);
                Err((errors.len() - 1) as u32)
            }
        };
    }
    roots
        .iter()
        .map(|r| slot[r.index()].map_err(|e| errors[e as usize].clone()))
        .collect()
}

/// Error of a node: either a fresh error or an index of an operand's error.
enum NodeErr {
    Fresh(SymbolicError),
    Operand(u32),
}

fn exact_node(
    arena: &ExprArena,
    id: ExprId,
    values: &[f64],
    slot: &[std::result::Result<f64, u32>],
) -> std::result::Result<f64, NodeErr> {
    let text = || short_text(arena, id, ERROR_TEXT_LIMIT);
    let get = |c: ExprId| slot[c.index()];
    let v = match *arena.get(id) {
        Expr::Const(bits) => f64::from_bits(bits),
        Expr::Var(var) => match values.get(var.index()) {
            Some(&x) => x,
            None => {
                return Err(NodeErr::Fresh(SymbolicError::UnboundVar(
                    arena.var_name(var).to_string(),
                )))
            }
        },
        Expr::Unary(op, a) => {
            let a = get(a).map_err(NodeErr::Operand)?;
            match op {
                UnOp::Neg => -a,
                UnOp::Exp => a.exp(),
                UnOp::Not => relax::not_exact(a),
                UnOp::Log => {
                    if a <= 0.0 {
                        return Err(NodeErr::Fresh(SymbolicError::LogNonPositive {
                            value: a,
                            expr: text(),
                        }));
                    }
                    a.ln()
                }
            }
        }
        Expr::Binary(op, a, b) => {
            let a = get(a).map_err(NodeErr::Operand)?;
            let b = get(b).map_err(NodeErr::Operand)?;
            let zero_div = match op {
                BinOp::Div => b == 0.0,
                BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod => relax::snap(b) == 0.0,
                _ => false,
            };
            if zero_div {
                return Err(NodeErr::Fresh(SymbolicError::DivisionByZero {
                    expr: text(),
                }));
            }
            binary_exact(op, a, b)
        }
        Expr::Select(c, a, b) => {
            let c = get(c).map_err(NodeErr::Operand)?;
            if c.is_nan() {
                f64::NAN
            } else if c != 0.0 {
                get(a).map_err(NodeErr::Operand)?
            } else {
                get(b).map_err(NodeErr::Operand)?
            }
        }
    };
    if v.is_finite() {
        Ok(v)
    } else {
        Err(NodeErr::Fresh(SymbolicError::NonFinite {
            value: v,
            expr: text(),
        }))
    }
}

/// Exact value of a binary operation (non-finite on division by zero).
#[inline]
pub fn binary_exact(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::FloorDiv => relax::floordiv_exact(a, b),
        BinOp::CeilDiv => relax::ceildiv_exact(a, b),
        BinOp::Mod => relax::mod_exact(a, b),
        BinOp::Min => relax::min_exact(a, b),
        BinOp::Max => relax::max_exact(a, b),
        BinOp::Pow => a.powf(b),
        BinOp::Lt => relax::lt_exact(a, b),
        BinOp::Le => relax::le_exact(a, b),
        BinOp::Eq => relax::eq_exact(a, b),
        BinOp::And => relax::and_exact(a, b),
        BinOp::Or => relax::or_exact(a, b),
    }
}

/// Relaxed value of a binary operation; `h` is the comparison margin (½ when both operands
/// are integral, else 0).
#[inline]
pub fn binary_relaxed(rx: &Relax, op: BinOp, a: f64, b: f64, h: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::FloorDiv => rx.floordiv(a, b),
        BinOp::CeilDiv => rx.ceildiv(a, b),
        BinOp::Mod => rx.modulo(a, b),
        BinOp::Min => rx.min(a, b).0,
        BinOp::Max => rx.max(a, b).0,
        BinOp::Pow => a.powf(b),
        BinOp::Lt => rx.lt(a, b, h),
        BinOp::Le => rx.le(a, b, h),
        BinOp::Eq => rx.eq(a, b, h).0,
        BinOp::And => relax::and_relaxed(a, b),
        BinOp::Or => relax::or_relaxed(a, b),
    }
}

/// Relaxed value of `id` at temperature `tau` (formulas in [`crate::relax`]).
///
/// Never fails: a missing variable, an invalid id, or `tau` not finite and positive give
/// NaN; NaN and infinities propagate.
pub fn eval_relaxed(arena: &ExprArena, id: ExprId, values: &[f64], tau: f64) -> f64 {
    eval_relaxed_many(arena, &[id], values, tau)[0]
}

/// Relaxed values of several roots, sharing common sub-expressions. See [`eval_relaxed`].
pub fn eval_relaxed_many(
    arena: &ExprArena,
    roots: &[ExprId],
    values: &[f64],
    tau: f64,
) -> Vec<f64> {
    if check_roots(arena, roots).is_err() || !(tau.is_finite() && tau > 0.0) {
        return vec![f64::NAN; roots.len()];
    }
    let rx = Relax::new(tau);
    let reach = arena.reachable(roots);
    let integral = integral_reachable(arena, &reach);
    let mut val = vec![0.0f64; arena.len()];
    for &id in &reach {
        let g = |c: ExprId| val[c.index()];
        let v = match *arena.get(id) {
            Expr::Const(bits) => f64::from_bits(bits),
            Expr::Var(var) => values.get(var.index()).copied().unwrap_or(f64::NAN),
            Expr::Unary(op, a) => match op {
                UnOp::Neg => -g(a),
                UnOp::Exp => g(a).exp(),
                UnOp::Log => g(a).ln(),
                UnOp::Not => 1.0 - g(a),
            },
            Expr::Binary(op, a, b) => {
                let h = if integral[a.index()] && integral[b.index()] {
                    0.5
                } else {
                    0.0
                };
                binary_relaxed(&rx, op, g(a), g(b), h)
            }
            Expr::Select(c, a, b) => relax::select_relaxed(g(c), g(a), g(b)),
        };
        val[id.index()] = v;
    }
    roots.iter().map(|r| val[r.index()]).collect()
}
