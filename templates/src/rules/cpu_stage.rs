//! Input staging of the `cpu-tiling/staged` sketch (see the parent module's docs).
//!
//! The *padded operand* is the load that reads zeros outside its tensor (a conv's input with
//! `pad > 0`): unstaged, every read of it in the micro-kernel tests its indices against the
//! tensor's bounds. Staged, every `S1` iteration first copies the block that its whole
//! reduction will read, halo included, into `<T>.stage` ([`Scope::Local`]): one index per
//! dimension, `e_d = 1 + Σ |c|·(tile − 1)` values each, where the tile of a spatial axis is
//! `S2·S3` and that of a reduction axis its whole extent (the block's origin and offsets as
//! for the packed operand's leading indices, `cpu_pack.rs`), with the zeros of the padding
//! written by the copy. Each input element is thus copied once per tile (plus the halo), and
//! the micro-kernel reads the block without a test. The sketch is generated only when the
//! reduction's share of the block (`Π` extents of the reduction axes the operand reads, times
//! one vector) fits the `stage_tile` limit. The copy runs along the last dimension (the
//! channels of an NHWC input), vectorized when that index is the vectorized axis itself (a
//! depthwise conv).

use tilegrad_symbolic::{
    BufferId, CpuSpec, ExprId, LogTerm, LoopKind, Scope, Space, SplitGroupId, TreeBuilder, Value,
};

use super::{err, Plan, Tiled};
use crate::compute::{AxisId, IndexExpr, Stage, TensorId};
use crate::rules::lower::{
    add, and, block_index, block_origin, flatten, in_bounds, is_bare_axis, loop_nest,
    negative_shift, region_extent, LoopSpec,
};
use crate::Result;

/// The staged operand of one sketch.
#[derive(Clone, Debug)]
pub(super) struct Staged {
    pub tensor: TensorId,
    index: Vec<IndexExpr>,
    pad: f64,
    name: String,
    global: BufferId,
    local: BufferId,
    /// Extents of the indices.
    ext: Vec<ExprId>,
}

/// The padded operand of `stage`: the only load of its tensor, with a pad value, no divided
/// index, and a tiled reduction axis in some index (so a block is reused).
pub(super) fn padded_operand(stage: &Stage, rd: &[AxisId]) -> Option<TensorId> {
    let loads = stage.body.loads();
    loads
        .iter()
        .find(|(tensor, index, pad)| {
            pad.is_some()
                && loads.iter().filter(|(t, _, _)| t == tensor).count() == 1
                && index.iter().all(|ix| ix.div == 1)
                && index
                    .iter()
                    .any(|ix| ix.terms.iter().any(|t| rd.contains(&t.axis)))
        })
        .map(|(t, _, _)| *t)
}

/// `stage_tile`: the staged block's tiles `Π (S2·S3)_a · Π E_r` over the axes the operand
/// reads fit a sixteenth of L2 in floats (the halo makes the block a little larger); an error
/// of kind `None` (the sketch is skipped) when the reduction alone leaves no room for a vector.
pub(super) fn constraint(
    space: &mut Space,
    stage: &Stage,
    tensor: TensorId,
    sp: &[(Tiled, SplitGroupId)],
    cpu: &CpuSpec,
) -> Result<bool> {
    let loads = stage.body.loads();
    let Some((_, index, _)) = loads.iter().find(|(t, _, _)| *t == tensor) else {
        return Ok(false);
    };
    let reads = |axis: AxisId| {
        index
            .iter()
            .any(|ix| ix.terms.iter().any(|t| t.axis == axis))
    };
    let ns = stage.spatial.len();
    let reduction: usize = (0..stage.reduce.len())
        .filter(|&k| reads(ns + k))
        .map(|k| stage.reduce[k].extent)
        .product();
    let lanes = (cpu.simd_bytes / 4).max(1) as f64;
    let elems = (cpu.l2_bytes / 16).max(1) as f64 / reduction as f64;
    if elems < lanes {
        return Ok(false);
    }
    let mut terms = Vec::new();
    for (_, gid) in sp.iter().filter(|(t, _)| reads(t.axis)) {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        terms.extend(f[1..].iter().map(|&v| (LogTerm::Var(v), 1.0)));
    }
    space
        .add_log_product_constraint("stage_tile", &terms, elems)
        .map_err(err)?;
    Ok(true)
}

