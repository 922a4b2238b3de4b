//! The fixed helper definitions at the top of every generated C kernel.

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
static inline float tg_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
";

/// The prelude for vectors of `lanes` floats (0 = no vector helpers).
pub(super) fn prelude(lanes: usize) -> String {
    let mut s = SCALAR.to_string();
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
    for (name, func) in [
        ("exp", "expf"),
        ("log", "logf"),
        ("sqrt", "sqrtf"),
        ("rsqrt", "tg_rsqrtf"),
        ("tanh", "tanhf"),
        ("erf", "erff"),
        ("sigmoid", "tg_sigmoidf"),
    ] {
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
