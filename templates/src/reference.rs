//! Hand-written reference implementations, one per operator family, on
//! row-major f32 buffers in the workload's layouts, accumulating in f64.
//! Written independently of the `ComputeDef` (e.g. transposed conv scatters,
//! grouped conv indexes flat channels) so that comparing the two checks the
//! compute definitions.

use crate::epilogue::EpilogueOp;
use crate::error::TemplateError;
use crate::lower::{LAYER_NORM_EPS, RMS_NORM_EPS};
use crate::op::{Conv3d, Op, PoolKind};
use crate::workload::Workload;

/// Computes `workload` on `inputs` (as laid out by
/// [`Workload::input_shapes`]) and returns the output (row-major).
pub fn reference(workload: &Workload, inputs: &[Vec<f32>]) -> Result<Vec<f32>, TemplateError> {
    let shapes = workload.input_shapes();
    if inputs.len() != shapes.len() {
        return Err(TemplateError::InputCount {
            expected: shapes.len(),
            got: inputs.len(),
        });
    }
    for (index, (buf, s)) in inputs.iter().zip(&shapes).enumerate() {
        let expected: usize = s.iter().product();
        if buf.len() != expected {
            return Err(TemplateError::InputSize {
                index,
                expected,
                got: buf.len(),
            });
        }
    }
    let x: Vec<Vec<f64>> = inputs
        .iter()
        .map(|b| b.iter().map(|&v| v as f64).collect())
        .collect();
    let op = workload.op();
    let n_op = op.input_shapes().len();
    let mut out = op_reference(op, &x[..n_op]);
    let oshape = workload.output_shape();
    let last = *oshape.last().unwrap_or(&1);
    let second = if oshape.len() >= 2 {
        oshape[oshape.len() - 2]
    } else {
        1
    };
    let mut extra = x[n_op..].iter();
    for step in workload.epilogue() {
        let t = if step.has_input() { extra.next() } else { None };
        for (e, v) in out.iter_mut().enumerate() {
            *v = match (step, t) {
                (EpilogueOp::Bias, Some(t)) => *v + t[e % last],
                (EpilogueOp::Residual, Some(t)) => *v + t[e],
                (EpilogueOp::Mul, Some(t)) => *v * t[e],
                (EpilogueOp::Causal, _) => {
                    let (i, j) = ((e / last) % second, e % last);
                    if j <= i {
                        *v
                    } else {
                        f64::NEG_INFINITY
                    }
                }
                (s, _) => s.apply_scalar(*v).unwrap_or(*v),
            };
        }
    }
    Ok(out.into_iter().map(|v| v as f32).collect())
}

