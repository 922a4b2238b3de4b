//! Scalar exact and relaxed operations, with their derivatives.
//!
//! Shared by scalar evaluation ([`crate::eval`]) and the batched [`crate::tape::Tape`], so
//! both compute bit-identical values. Booleans are `0.0` / `1.0`.
//!
//! # Exact semantics
//!
//! * `floordiv(a, b) = ⌊a/b⌋`, `ceildiv(a, b) = ⌈a/b⌉`, `mod(a, b) = a − b·⌊a/b⌋` (floored,
//!   sign of `b`). Each operand is first *snapped* to the nearest integer `k` when
//!   `|x − k| ≤ 1e-9·max(1, |x|)` ([`snap`]); integer operands below 2^53 are then divided
//!   in integer arithmetic, so the result is exact. Division by zero gives a non-finite
//!   value here (scalar evaluation turns it into an error).
//! * `min`, `max`, comparisons, `and`, `or`, `not`, `select` are the usual ones on 0/1
//!   (`and`/`or`/`not`/`select` test truthiness `x ≠ 0`); every one propagates NaN operands
//!   (so NaN is never silently masked), except the branch `select` does not take.
//! * Their a.e. derivatives: 0 for `floordiv`, `ceildiv`, comparisons and logic; for
//!   `mod`: `∂/∂a = 1`, `∂/∂b = −⌊a/b⌋`; `min`/`max` route the gradient to the chosen
//!   operand (`a` on ties); `select` routes it to the taken branch.
//!
//! # Relaxed semantics (temperature τ > 0)
//!
//! With `r(τ) = 1 − e^(−1/τ)` ([`Relax::r`]):
//!
//! * `floor_τ(x) = x − r·(x − ⌊x̃⌋)`, `ceil_τ(x) = x + r·(⌈x̃⌉ − x)`; derivative `1 − r`
//!   (a.e.). `x̃` is `x` snapped to the nearest integer `k` when
//!   `|x − k| ≤ max(1e-9·max(1,|x|), min(⅛, 16τ·max(1,|x|)))` ([`Relax::snap`]): a
//!   numerical refinement of the contract so that values an `O(τ)` relative error away from
//!   an integer (which smooth `min`/`max` produce at ties) still floor to that integer; the
//!   window shrinks to the exact snapping as τ → 0.
//! * `floordiv_τ(a,b) = floor_τ(a/b)`: `∂a = (1−r)/b`, `∂b = −(1−r)·a/b²`.
//!   `ceildiv_τ(a,b) = ceil_τ(a/b)`: same derivatives.
//!   `mod_τ(a,b) = a − b·floor_τ(a/b)`: `∂a = r`, `∂b = −floor_τ(a/b) + (1−r)·a/b`.
//! * `max_τ(a,b)`, both positive: the p-norm `(a^p + b^p)^(1/p)`, `p = 1/τ`, computed as
//!   `max(a,b)·exp(τ·ln(1 + e^(−|z|)))` with `z = (ln a − ln b)/τ`;
//!   `∂a = σ(z)·v/a`, `∂b = σ(−z)·v/b` (σ the logistic function, `v` the value).
//!   Otherwise the absolute smooth maximum with scale `s = max(1, |a|, |b|)`, `t = τ·s`:
//!   `v = max(a,b) + t·ln(1 + e^(−|a−b|/t))`; `∂a = σ((a−b)/t) + ∂v/∂t·∂t/∂a` with
//!   `∂v/∂t = ln(1 + e^(−|a−b|/t)) + σ(−|a−b|/t)·|a−b|/t` and `∂t/∂a = τ·sign(a)` when
//!   `|a|` is the scale (`|a| > 1`, `|a| ≥ |b|`), else 0 (symmetrically for `b`).
//! * `min_τ(a,b)`, both positive: `(a^−p + b^−p)^(−1/p) = min(a,b)·exp(−τ·ln(1 + e^(−|z|)))`,
//!   `∂a = σ(−z)·v/a`, `∂b = σ(z)·v/b`; otherwise `−max_τ(−a, −b)` (absolute form).
//! * Comparisons, with `h = ½` when both operands are integral ([`crate::integral`]) and
//!   `h = 0` otherwise: `(a < b) = σ((asinh b − asinh(a+h))/τ)`,
//!   `(a ≤ b) = σ((asinh(b+h) − asinh a)/τ)`, `(a == b) = (a ≤ b)·(b ≤ a)`.
//!   With `v = σ(u)`: `∂v = v(1−v)·∂u`, `∂ asinh(x)/∂x = 1/√(1+x²)`.
//! * `and(a,b) = a·b`, `or(a,b) = a + b − a·b`, `not(a) = 1 − a`,
//!   `select(c,a,b) = c·a + (1−c)·b` (exactly `a` when `c = 1` and `b` when `c = 0`, so
//!   that a non-finite untaken branch does not leak): `∂c = a − b` (0 when `c ∈ {0,1}`),
//!   `∂a = c`, `∂b = 1 − c`.
//! * `+ − * / pow exp log neg` are the same in both modes: `∂(a^b)/∂a = b·a^(b−1)`,
//!   `∂(a^b)/∂b = a^b·ln a` (0 when `a^b = 0`).
//!
//! As τ → 0 every relaxed operation tends to its exact value at integer points (ties of
//! integral comparisons included), provided logic operands are booleans.
//! Comparisons work in log units: a tie between integral values near `X` resolves once
//! `τ ≪ 1/(2X)` (e.g. `1000 < 1000` is ≈ 0.38 at τ = 1e-3 and 0 at τ = 1e-6).
//!
//! Numerical refinements (shared by scalar evaluation and the Tape): σ is exactly 0 or 1
//! when `|u| > 40` ([`SIGMOID_FLAT`]); `(1 + e)^τ` in the p-norms uses a binomial series for
//! small `e` ([`one_plus_pow`]); `asinh(b) − asinh(a)` uses one logarithm ([`asinh_diff`]);
//! `ln(1 + e)` replaces `ln_1p` (its absolute error is what matters there).

