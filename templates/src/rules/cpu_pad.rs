//! Padded extents of the `cpu-tiling/padded` sketch (see the parent module's docs).
//!
//! A split factor divides its axis's extent, so an extent with few small divisors (a prime
//! `M = 97`, `K = 4099`, an `N` that is no multiple of the vector width) leaves the register
//! tile, the panel depth and the vector loads nothing good to choose from. The padded sketch
//! tiles such an axis over a slightly larger *padded* extent (at most 1/16 more, rounded up to
//! a multiple of a power of two) and keeps the nest correct the way BLIS does:
//! - The packed operand is copied with zeros beyond a padded reduction axis (and with its
//!   coordinate clamped, so no read leaves the tensor). Every reduction step past the real
//!   extent then adds `0 · x`, where `x` is a real element of the other operand.
//! - Every other load reads at its axes' coordinates clamped to the real extents: padded
//!   rows and columns compute on real data and are never stored.
//! - The write-back stores only the points inside the real extents.
//!
//! So with finite inputs the padded nest computes exactly the unpadded one. An infinite input
//! that meets a padded step gives NaN instead of ±inf (`inf · 0`).

use tilegrad_symbolic::{ExprId, TreeBuilder, Value};

use crate::compute::{AxisId, IndexExpr, Stage, TensorId, ValueExpr};
use crate::op::BinaryFn;
use crate::rules::lower::is_bare_axis;

/// The real extents of the padded axes of one sketch, by axis id (spatial then reduction).
#[derive(Clone, Debug)]
pub(super) struct Padding {
    /// `Some(real extent)` for a padded axis.
    real: Vec<Option<usize>>,
    /// Number of spatial axes (ids below it are spatial).
    n_spatial: usize,
}

/// Whether `e` has a divisor in `lo..=hi`.
fn has_divisor(e: usize, lo: usize, hi: usize) -> bool {
    (lo..=hi.min(e)).any(|d| e.is_multiple_of(d))
}

/// The padded extent of an awkward axis: the smallest multiple of the largest granule in
/// `granules` that adds at most `waste` and is not awkward itself; `None` when `e` is fine
/// or no such extent exists.
fn pad(
    e: usize,
    awkward: impl Fn(usize) -> bool,
    granules: &[usize],
    waste: usize,
) -> Option<usize> {
    if !awkward(e) {
        return None;
    }
    granules
        .iter()
        .map(|&g| e.div_ceil(g) * g)
        .find(|&p| p - e <= waste && !awkward(p))
}

/// Padded extent of the vectorized axis: a multiple of the vector width `lanes` (adding at
/// most a sixteenth, or less than one vector once the axis spans four), and from eight vectors
/// on a multiple of two vectors where that adds no more (the 2-vector micro-kernels, MLAS's
/// 6 x 16 on AVX2, need it: `N = 1000` becomes 1008).
pub(super) fn pad_vector(e: usize, lanes: usize) -> Option<usize> {
    let awkward = |e: usize| e > 2 * lanes && !e.is_multiple_of(lanes);
    let odd_pair = |e: usize| e >= 8 * lanes && !e.is_multiple_of(2 * lanes);
    let waste = if e >= 4 * lanes {
        (e / 16).max(lanes - 1)
    } else {
        e / 16
    };
    pad(e, odd_pair, &[2 * lanes], waste).or_else(|| pad(e, awkward, &[lanes], waste))
}

/// Padded extent of another spatial axis: one with a divisor in `2..=8` (a register tile),
/// adding at most a sixteenth.
pub(super) fn pad_spatial(e: usize) -> Option<usize> {
    let awkward = |e: usize| e > 16 && !has_divisor(e, 2, 8);
    pad(e, awkward, &[16, 8, 4, 2], e / 16)
}

/// Padded extent of the spatial axis just outside the vectorized one (a register tile's rows):
/// from 48 on, a multiple of 6 (adding at most a sixteenth), else as [`pad_spatial`].
/// The micro-kernels with 12 vector accumulators, 6 rows x 2 vectors (MLAS's AVX2 tile) or
/// 3 x 4, need rows in threes (sixes for 6 x 2); a power-of-two or prime `M` has none, and
/// its best tile, 8 x 1 or 4 x 2 vectors, issues more loads per FMA.
pub(super) fn pad_rows(e: usize) -> Option<usize> {
    let no_six = |e: usize| e >= 48 && !e.is_multiple_of(6);
    pad(e, no_six, &[48, 24, 12, 6], e / 16).or_else(|| pad_spatial(e))
}

/// Padded extent of a reduction axis: one with a divisor in `8..=256` (a panel depth),
/// adding at most a sixteenth.
pub(super) fn pad_reduction(e: usize) -> Option<usize> {
    let awkward = |e: usize| e > 16 && !has_divisor(e, 8, 256);
    pad(e, awkward, &[64, 32, 16, 8], e / 16)
}

/// Whether `body` is a product with the load of `tensor` as a factor (under any selects), so
/// that a zero in that operand zeroes the term.
fn factor_of(body: &ValueExpr, tensor: TensorId) -> bool {
    match body {
        ValueExpr::Select { then, .. } => factor_of(then, tensor),
        ValueExpr::Binary(BinaryFn::Mul, x, y) => [x, y]
            .iter()
            .any(|v| matches!(&***v, ValueExpr::Load { tensor: t, .. } if *t == tensor)),
        _ => false,
    }
}

