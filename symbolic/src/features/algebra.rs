//! The two number systems the feature definitions are written over: symbolic expressions
//! (an [`ExprArena`] builder, for the [`super::FeatureSet`]) and plain `f64` (the direct
//! oracle on concrete trees). Every feature and constraint is written once, generically.

use crate::eval::binary_exact;
use crate::expr::{BinOp, ExprArena, ExprId, UnOp, Var};

/// Arithmetic the feature definitions use.
pub(crate) trait Algebra {
    /// A number (an expression id, or a value).
    type V: Copy + PartialEq;
    /// A constant.
    fn c(&mut self, x: f64) -> Self::V;
    /// A schedule variable of the tree being read.
    fn sched(&mut self, v: Var) -> Self::V;
    /// A binary operation.
    fn bin(&mut self, op: BinOp, a: Self::V, b: Self::V) -> Self::V;
    /// A unary operation.
    fn un(&mut self, op: UnOp, a: Self::V) -> Self::V;
    /// `select(c, a, b)`.
    fn select(&mut self, c: Self::V, a: Self::V, b: Self::V) -> Self::V;

    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Add, a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Sub, a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Mul, a, b)
    }
    fn div(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Div, a, b)
    }
    fn floordiv(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::FloorDiv, a, b)
    }
    fn ceildiv(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::CeilDiv, a, b)
    }
    fn min(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Min, a, b)
    }
    fn max(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Max, a, b)
    }
    fn eq(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.bin(BinOp::Eq, a, b)
    }
    fn log(&mut self, a: Self::V) -> Self::V {
        self.un(UnOp::Log, a)
    }
    /// `log(1 + x)`.
    fn log1p(&mut self, x: Self::V) -> Self::V {
        let one = self.c(1.0);
        let s = self.add(one, x);
        self.log(s)
    }
    /// `x + k`.
    fn addc(&mut self, x: Self::V, k: f64) -> Self::V {
        let k = self.c(k);
        self.add(x, k)
    }
    /// `x · k`.
    fn mulc(&mut self, x: Self::V, k: f64) -> Self::V {
        let k = self.c(k);
        self.mul(x, k)
    }
    /// The product of `xs` (1 when empty).
    fn product(&mut self, xs: &[Self::V]) -> Self::V {
        let mut p = self.c(1.0);
        for &x in xs {
            p = self.mul(p, x);
        }
        p
    }
}

/// Exact unary operation on values (NaN for the log of a non-positive value).
fn unary_exact(op: UnOp, a: f64) -> f64 {
    match op {
        UnOp::Neg => -a,
        UnOp::Exp => a.exp(),
        UnOp::Log if a <= 0.0 => f64::NAN,
        UnOp::Log => a.ln(),
        UnOp::Not => crate::relax::not_exact(a),
    }
}

/// Plain `f64` with the crate's exact semantics (the direct oracle). Schedule variables
/// have no value here (a concrete tree has none left): they read as NaN.
pub(crate) struct Direct;

impl Algebra for Direct {
    type V = f64;
    fn c(&mut self, x: f64) -> f64 {
        x
    }
    fn sched(&mut self, _v: Var) -> f64 {
        f64::NAN
    }
    fn bin(&mut self, op: BinOp, a: f64, b: f64) -> f64 {
        binary_exact(op, a, b)
    }
    fn un(&mut self, op: UnOp, a: f64) -> f64 {
        unary_exact(op, a)
    }
    fn select(&mut self, c: f64, a: f64, b: f64) -> f64 {
        crate::relax::select_exact(c, a, b)
    }
}

/// Expression building in an arena (the symbolic path). Constant operands are folded with
/// the exact semantics and a few identities are applied (`x + 0`, `x · 1`, `x · 0`), the
/// rest is left to the simplifier.
pub(crate) struct Symbolic<'a> {
    pub(crate) arena: &'a mut ExprArena,
}

impl Algebra for Symbolic<'_> {
    type V = ExprId;
    fn c(&mut self, x: f64) -> ExprId {
        self.arena.constant(x)
    }
    fn sched(&mut self, v: Var) -> ExprId {
        self.arena.var_expr(v)
    }
    fn bin(&mut self, op: BinOp, a: ExprId, b: ExprId) -> ExprId {
        let (ca, cb) = (self.arena.as_const(a), self.arena.as_const(b));
        if let (Some(x), Some(y)) = (ca, cb) {
            let v = binary_exact(op, x, y);
            if v.is_finite() {
                return self.arena.constant(v);
            }
        }
        match op {
            BinOp::Add if ca == Some(0.0) => b,
            BinOp::Add | BinOp::Sub if cb == Some(0.0) => a,
            BinOp::Mul if ca == Some(1.0) => b,
            BinOp::Mul | BinOp::Div if cb == Some(1.0) => a,
            BinOp::Mul if ca == Some(0.0) || cb == Some(0.0) => self.arena.constant(0.0),
            BinOp::Min | BinOp::Max if a == b => a,
            _ => self.arena.binary(op, a, b),
        }
    }
    fn un(&mut self, op: UnOp, a: ExprId) -> ExprId {
        if let Some(x) = self.arena.as_const(a) {
            let v = unary_exact(op, x);
            if v.is_finite() {
                return self.arena.constant(v);
            }
        }
        self.arena.unary(op, a)
    }
    fn select(&mut self, c: ExprId, a: ExprId, b: ExprId) -> ExprId {
        match self.arena.as_const(c) {
            Some(x) if x != 0.0 && !x.is_nan() => a,
            Some(0.0) => b,
            _ if a == b => a,
            _ => self.arena.select(c, a, b),
        }
    }
}
