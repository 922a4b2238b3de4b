//! Scalar values and stores: `buf[offset] = value;` with `f32` C math.

use tilegrad_symbolic::looptree::{BufferId, Store, Value, ValueBinOp, ValueUnOp};
use tilegrad_symbolic::ExprId;

use super::c::Emitter;
use super::c_expr::{paren, Linear, Printed, ATOM};
use crate::MeasureError;

/// A C `float` literal (shortest round-trip text).
pub(super) fn float_lit(c: f32) -> Printed {
    if c.is_nan() {
        return ("NAN".into(), ATOM);
    }
    if c.is_infinite() {
        return if c > 0.0 {
            ("INFINITY".into(), ATOM)
        } else {
            ("-INFINITY".into(), 6)
        };
    }
    let mut s = format!("{c:?}");
    if !s.contains(['.', 'e', 'E']) {
        s.push_str(".0");
    }
    s.push('f');
    let p = if c.is_sign_negative() { 6 } else { ATOM };
    (s, p)
}

/// Precedence of an infix value operator.
pub(super) fn op_prec(op: ValueBinOp) -> u8 {
    match op {
        ValueBinOp::Add | ValueBinOp::Sub => 4,
        _ => 5,
    }
}

impl Emitter<'_> {
    /// The flat offset of `buffer[index]` as a linear form.
    pub(super) fn offset(&self, b: BufferId, index: &[ExprId]) -> Result<Linear, MeasureError> {
        let mut off = Linear::default();
        for (d, &e) in index.iter().enumerate() {
            let stride = self.strides[b.index()].get(d).copied().unwrap_or(1);
            off.add_scaled(&self.linear(e)?, stride);
        }
        self.fold_divmod(off)
    }

    /// `name[offset]`.
    pub(super) fn access(&self, b: BufferId, index: &[ExprId]) -> Result<String, MeasureError> {
        let off = self.print_linear(&self.offset(b, index)?)?;
        Ok(format!("{}[{}]", self.buf_names[b.index()], off.0))
    }

    /// A scalar `float` expression.
    pub(super) fn scalar(&self, v: &Value) -> Result<Printed, MeasureError> {
        Ok(match v {
            Value::Const(c) => float_lit(*c),
            Value::Load { buffer, index } => (self.access(*buffer, index)?, ATOM),
            Value::Unary(op, a) => {
                let x = self.scalar(a)?;
                let call = |f: &str, x: Printed| (format!("{f}({})", x.0), ATOM);
                match op {
                    ValueUnOp::Neg => (format!("-{}", paren(x, ATOM)), 6),
                    ValueUnOp::Exp => call("tg_expf", x),
                    ValueUnOp::Log => call("tg_logf", x),
                    ValueUnOp::Sqrt => call("sqrtf", x),
                    ValueUnOp::Rsqrt => call("tg_rsqrtf", x),
                    ValueUnOp::Tanh => call("tg_tanhf", x),
                    ValueUnOp::Erf => call("tg_erff", x),
                    ValueUnOp::Sigmoid => call("tg_sigmoidf", x),
                    ValueUnOp::Abs => call("fabsf", x),
                    ValueUnOp::Relu => (format!("fmaxf({}, 0.0f)", x.0), ATOM),
                }
            }
            Value::Binary(op, a, b) => {
                let (x, y) = (self.scalar(a)?, self.scalar(b)?);
                match op {
                    ValueBinOp::Max => (format!("fmaxf({}, {})", x.0, y.0), ATOM),
                    ValueBinOp::Min => (format!("fminf({}, {})", x.0, y.0), ATOM),
                    _ => {
                        let p = op_prec(*op);
                        let right = if matches!(op, ValueBinOp::Add | ValueBinOp::Mul) {
                            p
                        } else {
                            p + 1
                        };
                        let text = format!("{} {} {}", paren(x, p), op.symbol(), paren(y, right));
                        (text, p)
                    }
                }
            }
            Value::Select { cond, then, else_ } => match self.select_cond(*cond)? {
                Err(true) => self.scalar(then)?,
                Err(false) => self.scalar(else_)?,
                Ok(c) => (
                    format!(
                        "({c} ? {} : {})",
                        paren(self.scalar(then)?, 1),
                        paren(self.scalar(else_)?, 1)
                    ),
                    ATOM,
                ),
            },
            Value::Index(e) => (format!("(float)({})", self.print_expr(*e)?.0), ATOM),
        })
    }

    /// The conjuncts of a select condition that the interval analysis cannot decide, as C
    /// text; `Err(b)` when the whole condition is always `b`.
    pub(super) fn select_cond(&self, cond: ExprId) -> Result<Result<String, bool>, MeasureError> {
        let mut parts = Vec::new();
        self.conjuncts(cond, &mut parts);
        let mut texts = Vec::new();
        for c in parts {
            match self.decide(c) {
                Some(true) => {}
                Some(false) => return Ok(Err(false)),
                None => texts.push(paren(self.print_expr(c)?, 2)),
            }
        }
        Ok(if texts.is_empty() {
            Err(true)
        } else {
            Ok(texts.join(" && "))
        })
    }

    /// The conjuncts of `cond` that the interval analysis cannot decide.
    pub(super) fn open_conjuncts(&self, cond: ExprId) -> Vec<ExprId> {
        let mut parts = Vec::new();
        self.conjuncts(cond, &mut parts);
        parts.retain(|&c| self.decide(c).is_none());
        parts
    }

    /// `buf[off] = value;`, or `buf[off] += x;` for an update of the same element.
    pub(super) fn scalar_store(&self, st: &Store) -> Result<String, MeasureError> {
        let target = self.access(st.buffer, &st.index)?;
        // Never reached for a promoted buffer (its tile is printed with vectors); an error
        // rather than a store that the promoted accumulators would overwrite.
        if self
            .promoted_acc(st.buffer, &format!("&{target}"))?
            .is_some()
        {
            return Err(MeasureError::Invalid(format!(
                "codegen: scalar store to `{target}` inside a promoted register tile"
            )));
        }
        if let Some(rest) = self.accumulated(st) {
            return Ok(format!("{target} += {};", self.scalar(rest)?.0));
        }
        Ok(format!("{target} = {};", self.scalar(&st.value)?.0))
    }

    /// `x` when the store is `buf[i] = buf[i] + x`.
    pub(super) fn accumulated<'v>(&self, st: &'v Store) -> Option<&'v Value> {
        match &st.value {
            Value::Binary(ValueBinOp::Add, a, b) => match &**a {
                Value::Load { buffer, index } if *buffer == st.buffer && *index == st.index => {
                    Some(b)
                }
                _ => None,
            },
            _ => None,
        }
    }
}
