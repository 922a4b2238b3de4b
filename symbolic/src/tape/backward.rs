//! Backward (reverse-mode) kernels: accumulate `adjoint(out) · ∂out/∂operand` into the
//! operands' adjoints, one tight loop per instruction over a chunk's rows.

use super::{Instr, Op, CHUNK_ROWS};
use crate::relax::{self, Relax};

/// `g·d`, but 0 when `g = 0` (so an infinite partial of an unused operand is harmless).
#[inline(always)]
fn gm(g: f64, d: f64) -> f64 {
    if g == 0.0 {
        0.0
    } else {
        g * d
    }
}

#[inline(always)]
fn part1(
    adj: &mut [f64],
    sa: u32,
    fa: bool,
    c: usize,
    g: &[f64],
    a: &[f64],
    f: impl Fn(f64) -> f64,
) {
    let o = sa as usize * c;
    for ((x, &g), &a) in adj[o..o + g.len()].iter_mut().zip(g).zip(a) {
        let base = if fa { 0.0 } else { *x };
        *x = base + gm(g, f(a));
    }
}

#[inline(always)]
fn accumulate(adj: &mut [f64], slot: u32, first: bool, c: usize, t: &[f64]) {
    let s = slot as usize * c;
    let x = &mut adj[s..s + t.len()];
    if first {
        x.copy_from_slice(t);
    } else {
        for (x, &t) in x.iter_mut().zip(t) {
            *x += t;
        }
    }
}

/// Zeroes the adjoints this instruction would have been first to write (used when it
/// contributes nothing).
#[inline(always)]
fn zero_firsts(ins: &Instr, adj: &mut [f64], c: usize, m: usize) {
    for (i, s) in [ins.a, ins.b, ins.c]
        .into_iter()
        .enumerate()
        .take(ins.op.arity())
    {
        if ins.first & (1 << i) != 0 {
            adj[s as usize * c..s as usize * c + m].fill(0.0);
        }
    }
}

/// Two disjoint `m`-long windows of `adj` at offsets `oa != ob`.
#[inline(always)]
fn two_mut(adj: &mut [f64], oa: usize, ob: usize, m: usize) -> (&mut [f64], &mut [f64]) {
    if oa < ob {
        let (lo, hi) = adj.split_at_mut(ob);
        (&mut lo[oa..oa + m], &mut hi[..m])
    } else {
        let (lo, hi) = adj.split_at_mut(oa);
        (&mut hi[..m], &mut lo[ob..ob + m])
    }
}

/// Accumulates the partials `f(a, b, v) -> (∂a, ∂b)` of a binary op into the adjoints of
/// slots `sa` and `sb` (which may coincide, as in `x·x`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn part2(
    adj: &mut [f64],
    (sa, sb): (u32, u32),
    first: u8,
    c: usize,
    g: &[f64],
    a: &[f64],
    b: &[f64],
    v: &[f64],
    f: impl Fn(f64, f64, f64) -> (f64, f64),
) {
    let (fa, fb) = (first & 1 != 0, first & 2 != 0);
    let m = g.len();
    let (oa, ob) = (sa as usize * c, sb as usize * c);
    if oa != ob {
        let (xa, xb) = two_mut(adj, oa, ob, m);
        for (((((xa, xb), &g), &a), &b), &v) in
            xa.iter_mut().zip(xb.iter_mut()).zip(g).zip(a).zip(b).zip(v)
        {
            let (da, db) = f(a, b, v);
            let (ba, bb) = (if fa { 0.0 } else { *xa }, if fb { 0.0 } else { *xb });
            *xa = ba + gm(g, da);
            *xb = bb + gm(g, db);
        }
    } else {
        for ((((x, &g), &a), &b), &v) in adj[oa..oa + m].iter_mut().zip(g).zip(a).zip(b).zip(v) {
            let (da, db) = f(a, b, v);
            let base = if fa { 0.0 } else { *x };
            *x = base + gm(g, da) + gm(g, db);
        }
    }
}

