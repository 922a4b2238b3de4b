//! The prelude's polynomial `exp`, `sigmoid`, `tanh`, `erf` and `log` (`codegen/c_math.rs`),
//! compiled with the kernels' compiler and flags, against libm's `double` functions: a sweep
//! over every 8191st `f32` bit pattern, dense windows around the branch points, the
//! overflow, underflow and saturation thresholds, and exact special cases. Every vector width
//! the code generator uses is checked, and so is the scalar form.

use std::path::Path;
use std::process::Command;
use tilegrad_measure::codegen::c_prelude::prelude;
use tilegrad_measure::BuildOptions;

/// The functions, in the order the C program writes them, with their error bound in ulps
/// (the bounds documented in `codegen/c_math.rs`).
const FUNCS: [(&str, f64); 5] = [
    ("exp", 1.5),
    ("sigmoid", 3.0),
    ("tanh", 2.0),
    ("erf", 2.0),
    ("log", 1.5),
];

/// Exact results: `(function, input, expected)` (NaN: any NaN; zeros: with their sign).
const SPECIAL: &[(&str, f32, f32)] = &[
    ("exp", 0.0, 1.0),
    ("exp", -0.0, 1.0),
    ("exp", f32::INFINITY, f32::INFINITY),
    ("exp", f32::NEG_INFINITY, 0.0),
    ("exp", f32::NAN, f32::NAN),
    ("exp", 89.0, f32::INFINITY),
    ("exp", 1e30, f32::INFINITY),
    ("exp", -104.0, 0.0),
    ("exp", -1e30, 0.0),
    ("sigmoid", 0.0, 0.5),
    ("sigmoid", f32::INFINITY, 1.0),
    ("sigmoid", f32::NEG_INFINITY, 0.0),
    ("sigmoid", 20.0, 1.0),
    ("sigmoid", 1e30, 1.0),
    ("sigmoid", -1e30, 0.0),
    ("sigmoid", f32::NAN, f32::NAN),
    ("tanh", 0.0, 0.0),
    ("tanh", -0.0, -0.0),
    ("tanh", 10.0, 1.0),
    ("tanh", -10.0, -1.0),
    ("tanh", f32::INFINITY, 1.0),
    ("tanh", f32::NEG_INFINITY, -1.0),
    ("tanh", f32::NAN, f32::NAN),
    ("erf", 0.0, 0.0),
    ("erf", -0.0, -0.0),
    ("erf", 4.0, 1.0),
    ("erf", -5.0, -1.0),
    ("erf", 1e30, 1.0),
    ("erf", f32::INFINITY, 1.0),
    ("erf", f32::NEG_INFINITY, -1.0),
    ("erf", f32::NAN, f32::NAN),
    ("log", 1.0, 0.0),
    ("log", 0.0, f32::NEG_INFINITY),
    ("log", -0.0, f32::NEG_INFINITY),
    ("log", -1.0, f32::NAN),
    ("log", f32::NEG_INFINITY, f32::NAN),
    ("log", f32::INFINITY, f32::INFINITY),
    ("log", f32::NAN, f32::NAN),
];

/// Centres of the dense windows (each ±4096 consecutive `f32` values, both signs).
const WINDOWS: &[f32] = &[
    0.0,
    f32::MIN_POSITIVE,
    0.625,
    std::f32::consts::FRAC_1_SQRT_2,
    1.0,
    2.0,
    3.92,
    4.0,
    9.0,
    44.36,
    87.33,
    88.72,
    103.97,
    f32::MAX,
];

fn inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=u32::MAX / 8191)
        .map(|k| f32::from_bits(k * 8191))
        .collect();
    for &c in WINDOWS {
        for sign in [1.0f32, -1.0] {
            let b = (c * sign).to_bits();
            for d in 0..=8192u32 {
                xs.push(f32::from_bits(b.saturating_sub(4096).saturating_add(d)));
            }
        }
    }
    xs.extend(SPECIAL.iter().map(|s| s.1));
    xs
}

