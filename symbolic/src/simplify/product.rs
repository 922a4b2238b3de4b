//! Canonical products: a constant times distinct bases with combined exponents.
//!
//! Exponents combine (`x·x → x²`, `x/x → 1`) wherever the product is defined. A power is
//! opened (`(a·b)^e → a^e·b^e`, `(x^k)^e → x^(k·e)`) only where that cannot change a
//! defined value: when `e` is an integer, or the bases are non-negative, or (for `x^k`)
//! `k` is not an integer (then `x^k` is only defined for `x ≥ 0`).

use super::order::structural_cmp;
use super::Simplifier;
use crate::expr::{BinOp, Expr, ExprId, UnOp};

/// A product `c · Π bᵢ^eᵢ`.
#[derive(Clone, Debug)]
pub(crate) struct Prod {
    pub(crate) c: f64,
    pub(crate) factors: Vec<(ExprId, f64)>,
}

impl Default for Prod {
    fn default() -> Self {
        Prod {
            c: 1.0,
            factors: Vec::new(),
        }
    }
}

fn is_int(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

impl Prod {
    /// Combines equal bases and drops zero exponents; factors end sorted by id.
    fn merge(&mut self) {
        self.factors.sort_unstable_by_key(|f| f.0);
        let mut out: Vec<(ExprId, f64)> = Vec::with_capacity(self.factors.len());
        for &(b, e) in &self.factors {
            match out.last_mut() {
                Some(last) if last.0 == b => last.1 += e,
                _ => out.push((b, e)),
            }
        }
        out.retain(|f| f.1 != 0.0);
        self.factors = out;
    }

    /// The exponent of base `b` (0 if absent); factors must be merged.
    fn exponent(&self, b: ExprId) -> f64 {
        self.factors.iter().find(|f| f.0 == b).map_or(0.0, |f| f.1)
    }
}

impl Simplifier<'_> {
    /// How `x^e` opens: `Some(parts)` with the constant factor and the sub-factors, or
    /// `None` when `x^e` is an atomic factor.
    fn open(&self, x: ExprId, e: f64) -> Option<(f64, Vec<(ExprId, f64)>)> {
        let int_e = is_int(e);
        match self.node(x) {
            Expr::Const(bits) => {
                let v = f64::from_bits(bits);
                let p = if e == 1.0 { v } else { v.powf(e) };
                (p.is_finite() && !(v == 0.0 && e < 0.0)).then(|| (p, Vec::new()))
            }
            Expr::Binary(BinOp::Mul, a, b) if int_e || (self.nonneg(a) && self.nonneg(b)) => {
                Some((1.0, vec![(a, e), (b, e)]))
            }
            Expr::Binary(BinOp::Div, a, b) if int_e || (self.nonneg(a) && self.nonneg(b)) => {
                Some((1.0, vec![(a, e), (b, -e)]))
            }
            Expr::Unary(UnOp::Neg, a) if int_e => {
                Some((if e % 2.0 == 0.0 { 1.0 } else { -1.0 }, vec![(a, e)]))
            }
            Expr::Binary(BinOp::Pow, a, k) => {
                let k = self.as_const(k)?;
                let ke = k * e;
                (ke.is_finite() && (int_e || !is_int(k) || self.nonneg(a)))
                    .then(|| (1.0, vec![(a, ke)]))
            }
            _ => None,
        }
    }

    /// Multiplies `into` by `x^e`, opening nested products and powers.
    pub(crate) fn decompose_into(&self, x: ExprId, e: f64, into: &mut Prod) {
        let mut work = vec![(x, e)];
        loop {
            while let Some((x, e)) = work.pop() {
                match self.open(x, e) {
                    Some((c, parts)) => {
                        into.c *= c;
                        work.extend(parts);
                    }
                    None => into.factors.push((x, e)),
                }
            }
            into.merge();
            // A combined exponent may make an atomic factor openable (x^½·x^½ = x).
            let (open, keep): (Vec<_>, Vec<_>) = into
                .factors
                .iter()
                .partition(|f| self.open(f.0, f.1).is_some());
            if open.is_empty() {
                return;
            }
            into.factors = keep;
            work = open;
        }
    }

    /// The product form of a canonical expression.
    pub(crate) fn prod_of(&self, x: ExprId) -> Prod {
        let mut p = Prod::default();
        self.decompose_into(x, 1.0, &mut p);
        p
    }

    /// Left-folded product of `b^|e|` over `factors` (`None` if empty).
    fn chain(&mut self, factors: &[(ExprId, f64)]) -> Option<ExprId> {
        let mut acc: Option<ExprId> = None;
        for &(b, e) in factors {
            let f = if e == 1.0 {
                b
            } else {
                let k = self.konst(e);
                self.make(Expr::Binary(BinOp::Pow, b, k))
            };
            acc = Some(match acc {
                None => f,
                Some(a) => self.make(Expr::Binary(BinOp::Mul, a, f)),
            });
        }
        acc
    }

    /// The canonical expression of a product form.
    pub(crate) fn build_product(&mut self, mut p: Prod) -> ExprId {
        p.merge();
        if p.c == 0.0 || p.factors.is_empty() {
            return self.konst(p.c);
        }
        if let [(s, e)] = p.factors[..] {
            if e == 1.0 && matches!(self.node(s), Expr::Binary(BinOp::Add | BinOp::Sub, ..)) {
                // c·(sum): distribute the constant.
                let mut lin = self.lin_of(s);
                lin.scale(p.c);
                return self.build_sum(lin);
            }
        }
        if let Some(i) = p
            .factors
            .iter()
            .position(|&(b, e)| e < 0.0 && self.as_const(b) == Some(0.0))
        {
            // Division by zero: keep it visible as `(/ rest 0)` so exact evaluation fails.
            let zero = p.factors.swap_remove(i).0;
            let c = std::mem::replace(&mut p.c, 1.0);
            let rest = self.build_product(p);
            let unit = self.make(Expr::Binary(BinOp::Div, rest, zero));
            return self.scaled(unit, c);
        }
        let arena = &*self.arena;
        p.factors.sort_by(|x, y| structural_cmp(arena, x.0, y.0));
        let num: Vec<_> = p.factors.iter().filter(|f| f.1 > 0.0).copied().collect();
        let den: Vec<_> = p
            .factors
            .iter()
            .filter(|f| f.1 < 0.0)
            .map(|f| (f.0, -f.1))
            .collect();
        let num = self.chain(&num);
        let unit = match (num, self.chain(&den)) {
            (Some(n), None) => n,
            (n, Some(d)) => {
                let n = match n {
                    Some(n) => n,
                    None => self.konst(1.0),
                };
                self.make(Expr::Binary(BinOp::Div, n, d))
            }
            (None, None) => return self.konst(p.c), // unreachable: factors is not empty
        };
        self.scaled(unit, p.c)
    }

    /// `x·y^s` (s = ±1) as a canonical product.
    pub(crate) fn mul_div(&mut self, x: ExprId, y: ExprId, s: f64) -> ExprId {
        let mut p = self.prod_of(x);
        self.decompose_into(y, s, &mut p);
        self.build_product(p)
    }

    /// `(k·t) / d` when it is an integral expression with no division left: every factor of
    /// `d` occurs in `t` with at least its (positive integer) exponent, constants divide
    /// as integers and what remains is integral. `d` is a merged product form.
    pub(crate) fn exact_quotient(&mut self, t: Option<ExprId>, k: f64, d: &Prod) -> Option<ExprId> {
        if !is_int(d.c) || d.c == 0.0 || !is_int(k) || k % d.c != 0.0 {
            return None;
        }
        let mut p = match t {
            Some(t) => self.prod_of(t),
            None => Prod::default(),
        };
        p.c *= k / d.c;
        if !is_int(p.c) {
            return None;
        }
        for &(b, e) in &d.factors {
            if !is_int(e) || e <= 0.0 || p.exponent(b) < e {
                return None;
            }
            p.factors.push((b, -e));
        }
        p.merge();
        if p.factors
            .iter()
            .any(|&(b, e)| !is_int(e) || e < 0.0 || !self.integral(b))
        {
            return None;
        }
        Some(self.build_product(p))
    }
}
