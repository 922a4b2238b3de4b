//! Branch-free polynomial `exp`, `sigmoid`, `tanh`, `erf` and `log` for generated C kernels.
//!
//! Kernels are compiled without `-ffast-math`, so libm's `expf`, `tanhf`, `erff` and `logf`
//! are scalar calls that GCC never vectorizes; an epilogue such as `silu` then cost more than
//! the convolution it follows. These definitions use only `+ - * /`, comparisons, selects and
//! integer bit operations, so a vector helper stays in vector registers and a scalar loop over
//! the scalar helper auto-vectorizes.
//!
//! Each function's text is written once (a template in this file) and printed twice: as the
//! scalar `tg_expf`, `tg_sigmoidf`, `tg_tanhf`, `tg_erff`, `tg_logf` and as the vector
//! `tg_vexp`, `tg_vsigmoid`, `tg_vtanh`, `tg_verf`, `tg_vlog` over the prelude's `v{lanes}f`.
//! The polynomial coefficients are the `f32` tables below, printed into both.
//!
//! Algorithms and error bounds (in units in the last place of the correctly rounded `f32`
//! result, the spacing below `FLT_MIN` being that of subnormals; measured against libm's
//! `double` functions by `measure/tests/c_math.rs`, which asserts these bounds):
//! - `exp` (≤ 1.5 ulp): `x = n·ln2 + r` with `n = round(x/ln2)` (the `1.5·2^23` rounding trick,
//!   no float-to-int conversion) and Cody-Waite `ln2 = 0.693359375 - 2.12194440e-4`;
//!   `exp(r) = 1 + r + r²·P(r)`, `P` of degree 5 on `|r| ≤ ln2/2` (Cephes `expf`); the scale
//!   `2^n` is applied as two factors `2^⌊n/2⌋·2^(n-⌊n/2⌋)` built in the exponent bits, so that
//!   results underflow gradually through the subnormals to 0 and overflow to `+inf`. The input
//!   is clamped to `[-104, 88.8]` first (NaN is restored at the end).
//! - `sigmoid` (≤ 3 ulp): `e = exp(-|x|)`, then `1/(1+e)` for `x ≥ 0` and `e/(1+e)` for
//!   `x < 0`, so that the result keeps its relative accuracy down to the subnormals; `±inf`
//!   give exactly 1 and 0.
//! - `tanh` (≤ 2 ulp): for `|x| < 0.625` the odd polynomial `x + x³·Q(x²)` (Cephes `tanhf`),
//!   above it `1 - 2/(exp(2|x|) + 1)`, which saturates to 1; the sign of `x` is restored with a
//!   bit operation (so `tanh(-0) = -0`).
//! - `erf` (≤ 2 ulp): for `|x| ≤ 1`, `x + x·A(x²)` with `A` of degree 6 (a relative-minimax
//!   fit of `erf(x)/x - 1`); above it `1 - C(|x| - 2.5)` with `C` of degree 14 (an
//!   absolute-minimax fit of `erfc(t)` on `t ∈ [1, 4]`, 9e-9 before rounding), `|x|` clamped
//!   to 4, beyond which `erf` rounds to ±1; the sign is restored as for `tanh`. Both fits were
//!   made with their coefficients rounded to `f32` one at a time (each refit with the earlier
//!   ones fixed). It calls no `exp`, which makes it about half as costly as an `exp`-based tail.
//! - `log` (≤ 1.5 ulp): subnormal inputs are scaled by `2^23`; `x = 2^e·m`, `m ∈ [√½, √2)`,
//!   `log(m) = f - f²/2 + f³·L(f)` with `f = m - 1`, `L` of degree 8 (Cephes `logf`), plus
//!   Cody-Waite `e·ln2`; `log(0) = -inf`, `log(x < 0) = NaN`, `log(+inf) = +inf`.
//!
//! Everything is branch-free: the scalar form selects with bit masks too, so that GCC
//! vectorizes a scalar loop over it (checked with `-fopt-info-vec` on GCC 12).
//!
//! NaN inputs give NaN everywhere. The scalar and vector forms run the same operations, but the
//! compiler may contract `a*b + c` into an FMA differently in each, so they can differ in the
//! last bit; both stay within the bounds above. These errors (≤ 3 ulp, 3.6e-7 relative) are
//! some 3000 times below the verifier's default tolerance ([`crate::Tolerance::F32`], `1e-3`
//! relative + `1e-3` absolute).

