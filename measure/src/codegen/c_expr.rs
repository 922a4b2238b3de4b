//! Integer index expressions for C: linear forms, interval bounds and printing.
//!
//! Indices are printed as `long` arithmetic. Sums of constant multiples are first put in a
//! canonical linear form (`i_0 * 64 + k + 3`: loop variables in declaration order, then other
//! sub-expressions, then the constant), which also gives the stride of an access along a
//! vectorized variable. `floordiv`/`mod` become C `/` and `%` when the interval analysis shows
//! a non-negative dividend and a positive constant divisor, else floored helper functions.

use std::collections::BTreeMap;

use tilegrad_symbolic::looptree::LoopTree;
use tilegrad_symbolic::{BinOp, Expr, ExprId, UnOp, Var};

use super::c::Emitter;
use crate::MeasureError;

/// An inclusive integer range.
pub(super) type Interval = (i64, i64);

/// The unknown range (kept away from the `i64` limits so that sums cannot overflow).
pub(super) const FULL: Interval = (i64::MIN / 4, i64::MAX / 4);

/// A term of a linear form: a loop variable or an opaque sub-expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Term {
    /// A variable (ordered by declaration).
    Var(u32),
    /// A non-linear sub-expression (ordered by id).
    Atom(u32),
}

/// `c + Σ coef · term`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Linear {
    /// Non-zero coefficients.
    pub terms: BTreeMap<Term, i64>,
    /// The constant.
    pub c: i64,
}

impl Linear {
    fn constant(c: i64) -> Self {
        Linear {
            terms: BTreeMap::new(),
            c,
        }
    }

    fn term(t: Term) -> Self {
        Linear {
            terms: BTreeMap::from([(t, 1)]),
            c: 0,
        }
    }

    /// `self + k · other`.
    pub fn add_scaled(&mut self, other: &Linear, k: i64) {
        for (&t, &x) in &other.terms {
            let slot = self.terms.entry(t).or_insert(0);
            *slot = slot.wrapping_add(x.wrapping_mul(k));
            if *slot == 0 {
                self.terms.remove(&t);
            }
        }
        self.c = self.c.wrapping_add(other.c.wrapping_mul(k));
    }

    /// `k · self`.
    pub fn scaled(&self, k: i64) -> Linear {
        let mut out = Linear::default();
        out.add_scaled(self, k);
        out
    }

    /// The constant value, if there are no terms.
    pub fn as_const(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.c)
    }

    /// The coefficient of variable `v` (0 if absent).
    pub fn coef(&self, v: Var) -> i64 {
        self.terms.get(&Term::Var(v.0)).copied().unwrap_or(0)
    }
}

/// A printed expression with its C precedence (higher binds tighter).
pub(super) type Printed = (String, u8);

/// Precedences: `||` 0, `&&` 1, `==` 2, `<` 3, `+ -` 4, `* / %` 5, unary 6, atoms 7.
pub(super) const ATOM: u8 = 7;

/// `s` parenthesized unless its precedence is at least `min`.
pub(super) fn paren(p: Printed, min: u8) -> String {
    if p.1 < min {
        format!("({})", p.0)
    } else {
        p.0
    }
}

fn bad(tree: &LoopTree, e: ExprId, why: &str) -> MeasureError {
    MeasureError::Invalid(format!(
        "codegen: index expression `{}` {why}",
        tree.expr_text(e)
    ))
}

