//! Folding builders of index expressions: skip `+ 0`, `· 1`, fold constants, so that
//! symbolic trees stay small and readable. Re-exported by [`super`].

use tilegrad_symbolic::{ExprArena, ExprId};

/// `a + b`, folding constants and `+ 0`.
pub fn add(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (Some(x), Some(y)) => e.constant(x + y),
        (Some(0.0), _) => b,
        (_, Some(0.0)) => a,
        _ => e.add(a, b),
    }
}

/// `a − b`, folding constants and `− 0`.
pub fn sub(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (Some(x), Some(y)) => e.constant(x - y),
        (_, Some(0.0)) => a,
        _ => e.sub(a, b),
    }
}

/// `a · b`, folding constants, `· 1` and `· 0`.
pub fn mul(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (Some(x), Some(y)) => e.constant(x * y),
        (Some(1.0), _) => b,
        (_, Some(1.0)) => a,
        (Some(x), _) | (_, Some(x)) if x == 0.0 => e.constant(0.0),
        _ => e.mul(a, b),
    }
}

/// `a + c` for an integer constant `c`.
pub fn add_const(e: &mut ExprArena, a: ExprId, c: i64) -> ExprId {
    let k = e.constant(c as f64);
    add(e, a, k)
}

/// `c · a` for an integer constant `c`.
pub fn mul_const(e: &mut ExprArena, a: ExprId, c: i64) -> ExprId {
    let k = e.constant(c as f64);
    mul(e, k, a)
}

/// `⌊a / b⌋`, folding `/ 1` and constants (integral operands).
pub fn floordiv(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (_, Some(1.0)) => a,
        (Some(x), Some(y)) if y != 0.0 => e.constant((x / y).floor()),
        (Some(0.0), _) => a,
        _ => e.floordiv(a, b),
    }
}

/// `⌈a / b⌉`, folding `/ 1` and constants (integral operands).
pub fn ceildiv(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (_, Some(1.0)) => a,
        (Some(x), Some(y)) if y != 0.0 => e.constant((x / y).ceil()),
        _ => e.ceildiv(a, b),
    }
}

/// `a mod b` (floored), folding `mod 1` and constants.
pub fn modulo(e: &mut ExprArena, a: ExprId, b: ExprId) -> ExprId {
    match (e.as_const(a), e.as_const(b)) {
        (_, Some(1.0)) => e.constant(0.0),
        (Some(x), Some(y)) if y != 0.0 => e.constant(x.rem_euclid(y)),
        (Some(0.0), _) => a,
        _ => e.modulo(a, b),
    }
}

/// `a ∧ b`, dropping constant-true operands (`None` means "true").
pub fn and(e: &mut ExprArena, a: Option<ExprId>, b: Option<ExprId>) -> Option<ExprId> {
    let t = |e: &ExprArena, x: Option<ExprId>| x.filter(|&x| e.as_const(x) != Some(1.0));
    match (t(e, a), t(e, b)) {
        (Some(x), Some(y)) => Some(e.and(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Σ `terms` (0 when empty), folding constants.
pub fn sum(e: &mut ExprArena, terms: &[ExprId]) -> ExprId {
    let mut acc = e.constant(0.0);
    for &t in terms {
        acc = add(e, acc, t);
    }
    acc
}

/// Π `factors` (1 when empty), folding constants.
pub fn product(e: &mut ExprArena, factors: &[ExprId]) -> ExprId {
    let mut acc = e.constant(1.0);
    for &f in factors {
        acc = mul(e, acc, f);
    }
    acc
}

/// Row-major decomposition of a fused index `flat ∈ [0, Π extents)` into one coordinate per
/// extent (first extent outermost): `c_d = ⌊flat / Π_{d' > d} e_{d'}⌋ mod e_d` (the `mod` is
/// dropped for the outermost coordinate).
pub fn unflatten(e: &mut ExprArena, flat: ExprId, extents: &[ExprId]) -> Vec<ExprId> {
    let n = extents.len();
    let mut out = vec![flat; n];
    let mut inner = e.constant(1.0);
    for d in (0..n).rev() {
        let q = floordiv(e, flat, inner);
        out[d] = if d == 0 { q } else { modulo(e, q, extents[d]) };
        inner = mul(e, inner, extents[d]);
    }
    out
}

/// Row-major flattening `((c_0·e_1 + c_1)·e_2 + c_2)…` (inverse of [`unflatten`]).
pub fn flatten(e: &mut ExprArena, coords: &[ExprId], extents: &[ExprId]) -> ExprId {
    let mut acc = e.constant(0.0);
    for (&c, &x) in coords.iter().zip(extents) {
        let scaled = mul(e, acc, x);
        acc = add(e, scaled, c);
    }
    acc
}