impl Padding {
    /// The padding of `stage` with the packed operand `tensor` read at `index`, whose
    /// vectorized axis is `v` (vector width `lanes`): the stage with padded extents and the
    /// padding, or `None` when no axis is awkward.
    pub(super) fn plan(
        stage: &Stage,
        tensor: TensorId,
        index: &[IndexExpr],
        v: AxisId,
        lanes: usize,
    ) -> Option<(Stage, Padding)> {
        let ns = stage.spatial.len();
        // An axis the packed operand reads in an index other than its bare own is not padded:
        // the copy could not tell its padded points from real ones.
        let bare_only = |a: AxisId| {
            index
                .iter()
                .filter(|ix| ix.terms.iter().any(|t| t.axis == a))
                .all(is_bare_axis)
        };
        let reads = |a: AxisId| super::pack::reads(index, a);
        let zeroes = factor_of(&stage.body, tensor);
        let mut padded = stage.clone();
        let mut real = vec![None; ns + stage.reduce.len()];
        for (a, axis) in stage.axes().enumerate() {
            let e = axis.extent;
            let p = if a == v {
                pad_vector(e, lanes)
            } else if a + 1 == v {
                pad_rows(e).filter(|_| bare_only(a))
            } else if a < ns {
                pad_spatial(e).filter(|_| bare_only(a))
            } else {
                pad_reduction(e).filter(|_| zeroes && reads(a) && bare_only(a))
            };
            if let Some(p) = p {
                real[a] = Some(e);
                match a.checked_sub(ns) {
                    None => padded.spatial[a].extent = p,
                    Some(r) => padded.reduce[r].extent = p,
                }
            }
        }
        real.iter().any(Option::is_some).then_some((
            padded,
            Padding {
                real,
                n_spatial: ns,
            },
        ))
    }

    /// The coordinates `g` (one per axis) with every padded axis clamped to its real extent.
    pub(super) fn clamp(&self, b: &mut TreeBuilder, g: &[ExprId]) -> Vec<ExprId> {
        g.iter()
            .enumerate()
            .map(|(a, &x)| match self.real.get(a).copied().flatten() {
                Some(e) => {
                    let last = b.c((e - 1) as f64);
                    b.e().min(x, last)
                }
                None => x,
            })
            .collect()
    }

    /// `g_a < E_a` over the padded spatial axes (the points that are stored), `None` when no
    /// spatial axis is padded.
    pub(super) fn stored(&self, b: &mut TreeBuilder, g: &[ExprId]) -> Option<ExprId> {
        let mut cond = None;
        for (a, e) in self.real[..self.n_spatial].iter().enumerate() {
            if let Some(e) = e {
                let ext = b.c(*e as f64);
                let ok = b.e().lt(g[a], ext);
                cond = Some(match cond {
                    Some(c) => b.e().and(c, ok),
                    None => ok,
                });
            }
        }
        cond
    }

    /// The copy of one element of the packed operand: `index` (the operand's indices, with
    /// coordinates `at` per dimension) clamped per padded bare axis, zero beyond a padded
    /// reduction axis.
    pub(super) fn packed_value(
        &self,
        b: &mut TreeBuilder,
        global: tilegrad_symbolic::BufferId,
        index: &[IndexExpr],
        at: &[ExprId],
    ) -> Value {
        let mut idx = Vec::with_capacity(at.len());
        let mut cond = None;
        for (ix, &x) in index.iter().zip(at) {
            let axis = ix.terms.first().map(|t| t.axis);
            let real = axis.filter(|_| is_bare_axis(ix)).and_then(|a| {
                let e = self.real.get(a).copied().flatten()?;
                Some((a, e))
            });
            match real {
                Some((a, e)) => {
                    let last = b.c((e - 1) as f64);
                    idx.push(b.e().min(x, last));
                    if a >= self.n_spatial {
                        let ext = b.c(e as f64);
                        let ok = b.e().lt(x, ext);
                        cond = Some(match cond {
                            Some(c) => b.e().and(c, ok),
                            None => ok,
                        });
                    }
                }
                None => idx.push(x),
            }
        }
        let load = Value::load(global, &idx);
        match cond {
            Some(c) => Value::select(c, load, Value::Const(0.0)),
            None => load,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_extents_are_padded_a_little_and_fine_ones_are_kept() {
        // (extent, vector, spatial, reduction)
        type Case = (usize, Option<usize>, Option<usize>, Option<usize>);
        let cases: &[Case] = &[
            (97, Some(104), Some(100), None),
            (4099, Some(4112), Some(4112), Some(4160)),
            (257, Some(272), Some(272), Some(272)),
            (1000, Some(1008), None, None),
            (1024, None, None, None),
            (100, Some(104), None, None),
            (49, Some(56), None, None),
            (23, Some(24), Some(24), None),
            (16, None, None, None),
            (7, None, None, None),
        ];
        for &(e, v, s, r) in cases {
            assert_eq!(pad_vector(e, 8), v, "vector {e}");
            assert_eq!(pad_spatial(e), s, "spatial {e}");
            assert_eq!(pad_reduction(e), r, "reduction {e}");
        }
        // Register-tile rows: a multiple of 6 from 48 on, else as spatial.
        let rows: &[(usize, Option<usize>)] = &[
            (97, Some(102)),
            (512, Some(528)),
            (1024, Some(1056)),
            (100, Some(102)),
            (64, Some(66)),
            (56, None),
            (384, None),
            (32, None),
            (23, Some(24)),
        ];
        for &(e, want) in rows {
            assert_eq!(pad_rows(e), want, "rows {e}");
        }
    }
}
