//! The bottom-up driver and the dispatch from an operation to its canonical builder.

use std::collections::HashMap;

use super::sum::Lin;
use super::{Simplifier, NONE};
use crate::eval::binary_exact;
use crate::expr::{BinOp, Expr, ExprId, UnOp};
use crate::relax::snap;

fn is_sum_op(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Binary(BinOp::Add | BinOp::Sub, ..) | Expr::Unary(UnOp::Neg, _)
    )
}

impl Simplifier<'_> {
    /// Simplifies every node reachable from `roots` in id order (children first).
    ///
    /// A `+`/`−`/`neg` node that is not a root and whose every parent is also one of
    /// these is not built: its linear form is handed to its parents, so a chain of `n`
    /// additions costs O(n log n), not O(n²).
    pub(crate) fn run(&mut self, roots: &[ExprId]) -> Vec<ExprId> {
        let order = self.arena.reachable(roots);
        let n = self.arena.len();
        let mut uses = vec![0u32; n];
        let mut only_sum_parents = vec![true; n];
        for &id in &order {
            let node = *self.arena.get(id);
            let sum = is_sum_op(&node);
            for c in node.children() {
                uses[c.index()] += 1;
                only_sum_parents[c.index()] &= sum;
            }
        }
        for r in roots {
            only_sum_parents[r.index()] = false;
        }
        let mut pending: HashMap<ExprId, Lin> = HashMap::new();
        for &id in &order {
            if self.memo[id.index()] != NONE {
                continue;
            }
            let node = *self.arena.get(id);
            if is_sum_op(&node) {
                let mut lin = Lin::default();
                let parts: [(ExprId, f64); 2] = match node {
                    Expr::Binary(BinOp::Add, a, b) => [(a, 1.0), (b, 1.0)],
                    Expr::Binary(BinOp::Sub, a, b) => [(a, 1.0), (b, -1.0)],
                    Expr::Unary(_, a) => [(a, -1.0), (a, 0.0)],
                    _ => continue,
                };
                for (c, k) in parts {
                    if k == 0.0 {
                        continue;
                    }
                    let child = match pending.get(&c) {
                        Some(_) if uses[c.index()] == 1 => pending.remove(&c).unwrap_or_default(),
                        Some(l) => l.clone(),
                        None => self.lin_of(self.canon(c)),
                    };
                    uses[c.index()] = uses[c.index()].saturating_sub(1);
                    lin.add_scaled(&child, k);
                }
                if only_sum_parents[id.index()] && uses[id.index()] > 0 {
                    lin.merge();
                    pending.insert(id, lin);
                } else {
                    let r = self.build_sum(lin);
                    self.memo[id.index()] = r.0;
                }
                continue;
            }
            let r = match node {
                Expr::Const(_) | Expr::Var(_) => self.make(node),
                Expr::Unary(op, a) => {
                    let a = self.canon(a);
                    self.unary(op, a)
                }
                Expr::Binary(op, a, b) => {
                    let (a, b) = (self.canon(a), self.canon(b));
                    self.binary(op, a, b)
                }
                Expr::Select(c, a, b) => {
                    let (c, a, b) = (self.canon(c), self.canon(a), self.canon(b));
                    self.select(c, a, b)
                }
            };
            self.memo[id.index()] = r.0;
        }
        roots.iter().map(|&r| self.canon(r)).collect()
    }

    /// Canonical `op(a)` for canonical `a`.
    pub(crate) fn unary(&mut self, op: UnOp, a: ExprId) -> ExprId {
        match op {
            UnOp::Neg => {
                let mut lin = self.lin_of(a);
                lin.scale(-1.0);
                self.build_sum(lin)
            }
            UnOp::Exp => self.exp(a),
            UnOp::Log => self.log(a),
            UnOp::Not => self.not(a),
        }
    }

    /// Canonical `op(a, b)` for canonical `a`, `b`.
    pub(crate) fn binary(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        if let Some(v) = self.fold(op, a, b) {
            return self.konst(v);
        }
        match op {
            BinOp::Add | BinOp::Sub => {
                let mut lin = self.lin_of(a);
                lin.add_scaled(&self.lin_of(b), if op == BinOp::Add { 1.0 } else { -1.0 });
                self.build_sum(lin)
            }
            BinOp::Mul => self.mul_div(a, b, 1.0),
            BinOp::Div => self.mul_div(a, b, -1.0),
            BinOp::Pow => self.pow(a, b),
            BinOp::FloorDiv | BinOp::CeilDiv => self.intdiv(op, a, b),
            BinOp::Mod => self.modulo(a, b),
            BinOp::Min | BinOp::Max | BinOp::And | BinOp::Or => self.assoc(op, a, b),
            BinOp::Lt | BinOp::Le | BinOp::Eq => self.compare(op, a, b),
        }
    }

    /// The folded value of `op(a, b)` when both are constants and the result is defined.
    pub(crate) fn fold(&self, op: BinOp, a: ExprId, b: ExprId) -> Option<f64> {
        let (x, y) = (self.as_const(a)?, self.as_const(b)?);
        let zero_div = match op {
            BinOp::Div => y == 0.0,
            BinOp::FloorDiv | BinOp::CeilDiv | BinOp::Mod => snap(y) == 0.0,
            _ => false,
        };
        let v = binary_exact(op, x, y);
        (!zero_div && v.is_finite()).then_some(v)
    }

    /// A node kept as it is (canonical children, no rule applies).
    pub(crate) fn raw(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        self.make(Expr::Binary(op, a, b))
    }
}
