//! When a `Vectorized` loop is a contiguous, aligned copy: a small congruence analysis.
//!
//! For a vector loop variable `v` of extent `W`, [`Cong::of`] writes an index expression as
//! `A + c·v` with `A` free of `v` and known only modulo `m` (`A ≡ r (mod m)`; `m = 0` means
//! `A == r`). `floordiv(A + v, d)` and `mod(A + v, d)` stay affine in `v` when `W | d` and
//! `A ≡ 0 (mod W)`: the `W` consecutive values then lie in one `d`-aligned period. A flat
//! offset of the form `A + v` with `A ≡ 0 (mod W)` is a contiguous run of `W` elements whose
//! first element is `W`-aligned, which makes a `float2`/`float4` access legal (buffers are
//! at least 16-byte aligned). A condition is *uniform* when it has the same value for every
//! `v` in `[0, W)`.

use super::cuda_expr::{IOp, Ix, IxKind};

/// `A + coef·v` with `A ≡ r (mod m)` (`m == 0`: `A == r`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cong {
    pub coef: i64,
    pub m: i64,
    pub r: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn norm(m: i64, r: i64) -> Cong {
    Cong {
        coef: 0,
        m,
        r: if m == 0 { r } else { r.rem_euclid(m) },
    }
}

impl Cong {
    /// Whether the `v`-free part is a multiple of `w`.
    fn aligned(self, w: i64) -> bool {
        (self.m == 0 || self.m % w == 0) && self.r % w == 0
    }

    /// The analysis of `ix` for the variable `v` of extent `w` (None: not affine in `v`).
    pub fn of(ix: &Ix, v: usize, w: i64) -> Option<Cong> {
        Some(match &ix.kind {
            IxKind::Const(c) => norm(0, *c),
            IxKind::Var(x) if *x == v => Cong {
                coef: 1,
                m: 0,
                r: 0,
            },
            IxKind::Var(_) => norm(1, 0),
            IxKind::Not(a) => {
                Cong::of(a, v, w).filter(|c| c.coef == 0)?;
                norm(1, 0)
            }
            IxKind::Sel(c, a, b) => {
                for e in [c, a, b] {
                    Cong::of(e, v, w).filter(|c| c.coef == 0)?;
                }
                norm(1, 0)
            }
            IxKind::Bin(op, a, b) => {
                let (x, y) = (Cong::of(a, v, w)?, Cong::of(b, v, w)?);
                match op {
                    IOp::Add | IOp::Sub => {
                        let s = if *op == IOp::Add { 1 } else { -1 };
                        let mut c = norm(gcd(x.m, y.m), x.r.checked_add(s * y.r)?);
                        c.coef = x.coef + s * y.coef;
                        c
                    }
                    IOp::Mul => {
                        let konst = |c: Cong| (c.coef == 0 && c.m == 0).then_some(c.r);
                        if let Some(k) = konst(y).or(konst(x)) {
                            let other = if konst(y).is_some() { x } else { y };
                            let mut c =
                                norm(other.m.checked_mul(k.abs())?, other.r.checked_mul(k)?);
                            c.coef = other.coef.checked_mul(k)?;
                            c
                        } else if x.coef == 0 && y.coef == 0 {
                            let m = gcd(
                                gcd(x.m.checked_mul(y.m)?, x.r.checked_mul(y.m)?),
                                y.r.checked_mul(x.m)?,
                            );
                            norm(m, x.r.checked_mul(y.r)?)
                        } else {
                            return None;
                        }
                    }
                    IOp::FloorDiv | IOp::Mod => {
                        let d = b.as_const().filter(|&d| d > 0 && y.coef == 0)?;
                        if x.coef != 0 && !(x.coef == 1 && d % w == 0 && x.aligned(w)) {
                            return None;
                        }
                        let mut c = if *op == IOp::FloorDiv {
                            if x.m == 0 {
                                norm(0, x.r.div_euclid(d))
                            } else if x.m % d == 0 {
                                norm(x.m / d, x.r.div_euclid(d))
                            } else {
                                norm(1, 0)
                            }
                        } else if x.m == 0 {
                            norm(0, x.r.rem_euclid(d))
                        } else {
                            norm(gcd(x.m, d), x.r)
                        };
                        if *op == IOp::Mod {
                            c.coef = x.coef;
                        }
                        c
                    }
                    _ => {
                        if x.coef != 0 || y.coef != 0 {
                            return None;
                        }
                        norm(1, 0)
                    }
                }
            }
        })
    }
}