pub mod exact;
pub mod fast;

pub use exact::*;

/// `|u|` beyond which [`sigmoid`] returns exactly 0 or 1 (the error is below `e^−40 ≈ 4e-18`)
/// without computing an exponential.
pub const SIGMOID_FLAT: f64 = 40.0;

#[inline]
fn exp_neg_abs(u: f64) -> f64 {
    if u.abs() > SIGMOID_FLAT {
        0.0
    } else {
        (-u.abs()).exp()
    }
}

/// The logistic function `1 / (1 + e^(−u))`, computed without overflow; exactly 0 or 1
/// when `|u| > 40` ([`SIGMOID_FLAT`]).
#[inline]
pub fn sigmoid(u: f64) -> f64 {
    let e = exp_neg_abs(u);
    let d = 1.0 / (1.0 + e);
    if u >= 0.0 {
        d
    } else {
        e * d
    }
}

/// `(σ(u), σ(−u))` sharing one exponential.
#[inline]
pub fn sigmoid_pair(u: f64) -> (f64, f64) {
    let e = exp_neg_abs(u);
    let big = 1.0 / (1.0 + e);
    let small = e * big;
    if u >= 0.0 {
        (big, small)
    } else {
        (small, big)
    }
}

/// `asinh(b) − asinh(a)` with a single logarithm: `asinh(x) = sign(x)·ln(|x| + √(1+x²))`,
/// so the difference is the log of a ratio (same signs) or of a product (opposite signs).
/// Falls back to two `asinh` calls beyond `|x| > 1e150`.
#[inline]
pub fn asinh_diff(b: f64, a: f64) -> f64 {
    let (ab, aa) = (b.abs(), a.abs());
    if ab > 1e150 || aa > 1e150 {
        return b.asinh() - a.asinh();
    }
    let pb = ab + (1.0 + ab * ab).sqrt();
    let pa = aa + (1.0 + aa * aa).sqrt();
    match (b >= 0.0, a >= 0.0) {
        (true, true) => (pb / pa).ln(),
        (false, false) => (pa / pb).ln(),
        (true, false) => (pb * pa).ln(),
        (false, true) => -(pb * pa).ln(),
    }
}

