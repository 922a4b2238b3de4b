//! Forward kernels: one tight loop over a chunk's rows per instruction.

use super::{Instr, Op};
use crate::relax::{self, Relax};

#[inline(always)]
fn map1(o: &mut [f64], a: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &a) in o.iter_mut().zip(a) {
        *o = f(a);
    }
}

#[inline(always)]
fn map2(o: &mut [f64], a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) {
    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
        *o = f(a, b);
    }
}

#[inline(always)]
fn map2_aux(
    o: &mut [f64],
    p: &mut [f64],
    q: &mut [f64],
    a: &[f64],
    b: &[f64],
    f: impl Fn(f64, f64) -> (f64, f64, f64),
) {
    for ((((o, p), q), &a), &b) in o
        .iter_mut()
        .zip(p.iter_mut())
        .zip(q.iter_mut())
        .zip(a)
        .zip(b)
    {
        let (v, da, db) = f(a, b);
        *o = v;
        *p = da;
        *q = db;
    }
}

/// Runs `ins` on the first `m` rows of a slot-major buffer with row stride `c`.
/// `rx` is `None` in exact mode. For `select`, `ins.a` is the condition, `ins.b` the
/// taken-if-true branch and `ins.c` the other.
pub(super) fn forward_instr(ins: &Instr, val: &mut [f64], c: usize, m: usize, rx: Option<&Relax>) {
    let out = ins.out as usize * c;
    let (lo, hi) = val.split_at_mut(out);
    let sl = |s: u32| &lo[s as usize * c..s as usize * c + m];
    let (a, b) = (sl(ins.a), sl(ins.b));
    let (o, rest) = hi.split_at_mut(c);
    let o = &mut o[..m];
    let h = ins.h;
    match (ins.op, rx) {
        (Op::Neg, _) => map1(o, a, |x| -x),
        (Op::Exp, _) => map1(o, a, f64::exp),
        (Op::Log, _) => map1(o, a, f64::ln),
        (Op::Not, None) => map1(o, a, relax::not_exact),
        (Op::Not, Some(_)) => map1(o, a, |x| 1.0 - x),
        (Op::Add, _) => map2(o, a, b, |x, y| x + y),
        (Op::Sub, _) => map2(o, a, b, |x, y| x - y),
        (Op::Mul, _) => map2(o, a, b, |x, y| x * y),
        (Op::Div, _) => map2(o, a, b, |x, y| x / y),
        (Op::Pow, _) => map2(o, a, b, f64::powf),
        (Op::FloorDiv, None) => map2(o, a, b, relax::floordiv_exact),
        (Op::FloorDiv, Some(r)) => map2(o, a, b, |x, y| r.floordiv(x, y)),
        (Op::CeilDiv, None) => map2(o, a, b, relax::ceildiv_exact),
        (Op::CeilDiv, Some(r)) => map2(o, a, b, |x, y| r.ceildiv(x, y)),
        (Op::Mod, None) => map2(o, a, b, relax::mod_exact),
        (Op::Mod, Some(r)) => map2(o, a, b, |x, y| r.modulo(x, y)),
        (Op::Min, None) => map2(o, a, b, relax::min_exact),
        (Op::Max, None) => map2(o, a, b, relax::max_exact),
        (Op::Lt, None) => map2(o, a, b, relax::lt_exact),
        (Op::Lt, Some(r)) => map2(o, a, b, |x, y| r.lt(x, y, h)),
        (Op::Le, None) => map2(o, a, b, relax::le_exact),
        (Op::Le, Some(r)) => map2(o, a, b, |x, y| r.le(x, y, h)),
        (Op::Eq, None) => map2(o, a, b, relax::eq_exact),
        (Op::And, None) => map2(o, a, b, relax::and_exact),
        (Op::And, Some(_)) => map2(o, a, b, relax::and_relaxed),
        (Op::Or, None) => map2(o, a, b, relax::or_exact),
        (Op::Or, Some(_)) => map2(o, a, b, relax::or_relaxed),
        (Op::Min | Op::Max | Op::Eq, Some(r)) => {
            let (p, q) = rest.split_at_mut(c);
            let (p, q) = (&mut p[..m], &mut q[..m]);
            match ins.op {
                Op::Min => map2_aux(o, p, q, a, b, |x, y| r.min(x, y)),
                Op::Max => map2_aux(o, p, q, a, b, |x, y| r.max(x, y)),
                _ => map2_aux(o, p, q, a, b, |x, y| r.eq(x, y, h)),
            }
        }
        (Op::Select, rx) => {
            let e = sl(ins.c);
            let f = if rx.is_some() {
                relax::select_relaxed
            } else {
                relax::select_exact
            };
            for (((o, &cnd), &t), &e) in o.iter_mut().zip(a).zip(b).zip(e) {
                *o = f(cnd, t, e);
            }
        }
    }
}