/// Back-propagates instruction `ins` on the first `m` rows (row stride `c`). `tmp` holds at
/// least `3·c` scratch values. `rx` is `None` in exact mode.
pub(super) fn backward_instr(
    ins: &Instr,
    val: &[f64],
    adj: &mut [f64],
    c: usize,
    m: usize,
    rx: Option<&Relax>,
    tmp: &mut [f64],
) {
    let out = ins.out as usize * c;
    let mut gbuf = [0.0f64; CHUNK_ROWS];
    let g = &mut gbuf[..m];
    g.copy_from_slice(&adj[out..out + m]);
    if g.iter().all(|&x| x == 0.0) {
        zero_firsts(ins, adj, c, m);
        return;
    }
    let g = &*g;
    let sl = |s: u32| &val[s as usize * c..s as usize * c + m];
    let (a, b, v) = (sl(ins.a), sl(ins.b), &val[out..out + m]);
    let (ab, sa, f) = ((ins.a, ins.b), ins.a, ins.first);
    let fa = f & 1 != 0;
    let h = ins.h;
    match (ins.op, rx) {
        (
            Op::FloorDiv | Op::CeilDiv | Op::Lt | Op::Le | Op::Eq | Op::And | Op::Or | Op::Not,
            None,
        ) => zero_firsts(ins, adj, c, m),
        (Op::Neg, _) | (Op::Not, Some(_)) => part1(adj, sa, fa, c, g, a, |_| -1.0),
        (Op::Exp, _) => part1(adj, sa, fa, c, g, v, |v| v),
        (Op::Log, _) => part1(adj, sa, fa, c, g, a, |a| 1.0 / a),
        (Op::Add, _) => part2(adj, ab, f, c, g, a, b, v, |_, _, _| (1.0, 1.0)),
        (Op::Sub, _) => part2(adj, ab, f, c, g, a, b, v, |_, _, _| (1.0, -1.0)),
        (Op::Mul, _) | (Op::And, Some(_)) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| (b, a)),
        (Op::Div, _) => part2(adj, ab, f, c, g, a, b, v, |_, b, v| (1.0 / b, -v / b)),
        (Op::Pow, _) => part2(adj, ab, f, c, g, a, b, v, relax::pow_partials),
        (Op::Mod, None) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| {
            (1.0, -relax::floordiv_exact(a, b))
        }),
        (Op::Min, None) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| {
            if a <= b {
                (1.0, 0.0)
            } else {
                (0.0, 1.0)
            }
        }),
        (Op::Max, None) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| {
            if a >= b {
                (1.0, 0.0)
            } else {
                (0.0, 1.0)
            }
        }),
        (Op::FloorDiv | Op::CeilDiv, Some(r)) => {
            part2(adj, ab, f, c, g, a, b, v, |a, b, _| r.div_partials(a, b))
        }
        (Op::Mod, Some(r)) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| r.mod_partials(a, b)),
        (Op::Min | Op::Max | Op::Eq, Some(_)) => {
            let p = &val[out + c..out + c + m];
            let q = &val[out + 2 * c..out + 2 * c + m];
            part2(adj, ab, f, c, g, p, q, v, |p, q, _| (p, q));
        }
        (Op::Lt, Some(r)) => part2(adj, ab, f, c, g, a, b, v, |a, b, v| {
            r.lt_partials(a, b, h, v)
        }),
        (Op::Le, Some(r)) => part2(adj, ab, f, c, g, a, b, v, |a, b, v| {
            r.le_partials(a, b, h, v)
        }),
        (Op::Or, Some(_)) => part2(adj, ab, f, c, g, a, b, v, |a, b, _| (1.0 - b, 1.0 - a)),
        (Op::Select, rx) => {
            let e = sl(ins.c);
            let relaxed = rx.is_some();
            let (ta, rest) = tmp.split_at_mut(c);
            let (tb, rest) = rest.split_at_mut(c);
            let (ta, tb, tc) = (&mut ta[..m], &mut tb[..m], &mut rest[..m]);
            for (i, (((&g, &cnd), &t), &e)) in g.iter().zip(a).zip(b).zip(e).enumerate() {
                let (dc, dt, de) = if relaxed {
                    let dc = if cnd == 0.0 || cnd == 1.0 {
                        0.0
                    } else {
                        gm(g, t - e)
                    };
                    (dc, gm(g, cnd), gm(g, 1.0 - cnd))
                } else if cnd.is_nan() {
                    (0.0, 0.0, 0.0)
                } else if cnd != 0.0 {
                    (0.0, g, 0.0)
                } else {
                    (0.0, 0.0, g)
                };
                ta[i] = dc;
                tb[i] = dt;
                tc[i] = de;
            }
            // Select has no partial w.r.t. its condition in exact mode: a zero contribution.
            accumulate(adj, ins.a, f & 1 != 0, c, ta);
            accumulate(adj, ins.b, f & 2 != 0, c, tb);
            accumulate(adj, ins.c, f & 4 != 0, c, tc);
        }
    }
}