/// `(1 + e)^t` for `0 ≤ e ≤ 1`: when `e < 1/64` and `|t| ≤ 1`, the binomial series to
/// `e^6` (truncation below `e^7/7 < 4e-14`, relative), else `exp(t·ln(1 + e))`.
#[inline]
pub fn one_plus_pow(e: f64, t: f64) -> f64 {
    if e < 1.0 / 64.0 && t.abs() <= 1.0 {
        let mut p = 1.0 + (t - 5.0) * e / 6.0;
        p = 1.0 + (t - 4.0) * e / 5.0 * p;
        p = 1.0 + (t - 3.0) * e / 4.0 * p;
        p = 1.0 + (t - 2.0) * e / 3.0 * p;
        p = 1.0 + (t - 1.0) * e / 2.0 * p;
        1.0 + t * e * p
    } else {
        (t * (1.0 + e).ln()).exp()
    }
}

/// `a^b` and its partial derivatives `(∂a, ∂b)` given the value `v = a^b`.
#[inline]
pub fn pow_partials(a: f64, b: f64, v: f64) -> (f64, f64) {
    let da = if b == 0.0 {
        0.0
    } else if a != 0.0 && v.is_finite() {
        b * v / a
    } else {
        b * a.powf(b - 1.0)
    };
    let db = if v == 0.0 { 0.0 } else { v * a.ln() };
    (da, db)
}

/// Precomputed constants of the relaxation at one temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relax {
    /// The temperature τ.
    pub tau: f64,
    /// `r(τ) = 1 − e^(−1/τ)`: how much of the fractional part `floor_τ` removes.
    pub r: f64,
    /// `1 − r = e^(−1/τ)`: the a.e. derivative of `floor_τ` and `ceil_τ`.
    pub slope: f64,
    /// Relative width of the snapping window of `floor_τ` (`16τ`).
    pub snap_rel: f64,
}

impl Relax {
    /// The constants for temperature `tau` (callers check `tau > 0` and finite).
    pub fn new(tau: f64) -> Self {
        let slope = (-1.0 / tau).exp();
        Relax {
            tau,
            r: 1.0 - slope,
            slope,
            snap_rel: 16.0 * tau,
        }
    }

    /// `x` snapped to the nearest integer `k` within the window
    /// `max(1e-9·max(1,|x|), min(⅛, 16τ·max(1,|x|)))`.
    #[inline]
    pub fn snap(&self, x: f64) -> f64 {
        let k = fast::round(x);
        let scale = x.abs().max(1.0);
        let w = (SNAP_REL * scale).max((self.snap_rel * scale).min(0.125));
        if (x - k).abs() <= w {
            k
        } else {
            x
        }
    }

    /// `floor_τ(x) = x − r·(x − ⌊x̃⌋)`.
    #[inline]
    pub fn floor(&self, x: f64) -> f64 {
        x - self.r * (x - fast::floor(self.snap(x)))
    }

    /// `ceil_τ(x) = x + r·(⌈x̃⌉ − x)`.
    #[inline]
    pub fn ceil(&self, x: f64) -> f64 {
        x + self.r * (fast::ceil(self.snap(x)) - x)
    }

    /// `floordiv_τ(a, b) = floor_τ(a/b)`.
    #[inline]
    pub fn floordiv(&self, a: f64, b: f64) -> f64 {
        self.floor(a / b)
    }

    /// `ceildiv_τ(a, b) = ceil_τ(a/b)`.
    #[inline]
    pub fn ceildiv(&self, a: f64, b: f64) -> f64 {
        self.ceil(a / b)
    }

    /// Partials `(∂a, ∂b)` of `floordiv_τ` and `ceildiv_τ`.
    #[inline]
    pub fn div_partials(&self, a: f64, b: f64) -> (f64, f64) {
        let da = self.slope / b;
        (da, -da * a / b)
    }

    /// `mod_τ(a, b) = a − b·floor_τ(a/b)`.
    #[inline]
    pub fn modulo(&self, a: f64, b: f64) -> f64 {
        a - b * self.floor(a / b)
    }

    /// Partials `(∂a, ∂b)` of `mod_τ`.
    #[inline]
    pub fn mod_partials(&self, a: f64, b: f64) -> (f64, f64) {
        let q = a / b;
        (self.r, -self.floor(q) + self.slope * q)
    }

