//! The fixed helper definitions at the top of every generated C kernel.
//!
//! `exp`, `sigmoid`, `tanh`, `erf` and `log` are the branch-free polynomial helpers of
//! `c_math.rs` (error bounds there), in scalar and vector form; `sqrt` and `rsqrt` go to
//! libm's `sqrtf`, which GCC vectorizes.

use std::fmt::Write;

const SCALAR: &str = "#include <math.h>
#include <stdlib.h>

static inline long tg_floordiv(long a, long b) {
    long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline long tg_ceildiv(long a, long b) { return -tg_floordiv(-a, b); }
static inline long tg_mod(long a, long b) { return a - b * tg_floordiv(a, b); }
static inline long tg_imin(long a, long b) { return a < b ? a : b; }
static inline long tg_imax(long a, long b) { return a > b ? a : b; }
static inline long tg_ipow(long a, long b) {
    long r = 1;
    while (b-- > 0) r *= a;
    return r;
}
static inline float tg_rsqrtf(float x) { return 1.0f / sqrtf(x); }
";

/// The prelude for vectors of `lanes` floats (0 = no vector helpers): the text every kernel
/// emitted with that vector width starts with (after its comment and `#include <omp.h>`).
pub fn prelude(lanes: usize) -> String {
    let mut s = SCALAR.to_string();
    s.push_str(&super::c_math::math_helpers(0));
    if lanes < 2 {
        return s;
    }
    let bytes = lanes * 4;
    let (f, i) = (format!("v{lanes}f"), format!("v{lanes}i"));
    let splat = vec!["x"; lanes].join(", ");
    let _ = write!(
        s,
        "
typedef float {f} __attribute__((vector_size({bytes})));
typedef int {i} __attribute__((vector_size({bytes})));
static inline {f} tg_load(const float *p) {{
    {f} r;
    __builtin_memcpy(&r, p, sizeof r);
    return r;
}}
static inline void tg_store(float *p, {f} x) {{ __builtin_memcpy(p, &x, sizeof x); }}
static inline {f} tg_splat(float x) {{ return ({f}){{{splat}}}; }}
static inline {f} tg_vsel({i} m, {f} a, {f} b) {{ return ({f})((m & ({i})a) | (~m & ({i})b)); }}
static inline {f} tg_vmax({f} a, {f} b) {{ return tg_vsel((a > b) | (b != b), a, b); }}
static inline {f} tg_vmin({f} a, {f} b) {{ return tg_vsel((a < b) | (b != b), a, b); }}
static inline {f} tg_vabs({f} x) {{ return ({f})(({i})x & 0x7fffffff); }}
"
    );
    s.push_str(&super::c_math::math_helpers(lanes));
    for (name, func) in [("sqrt", "sqrtf"), ("rsqrt", "tg_rsqrtf")] {
        let _ = writeln!(
            s,
            "static inline {f} tg_v{name}({f} x) {{
    for (int l = 0; l < {lanes}; ++l) x[l] = {func}(x[l]);
    return x;
}}"
        );
    }
    s
}