fn op_reference(op: &Op, x: &[Vec<f64>]) -> Vec<f64> {
    match *op {
        Op::Matmul(m) => batch_matmul(&x[0], &x[1], 1, m.m, m.n, m.k, m.trans_a, m.trans_b),
        Op::BatchMatmul(m) => batch_matmul(&x[0], &x[1], m.b, m.m, m.n, m.k, m.trans_a, m.trans_b),
        Op::Conv2d(c) => conv3d(
            &x[0],
            &x[1],
            &Conv3d {
                n: c.n,
                d: 1,
                h: c.h,
                w: c.w,
                c: c.c,
                k: c.k,
                t: 1,
                r: c.r,
                s: c.s,
                stride_d: 1,
                stride: c.stride,
                pad_d: 0,
                pad: c.pad,
                dilation_d: 1,
                dilation: c.dilation,
                groups: c.groups,
            },
        ),
        Op::Conv3d(c) => conv3d(&x[0], &x[1], &c),
        Op::Conv2dTranspose(c) => {
            let o = op.output_shape();
            let (pp, qq) = (o[1], o[2]);
            let mut out = vec![0.0; o.iter().product()];
            for n in 0..c.n {
                for h in 0..c.h {
                    for w in 0..c.w {
                        for r in 0..c.r {
                            let p = (h * c.stride + r) as i64 - c.pad as i64;
                            for s in 0..c.s {
                                let q = (w * c.stride + s) as i64 - c.pad as i64;
                                if p < 0 || q < 0 || p >= pp as i64 || q >= qq as i64 {
                                    continue;
                                }
                                let obase = ((n * pp + p as usize) * qq + q as usize) * c.k;
                                for ch in 0..c.c {
                                    let xv = x[0][((n * c.h + h) * c.w + w) * c.c + ch];
                                    let wbase = ((r * c.s + s) * c.c + ch) * c.k;
                                    for k in 0..c.k {
                                        out[obase + k] += xv * x[1][wbase + k];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            out
        }
        Op::Pool2d(p) => {
            let o = op.output_shape();
            let mut out = Vec::with_capacity(o.iter().product());
            for n in 0..p.n {
                for op_ in 0..o[1] {
                    for oq in 0..o[2] {
                        for ch in 0..p.c {
                            let mut acc = if p.kind == PoolKind::Max {
                                f64::NEG_INFINITY
                            } else {
                                0.0
                            };
                            for r in 0..p.r {
                                for s in 0..p.s {
                                    let h = (op_ * p.stride + r) as i64 - p.pad as i64;
                                    let w = (oq * p.stride + s) as i64 - p.pad as i64;
                                    if h < 0 || w < 0 || h >= p.h as i64 || w >= p.w as i64 {
                                        continue;
                                    }
                                    let v = x[0]
                                        [((n * p.h + h as usize) * p.w + w as usize) * p.c + ch];
                                    acc = if p.kind == PoolKind::Max {
                                        acc.max(v)
                                    } else {
                                        acc + v
                                    };
                                }
                            }
                            out.push(if p.kind == PoolKind::Max {
                                acc
                            } else {
                                acc / (p.r * p.s) as f64
                            });
                        }
                    }
                }
            }
            out
        }
        Op::GlobalAvgPool(g) => {
            let sp = g.d * g.h * g.w;
            let mut out = vec![0.0; g.n * g.c];
            for n in 0..g.n {
                for i in 0..sp {
                    for ch in 0..g.c {
                        out[n * g.c + ch] += x[0][(n * sp + i) * g.c + ch];
                    }
                }
            }
            out.iter_mut().for_each(|v| *v /= sp as f64);
            out
        }
        Op::Softmax(r) => rows(&x[0], r.n, |row, out| {
            let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
            out.extend(row.iter().map(|v| (v - mx).exp() / sum));
        }),
        Op::LayerNorm(r) => rows(&x[0], r.n, |row, out| {
            let mean = row.iter().sum::<f64>() / r.n as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / r.n as f64;
            let inv = 1.0 / (var + LAYER_NORM_EPS).sqrt();
            out.extend(
                row.iter()
                    .enumerate()
                    .map(|(j, v)| (v - mean) * inv * x[1][j] + x[2][j]),
            );
        }),
        Op::RmsNorm(r) => rows(&x[0], r.n, |row, out| {
            let ms = row.iter().map(|v| v * v).sum::<f64>() / r.n as f64;
            let inv = 1.0 / (ms + RMS_NORM_EPS).sqrt();
            out.extend(row.iter().enumerate().map(|(j, v)| v * inv * x[1][j]));
        }),
        Op::Elemwise(_) => x[0].clone(),
        Op::Binary(b) => {
            let rs = op.input_shapes()[1].clone();
            let mut out = Vec::with_capacity(b.b * b.m * b.n);
            for i in 0..b.b {
                for j in 0..b.m {
                    for k in 0..b.n {
                        let lhs = x[0][(i * b.m + j) * b.n + k];
                        let ri = ((i % rs[0]) * rs[1] + j % rs[1]) * rs[2] + k % rs[2];
                        out.push(b.func.apply(lhs, x[1][ri]));
                    }
                }
            }
            out
        }
        Op::Rope(r) => {
            let half = r.n / 2;
            let mut out = Vec::with_capacity(r.b * r.m * r.n);
            for row in x[0].chunks(r.n) {
                let pos = out.len() / r.n % r.m;
                for j in 0..r.n {
                    let rot = if j < half {
                        -row[j + half]
                    } else {
                        row[j - half]
                    };
                    out.push(row[j] * x[1][pos * r.n + j] + rot * x[2][pos * r.n + j]);
                }
            }
            out
        }
    }
}

fn rows(x: &[f64], n: usize, f: impl Fn(&[f64], &mut Vec<f64>)) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(n) {
        f(row, &mut out);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn batch_matmul(
    a: &[f64],
    b: &[f64],
    nb: usize,
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(nb * m * n);
    for bi in 0..nb {
        let (a, b) = (&a[bi * m * k..], &b[bi * k * n..]);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for l in 0..k {
                    let av = if ta { a[l * m + i] } else { a[i * k + l] };
                    let bv = if tb { b[j * k + l] } else { b[l * n + j] };
                    acc += av * bv;
                }
                out.push(acc);
            }
        }
    }
    out
}

/// Direct grouped NDHWC convolution (2-D is the `d = t = 1` case).
fn conv3d(x: &[f64], wt: &[f64], c: &Conv3d) -> Vec<f64> {
    let out_dim =
        |i: usize, k: usize, s: usize, p: usize, d: usize| (i + 2 * p - d * (k - 1) - 1) / s + 1;
    let oz = out_dim(c.d, c.t, c.stride_d, c.pad_d, c.dilation_d);
    let op = out_dim(c.h, c.r, c.stride, c.pad, c.dilation);
    let oq = out_dim(c.w, c.s, c.stride, c.pad, c.dilation);
    let (cg, kg) = (c.c / c.groups, c.k / c.groups);
    let mut out = Vec::with_capacity(c.n * oz * op * oq * c.k);
    let coord = |o: usize, k: usize, s: usize, d: usize, p: usize, lim: usize| {
        let v = (o * s + k * d) as i64 - p as i64;
        (v >= 0 && v < lim as i64).then_some(v as usize)
    };
    for n in 0..c.n {
        for z in 0..oz {
            for p in 0..op {
                for q in 0..oq {
                    for k in 0..c.k {
                        let g = k / kg;
                        let mut acc = 0.0;
                        for t in 0..c.t {
                            let Some(iz) = coord(z, t, c.stride_d, c.dilation_d, c.pad_d, c.d)
                            else {
                                continue;
                            };
                            for r in 0..c.r {
                                let Some(ih) = coord(p, r, c.stride, c.dilation, c.pad, c.h) else {
                                    continue;
                                };
                                for s in 0..c.s {
                                    let Some(iw) = coord(q, s, c.stride, c.dilation, c.pad, c.w)
                                    else {
                                        continue;
                                    };
                                    let xb =
                                        (((n * c.d + iz) * c.h + ih) * c.w + iw) * c.c + g * cg;
                                    let wb = ((t * c.r + r) * c.s + s) * cg;
                                    for ci in 0..cg {
                                        acc += x[xb + ci] * wt[(wb + ci) * c.k + k];
                                    }
                                }
                            }
                        }
                        out.push(acc);
                    }
                }
            }
        }
    }
    out
}