    /// `max_τ(a, b)` and its partials `(v, ∂a, ∂b)`.
    #[inline]
    pub fn max(&self, a: f64, b: f64) -> (f64, f64, f64) {
        let tau = self.tau;
        if a > 0.0 && b > 0.0 {
            let z = (a / b).ln() / tau;
            let e = exp_neg_abs(z);
            let m = if a >= b { a } else { b };
            let v = m * one_plus_pow(e, tau);
            let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
            let (wa, wb) = if z >= 0.0 { (big, small) } else { (small, big) };
            (v, wa * v / a, wb * v / b)
        } else {
            let (aa, ab) = (a.abs(), b.abs());
            let s = aa.max(ab).max(1.0);
            let t = tau * s;
            let d = a - b;
            let y = d.abs() / t;
            let e = (-y).exp();
            let sp = (1.0 + e).ln();
            let v = max_exact(a, b) + t * sp;
            let dv_dt = sp + (e / (1.0 + e)) * y;
            let (ta, tb) = if s > 1.0 && aa >= ab {
                (tau * a.signum(), 0.0)
            } else if s > 1.0 {
                (0.0, tau * b.signum())
            } else {
                (0.0, 0.0)
            };
            let wa = sigmoid(d / t);
            (v, wa + dv_dt * ta, (1.0 - wa) + dv_dt * tb)
        }
    }

    /// `min_τ(a, b)` and its partials `(v, ∂a, ∂b)`.
    #[inline]
    pub fn min(&self, a: f64, b: f64) -> (f64, f64, f64) {
        if a > 0.0 && b > 0.0 {
            let tau = self.tau;
            let z = (a / b).ln() / tau;
            let e = exp_neg_abs(z);
            let m = if a <= b { a } else { b };
            let v = m * one_plus_pow(e, -tau);
            let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
            let (wa, wb) = if z <= 0.0 { (big, small) } else { (small, big) };
            (v, wa * v / a, wb * v / b)
        } else {
            let (v, da, db) = self.max(-a, -b);
            (-v, da, db)
        }
    }

    /// `(a < b)_τ = σ((asinh b − asinh(a+h))/τ)`.
    #[inline]
    pub fn lt(&self, a: f64, b: f64, h: f64) -> f64 {
        sigmoid(asinh_diff(b, a + h) / self.tau)
    }

    /// Partials `(∂a, ∂b)` of `(a < b)_τ` given its value `v`.
    #[inline]
    pub fn lt_partials(&self, a: f64, b: f64, h: f64, v: f64) -> (f64, f64) {
        let g = v * (1.0 - v) / self.tau;
        let ah = a + h;
        (-g / (1.0 + ah * ah).sqrt(), g / (1.0 + b * b).sqrt())
    }

    /// `(a ≤ b)_τ = σ((asinh(b+h) − asinh a)/τ)`.
    #[inline]
    pub fn le(&self, a: f64, b: f64, h: f64) -> f64 {
        sigmoid(asinh_diff(b + h, a) / self.tau)
    }

    /// Partials `(∂a, ∂b)` of `(a ≤ b)_τ` given its value `v`.
    #[inline]
    pub fn le_partials(&self, a: f64, b: f64, h: f64, v: f64) -> (f64, f64) {
        let g = v * (1.0 - v) / self.tau;
        let bh = b + h;
        (-g / (1.0 + a * a).sqrt(), g / (1.0 + bh * bh).sqrt())
    }

    /// `(a == b)_τ = (a ≤ b)_τ·(b ≤ a)_τ` and its partials `(v, ∂a, ∂b)`.
    #[inline]
    pub fn eq(&self, a: f64, b: f64, h: f64) -> (f64, f64, f64) {
        let (p, q) = if h == 0.0 {
            sigmoid_pair(asinh_diff(b, a) / self.tau)
        } else {
            (self.le(a, b, h), self.le(b, a, h))
        };
        let (pa, pb) = self.le_partials(a, b, h, p);
        let (qb, qa) = self.le_partials(b, a, h, q);
        (p * q, pa * q + p * qa, pb * q + p * qb)
    }
}

/// Relaxed `and(a, b) = a·b`.
#[inline]
pub fn and_relaxed(a: f64, b: f64) -> f64 {
    a * b
}

/// Relaxed `or(a, b) = a + b − a·b`.
#[inline]
pub fn or_relaxed(a: f64, b: f64) -> f64 {
    a + b - a * b
}

/// Relaxed `select(c, a, b) = c·a + (1 − c)·b` (exactly `a` at `c = 1`, `b` at `c = 0`).
#[inline]
pub fn select_relaxed(c: f64, a: f64, b: f64) -> f64 {
    if c == 1.0 {
        a
    } else if c == 0.0 {
        b
    } else {
        c * a + (1.0 - c) * b
    }
}
