//! `floordiv`, `ceildiv` and `mod`.
//!
//! Rules (variables integer-valued; `Q` ≠ 0 wherever the original is defined):
//! * `floordiv(Q·A + B, Q) = A + floordiv(B, Q)` (same for `ceildiv`) and
//!   `mod(Q·A + B, Q) = mod(B, Q)` for every term `Q·A` with an integral quotient `A`;
//!   so `floordiv(a·k, k) → a`, `mod(x·y, x) → 0`, `ceildiv(64·x, 16) → 4·x`;
//! * `floordiv(x, 1) → x`, `mod(x, 1) → 0` for integral `x`;
//! * common factors of a product and its divisor cancel (`floordiv(6·x·y, 4·x) →
//!   floordiv(3·y, 2)`), as does the gcd of a sum's integer coefficients and an integer
//!   divisor;
//! * `floordiv(floordiv(a, b), c) → floordiv(a, b·c)` (and `ceildiv`) for an integral
//!   `c ≥ 0` (`⌊⌊x⌋/n⌋ = ⌊x/n⌋` for a positive integer `n`).

use super::product::Prod;
use super::sum::Lin;
use super::Simplifier;
use crate::expr::{BinOp, Expr, ExprId};
use crate::relax::snap;

fn is_int(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

fn gcd(mut a: f64, mut b: f64) -> f64 {
    (a, b) = (a.abs(), b.abs());
    while b != 0.0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Simplifier<'_> {
    /// Splits the linear form of `a` into the terms divisible by `d` (their quotients,
    /// summed) and the rest.
    fn split_divisible(&mut self, a: ExprId, d: &Prod) -> (Lin, Lin) {
        let lin = self.lin_of(a);
        let (mut quot, mut rest) = (
            Lin::default(),
            Lin {
                c: 0.0,
                terms: Vec::new(),
            },
        );
        match self.exact_quotient(None, lin.c, d) {
            Some(q) => quot.add_scaled(&self.lin_of(q), 1.0),
            None => rest.c = lin.c,
        }
        for (t, k) in lin.terms {
            match self.exact_quotient(Some(t), k, d) {
                Some(q) => quot.add_scaled(&self.lin_of(q), 1.0),
                None => rest.terms.push((t, k)),
            }
        }
        (quot, rest)
    }

    /// Canonical `floordiv(a, b)` or `ceildiv(a, b)`.
    pub(crate) fn intdiv(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        if let Some(v) = self.fold(op, a, b) {
            return self.konst(v);
        }
        let bv = self.as_const(b);
        if bv.is_some_and(|v| snap(v) == 0.0) {
            return self.raw(op, a, b);
        }
        if self.as_const(a) == Some(0.0) {
            return a;
        }
        if a == b {
            return self.konst(1.0);
        }
        if let Expr::Binary(inner, a1, b1) = self.node(a) {
            if inner == op && self.integral(b) && self.nonneg(b) {
                let d = self.mul_div(b1, b, 1.0);
                return self.intdiv(op, a1, d);
            }
        }
        let d = self.prod_of(b);
        let (quot, rest) = self.split_divisible(a, &d);
        if !quot.terms.is_empty() || quot.c != 0.0 {
            let r = self.build_sum(rest);
            let q = self.intdiv(op, r, b);
            let mut lin = quot;
            lin.add_scaled(&self.lin_of(q), 1.0);
            return self.build_sum(lin);
        }
        if let Some((na, nb)) = self.cancel(a, &d) {
            return self.intdiv(op, na, nb);
        }
        self.raw(op, a, b)
    }

    /// `(a/g, b/g)` for the largest common factor `g` of `a` and the divisor form `d`
    /// found syntactically (common bases with positive exponents, integer gcd of the
    /// constants); `None` when `g = 1`.
    fn cancel(&mut self, a: ExprId, d: &Prod) -> Option<(ExprId, ExprId)> {
        let lin = self.lin_of(a);
        if lin.terms.len() + usize::from(lin.c != 0.0) > 1 {
            // A sum over an integer constant: divide by the gcd of all coefficients.
            if !d.factors.is_empty() || !is_int(d.c) {
                return None;
            }
            let mut g = d.c;
            for k in lin.terms.iter().map(|t| t.1).chain([lin.c]) {
                if !is_int(k) {
                    return None;
                }
                g = gcd(g, k);
            }
            if g <= 1.0 {
                return None;
            }
            let mut num = lin;
            num.scale(1.0 / g);
            let num = self.build_sum(num);
            return Some((num, self.konst(d.c / g)));
        }
        let p = self.prod_of(a);
        let mut g = Prod::default();
        if is_int(p.c) && is_int(d.c) && p.c != 0.0 {
            g.c = gcd(p.c, d.c);
        }
        for &(base, e) in &d.factors {
            let ea = p.factors.iter().find(|f| f.0 == base).map_or(0.0, |f| f.1);
            if e > 0.0 && ea > 0.0 {
                g.factors.push((base, e.min(ea)));
            }
        }
        if g.c == 1.0 && g.factors.is_empty() {
            return None;
        }
        let (mut pa, mut pd) = (p, d.clone());
        pa.c /= g.c;
        pd.c /= g.c;
        for &(base, e) in &g.factors {
            pa.factors.push((base, -e));
            pd.factors.push((base, -e));
        }
        Some((self.build_product(pa), self.build_product(pd)))
    }

    /// Canonical `mod(a, b)`.
    pub(crate) fn modulo(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if let Some(v) = self.fold(BinOp::Mod, a, b) {
            return self.konst(v);
        }
        if self.as_const(b).is_some_and(|v| snap(v) == 0.0) {
            return self.raw(BinOp::Mod, a, b);
        }
        if self.as_const(a) == Some(0.0) {
            return a;
        }
        if a == b {
            return self.konst(0.0);
        }
        if let Expr::Binary(BinOp::Mod, _, b1) = self.node(a) {
            if b1 == b {
                return a;
            }
        }
        let d = self.prod_of(b);
        let (quot, rest) = self.split_divisible(a, &d);
        if !quot.terms.is_empty() || quot.c != 0.0 {
            let r = self.build_sum(rest);
            return self.modulo(r, b);
        }
        self.raw(BinOp::Mod, a, b)
    }
}
