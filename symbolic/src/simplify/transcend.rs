//! `pow`, `exp` and `log`.

use super::product::Prod;
use super::sum::Lin;
use super::Simplifier;
use crate::expr::{BinOp, Expr, ExprId, UnOp};

impl Simplifier<'_> {
    /// Canonical `a^b`: a constant exponent makes a product factor (`x^1 → x`,
    /// `x^0 → 1`, `(x·y)^2 → x²·y²`, `(x²)^3 → x⁶`); `1^b → 1`.
    pub(crate) fn pow(&mut self, a: ExprId, b: ExprId) -> ExprId {
        if let Some(k) = self.as_const(b) {
            let mut p = Prod::default();
            self.decompose_into(a, k, &mut p);
            return self.build_product(p);
        }
        if self.as_const(a) == Some(1.0) {
            return a;
        }
        self.raw(BinOp::Pow, a, b)
    }

    /// Canonical `exp(a)`: folds constants, `exp(log x) → x`, and
    /// `exp(c + Σ kᵢ·log xᵢ + rest) → Π xᵢ^kᵢ · exp(c + rest)` (each `xᵢ > 0` where the
    /// original is defined).
    pub(crate) fn exp(&mut self, a: ExprId) -> ExprId {
        if let Some(v) = self.as_const(a) {
            if v.exp().is_finite() {
                return self.konst(v.exp());
            }
        }
        let lin = self.lin_of(a);
        let (logs, rest): (Vec<_>, Vec<_>) = lin
            .terms
            .iter()
            .partition(|t| matches!(self.node(t.0), Expr::Unary(UnOp::Log, _)));
        if logs.is_empty() {
            return self.make(Expr::Unary(UnOp::Exp, a));
        }
        let mut p = Prod::default();
        for (t, k) in logs {
            if let Expr::Unary(UnOp::Log, x) = self.node(t) {
                self.decompose_into(x, k, &mut p);
            }
        }
        if rest.is_empty() && lin.c.exp().is_finite() {
            p.c *= lin.c.exp();
        } else {
            let s = self.build_sum(Lin {
                c: lin.c,
                terms: rest,
            });
            let e = self.exp(s);
            self.decompose_into(e, 1.0, &mut p);
        }
        self.build_product(p)
    }

    /// Canonical `log(a)`: folds positive constants, `log(exp x) → x`, and splits products
    /// into sums of logs for every factor proven non-negative (such a factor of a product
    /// whose log is defined is positive) and for a positive constant factor:
    /// `log(c·x^k·y) → log c + k·log x + log y`.
    pub(crate) fn log(&mut self, a: ExprId) -> ExprId {
        if let Some(v) = self.as_const(a) {
            if v > 0.0 && v.ln().is_finite() {
                return self.konst(v.ln());
            }
            return self.make(Expr::Unary(UnOp::Log, a));
        }
        let p = self.prod_of(a);
        if let [(b, e)] = p.factors[..] {
            if p.c == 1.0 && e == 1.0 {
                return self.log_atom(b);
            }
        }
        let (split, rest): (Vec<_>, Vec<_>) = p.factors.iter().partition(|f| self.nonneg(f.0));
        if split.is_empty() && (p.c == 1.0 || p.c < 0.0) {
            return self.make(Expr::Unary(UnOp::Log, a));
        }
        let mut lin = Lin::default();
        for (b, e) in split {
            let l = self.log_atom(b);
            lin.add_scaled(&self.lin_of(l), e);
        }
        let mut group = Prod {
            c: 1.0,
            factors: rest,
        };
        if p.c > 0.0 {
            lin.c += p.c.ln();
        } else {
            group.c = p.c;
        }
        if !(group.factors.is_empty() && group.c == 1.0) {
            let g = self.build_product(group);
            let l = self.log(g);
            lin.add_scaled(&self.lin_of(l), 1.0);
        }
        self.build_sum(lin)
    }

    /// `log(b)` for a base that is not a product: `log(exp x) → x`,
    /// `log(a^y) → y·log a` for `a > 0`.
    fn log_atom(&mut self, b: ExprId) -> ExprId {
        match self.node(b) {
            Expr::Unary(UnOp::Exp, x) => x,
            Expr::Binary(BinOp::Pow, a, y) if self.positive(a) => {
                let la = self.log(a);
                self.mul_div(y, la, 1.0)
            }
            _ => self.make(Expr::Unary(UnOp::Log, b)),
        }
    }
}
