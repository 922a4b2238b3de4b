//! `min`, `max`, `and`, `or`, comparisons, `not` and `select`.

use super::order::structural_cmp;
use super::Simplifier;
use crate::eval::binary_exact;
use crate::expr::{BinOp, Expr, ExprId, UnOp};
use crate::relax::not_exact;

/// Pairwise dominance checks are skipped above this many operands.
const MAX_PAIRWISE: usize = 12;

impl Simplifier<'_> {
    /// Canonical `not a`: folds constants, `not (not b) → b` for boolean `b`,
    /// `not (a < b) → b <= a`, `not (a <= b) → b < a`.
    pub(crate) fn not(&mut self, a: ExprId) -> ExprId {
        if let Some(v) = self.as_const(a) {
            if !v.is_nan() {
                return self.konst(not_exact(v));
            }
        }
        match self.node(a) {
            Expr::Unary(UnOp::Not, b) if self.boolean(b) => b,
            Expr::Binary(BinOp::Lt, x, y) => self.compare(BinOp::Le, y, x),
            Expr::Binary(BinOp::Le, x, y) => self.compare(BinOp::Lt, y, x),
            _ => self.make(Expr::Unary(UnOp::Not, a)),
        }
    }

    /// Canonical `min`/`max`/`and`/`or`: the nested chain is flattened, constants folded,
    /// duplicates and dominated operands dropped, the rest sorted and left-folded.
    pub(crate) fn assoc(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        let mut args = Vec::new();
        let mut work = vec![b, a];
        while let Some(x) = work.pop() {
            match self.node(x) {
                Expr::Binary(o, l, r) if o == op => work.extend([r, l]),
                _ => args.push(x),
            }
        }
        let (consts, mut rest): (Vec<_>, Vec<_>) =
            args.into_iter().partition(|&x| self.as_const(x).is_some());
        let mut k: Option<f64> = None;
        for c in consts {
            let v = self.as_const(c).unwrap_or(f64::NAN);
            k = Some(match k {
                None => v,
                Some(w) => binary_exact(op, w, v),
            });
        }
        if k.is_some_and(f64::is_nan) {
            return self.raw(op, a, b);
        }
        rest.sort_unstable();
        if matches!(op, BinOp::And | BinOp::Or) {
            // and(0, …) = 0, or(k≠0, …) = 1 (truthiness), whatever the other operands.
            if let Some(v) = k {
                if (op == BinOp::And) == (v == 0.0) {
                    return self.konst(if v == 0.0 { 0.0 } else { 1.0 });
                }
            }
            // x and (not x) = 0, x or (not x) = 1 (also for `a < b` against `b <= a`).
            if self.has_complement(&rest) {
                return self.konst(if op == BinOp::And { 0.0 } else { 1.0 });
            }
            // Truthiness is idempotent and the remaining constant is neutral; a single
            // non-boolean operand keeps a neutral constant so that its truthiness is taken.
            rest.dedup();
            if !rest.is_empty() {
                let neutral = if op == BinOp::And { 1.0 } else { 0.0 };
                k = (rest.len() == 1 && !self.boolean(rest[0])).then_some(neutral);
            }
        } else {
            rest.dedup();
            self.prune_minmax(op, &mut rest, &mut k);
        }
        self.rebuild_assoc(op, rest, k)
    }

    /// Whether `rest` (sorted by id) holds some `x` and its negation.
    fn has_complement(&self, rest: &[ExprId]) -> bool {
        let compl = |x: Expr, y: Expr| match (x, y) {
            (Expr::Binary(BinOp::Lt, a, b), Expr::Binary(BinOp::Le, c, d)) => a == d && b == c,
            _ => false,
        };
        rest.iter().any(|&x| match self.node(x) {
            Expr::Unary(UnOp::Not, y) => rest.binary_search(&y).is_ok(),
            nx => rest.len() <= MAX_PAIRWISE && rest.iter().any(|&y| compl(nx, self.node(y))),
        })
    }

    /// Drops `min`/`max` operands dominated by another (constant difference) or by the
    /// constant (lower bounds).
    fn prune_minmax(&mut self, op: BinOp, rest: &mut Vec<ExprId>, k: &mut Option<f64>) {
        let is_max = op == BinOp::Max;
        if let Some(v) = *k {
            if is_max && rest.iter().any(|&x| self.provably_ge(x, v)) {
                *k = None;
            } else if !is_max {
                rest.retain(|&x| !self.provably_ge(x, v));
            }
        }
        if rest.len() <= MAX_PAIRWISE {
            let mut drop = vec![false; rest.len()];
            for i in 0..rest.len() {
                for j in 0..rest.len() {
                    if i == j || drop[i] || drop[j] {
                        continue;
                    }
                    // d = rest[j] − rest[i]; for max drop i if d ≥ 0, for min drop j.
                    if let Some(d) = self.const_diff(rest[i], rest[j]) {
                        if d >= 0.0 {
                            drop[if is_max { i } else { j }] = true;
                        }
                    }
                }
            }
            let mut it = drop.iter();
            rest.retain(|_| !*it.next().unwrap_or(&false));
        }
    }

    fn rebuild_assoc(&mut self, op: BinOp, mut rest: Vec<ExprId>, k: Option<f64>) -> ExprId {
        let arena = &*self.arena;
        rest.sort_by(|x, y| structural_cmp(arena, *x, *y));
        if let Some(v) = k {
            let c = self.konst(v);
            rest.push(c);
        }
        let mut acc: Option<ExprId> = None;
        for x in rest {
            acc = Some(match acc {
                None => x,
                Some(a) => self.raw(op, a, x),
            });
        }
        match acc {
            Some(a) => a,
            None => self.konst(if op == BinOp::And { 1.0 } else { 0.0 }),
        }
    }

    /// Canonical comparison: constant operands or a constant difference fold, lower bounds
    /// decide comparisons with constants, `==` operands are sorted.
    pub(crate) fn compare(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        if let (Some(x), Some(y)) = (self.as_const(a), self.as_const(b)) {
            let v = binary_exact(op, x, y);
            if !v.is_nan() {
                return self.konst(v);
            }
        }
        let truth = |t: bool| if t { 1.0 } else { 0.0 };
        if let Some(d) = self.const_diff(a, b) {
            let v = match op {
                BinOp::Lt => d > 0.0,
                BinOp::Le => d >= 0.0,
                _ => d == 0.0,
            };
            return self.konst(truth(v));
        }
        let decided = match (op, self.as_const(a), self.as_const(b)) {
            (BinOp::Lt, Some(k), None) if self.provably_gt(b, k) => Some(1.0),
            (BinOp::Le, Some(k), None) if self.provably_ge(b, k) => Some(1.0),
            (BinOp::Lt, None, Some(k)) if self.provably_ge(a, k) => Some(0.0),
            (BinOp::Le, None, Some(k)) if self.provably_gt(a, k) => Some(0.0),
            (BinOp::Eq, Some(k), None) if self.provably_gt(b, k) => Some(0.0),
            (BinOp::Eq, None, Some(k)) if self.provably_gt(a, k) => Some(0.0),
            _ => None,
        };
        if let Some(v) = decided {
            return self.konst(v);
        }
        if op == BinOp::Eq && structural_cmp(self.arena, b, a).is_lt() {
            return self.raw(op, b, a);
        }
        self.raw(op, a, b)
    }

    /// Canonical `select(c, a, b)`.
    pub(crate) fn select(&mut self, c: ExprId, a: ExprId, b: ExprId) -> ExprId {
        if let Some(v) = self.as_const(c) {
            if !v.is_nan() {
                return if v != 0.0 { a } else { b };
            }
        }
        if a == b {
            return a;
        }
        if let Expr::Unary(UnOp::Not, c2) = self.node(c) {
            return self.select(c2, b, a);
        }
        if let Expr::Select(c2, x, _) = self.node(a) {
            if c2 == c {
                return self.select(c, x, b);
            }
        }
        if let Expr::Select(c2, _, y) = self.node(b) {
            if c2 == c {
                return self.select(c, a, y);
            }
        }
        if self.boolean(c) {
            match (self.as_const(a), self.as_const(b)) {
                (Some(x), Some(y)) if x == 1.0 && y == 0.0 => return c,
                (Some(x), Some(y)) if x == 0.0 && y == 1.0 => return self.not(c),
                _ => {}
            }
        }
        self.make(Expr::Select(c, a, b))
    }
}
