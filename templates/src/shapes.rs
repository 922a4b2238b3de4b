//! Tensor shapes of each operator and the checks that they compose.

use crate::error::TemplateError;
use crate::op::Op;
use crate::params::Kind;

/// Largest element count of any tensor (2^40) and of a loop nest (2^62).
const MAX_TENSOR: u128 = 1 << 40;
const MAX_NEST: u128 = 1 << 62;

/// Output size of a sliding window: `(in + 2·pad − dil·(k−1) − 1)/stride + 1`,
/// or `None` if the window does not fit the padded input.
pub(crate) fn window_out(
    input: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
) -> Option<usize> {
    let span = dil.checked_mul(k - 1)?.checked_add(1)?;
    let padded = input.checked_add(pad.checked_mul(2)?)?;
    if padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

/// Output size of a transposed conv: `(in−1)·stride − 2·pad + k + opad`.
pub(crate) fn transpose_out(
    input: usize,
    k: usize,
    stride: usize,
    pad: usize,
    opad: usize,
) -> Option<usize> {
    let full = (input - 1)
        .checked_mul(stride)?
        .checked_add(k)?
        .checked_add(opad)?;
    full.checked_sub(pad.checked_mul(2)?).filter(|&v| v >= 1)
}

impl Op {
    /// Checks parameter ranges and that the shapes compose.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let name = self.name();
        for (spec, &value) in self.spec().iter().zip(self.values().iter()) {
            let bad = |expected| TemplateError::OutOfRange {
                op: name.into(),
                param: spec.name.into(),
                value,
                expected,
            };
            match spec.kind {
                Kind::Dim if value < 1 => {
                    return Err(TemplateError::NonPositiveDimension {
                        op: name.into(),
                        param: spec.name.into(),
                        value,
                    })
                }
                Kind::NonNeg if value < 0 => return Err(bad(">= 0")),
                Kind::Flag if !(0..=1).contains(&value) => return Err(bad("0 or 1")),
                _ => {}
            }
        }
        let mismatch = |reason: String| TemplateError::ShapeMismatch {
            op: name.into(),
            reason,
        };
        match *self {
            Op::Conv2d(c) => {
                check_groups(c.c, c.k, c.groups).map_err(mismatch)?;
                for (dim, i, k) in [("H", c.h, c.r), ("W", c.w, c.s)] {
                    window_out(i, k, c.stride, c.pad, c.dilation)
                        .ok_or_else(|| mismatch(format!("kernel larger than padded {dim}")))?;
                }
            }
            Op::Conv3d(c) => {
                check_groups(c.c, c.k, c.groups).map_err(mismatch)?;
                window_out(c.d, c.t, c.stride_d, c.pad_d, c.dilation_d)
                    .ok_or_else(|| mismatch("kernel larger than padded D".into()))?;
                for (dim, i, k) in [("H", c.h, c.r), ("W", c.w, c.s)] {
                    window_out(i, k, c.stride, c.pad, c.dilation)
                        .ok_or_else(|| mismatch(format!("kernel larger than padded {dim}")))?;
                }
            }
            Op::Conv2dTranspose(c) => {
                if c.output_pad >= c.stride {
                    return Err(mismatch(format!(
                        "output_pad {} must be smaller than stride {}",
                        c.output_pad, c.stride
                    )));
                }
                for (dim, i, k) in [("H", c.h, c.r), ("W", c.w, c.s)] {
                    transpose_out(i, k, c.stride, c.pad, c.output_pad)
                        .ok_or_else(|| mismatch(format!("padding crops the whole output {dim}")))?;
                }
            }
            Op::Pool2d(p) => {
                if 2 * p.pad > p.r.min(p.s) {
                    return Err(mismatch(format!("pad {} exceeds half the window", p.pad)));
                }
                for (dim, i, k) in [("H", p.h, p.r), ("W", p.w, p.s)] {
                    window_out(i, k, p.stride, p.pad, 1)
                        .ok_or_else(|| mismatch(format!("window larger than padded {dim}")))?;
                }
            }
            Op::Rope(r) if r.n % 2 != 0 => {
                return Err(mismatch(format!("N = {} must be even", r.n)));
            }
            _ => {}
        }
        let mut shapes = self.input_shapes();
        shapes.push(self.output_shape());
        for s in &shapes {
            let numel = s
                .iter()
                .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128));
            if numel.is_none_or(|n| n > MAX_TENSOR) {
                return Err(TemplateError::TooLarge {
                    op: name.into(),
                    what: format!("tensor {s:?}"),
                });
            }
        }
        let nest = self
            .values()
            .iter()
            .filter(|&&v| v > 1)
            .try_fold(1u128, |acc, &v| acc.checked_mul(v as u128));
        if nest.is_none_or(|n| n > MAX_NEST) {
            return Err(TemplateError::TooLarge {
                op: name.into(),
                what: "loop nest".into(),
            });
        }
        Ok(())
    }

    /// Shapes of the operator's inputs (row-major), before epilogue inputs.
    /// Only meaningful for a validated operator.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        match *self {
            Op::Matmul(m) => vec![
                if m.trans_a {
                    vec![m.k, m.m]
                } else {
                    vec![m.m, m.k]
                },
                if m.trans_b {
                    vec![m.n, m.k]
                } else {
                    vec![m.k, m.n]
                },
            ],
            Op::BatchMatmul(m) => vec![
                if m.trans_a {
                    vec![m.b, m.k, m.m]
                } else {
                    vec![m.b, m.m, m.k]
                },
                if m.trans_b {
                    vec![m.b, m.n, m.k]
                } else {
                    vec![m.b, m.k, m.n]
                },
            ],
            Op::Conv2d(c) => vec![
                vec![c.n, c.h, c.w, c.c],
                vec![c.r, c.s, c.c / c.groups.max(1), c.k],
            ],
            Op::Conv2dTranspose(c) => vec![vec![c.n, c.h, c.w, c.c], vec![c.r, c.s, c.c, c.k]],
            Op::Conv3d(c) => vec![
                vec![c.n, c.d, c.h, c.w, c.c],
                vec![c.t, c.r, c.s, c.c / c.groups.max(1), c.k],
            ],
            Op::Pool2d(p) => vec![vec![p.n, p.h, p.w, p.c]],
            Op::GlobalAvgPool(g) if g.three_d => vec![vec![g.n, g.d, g.h, g.w, g.c]],
            Op::GlobalAvgPool(g) => vec![vec![g.n, g.h, g.w, g.c]],
            Op::Softmax(r) | Op::Elemwise(r) => vec![vec![r.m, r.n]],
            Op::LayerNorm(r) => vec![vec![r.m, r.n], vec![r.n], vec![r.n]],
            Op::RmsNorm(r) => vec![vec![r.m, r.n], vec![r.n]],
            Op::Binary(b) => vec![
                vec![b.b, b.m, b.n],
                vec![
                    if b.bcast_b { 1 } else { b.b },
                    if b.bcast_m { 1 } else { b.m },
                    if b.bcast_n { 1 } else { b.n },
                ],
            ],
            Op::Rope(r) => vec![vec![r.b, r.m, r.n], vec![r.m, r.n], vec![r.m, r.n]],
        }
    }

    /// Names of the operator's inputs, parallel to [`Op::input_shapes`].
    pub fn input_names(&self) -> Vec<&'static str> {
        match self {
            Op::Matmul(_) | Op::BatchMatmul(_) => vec!["A", "B"],
            Op::Conv2d(_) | Op::Conv2dTranspose(_) | Op::Conv3d(_) => vec!["data", "weight"],
            Op::LayerNorm(_) => vec!["data", "gamma", "beta"],
            Op::RmsNorm(_) => vec!["data", "gamma"],
            Op::Binary(_) => vec!["lhs", "rhs"],
            Op::Rope(_) => vec!["data", "cos", "sin"],
            _ => vec!["data"],
        }
    }

    /// Shape of the operator's output (row-major). Only meaningful for a
    /// validated operator.
    pub fn output_shape(&self) -> Vec<usize> {
        let w = |i, k, s, p, d| window_out(i, k, s, p, d).unwrap_or(0);
        let t = |i, k, s, p, o| transpose_out(i, k, s, p, o).unwrap_or(0);
        match *self {
            Op::Matmul(m) => vec![m.m, m.n],
            Op::BatchMatmul(m) => vec![m.b, m.m, m.n],
            Op::Conv2d(c) => vec![
                c.n,
                w(c.h, c.r, c.stride, c.pad, c.dilation),
                w(c.w, c.s, c.stride, c.pad, c.dilation),
                c.k,
            ],
            Op::Conv2dTranspose(c) => vec![
                c.n,
                t(c.h, c.r, c.stride, c.pad, c.output_pad),
                t(c.w, c.s, c.stride, c.pad, c.output_pad),
                c.k,
            ],
            Op::Conv3d(c) => vec![
                c.n,
                w(c.d, c.t, c.stride_d, c.pad_d, c.dilation_d),
                w(c.h, c.r, c.stride, c.pad, c.dilation),
                w(c.w, c.s, c.stride, c.pad, c.dilation),
                c.k,
            ],
            Op::Pool2d(p) => vec![
                p.n,
                w(p.h, p.r, p.stride, p.pad, 1),
                w(p.w, p.s, p.stride, p.pad, 1),
                p.c,
            ],
            Op::GlobalAvgPool(g) => vec![g.n, g.c],
            Op::Softmax(r) | Op::LayerNorm(r) | Op::RmsNorm(r) | Op::Elemwise(r) => vec![r.m, r.n],
            Op::Binary(b) => vec![b.b, b.m, b.n],
            Op::Rope(r) => vec![r.b, r.m, r.n],
        }
    }
}

fn check_groups(c: usize, k: usize, groups: usize) -> Result<(), String> {
    if !c.is_multiple_of(groups) {
        return Err(format!(
            "input channels C = {c} not divisible by groups = {groups}"
        ));
    }
    if !k.is_multiple_of(groups) {
        return Err(format!(
            "output channels K = {k} not divisible by groups = {groups}"
        ));
    }
    Ok(())
}