/// The C program: reads `n` floats from `in`, writes for each function its vector results,
/// its scalar results (f32) and libm's `double` values.
fn program(lanes: usize) -> String {
    let mut s = prelude(lanes);
    s.push_str(&format!(
        r#"
#include <stdio.h>
static double ref(int f, double x) {{
    switch (f) {{
    case 0: return exp(x);
    case 1: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case 2: return tanh(x);
    case 3: return erf(x);
    default: return log(x);
    }}
}}
static float scalar(int f, float x) {{
    switch (f) {{
    case 0: return tg_expf(x);
    case 1: return tg_sigmoidf(x);
    case 2: return tg_tanhf(x);
    case 3: return tg_erff(x);
    default: return tg_logf(x);
    }}
}}
static v{lanes}f vector(int f, v{lanes}f x) {{
    switch (f) {{
    case 0: return tg_vexp(x);
    case 1: return tg_vsigmoid(x);
    case 2: return tg_vtanh(x);
    case 3: return tg_verf(x);
    default: return tg_vlog(x);
    }}
}}
int main(int argc, char **argv) {{
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    long n = atol(argv[3]);
    float *x = calloc(n + {lanes}, sizeof *x), *v = calloc(n + {lanes}, sizeof *v);
    float *s = calloc(n, sizeof *s);
    double *r = calloc(n, sizeof *r);
    if (!in || !out || !x || !v || !s || !r || fread(x, sizeof *x, n, in) != (size_t)n) return 1;
    for (int f = 0; f < 5; ++f) {{
        for (long i = 0; i < n; i += {lanes}) tg_store(v + i, vector(f, tg_load(x + i)));
        for (long i = 0; i < n; ++i) {{
            s[i] = scalar(f, x[i]);
            r[i] = ref(f, x[i]);
        }}
        fwrite(v, sizeof *v, n, out);
        fwrite(s, sizeof *s, n, out);
        fwrite(r, sizeof *r, n, out);
    }}
    return fclose(out) != 0;
}}
"#
    ));
    s
}

/// Compiles and runs the program for `lanes`; per function `(vector, scalar, reference)`.
fn run(lanes: usize, xs: &[f32], dir: &Path) -> Vec<(Vec<f32>, Vec<f32>, Vec<f64>)> {
    let opts = BuildOptions::default();
    let (src, exe) = (
        dir.join(format!("m{lanes}.c")),
        dir.join(format!("m{lanes}")),
    );
    let (inp, outp) = (dir.join("in.bin"), dir.join(format!("out{lanes}.bin")));
    std::fs::write(&src, program(lanes)).unwrap();
    let bytes: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&inp, bytes).unwrap();
    let cc = Command::new(&opts.compiler)
        .args(&opts.flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-lm")
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let st = Command::new(&exe)
        .arg(&inp)
        .arg(&outp)
        .arg(xs.len().to_string())
        .status()
        .unwrap();
    assert!(st.success(), "lanes {lanes}: {st}");
    let data = std::fs::read(&outp).unwrap();
    let n = xs.len();
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = &data[..];
    for _ in FUNCS {
        let (v, r1) = rest.split_at(4 * n);
        let (s, r2) = r1.split_at(4 * n);
        let (r, r3) = r2.split_at(8 * n);
        let r: Vec<f64> = r
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        out.push((f32s(v), f32s(s), r));
        rest = r3;
    }
    assert!(rest.is_empty());
    out
}

/// The spacing of `f32` values at `|y|` (that of subnormals below `f32::MIN_POSITIVE`).
fn ulp(y: f64) -> f64 {
    let e = y.abs().log2().floor().max(-126.0);
    (e - 23.0).exp2()
}

/// The error of `got` in ulps of the exact `want`; infinite when a NaN, an infinity or the
/// sign of a zero does not match.
fn ulps(got: f32, want: f64) -> f64 {
    let rounded = want as f32;
    if want.is_nan() || got.is_nan() || rounded.is_infinite() || got.is_infinite() {
        let same = (want.is_nan() && got.is_nan()) || got == rounded;
        return if same { 0.0 } else { f64::INFINITY };
    }
    if got == 0.0 && rounded == 0.0 && got.is_sign_negative() != rounded.is_sign_negative() {
        return f64::INFINITY;
    }
    (f64::from(got) - want).abs() / ulp(want)
}

#[test]
fn polynomial_math_is_within_its_documented_ulp_bounds() {
    let xs = inputs();
    let dir = tempfile::tempdir().unwrap();
    for lanes in [4, 8, 16] {
        let results = run(lanes, &xs, dir.path());
        for ((name, bound), (vector, scalar, reference)) in FUNCS.iter().zip(&results) {
            for (form, got) in [("vector", vector), ("scalar", scalar)] {
                let (mut worst, mut at) = (0.0f64, 0.0f32);
                for ((&g, &r), &x) in got.iter().zip(reference).zip(&xs) {
                    let e = ulps(g, r);
                    if e > worst {
                        (worst, at) = (e, x);
                    }
                }
                eprintln!("{name:8} {form} x{lanes:<2}: max {worst:.3} ulp at {at:e}");
                assert!(
                    worst <= *bound,
                    "{name} ({form}, {lanes} lanes): {worst} ulp at x = {at:e}, bound {bound}"
                );
            }
        }
        for &(name, x, want) in SPECIAL {
            let f = FUNCS.iter().position(|f| f.0 == name).unwrap();
            let i = xs.iter().position(|y| y.to_bits() == x.to_bits()).unwrap();
            for got in [results[f].0[i], results[f].1[i]] {
                let ok = if want.is_nan() {
                    got.is_nan()
                } else {
                    got.to_bits() == want.to_bits()
                };
                assert!(ok, "{name}({x:e}) = {got:e}, want {want:e} ({lanes} lanes)");
            }
        }
    }
}
