//! The parameter tables of the operators' text form and the conversion of
//! an [`Op`] to and from its parameter values (see `op` for the print rule).

use crate::error::TemplateError;
use crate::op::{
    BatchMatmul, Binary, BinaryFn, Conv2d, Conv2dTranspose, Conv3d, GlobalAvgPool, Matmul, Op,
    Pool2d, PoolKind, Rope, Rows,
};

/// How a parameter is checked and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A size: must be >= 1.
    Dim,
    /// Padding and similar: must be >= 0.
    NonNeg,
    /// A boolean flag written 0 or 1.
    Flag,
}

/// One parameter of an operator's text form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// `None`: required. `Some(d)`: optional with default `d`.
    pub default: Option<i64>,
    /// Printed even when equal to the default.
    pub always: bool,
}

const fn req(name: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: Kind::Dim,
        default: None,
        always: true,
    }
}
const fn shown(name: &'static str, kind: Kind, d: i64) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        default: Some(d),
        always: true,
    }
}
const fn opt(name: &'static str, kind: Kind, d: i64) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        default: Some(d),
        always: false,
    }
}

const MATMUL: &[ParamSpec] = &[
    req("M"),
    req("N"),
    req("K"),
    opt("trans_a", Kind::Flag, 0),
    opt("trans_b", Kind::Flag, 0),
];
const BATCH_MATMUL: &[ParamSpec] = &[
    req("B"),
    req("M"),
    req("N"),
    req("K"),
    opt("trans_a", Kind::Flag, 0),
    opt("trans_b", Kind::Flag, 0),
];
const CONV2D: &[ParamSpec] = &[
    req("N"),
    req("H"),
    req("W"),
    req("C"),
    req("K"),
    req("R"),
    req("S"),
    shown("stride", Kind::Dim, 1),
    shown("pad", Kind::NonNeg, 0),
    opt("dilation", Kind::Dim, 1),
    opt("groups", Kind::Dim, 1),
];
const CONV2D_T: &[ParamSpec] = &[
    req("N"),
    req("H"),
    req("W"),
    req("C"),
    req("K"),
    req("R"),
    req("S"),
    shown("stride", Kind::Dim, 1),
    shown("pad", Kind::NonNeg, 0),
    opt("output_pad", Kind::NonNeg, 0),
];
const CONV3D: &[ParamSpec] = &[
    req("N"),
    req("D"),
    req("H"),
    req("W"),
    req("C"),
    req("K"),
    req("T"),
    req("R"),
    req("S"),
    shown("stride_d", Kind::Dim, 1),
    shown("stride", Kind::Dim, 1),
    shown("pad_d", Kind::NonNeg, 0),
    shown("pad", Kind::NonNeg, 0),
    opt("dilation_d", Kind::Dim, 1),
    opt("dilation", Kind::Dim, 1),
    opt("groups", Kind::Dim, 1),
];
const POOL2D: &[ParamSpec] = &[
    req("N"),
    req("H"),
    req("W"),
    req("C"),
    req("R"),
    req("S"),
    shown("stride", Kind::Dim, 1),
    shown("pad", Kind::NonNeg, 0),
];
const GPOOL2D: &[ParamSpec] = &[req("N"), req("H"), req("W"), req("C")];
const GPOOL3D: &[ParamSpec] = &[req("N"), req("D"), req("H"), req("W"), req("C")];
const ROWS: &[ParamSpec] = &[req("M"), req("N")];
const BINARY: &[ParamSpec] = &[
    opt("B", Kind::Dim, 1),
    req("M"),
    req("N"),
    opt("bcast_b", Kind::Flag, 0),
    opt("bcast_m", Kind::Flag, 0),
    opt("bcast_n", Kind::Flag, 0),
];
const ROPE: &[ParamSpec] = &[req("B"), req("M"), req("N")];

pub(crate) fn spec(name: &str) -> Option<&'static [ParamSpec]> {
    Some(match name {
        "matmul" => MATMUL,
        "batch_matmul" => BATCH_MATMUL,
        "conv2d" => CONV2D,
        "conv2d_transpose" => CONV2D_T,
        "conv3d" => CONV3D,
        "max_pool2d" | "avg_pool2d" => POOL2D,
        "global_avg_pool2d" => GPOOL2D,
        "global_avg_pool3d" => GPOOL3D,
        "softmax" | "layer_norm" | "rms_norm" | "elemwise" => ROWS,
        "add" | "sub" | "mul" | "div" | "maximum" | "minimum" => BINARY,
        "rope" => ROPE,
        _ => return None,
    })
}

fn binary_fn(name: &str) -> Option<BinaryFn> {
    Some(match name {
        "add" => BinaryFn::Add,
        "sub" => BinaryFn::Sub,
        "mul" => BinaryFn::Mul,
        "div" => BinaryFn::Div,
        "maximum" => BinaryFn::Max,
        "minimum" => BinaryFn::Min,
        _ => return None,
    })
}

fn u(v: i64) -> usize {
    // Values were range-checked (>= 0) against the spec before this point.
    usize::try_from(v).unwrap_or(0)
}

