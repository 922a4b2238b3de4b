//! Lowering of convolutions (2-D, 3-D, grouped, transposed).
//!
//! A transposed conv is lowered in *sub-pixel* form where its output splits into `stride²`
//! phases of dense convs (see [`sub_pixel`]): every tap it computes is a real one. Otherwise
//! it gathers over all `R·S` taps of every output point and skips the stride holes (a
//! `stride²` times larger nest).
//!
//! Grouped convolutions use logical views: input channels `C` become
//! `[G, C/G]`, output channels `K` become `[G, K/G]` (size-1 parts dropped;
//! with `G == 1` the channels stay one dim), so every index stays affine.

use crate::compute::{Axis, AxisId, Combiner, IndexExpr, ValueExpr};
use crate::lower::{ax, axes, load, Builder};
use crate::op::{BinaryFn, Op};
use crate::shapes::{transpose_out, window_out};

/// One sliding-window spatial dimension.
struct Win {
    out_name: &'static str,
    red_name: &'static str,
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dil: usize,
}

/// The window dimension whose output and reduction axes are named `names`.
fn win(
    names: [&'static str; 2],
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dil: usize,
) -> Win {
    let [out_name, red_name] = names;
    Win {
        out_name,
        red_name,
        input,
        kernel,
        stride,
        pad,
        dil,
    }
}

pub(crate) fn lower_conv(op: &Op, b: &mut Builder) {
    match *op {
        Op::Conv2d(c) => {
            let (st, pad, dil) = (c.stride, c.pad, c.dilation);
            let dims = [
                win(["p", "r"], c.h, c.r, st, pad, dil),
                win(["q", "s"], c.w, c.s, st, pad, dil),
            ];
            conv_nd(b, c.n, c.c, c.k, c.groups, &dims);
        }
        Op::Conv3d(c) => {
            let (st, pad, dil) = (c.stride, c.pad, c.dilation);
            let dims = [
                win(["z", "t"], c.d, c.t, c.stride_d, c.pad_d, c.dilation_d),
                win(["p", "r"], c.h, c.r, st, pad, dil),
                win(["q", "s"], c.w, c.s, st, pad, dil),
            ];
            conv_nd(b, c.n, c.c, c.k, c.groups, &dims);
        }
        Op::Conv2dTranspose(c) => match sub_pixel(&c) {
            Some(form) => transpose_sub_pixel(b, &c, form),
            None => transpose_gather(b, &c),
        },
        _ => {}
    }
}

/// Direct grouped convolution over `dims.len()` spatial dims.
fn conv_nd(b: &mut Builder, n: usize, c: usize, k: usize, groups: usize, dims: &[Win]) {
    let g = groups.max(1);
    let (cg, kg) = (c / g, k / g);
    let outs: Vec<usize> = dims
        .iter()
        .map(|d| window_out(d.input, d.kernel, d.stride, d.pad, d.dil).unwrap_or(1))
        .collect();

    // Spatial axes: n, out dims, then channel axes.
    let mut spatial: Vec<Axis> = axes(&[("n", n)]);
    spatial.extend(dims.iter().zip(&outs).map(|(d, &o)| Axis {
        name: d.out_name.into(),
        extent: o,
    }));
    let (g_ax, k_ax): (Option<AxisId>, Option<AxisId>);
    if g == 1 {
        g_ax = None;
        k_ax = Some(spatial.len());
        spatial.push(Axis {
            name: "k".into(),
            extent: k,
        });
    } else {
        g_ax = Some(spatial.len());
        spatial.push(Axis {
            name: "g".into(),
            extent: g,
        });
        k_ax = (kg > 1).then(|| {
            spatial.push(Axis {
                name: "kk".into(),
                extent: kg,
            });
            spatial.len() - 1
        });
    }
    // Reduction axes: rc (if the per-group channel count is not 1), kernel dims.
    let mut reduce: Vec<Axis> = Vec::new();
    let base = spatial.len();
    let rc_ax = (g == 1 || cg > 1).then(|| {
        reduce.push(Axis {
            name: "rc".into(),
            extent: cg,
        });
        base
    });
    let kern_base = base + reduce.len();
    reduce.extend(dims.iter().map(|d| Axis {
        name: d.red_name.into(),
        extent: d.kernel,
    }));

    // Input: [n, spatial..., (G), (Cg)].
    let mut in_shape = vec![n];
    in_shape.extend(dims.iter().map(|d| d.input));
    let mut in_idx = vec![ax(0)];
    let mut guarded = false;
    for (i, (d, &o)) in dims.iter().zip(&outs).enumerate() {
        let (st, dil, pad) = (d.stride as i64, d.dil as i64, d.pad as i64);
        let max = (o as i64 - 1) * st + (d.kernel as i64 - 1) * dil - pad;
        guarded |= pad > 0 || max >= d.input as i64;
        in_idx.push(IndexExpr::affine(
            &[(1 + i, st), (kern_base + i, dil)],
            -pad,
        ));
    }
    if let Some(ga) = g_ax {
        in_shape.push(g);
        in_idx.push(ax(ga));
    }
    if let Some(rc) = rc_ax {
        in_shape.push(cg);
        in_idx.push(ax(rc));
    }
    // Weight: [kernel..., (Cg), (G), (Kg)].
    let mut w_shape: Vec<usize> = dims.iter().map(|d| d.kernel).collect();
    let mut w_idx: Vec<IndexExpr> = (0..dims.len()).map(|i| ax(kern_base + i)).collect();
    if let Some(rc) = rc_ax {
        w_shape.push(cg);
        w_idx.push(ax(rc));
    }
    if let Some(ga) = g_ax {
        w_shape.push(g);
        w_idx.push(ax(ga));
    }
    if let Some(ka) = k_ax {
        w_shape.push(if g == 1 { k } else { kg });
        w_idx.push(ax(ka));
    }
    let data = b.input("data", in_shape);
    let weight = b.weight("weight", w_shape);
    let x = ValueExpr::Load {
        tensor: data,
        index: in_idx,
        pad: guarded.then_some(0.0),
    };
    let body = x.binary(BinaryFn::Mul, ValueExpr::load(weight, w_idx));
    let name = if dims.len() == 3 { "conv3d" } else { "conv2d" };
    b.simple(name, true, spatial, reduce, Combiner::Sum, body);
}

/// The sub-pixel form of a transposed conv, where it applies: `(P/stride, Q/stride, taps)`.
///
/// With `p = stride·u + ρ` (`ρ < stride`), the taps `r` that reach output row `p` are those
/// with `r ≡ p + pad (mod stride)`. The lowering iterates `r = stride·t + ρ'` with
/// `ρ' = (ρ + pad) mod stride`, which is affine in `ρ` when `pad` is a multiple of the stride
/// (`ρ' = ρ`) or the stride is 2 (`ρ' = 1 − ρ` for an odd pad); the input row is then
/// `h = (p + pad − r) / stride = u − t + (ρ + pad − ρ') / stride`, affine too. The output
/// `[N, P, Q, K]` is viewed as `[N, P/stride, stride, Q/stride, stride, K]`, so `P` and `Q`
/// must be multiples of the stride. `t < ⌈R / stride⌉`; a tap beyond the kernel reads the
/// weight's pad value 0.
fn sub_pixel(c: &crate::op::Conv2dTranspose) -> Option<(usize, usize, usize, usize)> {
    let st = c.stride;
    let p = transpose_out(c.h, c.r, st, c.pad, c.output_pad)?;
    let q = transpose_out(c.w, c.s, st, c.pad, c.output_pad)?;
    let affine = st == 2 || c.pad.is_multiple_of(st);
    (st > 1 && affine && p.is_multiple_of(st) && q.is_multiple_of(st))
        .then(|| (p / st, q / st, c.r.div_ceil(st), c.s.div_ceil(st)))
}

/// Lowers a transposed conv in sub-pixel form ([`sub_pixel`]): spatial axes
/// `n u ρ v σ k`, reduction axes `rc t τ`.
fn transpose_sub_pixel(
    b: &mut Builder,
    c: &crate::op::Conv2dTranspose,
    (pu, qv, tr, ts): (usize, usize, usize, usize),
) {
    let st = c.stride as i64;
    let data = b.input("data", vec![c.n, c.h, c.w, c.c]);
    let weight = b.weight("weight", vec![c.r, c.s, c.c, c.k]);
    let (n, u, rho, v, sigma, k, rc, t, tau) = (0, 1, 2, 3, 4, 5, 6, 7, 8);
    // ρ' = coef·ρ + off, the tap's phase; the input row's offset is (ρ + pad − ρ') / stride.
    let pad = c.pad as i64;
    let (coef, off) = if pad % st == 0 { (1, 0) } else { (-1, 1) };
    let tap = |t: usize, phase: usize| IndexExpr::affine(&[(t, st), (phase, coef)], off);
    let row = |u: usize, t: usize, phase: usize| {
        // (ρ + pad − coef·ρ − off) / st: ρ-coefficient (1 − coef) / st (0 or 1 for st = 2).
        IndexExpr::affine(
            &[(u, 1), (t, -1), (phase, (1 - coef) / st)],
            (pad - off) / st,
        )
    };
    let x = ValueExpr::Load {
        tensor: data,
        index: vec![ax(n), row(u, t, rho), row(v, tau, sigma), ax(rc)],
        pad: Some(0.0),
    };
    let guarded = !c.r.is_multiple_of(c.stride) || !c.s.is_multiple_of(c.stride);
    let w = ValueExpr::Load {
        tensor: weight,
        index: vec![tap(t, rho), tap(tau, sigma), ax(rc), ax(k)],
        pad: guarded.then_some(0.0),
    };
    let body = x.binary(BinaryFn::Mul, w);
    let sp = axes(&[
        ("n", c.n),
        ("u", pu),
        ("rho", c.stride),
        ("v", qv),
        ("sigma", c.stride),
        ("k", c.k),
    ]);
    let red = axes(&[("rc", c.c), ("t", tr), ("tau", ts)]);
    b.simple("conv2d_transpose", true, sp, red, Combiner::Sum, body);
}

/// Lowers a transposed conv as a gather over every tap of every output point, the stride
/// holes skipped by the input index's divisor: spatial axes `n p q k`, reduction `rc r s`.
fn transpose_gather(b: &mut Builder, c: &crate::op::Conv2dTranspose) {
    let p = transpose_out(c.h, c.r, c.stride, c.pad, c.output_pad).unwrap_or(1);
    let q = transpose_out(c.w, c.s, c.stride, c.pad, c.output_pad).unwrap_or(1);
    let data = b.input("data", vec![c.n, c.h, c.w, c.c]);
    let weight = b.weight("weight", vec![c.r, c.s, c.c, c.k]);
    // Axes: n p q k | rc r s. Input row h = (p + pad − r) / stride.
    let (n, pp, qq, k, rc, r, s) = (0, 1, 2, 3, 4, 5, 6);
    let (st, pad) = (c.stride as i64, c.pad as i64);
    let mut hi = IndexExpr::affine(&[(pp, 1), (r, -1)], pad);
    hi.div = st;
    let mut wi = IndexExpr::affine(&[(qq, 1), (s, -1)], pad);
    wi.div = st;
    let x = ValueExpr::Load {
        tensor: data,
        index: vec![ax(n), hi, wi, ax(rc)],
        pad: Some(0.0),
    };
    let body = x.binary(BinaryFn::Mul, load(weight, &[r, s, rc, k]));
    let sp = axes(&[("n", c.n), ("p", p), ("q", q), ("k", c.k)]);
    let red = axes(&[("rc", c.c), ("r", c.r), ("s", c.s)]);
    b.simple("conv2d_transpose", true, sp, red, Combiner::Sum, body);
}