pub(super) fn int_of(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

impl Emitter<'_> {
    /// The linear form of `e` (non-linear parts become atoms).
    pub(super) fn linear(&self, e: ExprId) -> Result<Linear, MeasureError> {
        let arena = &self.tree.exprs;
        let node = *arena
            .try_get(e)
            .map_err(|_| bad(self.tree, e, "is not in the arena"))?;
        Ok(match node {
            Expr::Const(_) => {
                let v = arena.as_const(e).unwrap_or(f64::NAN);
                Linear::constant(int_of(v).ok_or_else(|| bad(self.tree, e, "is not an integer"))?)
            }
            Expr::Var(v) => match self.var_range(v) {
                Some((lo, hi)) if lo == hi => Linear::constant(lo),
                _ => Linear::term(Term::Var(v.0)),
            },
            Expr::Unary(UnOp::Neg, a) => self.linear(a)?.scaled(-1),
            Expr::Binary(op @ (BinOp::Add | BinOp::Sub), a, b) => {
                let mut l = self.linear(a)?;
                l.add_scaled(&self.linear(b)?, if op == BinOp::Add { 1 } else { -1 });
                self.fold_divmod(l)?
            }
            Expr::Binary(BinOp::Mul, a, b) => {
                let (la, lb) = (self.linear(a)?, self.linear(b)?);
                match (la.as_const(), lb.as_const()) {
                    (_, Some(k)) => la.scaled(k),
                    (Some(k), None) => lb.scaled(k),
                    (None, None) => Linear::term(Term::Atom(e.0)),
                }
            }
            _ => match self.interval(e) {
                (lo, hi) if lo == hi => Linear::constant(lo),
                _ => match node {
                    // `a mod k` with `a` already in `0..k` is `a`.
                    Expr::Binary(BinOp::Mod, a, b)
                        if self.positive_const(b).is_some_and(|k| {
                            let (lo, hi) = self.interval(a);
                            lo >= 0 && hi < k
                        }) =>
                    {
                        self.linear(a)?
                    }
                    _ => Linear::term(Term::Atom(e.0)),
                },
            },
        })
    }

    /// Rewrites `c·(a mod k) + c·k·floordiv(a, k)` as `c·a` (fused loop indices split back
    /// into dimensions and flattened again), repeatedly.
    pub(super) fn fold_divmod(&self, mut l: Linear) -> Result<Linear, MeasureError> {
        let arena = &self.tree.exprs;
        'again: loop {
            for (&t, &c) in &l.terms {
                let Term::Atom(id) = t else { continue };
                let Ok(&Expr::Binary(BinOp::Mod, a, kid)) = arena.try_get(ExprId(id)) else {
                    continue;
                };
                let Some(k) = self.positive_const(kid) else {
                    continue;
                };
                let (base, d) = self.div_key(a);
                let want = (base, d.wrapping_mul(k));
                let div = l.terms.iter().find_map(|(&t2, &c2)| match t2 {
                    Term::Atom(id2)
                        if c2 == c.wrapping_mul(k)
                            && matches!(
                                arena.try_get(ExprId(id2)),
                                Ok(Expr::Binary(BinOp::FloorDiv, ..))
                            )
                            && self.div_key(ExprId(id2)) == want =>
                    {
                        Some(t2)
                    }
                    _ => None,
                });
                if let Some(t2) = div {
                    l.terms.remove(&t);
                    l.terms.remove(&t2);
                    let inner = self.linear(a)?;
                    l.add_scaled(&inner, c);
                    continue 'again;
                }
            }
            return Ok(l);
        }
    }

    /// `(b, d)` with `e == floordiv(b, d)`, seeing through nested floordivs by positive
    /// constants (`floordiv(floordiv(b, 40), 16) == floordiv(b, 640)`); `(e, 1)` otherwise.
    fn div_key(&self, e: ExprId) -> (ExprId, i64) {
        match self.tree.exprs.try_get(e) {
            Ok(&Expr::Binary(BinOp::FloorDiv, a, kid)) => match self.positive_const(kid) {
                Some(k) => {
                    let (b, d) = self.div_key(a);
                    (b, d.saturating_mul(k))
                }
                None => (e, 1),
            },
            _ => (e, 1),
        }
    }

    /// Whether `e` depends on variable `v`.
    pub(super) fn depends(&self, e: ExprId, v: Var) -> bool {
        self.tree.exprs.free_vars(&[e]).contains(&v)
    }

    /// Whether a linear form depends on `v` through one of its atoms.
    pub(super) fn atoms_depend(&self, l: &Linear, v: Var) -> bool {
        l.terms.keys().any(|t| match *t {
            Term::Atom(id) => self.depends(ExprId(id), v),
            Term::Var(_) => false,
        })
    }

    /// The C text of a linear form.
    pub(super) fn print_linear(&self, l: &Linear) -> Result<Printed, MeasureError> {
        let mut s = String::new();
        let mut parts = 0;
        let mut prec = ATOM;
        let total = l.terms.len() + usize::from(l.c != 0);
        for (&t, &k) in &l.terms {
            let printed = match t {
                Term::Var(v) => (self.var_name(Var(v)), ATOM),
                Term::Atom(id) => self.print_expr(ExprId(id))?,
            };
            let mag = k.unsigned_abs();
            if parts > 0 {
                s.push_str(if k < 0 { " - " } else { " + " });
            } else if k < 0 {
                s.push('-');
            }
            let first = parts == 0;
            if mag == 1 {
                let min = if !first {
                    5
                } else if k < 0 {
                    6
                } else if total > 1 {
                    4
                } else {
                    0
                };
                prec = if k < 0 { 6 } else { printed.1 };
                s.push_str(&paren(printed, min));
            } else {
                prec = 5;
                s.push_str(&format!("{} * {mag}", paren(printed, 5)));
            }
            parts += 1;
        }
        if parts == 0 {
            return Ok((l.c.to_string(), if l.c < 0 { 6 } else { ATOM }));
        }
        if l.c != 0 {
            s.push_str(if l.c < 0 { " - " } else { " + " });
            s.push_str(&l.c.unsigned_abs().to_string());
            parts += 1;
        }
        Ok((s, if parts > 1 { 4 } else { prec }))
    }

    /// The C text of an integer expression.
    pub(super) fn print_expr(&self, e: ExprId) -> Result<Printed, MeasureError> {
        let arena = &self.tree.exprs;
        let node = *arena
            .try_get(e)
            .map_err(|_| bad(self.tree, e, "is not in the arena"))?;
        let p = |x: ExprId| self.print_expr(x);
        let call = |name: &str, a: ExprId, b: ExprId| -> Result<Printed, MeasureError> {
            Ok((format!("{name}({}, {})", p(a)?.0, p(b)?.0), ATOM))
        };
        let infix = |a: ExprId, op: &str, b: ExprId, pr: u8| -> Result<Printed, MeasureError> {
            let right = if matches!(op, "&&" | "||") {
                pr
            } else {
                pr + 1
            };
            Ok((
                format!("{} {op} {}", paren(p(a)?, pr), paren(p(b)?, right)),
                pr,
            ))
        };
        match node {
            Expr::Const(_) | Expr::Var(_) | Expr::Unary(UnOp::Neg, _) => {
                self.print_linear(&self.linear(e)?)
            }
            Expr::Binary(BinOp::Add | BinOp::Sub | BinOp::Mul, ..) => {
                self.print_linear(&self.linear(e)?)
            }
            Expr::Unary(UnOp::Not, a) => Ok((format!("!{}", paren(p(a)?, 6)), 6)),
            Expr::Unary(UnOp::Exp | UnOp::Log, _) => Err(bad(self.tree, e, "uses exp/log")),
            Expr::Binary(op, a, b) => {
                let simple = self.positive_const(b).filter(|_| self.interval(a).0 >= 0);
                match op {
                    BinOp::FloorDiv => match simple {
                        Some(k) => Ok((format!("{} / {k}", paren(p(a)?, 5)), 5)),
                        None => call("tg_floordiv", a, b),
                    },
                    BinOp::CeilDiv => match simple {
                        Some(k) => {
                            let mut l = self.linear(a)?;
                            l.c = l.c.wrapping_add(k - 1);
                            Ok((format!("{} / {k}", paren(self.print_linear(&l)?, 5)), 5))
                        }
                        None => call("tg_ceildiv", a, b),
                    },
                    BinOp::Mod => match simple {
                        Some(k) => Ok((format!("{} % {k}", paren(p(a)?, 5)), 5)),
                        None => call("tg_mod", a, b),
                    },
                    BinOp::Div => infix(a, "/", b, 5),
                    BinOp::Min => call("tg_imin", a, b),
                    BinOp::Max => call("tg_imax", a, b),
                    BinOp::Pow => call("tg_ipow", a, b),
                    BinOp::Lt => infix(a, "<", b, 3),
                    BinOp::Le => infix(a, "<=", b, 3),
                    BinOp::Eq => infix(a, "==", b, 2),
                    BinOp::And => infix(a, "&&", b, 1),
                    BinOp::Or => infix(a, "||", b, 0),
                    // Handled above.
                    BinOp::Add | BinOp::Sub | BinOp::Mul => self.print_linear(&self.linear(e)?),
                }
            }
            Expr::Select(c, a, b) => Ok((
                format!(
                    "({} ? {} : {})",
                    paren(p(c)?, 1),
                    paren(p(a)?, 1),
                    paren(p(b)?, 1)
                ),
                ATOM,
            )),
        }
    }

    pub(super) fn positive_const(&self, e: ExprId) -> Option<i64> {
        self.tree
            .exprs
            .as_const(e)
            .and_then(int_of)
            .filter(|&k| k > 0)
    }

    /// The conjuncts of a condition (`a && b && …`), left to right.
    pub(super) fn conjuncts(&self, e: ExprId, out: &mut Vec<ExprId>) {
        match self.tree.exprs.try_get(e) {
            Ok(&Expr::Binary(BinOp::And, a, b)) => {
                self.conjuncts(a, out);
                self.conjuncts(b, out);
            }
            _ => out.push(e),
        }
    }

    /// Whether condition `e` holds for every value of the enclosing loop variables
    /// (`Some(true)`), for none (`Some(false)`), or is undecided.
    pub(super) fn decide(&self, e: ExprId) -> Option<bool> {
        match self.interval(e) {
            (0, 0) => Some(false),
            (lo, hi) if lo > 0 || hi < 0 => Some(true),
            _ => None,
        }
    }
}
