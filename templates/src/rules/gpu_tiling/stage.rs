//! Shared-memory staging of the `gpu-tiling` sketch: regions, cooperative fetch, and the
//! compute-phase loads from the staged copies (formulas in the parent module's docs).

use tilegrad_symbolic::{BufferId, ExprId, LoopKind, Scope, Space, TreeBuilder, Value};

use super::build::Plan;
use super::space_err;
use crate::compute::{IndexExpr, Stage, TensorId};
use crate::rules::lower::{
    add, affine_expr, and, block_index, ceildiv, in_bounds, is_bare_axis, mul, negative_shift,
    product, region_extent, sub, unflatten,
};
use crate::Result;

/// A load of the body that can be staged: `(tensor, index, pad)`.
pub(crate) type Access = (TensorId, Vec<IndexExpr>, Option<f64>);

/// The loads of `stage`'s body that are staged: no index divisor and the only load of their
/// tensor.
pub(crate) fn stageable(stage: &Stage) -> Vec<Access> {
    let loads = stage.body.loads();
    loads
        .iter()
        .filter(|(t, index, _)| {
            index.iter().all(|ix| ix.div == 1)
                && loads.iter().filter(|(u, _, _)| u == t).count() == 1
        })
        .map(|(t, index, pad)| (*t, index.to_vec(), *pad))
        .collect()
}

/// One staged input.
#[derive(Clone, Debug)]
pub(crate) struct Staged {
    pub tensor: TensorId,
    pub index: Vec<IndexExpr>,
    pub pad: Option<f64>,
    /// Tensor name (prefix of the shared buffer, the fetch loops and `vec_<name>`).
    pub name: String,
    pub global: BufferId,
    pub shared: BufferId,
    /// Region extent per dimension.
    pub ext: Vec<ExprId>,
    pub vec: ExprId,
    /// The tensor's dimensions.
    pub dims: Vec<usize>,
}

impl Plan<'_> {
    /// Declares the shared buffers and `vec_<T>` variables of every staged load.
    pub(crate) fn declare_staging(
        &self,
        b: &mut TreeBuilder,
        space: &mut Space,
        bufs: &[Option<BufferId>],
    ) -> Result<Vec<Staged>> {
        let mut out = Vec::new();
        for (tensor, index, pad) in stageable(self.stage) {
            let decl = &self.def.tensors[tensor];
            let Some(global) = bufs.get(tensor).copied().flatten() else {
                continue;
            };
            let ext: Vec<ExprId> = index
                .iter()
                .map(|ix| region_extent(b, ix, |_, a| self.tile_of(a)))
                .collect();
            let shared = b.buffer(&format!("{}.shared", decl.name), Scope::Shared, &ext);
            let vname = format!("vec_{}", decl.name);
            space
                .add_choice(b.e(), &vname, &self.vec_values)
                .map_err(space_err)?;
            let vec = b.sched_var(&vname);
            let dims = decl.shape.clone();
            out.push(Staged {
                tensor,
                index,
                pad,
                name: decl.name.clone(),
                global,
                shared,
                ext,
                vec,
                dims,
            });
        }
        Ok(out)
    }

    /// The region base of `st` per dimension, given the first global coordinate of the
    /// current tile of every axis (`block_base`, zero for untiled axes).
    fn region_base(
        &self,
        b: &mut TreeBuilder,
        st: &Staged,
        block_base: &[ExprId],
    ) -> Result<Vec<ExprId>> {
        let mut out = Vec::with_capacity(st.index.len());
        for ix in &st.index {
            let g = affine_expr(b.e(), ix, block_base)?;
            let shift = negative_shift(b, ix, |_, a| self.tile_of(a));
            out.push(sub(b.e(), g, shift));
        }
        Ok(out)
    }

    /// Emits the cooperative fetch of `st` for the tile at `block_base` by thread `tx` of
    /// `nthreads`.
    pub(crate) fn fetch(
        &self,
        b: &mut TreeBuilder,
        st: &Staged,
        block_base: &[ExprId],
        tx: ExprId,
        nthreads: ExprId,
    ) -> Result<()> {
        let base = self.region_base(b, st, block_base)?;
        let size = product(b.e(), &st.ext);
        let step = mul(b.e(), nthreads, st.vec);
        let trips = ceildiv(b.e(), size, step);
        let fname = format!("{}.f", st.name);
        let vname = format!("{}.v", st.name);
        b.loop_(&fname, trips, LoopKind::Serial, |b, f| {
            b.loop_(&vname, st.vec, LoopKind::Vectorized, |b, v| {
                let e = b.e();
                let ft = mul(e, f, nthreads);
                let thread = add(e, ft, tx);
                let tv = mul(e, thread, st.vec);
                let flat = add(e, tv, v);
                let inside = e.lt(flat, size);
                b.if_(inside, |b| {
                    let coords = unflatten(b.e(), flat, &st.ext);
                    let mut g = Vec::with_capacity(coords.len());
                    let mut cond = None;
                    for ((ix, (&c, &bs)), &dim) in
                        st.index.iter().zip(coords.iter().zip(&base)).zip(&st.dims)
                    {
                        let gi = add(b.e(), bs, c);
                        if st.pad.is_some() && !is_bare_axis(ix) {
                            let ext = b.c(dim as f64);
                            let ok = in_bounds(b, gi, ext);
                            cond = and(b.e(), cond, Some(ok));
                        }
                        g.push(gi);
                    }
                    let load = Value::load(st.global, &g);
                    let value = match (st.pad, cond) {
                        (Some(p), Some(c)) => Value::select(c, load, Value::Const(p as f32)),
                        _ => load,
                    };
                    b.store(st.shared, &coords, value);
                });
            });
        });
        Ok(())
    }

    /// The compute-phase load of `st` given the coordinate of every axis *within the current
    /// tile* (`local`, zero for untiled axes).
    pub(crate) fn shared_load(
        &self,
        b: &mut TreeBuilder,
        st: &Staged,
        local: &[ExprId],
    ) -> Result<Value> {
        let mut idx = Vec::with_capacity(st.index.len());
        for ix in &st.index {
            let shift = negative_shift(b, ix, |_, a| self.tile_of(a));
            idx.push(block_index(b, ix, local, shift)?);
        }
        Ok(Value::load(st.shared, &idx))
    }
}