/// `P` of `exp` (Cephes `expf`), highest degree first.
const EXP_P: [f32; 6] = [
    0.000_198_756_91,
    0.001_398_199_9,
    0.008_333_452,
    0.041_665_796,
    0.166_666_66,
    0.5,
];

/// `Q` of the small-argument `tanh` (Cephes `tanhf`), highest degree first.
const TANH_Q: [f32; 5] = [
    -0.005_704_988_7,
    0.020_639_088,
    -0.053_739_715,
    0.133_314_42,
    -0.333_332_8,
];

/// `A` of `erf` on `|x| ≤ 1` (`erf(x) = x + x·A(x²)`), highest degree first.
const ERF_A: [f32; 7] = [
    7.806_903e-5,
    -0.000_799_785_3,
    0.005_187_162,
    -0.026_853_347,
    0.112_835_79,
    -0.376_126_26,
    0.128_379_17,
];

/// `C` of `erf` on `1 < |x| ≤ 4` (`erf(x) = 1 - C(|x| - 2.5)`), highest degree first.
const ERF_C: [f32; 15] = [
    -8.961796e-7,
    -5.092481e-7,
    1.5768366e-5,
    -1.7682369e-5,
    -8.1257844e-5,
    2.704e-4,
    -2.584787e-4,
    -5.600669e-4,
    2.7973473e-3,
    -6.109301e-3,
    8.622686e-3,
    -8.351716e-3,
    5.4456764e-3,
    -2.1781889e-3,
    4.0695266e-4,
];

/// `L` of `log` (Cephes `logf`), highest degree first.
const LOG_L: [f32; 9] = [
    0.070_376_836,
    -0.115_146_1,
    0.116_769_984,
    -0.124_201_41,
    0.142_493_23,
    -0.166_680_57,
    0.200_007_14,
    -0.249_999_94,
    0.333_333_3,
];

/// The templates. `$F`/`$I`: float/int type; `$sel(m, a, b)`: select; `$asi`/`$asf`: bit
/// casts; `$k(c)`: a constant where a value of type `$F` is needed; `$tof`: int to float;
/// `$abs`; `$fn_NAME`: the flavour's name of helper NAME; `$P_TABLE`: a Horner polynomial.
const TEMPLATE: &str = "static inline $F $fn_exp($F x) {
    $F c = $sel(x < 88.8f, x, $k(88.8f));
    c = $sel(c > -104.0f, c, $k(-104.0f));
    $F t = c * 1.44269504f + 12582912.0f;
    $I n = $asi(t) - 0x4b400000;
    $F nf = t - 12582912.0f;
    $F r = c - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    $F p = $P_EXP * (r * r) + r + 1.0f;
    $I h = n >> 1;
    p = p * $asf((h + 127) << 23) * $asf((n - h + 127) << 23);
    return $sel(x == x, p, x);
}
static inline $F $fn_sigmoid($F x) {
    $F e = $fn_exp(-$abs(x));
    return $sel(x < 0.0f, e, $k(1.0f)) / (1.0f + e);
}
static inline $F $fn_tanh($F x) {
    $F a = $abs(x);
    $F s = a * a;
    $F small = a + a * s * $P_TANH;
    $F large = 1.0f - 2.0f / ($fn_exp(a + a) + 1.0f);
    $F r = $sel(a < 0.625f, small, large);
    return $asf($asi(r) | ($asi(x) & ~0x7fffffff));
}
static inline $F $fn_erf($F x) {
    $F a = $abs(x);
    $F s = a * a;
    $F small = a + a * $P_ERFA;
    $F u = $sel(a > 4.0f, $k(4.0f), a) - 2.5f;
    $F large = 1.0f - $P_ERFC;
    $F r = $sel(a <= 1.0f, small, large);
    return $asf($asi(r) | ($asi(x) & ~0x7fffffff));
}
static inline $F $fn_log($F x) {
    $I sub = x < 1.17549435e-38f;
    $I i = $asi($sel(sub, x * 8388608.0f, x));
    $F m = $asf((i & 0x007fffff) | 0x3f000000);
    $F e = $tof(((i >> 23) & 0xff) - 126) - $sel(sub, $k(23.0f), $k(0.0f));
    $I lo = m < 0.707106781f;
    e = e - $sel(lo, $k(1.0f), $k(0.0f));
    m = $sel(lo, m + m, m) - 1.0f;
    $F z = m * m;
    $F p = $P_LOG * m * z + e * -2.12194440e-4f - 0.5f * z;
    $F r = m + p + e * 0.693359375f;
    r = $sel(x < INFINITY, r, x);
    r = $sel(x == 0.0f, $k(-INFINITY), r);
    return $sel(x < 0.0f, $k(NAN), r);
}
";

