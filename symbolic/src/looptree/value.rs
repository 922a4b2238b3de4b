//! The scalar computed by a store: a small expression tree over loads (f32 semantics).

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::BufferId;
use crate::expr::ExprId;

/// Unary scalar operations (f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueUnOp {
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// `1 / sqrt(x)`.
    Rsqrt,
    /// Hyperbolic tangent.
    Tanh,
    /// Error function.
    Erf,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// Absolute value.
    Abs,
    /// `max(x, 0)`.
    Relu,
}

impl ValueUnOp {
    /// Name used by the printer (`neg`, `exp`, …).
    pub fn name(self) -> &'static str {
        match self {
            ValueUnOp::Neg => "neg",
            ValueUnOp::Exp => "exp",
            ValueUnOp::Log => "log",
            ValueUnOp::Sqrt => "sqrt",
            ValueUnOp::Rsqrt => "rsqrt",
            ValueUnOp::Tanh => "tanh",
            ValueUnOp::Erf => "erf",
            ValueUnOp::Sigmoid => "sigmoid",
            ValueUnOp::Abs => "abs",
            ValueUnOp::Relu => "relu",
        }
    }
}

/// Binary scalar operations (f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueBinOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)`.
    Max,
    /// `min(a, b)`.
    Min,
}

impl ValueBinOp {
    /// Infix symbol (`+ - * /`) or function name (`max`, `min`) used by the printer.
    pub fn symbol(self) -> &'static str {
        match self {
            ValueBinOp::Add => "+",
            ValueBinOp::Sub => "-",
            ValueBinOp::Mul => "*",
            ValueBinOp::Div => "/",
            ValueBinOp::Max => "max",
            ValueBinOp::Min => "min",
        }
    }
}

/// A scalar value (f32 semantics, matching the generated code).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A constant.
    Const(f32),
    /// `buffer[index]`, one index expression per dimension.
    Load {
        /// The buffer read.
        buffer: BufferId,
        /// Index expressions (over loop and schedule variables).
        index: Vec<ExprId>,
    },
    /// A unary operation.
    Unary(ValueUnOp, Box<Value>),
    /// A binary operation.
    Binary(ValueBinOp, Box<Value>, Box<Value>),
    /// `cond ? then : else` with an integer condition over loop variables (e.g. padding
    /// bounds); only the chosen branch is evaluated, so it may guard out-of-bounds loads.
    Select {
        /// Boolean index expression (non-zero means true).
        cond: ExprId,
        /// Value when the condition holds.
        then: Box<Value>,
        /// Value otherwise.
        else_: Box<Value>,
    },
    /// An index expression converted to a float.
    Index(ExprId),
}

impl Value {
    /// `buffer[index]`.
    pub fn load(buffer: BufferId, index: &[ExprId]) -> Value {
        Value::Load {
            buffer,
            index: index.to_vec(),
        }
    }

    /// `op(self)`.
    pub fn unary(self, op: ValueUnOp) -> Value {
        Value::Unary(op, Box::new(self))
    }

    /// `op(self, other)`.
    pub fn binary(self, op: ValueBinOp, other: Value) -> Value {
        Value::Binary(op, Box::new(self), Box::new(other))
    }

    /// `max(self, other)`.
    pub fn max(self, other: Value) -> Value {
        self.binary(ValueBinOp::Max, other)
    }

    /// `min(self, other)`.
    pub fn min(self, other: Value) -> Value {
        self.binary(ValueBinOp::Min, other)
    }

    /// `cond ? then : else_`.
    pub fn select(cond: ExprId, then: Value, else_: Value) -> Value {
        Value::Select {
            cond,
            then: Box::new(then),
            else_: Box::new(else_),
        }
    }

    /// Calls `f` on this value and every sub-value, parents before children.
    pub fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Value)) {
        f(self);
        match self {
            Value::Const(_) | Value::Load { .. } | Value::Index(_) => {}
            Value::Unary(_, a) => a.visit(f),
            Value::Binary(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Value::Select { then, else_, .. } => {
                then.visit(f);
                else_.visit(f);
            }
        }
    }

    /// The loads of this value, left to right: `(buffer, index)`.
    pub fn loads(&self) -> Vec<(BufferId, &[ExprId])> {
        let mut out = Vec::new();
        self.visit(&mut |v| {
            if let Value::Load { buffer, index } = v {
                out.push((*buffer, index.as_slice()));
            }
        });
        out
    }

    /// Every index expression used by this value (load indices, select conditions, `Index`).
    pub fn exprs(&self) -> Vec<ExprId> {
        let mut out = Vec::new();
        self.visit(&mut |v| match v {
            Value::Load { index, .. } => out.extend_from_slice(index),
            Value::Select { cond, .. } => out.push(*cond),
            Value::Index(e) => out.push(*e),
            _ => {}
        });
        out
    }

    /// A copy with every expression id replaced by `f(id)` (stops at the first error).
    pub fn try_map_exprs<E>(
        &self,
        f: &mut impl FnMut(ExprId) -> Result<ExprId, E>,
    ) -> Result<Value, E> {
        Ok(match self {
            Value::Const(c) => Value::Const(*c),
            Value::Load { buffer, index } => Value::Load {
                buffer: *buffer,
                index: index.iter().map(|&e| f(e)).collect::<Result<_, E>>()?,
            },
            Value::Unary(op, a) => Value::Unary(*op, Box::new(a.try_map_exprs(f)?)),
            Value::Binary(op, a, b) => Value::Binary(
                *op,
                Box::new(a.try_map_exprs(f)?),
                Box::new(b.try_map_exprs(f)?),
            ),
            Value::Select { cond, then, else_ } => Value::Select {
                cond: f(*cond)?,
                then: Box::new(then.try_map_exprs(f)?),
                else_: Box::new(else_.try_map_exprs(f)?),
            },
            Value::Index(e) => Value::Index(f(*e)?),
        })
    }
}

macro_rules! value_ops {
    ($($tr:ident $method:ident $op:ident;)*) => {$(
        impl $tr for Value {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                self.binary(ValueBinOp::$op, rhs)
            }
        }
    )*};
}

value_ops! {
    Add add Add;
    Sub sub Sub;
    Mul mul Mul;
    Div div Div;
}

impl Neg for Value {
    type Output = Value;
    fn neg(self) -> Value {
        self.unary(ValueUnOp::Neg)
    }
}
