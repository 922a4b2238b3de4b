//! The region an affine index reads over one block of a tiled nest, shared by the GPU
//! sketch's shared-memory staging and the CPU sketch's operand packing.
//!
//! Over a block in which axis `a` takes `tile_a` consecutive values (an untiled axis one),
//! the index `Σ c·a + o` spans `1 + Σ |c|·(tile − 1)` values ([`region_extent`]), the lowest
//! `Σ_{c<0} |c|·(tile − 1)` below its value at the block's first point ([`negative_shift`]).
//! `tile_of` gives the block extent of an axis as an expression, `None` when the axis is not
//! tiled (it may build the expression in the arena).

use tilegrad_symbolic::{ExprId, TreeBuilder};

use super::{add, affine_expr, mul_const, sub, sum};
use crate::compute::{AxisId, IndexExpr};
use crate::Result;

/// `1 + Σ |c|·(tile − 1)` over the tiled axes of `ix`, built as `(1 − Σ|c|) + Σ |c|·tile`.
pub fn region_extent(
    b: &mut TreeBuilder,
    ix: &IndexExpr,
    mut tile_of: impl FnMut(&mut TreeBuilder, AxisId) -> Option<ExprId>,
) -> ExprId {
    let mut terms = Vec::new();
    let mut konst = 1i64;
    for t in &ix.terms {
        if let Some(tile) = tile_of(b, t.axis) {
            konst -= t.coef.abs();
            terms.push(mul_const(b.e(), tile, t.coef.abs()));
        }
    }
    let k = b.c(konst as f64);
    terms.push(k);
    sum(b.e(), &terms)
}

/// `Σ_{c<0} |c|·(tile − 1)` over the tiled axes of `ix`: how far below its value at the
/// block's first point the index reaches.
pub fn negative_shift(
    b: &mut TreeBuilder,
    ix: &IndexExpr,
    mut tile_of: impl FnMut(&mut TreeBuilder, AxisId) -> Option<ExprId>,
) -> ExprId {
    let mut terms = Vec::new();
    for t in ix.terms.iter().filter(|t| t.coef < 0) {
        if let Some(tile) = tile_of(b, t.axis) {
            let one = b.c(1.0);
            let m = sub(b.e(), tile, one);
            terms.push(mul_const(b.e(), m, -t.coef));
        }
    }
    sum(b.e(), &terms)
}

/// The global value of `ix` at the block's lowest element: `ix(base) − shift`, with `base`
/// the axes' coordinates at the block's first point and `shift` the [`negative_shift`].
pub fn block_origin(
    b: &mut TreeBuilder,
    ix: &IndexExpr,
    base: &[ExprId],
    shift: ExprId,
) -> Result<ExprId> {
    let g = affine_expr(b.e(), ix, base)?;
    Ok(sub(b.e(), g, shift))
}

/// The position of `ix` within the block's region (`0 ≤ · <` [`region_extent`]) at the axes'
/// offsets `local` from the block's first point: `Σ c·local + shift`.
pub fn block_index(
    b: &mut TreeBuilder,
    ix: &IndexExpr,
    local: &[ExprId],
    shift: ExprId,
) -> Result<ExprId> {
    let rel = IndexExpr {
        terms: ix.terms.clone(),
        offset: 0,
        div: 1,
    };
    let l = affine_expr(b.e(), &rel, local)?;
    Ok(add(b.e(), l, shift))
}