/// Scalar support for the templates: bit casts, and a select by bit masks (`m` is 0 or 1):
/// GCC 12 does not if-convert `m ? a : b` on floats under the default `-ftrapping-math`, and a
/// loop over helpers with such control flow does not vectorize.
const SCALAR_SUPPORT: &str = "static inline int tg_asi(float x) {
    int i;
    __builtin_memcpy(&i, &x, sizeof i);
    return i;
}
static inline float tg_asf(int i) {
    float x;
    __builtin_memcpy(&x, &i, sizeof x);
    return x;
}
static inline float tg_sel(int m, float a, float b) {
    return tg_asf((-m & tg_asi(a)) | ((m - 1) & tg_asi(b)));
}
";

/// `((c0 * x + c1) * x + c2)...` for coefficients highest degree first.
fn horner(coefs: &[f32], x: &str) -> String {
    let lit = |c: f32| super::c_value::float_lit(c).0;
    let mut s = format!("{}{}", "(".repeat(coefs.len() - 1), lit(coefs[0]));
    for &c in &coefs[1..] {
        s.push_str(&format!(" * {x} + {})", lit(c)));
    }
    s
}

/// The helpers over scalars (`lanes` < 2) or over `v{lanes}f` (the vector typedefs, `tg_vsel`,
/// `tg_splat` and `tg_vabs` must precede them).
pub(super) fn math_helpers(lanes: usize) -> String {
    let vector = lanes >= 2;
    let (f, i) = if vector {
        (format!("v{lanes}f"), format!("v{lanes}i"))
    } else {
        ("float".into(), "int".into())
    };
    let mut s = if vector {
        format!("static inline {f} tg_vtof({i} x) {{ return __builtin_convertvector(x, {f}); }}\n")
    } else {
        SCALAR_SUPPORT.to_string()
    };
    let mut text = TEMPLATE.to_string();
    for (key, value) in [
        ("$P_EXP", horner(&EXP_P, "r")),
        ("$P_TANH", horner(&TANH_Q, "s")),
        ("$P_ERFA", horner(&ERF_A, "s")),
        ("$P_ERFC", horner(&ERF_C, "u")),
        ("$P_LOG", horner(&LOG_L, "m")),
    ] {
        text = text.replace(key, &value);
    }
    for name in ["exp", "sigmoid", "tanh", "erf", "log"] {
        let full = if vector {
            format!("tg_v{name}")
        } else {
            format!("tg_{name}f")
        };
        text = text.replace(&format!("$fn_{name}"), &full);
    }
    let subs: [(&str, String); 8] = if vector {
        [
            ("$F", f.clone()),
            ("$I", i.clone()),
            ("$sel", "tg_vsel".into()),
            ("$asi", format!("({i})")),
            ("$asf", format!("({f})")),
            ("$k", "tg_splat".into()),
            ("$tof", "tg_vtof".into()),
            ("$abs", "tg_vabs".into()),
        ]
    } else {
        [
            ("$F", f.clone()),
            ("$I", i.clone()),
            ("$sel", "tg_sel".into()),
            ("$asi", "tg_asi".into()),
            ("$asf", "tg_asf".into()),
            ("$k", String::new()),
            ("$tof", "(float)".into()),
            ("$abs", "fabsf".into()),
        ]
    };
    for (key, value) in subs {
        text = text.replace(key, &value);
    }
    s.push_str(&text);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horner_nests_highest_degree_first() {
        assert_eq!(
            horner(&[1.0, -2.0, 0.5], "x"),
            "((1.0f * x + -2.0f) * x + 0.5f)"
        );
    }

    #[test]
    fn every_placeholder_is_substituted() {
        for lanes in [0, 8] {
            let text = math_helpers(lanes);
            assert!(!text.contains('$'), "{text}");
        }
    }
}