impl Plan<'_> {
    /// Declares `<T>.stage` for the padded operand `tensor` (loaded from `global`).
    pub(super) fn declare_stage(
        &self,
        b: &mut TreeBuilder,
        tensor: TensorId,
        global: BufferId,
    ) -> Result<Staged> {
        let (index, pad) = self.operand_load(tensor, "staged")?;
        let ext: Vec<ExprId> = index
            .iter()
            .map(|ix| region_extent(b, ix, |b, a| self.stage_tile_of(b, a)))
            .collect();
        let name = self.def.tensors[tensor].name.clone();
        let local = b.buffer(&format!("{name}.stage"), Scope::Local, &ext);
        Ok(Staged {
            tensor,
            index,
            pad: pad.unwrap_or(0.0),
            name,
            global,
            local,
            ext,
        })
    }

    /// The block extent of `axis` in the staged block: `S2·S3` spatial, the whole extent of
    /// a reduction axis, `None` when untiled.
    fn stage_tile_of(&self, b: &mut TreeBuilder, axis: usize) -> Option<ExprId> {
        if self.sp.iter().any(|t| t.axis == axis) {
            return self.tile_of(b, axis);
        }
        let ns = self.stage.spatial.len();
        self.rd
            .iter()
            .find(|t| t.axis == axis)
            .map(|t| b.c(self.stage.reduce[t.axis - ns].extent as f64))
    }

    /// `shift_d` of index `ix` in the staged block.
    fn stage_shift(&self, b: &mut TreeBuilder, ix: &IndexExpr) -> ExprId {
        negative_shift(b, ix, |b, a| self.stage_tile_of(b, a))
    }

    /// Copies the block of `st` read by the whole reduction at the tile `(s0, s1)`, with the
    /// padding's zeros.
    pub(super) fn fetch_stage(
        &self,
        b: &mut TreeBuilder,
        st: &Staged,
        s0: &[ExprId],
        s1: &[ExprId],
    ) -> Result<()> {
        let zero = b.c(0.0);
        let r0 = vec![zero; self.rd.len()];
        let base = self.block_base(b, s0, s1, &r0);
        let mut starts = Vec::with_capacity(st.index.len());
        for ix in &st.index {
            let s = self.stage_shift(b, ix);
            starts.push(block_origin(b, ix, &base, s)?);
        }
        let v = self.sp.last().map(|t| t.axis);
        let last = st.index.len() - 1;
        let specs: Vec<LoopSpec> = st
            .ext
            .iter()
            .enumerate()
            .map(|(d, &e)| {
                let contiguous =
                    d == last && is_bare_axis(&st.index[d]) && Some(st.index[d].terms[0].axis) == v;
                let kind = if contiguous {
                    LoopKind::Vectorized
                } else {
                    LoopKind::Serial
                };
                LoopSpec::new(format!("{}.stage{d}", st.name), e, kind)
            })
            .collect();
        let shape = self.def.tensors[st.tensor].shape.clone();
        loop_nest(b, &specs, &mut |b, c| {
            let g: Vec<ExprId> = starts
                .iter()
                .zip(c)
                .map(|(&s, &m)| add(b.e(), s, m))
                .collect();
            let mut cond = None;
            for (d, ix) in st.index.iter().enumerate() {
                if !is_bare_axis(ix) {
                    let ext = b.c(shape[d] as f64);
                    let ok = in_bounds(b, g[d], ext);
                    cond = and(b.e(), cond, Some(ok));
                }
            }
            let load = Value::load(st.global, &g);
            let value = match cond {
                Some(cond) => Value::select(cond, load, Value::Const(st.pad as f32)),
                None => load,
            };
            b.store(st.local, c, value);
        });
        Ok(())
    }

    /// The micro-kernel's load of `st` at the register-tile point `(s2, s3)` and reduction
    /// point `r` (`[R0, R1]` per tiled reduction axis).
    pub(super) fn staged_load(
        &self,
        b: &mut TreeBuilder,
        st: &Staged,
        s2: &[ExprId],
        s3: &[ExprId],
        r: &[[ExprId; 2]],
    ) -> Result<Value> {
        let zero = b.c(0.0);
        let r1 = vec![zero; self.rd.len()];
        let mut local = self.block_offsets(b, s2, s3, &r1);
        for (t, v) in self.rd.iter().zip(r) {
            local[t.axis] = flatten(b.e(), v, &t.levels);
        }
        let mut idx = Vec::with_capacity(st.index.len());
        for ix in &st.index {
            let s = self.stage_shift(b, ix);
            idx.push(block_index(b, ix, &local, s)?);
        }
        Ok(Value::load(st.local, &idx))
    }

    /// Global coordinates of every axis at the block's first point (`s2 = s3 = r1 = 0`).
    pub(super) fn block_base(
        &self,
        b: &mut TreeBuilder,
        s0: &[ExprId],
        s1: &[ExprId],
        r0: &[ExprId],
    ) -> Vec<ExprId> {
        let zero = b.c(0.0);
        let mut base = vec![zero; self.stage.spatial.len() + self.stage.reduce.len()];
        for (k, t) in self.sp.iter().enumerate() {
            base[t.axis] = flatten(b.e(), &[s0[k], s1[k], zero, zero], &t.levels);
        }
        for (k, t) in self.rd.iter().enumerate() {
            base[t.axis] = flatten(b.e(), &[r0[k], zero], &t.levels);
        }
        base
    }

    /// Offsets of every axis within the block at `(s2, s3)` and `r1`.
    pub(super) fn block_offsets(
        &self,
        b: &mut TreeBuilder,
        s2: &[ExprId],
        s3: &[ExprId],
        r1: &[ExprId],
    ) -> Vec<ExprId> {
        let zero = b.c(0.0);
        let mut local = vec![zero; self.stage.spatial.len() + self.stage.reduce.len()];
        for (k, t) in self.sp.iter().enumerate() {
            local[t.axis] = flatten(b.e(), &[s2[k], s3[k]], &t.levels[2..]);
        }
        for (k, t) in self.rd.iter().enumerate() {
            local[t.axis] = r1[k];
        }
        local
    }
}