impl Op {
    pub(crate) fn spec(&self) -> &'static [ParamSpec] {
        spec(self.name()).unwrap_or(&[])
    }

    /// Parameter values in the order of the operator's parameter table.
    pub(crate) fn values(&self) -> Vec<i64> {
        let v: Vec<usize> = match *self {
            Op::Matmul(m) => vec![m.m, m.n, m.k, m.trans_a as usize, m.trans_b as usize],
            Op::BatchMatmul(m) => {
                vec![m.b, m.m, m.n, m.k, m.trans_a as usize, m.trans_b as usize]
            }
            Op::Conv2d(c) => vec![
                c.n, c.h, c.w, c.c, c.k, c.r, c.s, c.stride, c.pad, c.dilation, c.groups,
            ],
            Op::Conv2dTranspose(c) => {
                vec![
                    c.n,
                    c.h,
                    c.w,
                    c.c,
                    c.k,
                    c.r,
                    c.s,
                    c.stride,
                    c.pad,
                    c.output_pad,
                ]
            }
            Op::Conv3d(c) => vec![
                c.n,
                c.d,
                c.h,
                c.w,
                c.c,
                c.k,
                c.t,
                c.r,
                c.s,
                c.stride_d,
                c.stride,
                c.pad_d,
                c.pad,
                c.dilation_d,
                c.dilation,
                c.groups,
            ],
            Op::Pool2d(p) => vec![p.n, p.h, p.w, p.c, p.r, p.s, p.stride, p.pad],
            Op::GlobalAvgPool(g) if g.three_d => vec![g.n, g.d, g.h, g.w, g.c],
            Op::GlobalAvgPool(g) => vec![g.n, g.h, g.w, g.c],
            Op::Softmax(r) | Op::LayerNorm(r) | Op::RmsNorm(r) | Op::Elemwise(r) => {
                vec![r.m, r.n]
            }
            Op::Binary(b) => vec![
                b.b,
                b.m,
                b.n,
                b.bcast_b as usize,
                b.bcast_m as usize,
                b.bcast_n as usize,
            ],
            Op::Rope(r) => vec![r.b, r.m, r.n],
        };
        v.into_iter().map(|x| x as i64).collect()
    }

    /// Builds an operator from its name and range-checked values in table
    /// order.
    pub(crate) fn from_values(name: &str, v: &[i64]) -> Result<Op, TemplateError> {
        let expected = spec(name).ok_or_else(|| TemplateError::UnknownOperator(name.into()))?;
        if v.len() != expected.len() {
            return Err(TemplateError::Invalid {
                op: name.into(),
                reason: format!("expected {} parameters, got {}", expected.len(), v.len()),
            });
        }
        let g = |i: usize| u(v[i]);
        let f = |i: usize| v[i] != 0;
        Ok(match name {
            "matmul" => Op::Matmul(Matmul {
                m: g(0),
                n: g(1),
                k: g(2),
                trans_a: f(3),
                trans_b: f(4),
            }),
            "batch_matmul" => Op::BatchMatmul(BatchMatmul {
                b: g(0),
                m: g(1),
                n: g(2),
                k: g(3),
                trans_a: f(4),
                trans_b: f(5),
            }),
            "conv2d" => Op::Conv2d(Conv2d {
                n: g(0),
                h: g(1),
                w: g(2),
                c: g(3),
                k: g(4),
                r: g(5),
                s: g(6),
                stride: g(7),
                pad: g(8),
                dilation: g(9),
                groups: g(10),
            }),
            "conv2d_transpose" => Op::Conv2dTranspose(Conv2dTranspose {
                n: g(0),
                h: g(1),
                w: g(2),
                c: g(3),
                k: g(4),
                r: g(5),
                s: g(6),
                stride: g(7),
                pad: g(8),
                output_pad: g(9),
            }),
            "conv3d" => Op::Conv3d(Conv3d {
                n: g(0),
                d: g(1),
                h: g(2),
                w: g(3),
                c: g(4),
                k: g(5),
                t: g(6),
                r: g(7),
                s: g(8),
                stride_d: g(9),
                stride: g(10),
                pad_d: g(11),
                pad: g(12),
                dilation_d: g(13),
                dilation: g(14),
                groups: g(15),
            }),
            "max_pool2d" | "avg_pool2d" => Op::Pool2d(Pool2d {
                kind: if name == "max_pool2d" {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                },
                n: g(0),
                h: g(1),
                w: g(2),
                c: g(3),
                r: g(4),
                s: g(5),
                stride: g(6),
                pad: g(7),
            }),
            "global_avg_pool2d" => Op::GlobalAvgPool(GlobalAvgPool {
                three_d: false,
                n: g(0),
                d: 1,
                h: g(1),
                w: g(2),
                c: g(3),
            }),
            "global_avg_pool3d" => Op::GlobalAvgPool(GlobalAvgPool {
                three_d: true,
                n: g(0),
                d: g(1),
                h: g(2),
                w: g(3),
                c: g(4),
            }),
            "softmax" => Op::Softmax(Rows { m: g(0), n: g(1) }),
            "layer_norm" => Op::LayerNorm(Rows { m: g(0), n: g(1) }),
            "rms_norm" => Op::RmsNorm(Rows { m: g(0), n: g(1) }),
            "elemwise" => Op::Elemwise(Rows { m: g(0), n: g(1) }),
            "rope" => Op::Rope(Rope {
                b: g(0),
                m: g(1),
                n: g(2),
            }),
            other => {
                let func =
                    binary_fn(other).ok_or_else(|| TemplateError::UnknownOperator(other.into()))?;
                Op::Binary(Binary {
                    func,
                    b: g(0),
                    m: g(1),
                    n: g(2),
                    bcast_b: f(3),
                    bcast_m: f(4),
                    bcast_n: f(5),
                })
            }
        })
    }
}
