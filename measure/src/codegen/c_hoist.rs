//! Guard hoisting: a loop whose body is one `if` gets the parts of the condition that do not
//! depend on the loop variable moved outside the loop, and linear bounds on the loop variable
//! (`k·v + rest < 0`, `<=`) turned into its start and end.

use tilegrad_symbolic::looptree::{Loop, Stmt};
use tilegrad_symbolic::{BinOp, Expr, ExprId};

use super::c::Emitter;
use super::c_expr::Linear;
use crate::MeasureError;

/// A loop body after hoisting.
pub(super) struct Hoist<'a> {
    /// Conditions tested once, outside the loop.
    pub outer: Vec<ExprId>,
    /// Lower bounds of the loop variable (C expressions, `v >= x`).
    pub lo: Vec<String>,
    /// Upper bounds of the loop variable (C expressions, `v < x`).
    pub hi: Vec<String>,
    /// Conditions left inside the loop.
    pub inner: Vec<ExprId>,
    /// The statements under the conditions.
    pub body: &'a [Stmt],
}

impl Emitter<'_> {
    /// Splits the guard of `l` (whose variable's range is already in scope); `None` when the
    /// guard never holds.
    pub(super) fn hoist<'a>(
        &self,
        l: &'a Loop,
        _extent: i64,
    ) -> Result<Option<Hoist<'a>>, MeasureError> {
        let mut h = Hoist {
            outer: Vec::new(),
            lo: Vec::new(),
            hi: Vec::new(),
            inner: Vec::new(),
            body: &l.body,
        };
        let [Stmt::If { cond, then }] = l.body.as_slice() else {
            return Ok(Some(h));
        };
        h.body = then;
        let mut parts = Vec::new();
        self.conjuncts(*cond, &mut parts);
        let v = l.var;
        for c in parts {
            match self.decide(c) {
                Some(true) => continue,
                Some(false) => return Ok(None),
                None => {}
            }
            if !self.depends(c, v) {
                h.outer.push(c);
                continue;
            }
            let (op, a, b) = match *self.tree.exprs.get(c) {
                Expr::Binary(op @ (BinOp::Lt | BinOp::Le), a, b) => (op, a, b),
                _ => {
                    h.inner.push(c);
                    continue;
                }
            };
            let mut diff = self.linear(a)?;
            diff.add_scaled(&self.linear(b)?, -1);
            let k = diff.coef(v);
            let mut rest = diff.clone();
            rest.terms.remove(&super::c_expr::Term::Var(v.0));
            if k == 0 || self.atoms_depend(&rest, v) {
                h.inner.push(c);
                continue;
            }
            // k·v + rest < 0 (Lt) or <= 0 (Le).
            let neg = rest.scaled(-1);
            let text = |em: &Self, l: &Linear| em.print_linear(l).map(|p| p.0);
            let plus = |l: &Linear, d: i64| {
                let mut l = l.clone();
                l.c = l.c.wrapping_add(d);
                l
            };
            let m = k.unsigned_abs();
            match (op, k > 0) {
                (BinOp::Lt, true) if m == 1 => h.hi.push(text(self, &neg)?),
                (BinOp::Lt, true) => h.hi.push(format!("tg_ceildiv({}, {m})", text(self, &neg)?)),
                (BinOp::Lt, false) if m == 1 => h.lo.push(text(self, &plus(&rest, 1))?),
                (BinOp::Lt, false) => {
                    h.lo.push(format!("tg_floordiv({}, {m}) + 1", text(self, &rest)?))
                }
                (_, true) if m == 1 => h.hi.push(text(self, &plus(&neg, 1))?),
                (_, true) => {
                    h.hi.push(format!("tg_floordiv({}, {m}) + 1", text(self, &neg)?))
                }
                (_, false) if m == 1 => h.lo.push(text(self, &rest)?),
                (_, false) => {
                    h.lo.push(format!("tg_ceildiv({}, {m})", text(self, &rest)?))
                }
            }
        }
        Ok(Some(h))
    }

    /// Declares the start and end of a hoisted loop; returns their C texts.
    pub(super) fn bound_names(
        &mut self,
        var: &str,
        h: &Hoist<'_>,
        extent: i64,
    ) -> Result<(String, String), MeasureError> {
        let lo = if h.lo.is_empty() {
            "0".to_string()
        } else {
            let name = self.fresh(&format!("{var}_lo"));
            let e =
                h.lo.iter()
                    .fold("0".to_string(), |acc, x| format!("tg_imax({acc}, {x})"));
            self.line(&format!("const long {name} = {e};"));
            name
        };
        let hi = if h.hi.is_empty() {
            extent.to_string()
        } else {
            let name = self.fresh(&format!("{var}_hi"));
            let e =
                h.hi.iter()
                    .fold(extent.to_string(), |acc, x| format!("tg_imin({acc}, {x})"));
            self.line(&format!("const long {name} = {e};"));
            name
        };
        Ok((lo, hi))
    }

    /// The statements of a hoisted body under its remaining conditions.
    pub(super) fn hoisted_body(&mut self, h: &Hoist<'_>) -> Result<(), MeasureError> {
        let inner = h.inner.clone();
        self.guarded(&inner, |em| em.stmts(h.body))
    }
}