/// Whether the flat offset `ix` is `A + v` with `A ≡ 0 (mod w)`.
pub(super) fn contiguous_aligned(ix: &Ix, v: usize, w: i64) -> bool {
    Cong::of(ix, v, w).is_some_and(|c| c.coef == 1 && c.aligned(w))
}

/// Whether the condition `ix` has one value for every `v` in `[0, w)`.
pub(super) fn uniform(ix: &Ix, v: usize, w: i64) -> bool {
    if Cong::of(ix, v, w).is_some_and(|c| c.coef == 0) {
        return true;
    }
    match &ix.kind {
        IxKind::Not(a) => uniform(a, v, w),
        IxKind::Bin(IOp::And | IOp::Or, a, b) => uniform(a, v, w) && uniform(b, v, w),
        // A + v < B with A, B multiples of w: equivalent to A < B.
        IxKind::Bin(IOp::Lt, a, b) => {
            let free = |e: &Ix| Cong::of(e, v, w).filter(|c| c.coef == 0 && c.aligned(w));
            contiguous_aligned(a, v, w) && free(b).is_some()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::cuda_expr::Lowerer;
    use super::super::cuda_print::IxPrinter;
    use super::*;
    use tilegrad_symbolic::{ExprArena, ExprId};

    /// An arena with loop variables `f` (0..8), `tx` (0..8), `v` (0..4), `n` (0..3) and
    /// a lowered, printed expression built by `build`.
    fn with(build: impl Fn(&mut ExprArena, [ExprId; 4]) -> ExprId) -> (Ix, String) {
        let mut a = ExprArena::new();
        let vars = ["f", "tx", "v", "n"].map(|n| a.var(n));
        let e = build(&mut a, vars);
        let names: Vec<String> = a.var_names().to_vec();
        let low = Lowerer {
            arena: &a,
            ranges: vec![Some((0, 7)), Some((0, 7)), Some((0, 3)), Some((0, 2))],
            fixed: vec![None; 4],
        };
        let ix = low.lower(e).unwrap();
        let mut pr = IxPrinter {
            names: &names,
            helpers: Default::default(),
        };
        let text = pr.print(&ix);
        (ix, text)
    }

    type Build = dyn Fn(&mut ExprArena, [ExprId; 4]) -> ExprId;

    fn c(a: &mut ExprArena, x: f64) -> ExprId {
        a.constant(x)
    }

    /// `(f * 8 + tx) * 4 + v`.
    fn flat(a: &mut ExprArena, [f, tx, v, _]: [ExprId; 4]) -> ExprId {
        let (c8, c4) = (c(a, 8.0), c(a, 4.0));
        let t = a.mul(f, c8);
        let t = a.add(t, tx);
        let t = a.mul(t, c4);
        a.add(t, v)
    }

    #[test]
    fn contiguous_copies_are_recognised() {
        let (ix, text) = with(flat);
        assert_eq!(text, "(f * 8 + tx) * 4 + v");
        assert!(contiguous_aligned(&ix, 2, 4));
        // Unflattened into rows of 24 (a multiple of 4) and flattened into rows of 48.
        let (ix, _) = with(|a, vs| {
            let x = flat(a, vs);
            let (c24, c48) = (c(a, 24.0), c(a, 48.0));
            let row = a.floordiv(x, c24);
            let row = a.mul(row, c48);
            let col = a.modulo(x, c24);
            a.add(row, col)
        });
        assert!(contiguous_aligned(&ix, 2, 4));
        // Rows of 2 elements: not contiguous for 4 lanes, contiguous for 2.
        let (ix, _) = with(|a, vs| {
            let x = flat(a, vs);
            let (c2, c32) = (c(a, 2.0), c(a, 32.0));
            let row = a.floordiv(x, c2);
            let row = a.mul(row, c32);
            let col = a.modulo(x, c2);
            a.add(row, col)
        });
        assert!(!contiguous_aligned(&ix, 2, 4));
        // A misaligned start.
        let (ix, _) = with(|a, vs| {
            let x = flat(a, vs);
            let one = c(a, 1.0);
            a.add(x, one)
        });
        assert!(!contiguous_aligned(&ix, 2, 4));
    }

    #[test]
    fn guards_are_uniform_only_at_vector_boundaries() {
        for (bound, want) in [(8.0, true), (64.0, true), (6.0, false)] {
            let (ix, _) = with(|a, vs| {
                let x = flat(a, vs);
                let b = c(a, bound);
                a.lt(x, b)
            });
            assert_eq!(uniform(&ix, 2, 4), want, "bound {bound}");
        }
    }

    #[test]
    fn index_folding_and_printing() {
        let cases: Vec<(Box<Build>, &str)> = vec![
            // mod/floordiv of a value in one period
            (
                Box::new(|a, [f, ..]| {
                    let d = c(a, 8.0);
                    a.modulo(f, d)
                }),
                "f",
            ),
            (
                Box::new(|a, [f, ..]| {
                    let d = c(a, 8.0);
                    a.floordiv(f, d)
                }),
                "0",
            ),
            // floordiv(x * 4, 2) = x * 2, mod(x * 4, 2) = 0
            (
                Box::new(|a, [f, ..]| {
                    let (c4, c2) = (c(a, 4.0), c(a, 2.0));
                    let m = a.mul(f, c4);
                    a.floordiv(m, c2)
                }),
                "f * 2",
            ),
            // floordiv(x, 3) * 3 + mod(x, 3) = x
            (
                Box::new(|a, [f, tx, ..]| {
                    let c3 = c(a, 3.0);
                    let x = a.add(f, tx);
                    let q = a.floordiv(x, c3);
                    let q = a.mul(q, c3);
                    let r = a.modulo(x, c3);
                    a.add(q, r)
                }),
                "f + tx",
            ),
            // a possibly negative dividend needs the floored helpers
            (
                Box::new(|a, [f, tx, ..]| {
                    let c3 = c(a, 3.0);
                    let x = a.sub(f, tx);
                    a.floordiv(x, c3)
                }),
                "tg_floordiv(f - tx, 3)",
            ),
            (
                Box::new(|a, [f, tx, _, n]| {
                    let x = a.sub(tx, n);
                    a.sub(f, x)
                }),
                "f - (tx - n)",
            ),
            (
                Box::new(|a, [f, _, _, n]| {
                    let c2 = c(a, 2.0);
                    let p = a.pow(c2, n);
                    a.lt(f, p)
                }),
                "f < (1 << n)",
            ),
            (
                Box::new(|a, [f, ..]| {
                    let c9 = c(a, 9.0);
                    a.lt(f, c9)
                }),
                "1",
            ),
            (
                Box::new(|a, [f, tx, ..]| {
                    let m1 = c(a, -1.0);
                    let x = a.add(m1, f);
                    let c14 = c(a, 14.0);
                    let x = a.mul(x, c14);
                    let x = a.add(x, m1);
                    a.sub(x, tx)
                }),
                "(f - 1) * 14 - 1 - tx",
            ),
        ];
        for (build, want) in cases {
            assert_eq!(with(build).1, want);
        }
    }
}
