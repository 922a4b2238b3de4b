//! Canonical sums: a constant plus distinct unit terms with coefficients.

use super::order::structural_cmp;
use super::Simplifier;
use crate::expr::{BinOp, Expr, ExprId, UnOp};

/// A linear form `c + Σ kᵢ·tᵢ` (terms possibly repeated until [`Lin::merge`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Lin {
    pub(crate) c: f64,
    pub(crate) terms: Vec<(ExprId, f64)>,
}

impl Lin {
    /// Adds `k·other`.
    pub(crate) fn add_scaled(&mut self, other: &Lin, k: f64) {
        self.c += k * other.c;
        self.terms
            .extend(other.terms.iter().map(|&(t, w)| (t, k * w)));
    }

    /// Multiplies by `k`.
    pub(crate) fn scale(&mut self, k: f64) {
        self.c *= k;
        for t in &mut self.terms {
            t.1 *= k;
        }
    }

    /// Combines like terms (same id) and drops zero coefficients; terms end sorted by id.
    pub(crate) fn merge(&mut self) {
        self.terms.sort_unstable_by_key(|t| t.0);
        let mut out: Vec<(ExprId, f64)> = Vec::with_capacity(self.terms.len());
        for &(t, k) in &self.terms {
            match out.last_mut() {
                Some(last) if last.0 == t => last.1 += k,
                _ => out.push((t, k)),
            }
        }
        out.retain(|t| t.1 != 0.0);
        self.terms = out;
    }
}

impl Simplifier<'_> {
    /// The linear form of a canonical expression (sums, differences, negations and
    /// constant multiples are opened; everything else is a unit term).
    pub(crate) fn lin_of(&self, id: ExprId) -> Lin {
        let mut lin = Lin::default();
        let mut work = vec![(id, 1.0)];
        while let Some((x, k)) = work.pop() {
            match self.node(x) {
                Expr::Const(bits) => lin.c += k * f64::from_bits(bits),
                Expr::Binary(BinOp::Add, a, b) => work.extend([(a, k), (b, k)]),
                Expr::Binary(BinOp::Sub, a, b) => work.extend([(a, k), (b, -k)]),
                Expr::Unary(UnOp::Neg, a) => work.push((a, -k)),
                Expr::Binary(BinOp::Mul, a, b) => match self.as_const(b) {
                    Some(w) => work.push((a, k * w)),
                    None => lin.terms.push((x, k)),
                },
                _ => lin.terms.push((x, k)),
            }
        }
        lin
    }

    /// `k·t` for a unit term `t`: `t`, `(neg t)` or `(* t k)`.
    pub(crate) fn scaled(&mut self, t: ExprId, k: f64) -> ExprId {
        if k == 0.0 {
            self.konst(0.0)
        } else if k == 1.0 {
            t
        } else if k == -1.0 {
            self.make(Expr::Unary(UnOp::Neg, t))
        } else {
            let kc = self.konst(k);
            self.make(Expr::Binary(BinOp::Mul, t, kc))
        }
    }

    /// The canonical expression of a linear form.
    pub(crate) fn build_sum(&mut self, mut lin: Lin) -> ExprId {
        lin.merge();
        while self.recombine_divmod(&mut lin) {
            lin.merge();
        }
        if lin.terms.is_empty() {
            return self.konst(lin.c);
        }
        let arena = &*self.arena;
        // Positive coefficients first (so `x − y`, not `−y + x`), each group in structural order.
        lin.terms.sort_by(|x, y| {
            (x.1 < 0.0)
                .cmp(&(y.1 < 0.0))
                .then_with(|| structural_cmp(arena, x.0, y.0))
        });
        let (t0, k0) = lin.terms[0];
        let mut acc = self.scaled(t0, k0);
        for &(t, k) in &lin.terms[1..] {
            let (op, mag) = if k > 0.0 {
                (BinOp::Add, k)
            } else {
                (BinOp::Sub, -k)
            };
            let term = self.scaled(t, mag);
            acc = self.make(Expr::Binary(op, acc, term));
        }
        if lin.c != 0.0 {
            let (op, mag) = if lin.c > 0.0 {
                (BinOp::Add, lin.c)
            } else {
                (BinOp::Sub, -lin.c)
            };
            let c = self.konst(mag);
            acc = self.make(Expr::Binary(op, acc, c));
        }
        acc
    }

    /// `m·k·floordiv(x, k) + m·mod(x, k) → m·x` for a constant `k` (the definition of the
    /// floored modulo). Returns whether a pair was rewritten; `lin` must be merged.
    fn recombine_divmod(&self, lin: &mut Lin) -> bool {
        for i in 0..lin.terms.len() {
            let (t, m) = lin.terms[i];
            let Expr::Binary(BinOp::Mod, x, k) = self.node(t) else {
                continue;
            };
            let Some(kv) = self.as_const(k) else { continue };
            let found = lin.terms.iter().position(|&(u, w)| {
                w == m * kv && matches!(self.node(u), Expr::Binary(BinOp::FloorDiv, y, l) if y == x && l == k)
            });
            if let Some(j) = found {
                lin.terms[i].1 = 0.0;
                lin.terms[j].1 = 0.0;
                let lx = self.lin_of(x);
                lin.add_scaled(&lx, m);
                return true;
            }
        }
        false
    }

    /// `b − a` when it is a constant (the linear forms of `a` and `b` have the same terms).
    pub(crate) fn const_diff(&self, a: ExprId, b: ExprId) -> Option<f64> {
        let mut lin = self.lin_of(b);
        lin.add_scaled(&self.lin_of(a), -1.0);
        lin.merge();
        lin.terms.is_empty().then_some(lin.c)
    }
}
