//! Static facts about canonical nodes: sign, integrality, booleanness.

use super::{Simplifier, SimplifyOptions};
use crate::expr::{BinOp, Expr, ExprArena, ExprId, UnOp};

/// Sign knowledge: `0` unknown, `1` non-negative, `2` positive (where defined).
const UNKNOWN: u8 = 0;
const NONNEG: u8 = 1;
const POS: u8 = 2;

/// Facts of one node, packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    known: bool,
    sign: u8,
    integral: bool,
    boolean: bool,
}

impl Facts {
    pub(crate) const UNKNOWN: Facts = Facts {
        known: false,
        sign: UNKNOWN,
        integral: false,
        boolean: false,
    };

    pub(crate) fn known(self) -> bool {
        self.known
    }
}

fn is_int(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

/// Facts of `node` from the facts of its children (which must be known).
pub(crate) fn compute(
    arena: &ExprArena,
    facts: &[Facts],
    opts: SimplifyOptions,
    node: &Expr,
) -> Facts {
    let f = |id: ExprId| facts.get(id.index()).copied().unwrap_or(Facts::UNKNOWN);
    let boolean = Facts {
        known: true,
        sign: NONNEG,
        integral: true,
        boolean: true,
    };
    let (sign, integral) = match *node {
        Expr::Const(bits) => {
            let v = f64::from_bits(bits);
            let sign = if v > 0.0 {
                POS
            } else if v == 0.0 {
                NONNEG
            } else {
                UNKNOWN
            };
            return Facts {
                known: true,
                sign,
                integral: is_int(v),
                boolean: v == 0.0 || v == 1.0,
            };
        }
        Expr::Var(_) => (
            if opts.assume_positive_vars {
                POS
            } else {
                UNKNOWN
            },
            true,
        ),
        Expr::Unary(op, a) => match op {
            UnOp::Neg => (UNKNOWN, f(a).integral),
            UnOp::Exp => (POS, false),
            UnOp::Log => (UNKNOWN, false),
            UnOp::Not => return boolean,
        },
        Expr::Binary(op, a, b) => {
            let (fa, fb) = (f(a), f(b));
            let ints = fa.integral && fb.integral;
            match op {
                BinOp::Add => (
                    if fa.sign >= NONNEG && fb.sign >= NONNEG {
                        fa.sign.max(fb.sign)
                    } else {
                        UNKNOWN
                    },
                    ints,
                ),
                BinOp::Sub => (UNKNOWN, ints),
                BinOp::Mul => (fa.sign.min(fb.sign), ints),
                BinOp::Div => (if fb.sign == POS { fa.sign } else { UNKNOWN }, false),
                BinOp::FloorDiv => (
                    if fb.sign == POS && fa.sign >= NONNEG {
                        NONNEG
                    } else {
                        UNKNOWN
                    },
                    true,
                ),
                BinOp::CeilDiv => (if fb.sign == POS { fa.sign } else { UNKNOWN }, true),
                BinOp::Mod => (if fb.sign == POS { NONNEG } else { UNKNOWN }, ints),
                BinOp::Min => (fa.sign.min(fb.sign), ints),
                BinOp::Max => (fa.sign.max(fb.sign), ints),
                BinOp::Pow => {
                    let k = arena.as_const(b);
                    let even = k.is_some_and(|k| is_int(k) && k % 2.0 == 0.0);
                    let sign = if fa.sign >= NONNEG {
                        fa.sign
                    } else if even {
                        NONNEG
                    } else {
                        UNKNOWN
                    };
                    (
                        sign,
                        fa.integral && k.is_some_and(|k| is_int(k) && k >= 0.0),
                    )
                }
                BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::And | BinOp::Or => return boolean,
            }
        }
        Expr::Select(_, a, b) => {
            let (fa, fb) = (f(a), f(b));
            return Facts {
                known: true,
                sign: fa.sign.min(fb.sign),
                integral: fa.integral && fb.integral,
                boolean: fa.boolean && fb.boolean,
            };
        }
    };
    Facts {
        known: true,
        sign,
        integral,
        boolean: false,
    }
}

impl Simplifier<'_> {
    fn facts_of(&self, id: ExprId) -> Facts {
        self.facts
            .get(id.index())
            .copied()
            .unwrap_or(Facts::UNKNOWN)
    }

    /// `id ≥ 0` wherever defined.
    pub(crate) fn nonneg(&self, id: ExprId) -> bool {
        self.facts_of(id).sign >= NONNEG
    }

    /// `id > 0` wherever defined.
    pub(crate) fn positive(&self, id: ExprId) -> bool {
        self.facts_of(id).sign == POS
    }

    /// `id` is an integer wherever defined (at integer points).
    pub(crate) fn integral(&self, id: ExprId) -> bool {
        self.facts_of(id).integral
    }

    /// `id` is 0 or 1 wherever defined.
    pub(crate) fn boolean(&self, id: ExprId) -> bool {
        self.facts_of(id).boolean
    }

    /// A lower bound `(lb, strict)`: `id ≥ lb` (or `> lb` when strict) wherever defined.
    pub(crate) fn lower_bound(&self, id: ExprId) -> (f64, bool) {
        if let Some(v) = self.as_const(id) {
            return (v, false);
        }
        let f = self.facts_of(id);
        match f.sign {
            POS if f.integral => (1.0, false),
            POS => (0.0, true),
            NONNEG => (0.0, false),
            _ => (f64::NEG_INFINITY, false),
        }
    }

    /// Provably `id > k` wherever defined.
    pub(crate) fn provably_gt(&self, id: ExprId, k: f64) -> bool {
        let (lb, strict) = self.lower_bound(id);
        lb > k || (lb == k && strict)
    }

    /// Provably `id ≥ k` wherever defined.
    pub(crate) fn provably_ge(&self, id: ExprId, k: f64) -> bool {
        self.lower_bound(id).0 >= k
    }
}
