//! Exact scalar operations (see the module docs of [`crate::relax`] for the semantics).

use super::fast;

/// Relative tolerance of the operand snapping in exact `floordiv`/`ceildiv`/`mod`.
pub const SNAP_REL: f64 = 1e-9;

const TWO_53: f64 = 9_007_199_254_740_992.0;

/// `x` snapped to the nearest integer when within `1e-9·max(1,|x|)` of it.
#[inline]
pub fn snap(x: f64) -> f64 {
    let k = fast::round(x);
    if (x - k).abs() <= SNAP_REL * x.abs().max(1.0) {
        k
    } else {
        x
    }
}

/// Exact floored division `⌊a/b⌋` after snapping both operands.
#[inline]
pub fn floordiv_exact(a: f64, b: f64) -> f64 {
    let (a, b) = (snap(a), snap(b));
    if b != 0.0 && a.fract() == 0.0 && b.fract() == 0.0 && a.abs() < TWO_53 && b.abs() < TWO_53 {
        let (ai, bi) = (a as i64, b as i64);
        let q = ai / bi;
        let q = if ai % bi != 0 && ((ai < 0) != (bi < 0)) {
            q - 1
        } else {
            q
        };
        q as f64
    } else {
        fast::floor(a / b)
    }
}

/// Exact ceiling division `⌈a/b⌉` after snapping both operands.
#[inline]
pub fn ceildiv_exact(a: f64, b: f64) -> f64 {
    -floordiv_exact(-a, b)
}

/// Exact floored modulo `a − b·⌊a/b⌋` (sign of `b`) after snapping both operands.
#[inline]
pub fn mod_exact(a: f64, b: f64) -> f64 {
    let (a, b) = (snap(a), snap(b));
    if b == 0.0 {
        return f64::NAN;
    }
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

/// Exact `max`, propagating NaN.
#[inline]
pub fn max_exact(a: f64, b: f64) -> f64 {
    if a >= b {
        a
    } else if b > a {
        b
    } else {
        f64::NAN
    }
}

/// Exact `min`, propagating NaN.
#[inline]
pub fn min_exact(a: f64, b: f64) -> f64 {
    if a <= b {
        a
    } else if b < a {
        b
    } else {
        f64::NAN
    }
}

/// Exact `a < b` as 0/1 (NaN if an operand is NaN).
#[inline]
pub fn lt_exact(a: f64, b: f64) -> f64 {
    nan_if(a.is_nan() || b.is_nan(), if a < b { 1.0 } else { 0.0 })
}

/// Exact `a <= b` as 0/1 (NaN if an operand is NaN).
#[inline]
pub fn le_exact(a: f64, b: f64) -> f64 {
    nan_if(a.is_nan() || b.is_nan(), if a <= b { 1.0 } else { 0.0 })
}

/// Exact `a == b` as 0/1 (NaN if an operand is NaN).
#[inline]
pub fn eq_exact(a: f64, b: f64) -> f64 {
    nan_if(a.is_nan() || b.is_nan(), if a == b { 1.0 } else { 0.0 })
}

/// Exact logical and on truthiness (NaN if an operand is NaN).
#[inline]
pub fn and_exact(a: f64, b: f64) -> f64 {
    nan_if(
        a.is_nan() || b.is_nan(),
        if a != 0.0 && b != 0.0 { 1.0 } else { 0.0 },
    )
}

/// Exact logical or on truthiness (NaN if an operand is NaN).
#[inline]
pub fn or_exact(a: f64, b: f64) -> f64 {
    nan_if(
        a.is_nan() || b.is_nan(),
        if a != 0.0 || b != 0.0 { 1.0 } else { 0.0 },
    )
}

/// Exact logical not on truthiness (NaN if the operand is NaN).
#[inline]
pub fn not_exact(a: f64) -> f64 {
    nan_if(a.is_nan(), if a == 0.0 { 1.0 } else { 0.0 })
}

/// Exact `select`: `a` if `c ≠ 0`, else `b` (NaN if `c` is NaN).
#[inline]
pub fn select_exact(c: f64, a: f64, b: f64) -> f64 {
    if c.is_nan() {
        f64::NAN
    } else if c != 0.0 {
        a
    } else {
        b
    }
}

#[inline]
fn nan_if(cond: bool, v: f64) -> f64 {
    if cond {
        f64::NAN
    } else {
        v
    }
}
