//! Interval analysis of index expressions over loop variables, generic over [`Algebra`].
//!
//! Every loop variable bound in an environment ranges over `[0, extent − 1]` (or is pinned
//! to a point); a loop variable not in the environment is pinned at 0; schedule variables
//! are points. The rules below give the exact hull of each operation over its operand
//! intervals (so they commute with constant folding, which is what makes the symbolic
//! features equal the direct ones on the instantiated tree); the composition is the usual
//! interval over-approximation (the dependency problem: `i − i` gives `[−(e−1), e−1]`).
//!
//! | node | interval |
//! |---|---|
//! | `a ± b` | `[la ± lb, ha ± hb]` (crossed for `−`) |
//! | `a · b` | `[la·lb, ha·hb]` when both are statically non-negative, else min/max of the four corner products |
//! | `floordiv(a, b)`, `ceildiv(a, b)`, `b` a point `> 0` | `[⌊la/b⌋, ⌊ha/b⌋]` (resp. ⌈⌉) |
//! | `mod(a, b)`, `b` a point `> 0` | `[la mod b, ha mod b]` if `⌊la/b⌋ = ⌊ha/b⌋`, else `[0, b − 1]` (as a `select`) |
//! | `min`, `max` | elementwise |
//! | anything else over a range | `[op(la, lb), op(ha, hb)]` (booleans give `[0, 1]`) |
//!
//! A node is a *point* when it depends on no ranged loop variable; points are computed
//! once, as values. Divisors are assumed positive (they are tile sizes and extents).

use std::collections::HashMap;

use super::algebra::Algebra;
use crate::expr::{BinOp, Expr, ExprId, UnOp, Var};
use crate::looptree::LoopTree;

/// An interval `[lo, hi]` with static facts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Iv<V> {
    pub lo: V,
    pub hi: V,
    /// `lo == hi` by construction (no ranged variable below).
    pub point: bool,
    /// `lo ≥ 0` is known statically.
    pub nonneg: bool,
}

impl<V: Copy> Iv<V> {
    pub fn point(v: V, nonneg: bool) -> Self {
        Iv {
            lo: v,
            hi: v,
            point: true,
            nonneg,
        }
    }
}

/// Bindings of loop variables: ranged (`[0, extent − 1]`) or pinned to a value.
pub(crate) type Env<V> = HashMap<Var, Iv<V>>;

/// Reads the expressions of one tree into an [`Algebra`], memoizing the loop-free ones.
pub(crate) struct Reader<'t, V> {
    pub tree: &'t LoopTree,
    /// Per arena node: whether it depends on a loop variable.
    dep: Vec<bool>,
    /// Per arena node: statically non-negative.
    nonneg: Vec<bool>,
    fixed: HashMap<ExprId, V>,
}

impl<'t, V: Copy + PartialEq> Reader<'t, V> {
    pub fn new(tree: &'t LoopTree) -> Self {
        let nodes = tree.exprs.nodes();
        let mut dep = vec![false; nodes.len()];
        let mut nonneg = vec![false; nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            let ch: Vec<ExprId> = n.children().collect();
            dep[i] = match n {
                Expr::Var(v) => !tree.is_schedule_var(*v),
                _ => ch.iter().any(|c| dep[c.index()]),
            };
            let nn = |c: &ExprId| nonneg[c.index()];
            nonneg[i] = match n {
                Expr::Const(_) => n.as_const().is_some_and(|x| x >= 0.0),
                Expr::Var(_) => true,
                Expr::Unary(UnOp::Exp | UnOp::Not, _) => true,
                Expr::Unary(..) => false,
                Expr::Binary(op, a, b) => match op {
                    BinOp::Add
                    | BinOp::Mul
                    | BinOp::Div
                    | BinOp::FloorDiv
                    | BinOp::CeilDiv
                    | BinOp::Min => nn(a) && nn(b),
                    BinOp::Max => nn(a) || nn(b),
                    BinOp::Mod => nn(b),
                    BinOp::Pow => nn(a),
                    BinOp::Sub => false,
                    _ => true,
                },
                Expr::Select(_, a, b) => nn(a) && nn(b),
            };
        }
        Reader {
            tree,
            dep,
            nonneg,
            fixed: HashMap::new(),
        }
    }

    /// Whether `id` mentions a loop variable.
    pub fn depends(&self, id: ExprId) -> bool {
        self.dep.get(id.index()).copied().unwrap_or(false)
    }

    /// Whether `id` is statically non-negative.
    pub fn is_nonneg(&self, id: ExprId) -> bool {
        self.nonneg.get(id.index()).copied().unwrap_or(false)
    }

    /// The value of a loop-free expression (extents, shapes, guards on schedule variables).
    /// Loop variables read as 0.
    pub fn value<A: Algebra<V = V>>(&mut self, alg: &mut A, id: ExprId) -> V {
        self.interval(alg, id, &Env::new(), &mut HashMap::new()).lo
    }

