//! Fused epilogues: elementwise operations applied, in order, to an
//! operator's output before it is stored.
//!
//! Text form: `+name` or `+name(a,b)` with f64 arguments printed by Rust's
//! shortest round-trip formatting (`0.125`, `6`, `-0.5`).

use crate::error::TemplateError;

/// One fused epilogue step. Steps apply left to right to the value `x` about
/// to be stored at output index `idx`; "channel" is the last dimension of the
/// output shape and `i, j` are its last two indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpilogueOp {
    /// `bias`: `x + bias[channel]`; adds an input of shape `[channel]`.
    Bias,
    /// `res`: `x + res[idx]`; adds an input with the output's shape.
    Residual,
    /// `mul`: `x · other[idx]`; adds an input with the output's shape.
    Mul,
    /// `relu`: `max(x, 0)`.
    Relu,
    /// `relu6`: `min(max(x, 0), 6)`.
    Relu6,
    /// `clip(lo,hi)`: `min(max(x, lo), hi)`.
    Clip {
        /// Lower bound.
        lo: f64,
        /// Upper bound (>= lo).
        hi: f64,
    },
    /// `gelu`: exact (erf) GELU `x/2 · (1 + erf(x/√2))`.
    Gelu,
    /// `silu`: `x · sigmoid(x)`.
    Silu,
    /// `sigmoid`: `1 / (1 + e^−x)`.
    Sigmoid,
    /// `tanh`.
    Tanh,
    /// `leaky_relu(a)`: `max(x,0) + a·min(x,0)`.
    LeakyRelu(f64),
    /// `scale(c)`: `c · x`.
    Scale(f64),
    /// `causal`: keeps `x` where `j <= i`, else −∞ (attention mask).
    Causal,
}

impl EpilogueOp {
    /// The name in the text form.
    pub fn name(&self) -> &'static str {
        match self {
            EpilogueOp::Bias => "bias",
            EpilogueOp::Residual => "res",
            EpilogueOp::Mul => "mul",
            EpilogueOp::Relu => "relu",
            EpilogueOp::Relu6 => "relu6",
            EpilogueOp::Clip { .. } => "clip",
            EpilogueOp::Gelu => "gelu",
            EpilogueOp::Silu => "silu",
            EpilogueOp::Sigmoid => "sigmoid",
            EpilogueOp::Tanh => "tanh",
            EpilogueOp::LeakyRelu(_) => "leaky_relu",
            EpilogueOp::Scale(_) => "scale",
            EpilogueOp::Causal => "causal",
        }
    }

    /// The numeric arguments, in text order.
    pub fn args(&self) -> Vec<f64> {
        match *self {
            EpilogueOp::Clip { lo, hi } => vec![lo, hi],
            EpilogueOp::LeakyRelu(a) | EpilogueOp::Scale(a) => vec![a],
            _ => vec![],
        }
    }

    /// Whether this step reads an extra input tensor (bias, res, mul).
    pub fn has_input(&self) -> bool {
        matches!(
            self,
            EpilogueOp::Bias | EpilogueOp::Residual | EpilogueOp::Mul
        )
    }

    /// Builds a step from its name and arguments.
    pub fn from_parts(name: &str, args: &[f64]) -> Result<EpilogueOp, TemplateError> {
        let step = match (name, args) {
            ("bias", []) => EpilogueOp::Bias,
            ("res", []) => EpilogueOp::Residual,
            ("mul", []) => EpilogueOp::Mul,
            ("relu", []) => EpilogueOp::Relu,
            ("relu6", []) => EpilogueOp::Relu6,
            ("clip", [lo, hi]) => EpilogueOp::Clip { lo: *lo, hi: *hi },
            ("gelu", []) => EpilogueOp::Gelu,
            ("silu", []) => EpilogueOp::Silu,
            ("sigmoid", []) => EpilogueOp::Sigmoid,
            ("tanh", []) => EpilogueOp::Tanh,
            ("leaky_relu", [a]) => EpilogueOp::LeakyRelu(*a),
            ("scale", [c]) => EpilogueOp::Scale(*c),
            ("causal", []) => EpilogueOp::Causal,
            (
                "bias" | "res" | "mul" | "relu" | "relu6" | "clip" | "gelu" | "silu" | "sigmoid"
                | "tanh" | "leaky_relu" | "scale" | "causal",
                _,
            ) => {
                return Err(TemplateError::InvalidEpilogue {
                    epilogue: name.into(),
                    reason: format!("wrong number of arguments ({})", args.len()),
                })
            }
            _ => return Err(TemplateError::UnknownEpilogue(name.into())),
        };
        step.validate()?;
        Ok(step)
    }

    /// Checks the arguments (finite, `lo <= hi`).
    pub fn validate(&self) -> Result<(), TemplateError> {
        let bad = |reason: &str| {
            Err(TemplateError::InvalidEpilogue {
                epilogue: self.name().into(),
                reason: reason.into(),
            })
        };
        if self.args().iter().any(|a| !a.is_finite()) {
            return bad("arguments must be finite");
        }
        if let EpilogueOp::Clip { lo, hi } = *self {
            if lo > hi {
                return bad("lo must not exceed hi");
            }
        }
        Ok(())
    }

    /// Applies the step to a scalar (for steps that read no tensor and do
    /// not depend on the index); `None` for `bias`, `res`, `mul`, `causal`.
    pub fn apply_scalar(&self, x: f64) -> Option<f64> {
        use crate::math::{erf, sigmoid};
        Some(match *self {
            EpilogueOp::Relu => x.max(0.0),
            EpilogueOp::Relu6 => x.clamp(0.0, 6.0),
            EpilogueOp::Clip { lo, hi } => x.max(lo).min(hi),
            EpilogueOp::Gelu => 0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2)),
            EpilogueOp::Silu => x * sigmoid(x),
            EpilogueOp::Sigmoid => sigmoid(x),
            EpilogueOp::Tanh => x.tanh(),
            EpilogueOp::LeakyRelu(a) => x.max(0.0) + a * x.min(0.0),
            EpilogueOp::Scale(c) => c * x,
            EpilogueOp::Bias | EpilogueOp::Residual | EpilogueOp::Mul | EpilogueOp::Causal => {
                return None
            }
        })
    }
}

impl std::fmt::Display for EpilogueOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        let args = self.args();
        if !args.is_empty() {
            let parts: Vec<String> = args.iter().map(|a| format!("{a}")).collect();
            write!(f, "({})", parts.join(","))?;
        }
        Ok(())
    }
}