    /// The interval of `id` under `env` (`memo` must be used with one `env` only).
    pub fn interval<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        id: ExprId,
        env: &Env<V>,
        memo: &mut HashMap<ExprId, Iv<V>>,
    ) -> Iv<V> {
        let nonneg = self.is_nonneg(id);
        if !self.depends(id) {
            if let Some(&v) = self.fixed.get(&id) {
                return Iv::point(v, nonneg);
            }
        } else if let Some(&iv) = memo.get(&id) {
            return iv;
        }
        let node = *self.tree.exprs.get(id);
        let iv = match node {
            Expr::Const(_) => Iv::point(alg.c(node.as_const().unwrap_or(f64::NAN)), nonneg),
            Expr::Var(v) if self.tree.is_schedule_var(v) => Iv::point(alg.sched(v), true),
            Expr::Var(v) => match env.get(&v) {
                Some(&iv) => iv,
                None => Iv::point(alg.c(0.0), true),
            },
            Expr::Unary(op, a) => {
                let a = self.interval(alg, a, env, memo);
                match op {
                    UnOp::Neg => {
                        let (lo, hi) = (alg.un(op, a.hi), alg.un(op, a.lo));
                        Iv {
                            lo,
                            hi,
                            point: a.point,
                            nonneg,
                        }
                    }
                    _ => self.elementwise1(alg, op, a, nonneg),
                }
            }
            Expr::Binary(op, a, b) => {
                let (ia, ib) = (
                    self.interval(alg, a, env, memo),
                    self.interval(alg, b, env, memo),
                );
                binary_iv(alg, op, ia, ib, nonneg)
            }
            Expr::Select(c, a, b) => {
                let ic = self.interval(alg, c, env, memo);
                let (ia, ib) = (
                    self.interval(alg, a, env, memo),
                    self.interval(alg, b, env, memo),
                );
                if ic.point && ia.point && ib.point {
                    Iv::point(alg.select(ic.lo, ia.lo, ib.lo), nonneg)
                } else {
                    let lo = alg.min(ia.lo, ib.lo);
                    let hi = alg.max(ia.hi, ib.hi);
                    Iv {
                        lo,
                        hi,
                        point: false,
                        nonneg,
                    }
                }
            }
        };
        if iv.point && !self.depends(id) {
            self.fixed.insert(id, iv.lo);
        } else {
            memo.insert(id, iv);
        }
        iv
    }

    fn elementwise1<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        op: UnOp,
        a: Iv<V>,
        nonneg: bool,
    ) -> Iv<V> {
        let lo = alg.un(op, a.lo);
        if a.point {
            return Iv::point(lo, nonneg);
        }
        let hi = alg.un(op, a.hi);
        Iv {
            lo,
            hi,
            point: false,
            nonneg,
        }
    }
}

/// The interval of `op(a, b)` (see the module table).
fn binary_iv<A: Algebra>(
    alg: &mut A,
    op: BinOp,
    a: Iv<A::V>,
    b: Iv<A::V>,
    nonneg: bool,
) -> Iv<A::V> {
    if a.point && b.point {
        return Iv::point(alg.bin(op, a.lo, b.lo), nonneg);
    }
    let range = |lo, hi| Iv {
        lo,
        hi,
        point: false,
        nonneg,
    };
    match op {
        BinOp::Add => {
            let (lo, hi) = (alg.add(a.lo, b.lo), alg.add(a.hi, b.hi));
            range(lo, hi)
        }
        BinOp::Sub => {
            let (lo, hi) = (alg.sub(a.lo, b.hi), alg.sub(a.hi, b.lo));
            range(lo, hi)
        }
        BinOp::Mul if a.nonneg && b.nonneg => {
            let (lo, hi) = (alg.mul(a.lo, b.lo), alg.mul(a.hi, b.hi));
            range(lo, hi)
        }
        BinOp::Mul | BinOp::Div => corners(alg, op, a, b, nonneg),
        BinOp::FloorDiv | BinOp::CeilDiv if b.point => {
            let (lo, hi) = (alg.bin(op, a.lo, b.lo), alg.bin(op, a.hi, b.lo));
            range(lo, hi)
        }
        BinOp::Mod if b.point => {
            let (qa, qb) = (alg.floordiv(a.lo, b.lo), alg.floordiv(a.hi, b.lo));
            let same = alg.eq(qa, qb);
            let (ml, mh) = (
                alg.bin(BinOp::Mod, a.lo, b.lo),
                alg.bin(BinOp::Mod, a.hi, b.lo),
            );
            let zero = alg.c(0.0);
            let top = alg.addc(b.lo, -1.0);
            let lo = alg.select(same, ml, zero);
            let hi = alg.select(same, mh, top);
            range(lo, hi)
        }
        BinOp::FloorDiv | BinOp::CeilDiv => corners(alg, op, a, b, nonneg),
        BinOp::Mod => {
            let zero = alg.c(0.0);
            let top = alg.addc(b.hi, -1.0);
            range(zero, top)
        }
        BinOp::Min | BinOp::Max => {
            let (lo, hi) = (alg.bin(op, a.lo, b.lo), alg.bin(op, a.hi, b.hi));
            range(lo, hi)
        }
        BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::And | BinOp::Or => {
            let (lo, hi) = (alg.c(0.0), alg.c(1.0));
            range(lo, hi)
        }
        BinOp::Pow => {
            let (lo, hi) = (alg.bin(op, a.lo, b.lo), alg.bin(op, a.hi, b.hi));
            range(lo, hi)
        }
    }
}

/// Hull of `op` over the four corners of the operand intervals.
fn corners<A: Algebra>(alg: &mut A, op: BinOp, a: Iv<A::V>, b: Iv<A::V>, nonneg: bool) -> Iv<A::V> {
    let p = [
        alg.bin(op, a.lo, b.lo),
        alg.bin(op, a.lo, b.hi),
        alg.bin(op, a.hi, b.lo),
        alg.bin(op, a.hi, b.hi),
    ];
    let (l1, l2) = (alg.min(p[0], p[1]), alg.min(p[2], p[3]));
    let (h1, h2) = (alg.max(p[0], p[1]), alg.max(p[2], p[3]));
    Iv {
        lo: alg.min(l1, l2),
        hi: alg.max(h1, h2),
        point: false,
        nonneg,
    }
}
