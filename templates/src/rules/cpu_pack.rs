//! Operand packing of the `cpu-tiling/packed` sketch (see the parent module's docs).
//!
//! The *vector operand* is the load of the body that the register tile reads with vector
//! loads: its last index is the bare vectorized axis `v` (the last tiled spatial axis), `v`
//! occurs in no other index, and some tiled reduction axis occurs (so the tile is reused over
//! the rows of the register tile). Matmul's `B[k, j]` and a conv's weights `W[r, s, c, k]`
//! are vector operands. Unpacked, consecutive reduction steps read it `N` floats apart: for a
//! power-of-two `N` the rows of one `R1` block fall into a few L1 sets.
//!
//! Packed, every `R0` step first copies the block that the `S2`/`R1`/`S3` loops will read into
//! `<T>.pack` ([`Scope::Local`]), laid out `[S2_v, e_0, …, e_{d-2}, S3_v]`: one contiguous
//! `e_0…·S3_v` panel per vector column block, read in order by the micro-kernel. A leading
//! index `d` spans `e_d = 1 + Σ |c|·(tile − 1)` over its terms (tile `S2·S3` of a spatial axis,
//! `R1` of a reduction axis). With `G` the global coordinate of an axis at the block's first
//! point (`s2 = s3 = r1 = 0`) and `L` its offset in the block, `index_d(G + L) = base_d +
//! idx_d` where `base_d = index_d(G) − shift_d`, `idx_d = Σ c·L + shift_d` and `shift_d =
//! Σ_{c<0} |c|·(tile − 1)`, so `0 ≤ idx_d < e_d`.

use tilegrad_symbolic::{
    BufferId, CpuSpec, ExprId, LogTerm, LoopKind, Scope, Space, SplitGroupId, TreeBuilder, Value,
};

use super::{err, Plan, Tiled};
use crate::compute::{AxisId, IndexExpr, Stage, TensorId};
use crate::rules::lower::{
    add, block_index, block_origin, in_bounds, is_bare_axis, loop_nest, mul, negative_shift,
    region_extent, LoopSpec,
};
use crate::Result;

/// The packed vector operand of one sketch.
#[derive(Clone, Debug)]
pub(super) struct Pack {
    pub tensor: TensorId,
    index: Vec<IndexExpr>,
    name: String,
    global: BufferId,
    /// `<T>.pack` (per thread, refilled every `R0` step), or `<T>.packed` when prepared.
    pub local: BufferId,
    /// Prepared ahead of the calls: the positions (in the plan's reduction tiles) of the
    /// reduction axes the operand reads, whose `R0` steps index the blocks of `<T>.packed`.
    pub prepared: Option<Vec<usize>>,
    /// The load's value outside the operand (a sub-pixel transposed conv's taps beyond the
    /// kernel): the copy writes it there.
    pad: Option<f64>,
    /// The dimension of the operand indexed by the vectorized axis.
    vdim: usize,
    /// Extents of the other (leading) indices, in order.
    ext: Vec<ExprId>,
}

impl Pack {
    /// The indices of the operand other than the vectorized one, in order.
    fn lead(&self) -> impl Iterator<Item = &IndexExpr> + '_ {
        let vdim = self.vdim;
        self.index
            .iter()
            .enumerate()
            .filter(move |(d, _)| *d != vdim)
            .map(|(_, ix)| ix)
    }
}

/// The vector operand of `stage` (the only load of its tensor, see the module docs) and the
/// dimension of it that the vectorized axis indexes, given the tiled spatial and reduction
/// axes. An operand read along its contiguous (last) dimension is preferred; otherwise the
/// operand is transposed by the copy (a `trans_b` matmul's `B[j, k]`, a dense layer's weights),
/// and one read without bounds (no pad value) over one read with them (a sub-pixel transposed
/// conv's weights past the kernel: the copy writes the pad value there).
pub(super) fn vector_operand(stage: &Stage, v: AxisId, rd: &[AxisId]) -> Option<(TensorId, usize)> {
    let loads = stage.body.loads();
    let vector = |(tensor, index, pad): &(TensorId, &[IndexExpr], Option<f64>)| {
        let bare = |ix: &IndexExpr| {
            ix.div == 1
                && ix.offset == 0
                && ix.terms.len() == 1
                && ix.terms[0].axis == v
                && ix.terms[0].coef == 1
        };
        let vdim = index.iter().position(bare)?;
        let lead = index.iter().enumerate().filter(|(d, _)| *d != vdim);
        let ok = index.iter().all(|ix| ix.div == 1)
            && loads.iter().filter(|(t, _, _)| t == tensor).count() == 1
            && lead
                .clone()
                .all(|(_, ix)| ix.div == 1 && ix.terms.iter().all(|t| t.axis != v))
            && lead
                .clone()
                .any(|(_, ix)| ix.terms.iter().any(|t| rd.contains(&t.axis)));
        ok.then_some((*tensor, vdim, vdim + 1 == index.len(), pad.is_none()))
    };
    let found: Vec<(TensorId, usize, bool, bool)> = loads.iter().filter_map(vector).collect();
    let pick = [(true, true), (false, true), (true, false), (false, false)]
        .iter()
        .find_map(|&(contiguous, dense)| {
            found
                .iter()
                .find(|f| (f.2 || !contiguous) && (f.3 || !dense))
        })?;
    Some((pick.0, pick.1))
}

/// Whether some index of an operand read at `index` uses `axis`.
pub(super) fn reads(index: &[IndexExpr], axis: AxisId) -> bool {
    index
        .iter()
        .any(|ix| ix.terms.iter().any(|t| t.axis == axis))
}

/// `pack_tile`: the packed block `S2_v·S3_v · Π R1_r` (over the reduction axes the operand
/// reads) fits in a quarter of L2, leaving room for the accumulators and the other operand.
pub(super) fn constraint(
    space: &mut Space,
    stage: &Stage,
    tensor: TensorId,
    sp: &[(Tiled, SplitGroupId)],
    rd: &[(Tiled, SplitGroupId)],
    cpu: &CpuSpec,
) -> Result<()> {
    let loads = stage.body.loads();
    let Some((_, index, _)) = loads.iter().find(|(t, _, _)| *t == tensor) else {
        return Ok(());
    };
    let mut terms = Vec::new();
    if let Some((_, gid)) = sp.last() {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        terms.extend([(LogTerm::Var(f[1]), 1.0), (LogTerm::Var(f[2]), 1.0)]);
    }
    for (_, gid) in rd.iter().filter(|(t, _)| reads(index, t.axis)) {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        terms.push((LogTerm::Var(f[0]), 1.0));
    }
    let elems = (cpu.l2_bytes / 16).max(1) as f64;
    space
        .add_log_product_constraint("pack_tile", &terms, elems)
        .map_err(err)?;
    Ok(())
}

impl Plan<'_> {
    /// The block extent of `axis` (`S2·S3` spatial, `R1` reduction), `None` when untiled.
    pub(super) fn tile_of(&self, b: &mut TreeBuilder, axis: usize) -> Option<ExprId> {
        if let Some(t) = self.sp.iter().find(|t| t.axis == axis) {
            return Some(mul(b.e(), t.levels[2], t.levels[3]));
        }
        self.rd.iter().find(|t| t.axis == axis).map(|t| t.levels[1])
    }

    /// `shift_d` of index `ix` (see the module docs).
    pub(super) fn shift(&self, b: &mut TreeBuilder, ix: &IndexExpr) -> ExprId {
        negative_shift(b, ix, |b, a| self.tile_of(b, a))
    }

    /// The index and pad value of the body's load of `tensor` (the `role` operand of a copy).
    pub(super) fn operand_load(
        &self,
        tensor: TensorId,
        role: &str,
    ) -> Result<(Vec<IndexExpr>, Option<f64>)> {
        let loads = self.stage.body.loads();
        let (_, index, pad) = loads
            .into_iter()
            .find(|(t, _, _)| *t == tensor)
            .ok_or_else(|| err(format!("the {role} operand is not loaded")))?;
        Ok((index.to_vec(), pad))
    }

    /// Declares `<T>.pack` for the vector operand `tensor` (loaded from `global`).
    pub(super) fn declare_pack(
        &self,
        b: &mut TreeBuilder,
        tensor: TensorId,
        vdim: usize,
        global: BufferId,
    ) -> Result<Pack> {
        let (index, pad) = self.operand_load(tensor, "packed")?;
        let ext: Vec<ExprId> = index
            .iter()
            .enumerate()
            .filter(|(d, _)| *d != vdim)
            .map(|(_, ix)| region_extent(b, ix, |b, a| self.tile_of(b, a)))
            .collect();
        let v = self.sp.last().ok_or_else(|| err("no vector axis"))?;
        let shape = [&[v.levels[2]], &ext[..], &[v.levels[3]]].concat();
        let name = self.def.tensors[tensor].name.clone();
        let prepared = self.preparable(tensor, &index, vdim);
        let local = match &prepared {
            // `[S0_v·S1_v, R0_r…, block]`: every block the kernel reads, in its layout.
            Some(read) => {
                let blocks = mul(b.e(), v.levels[0], v.levels[1]);
                let steps = read.iter().map(|&k| self.rd[k].levels[0]);
                let full: Vec<ExprId> = std::iter::once(blocks).chain(steps).chain(shape).collect();
                b.prepared(&format!("{name}.packed"), &full)
            }
            None => b.buffer(&format!("{name}.pack"), Scope::Local, &shape),
        };
        Ok(Pack {
            tensor,
            index,
            name,
            global,
            local,
            prepared,
            pad,
            vdim,
            ext,
        })
    }

    /// The reduction tiles read by a constant operand (a layer parameter) whose blocks do not
    /// depend on any spatial axis but the vectorized one: then every block can be packed once,
    /// ahead of the calls. `None` for other operands.
    fn preparable(&self, tensor: TensorId, index: &[IndexExpr], vdim: usize) -> Option<Vec<usize>> {
        if !self.def.tensors[tensor].constant {
            return None;
        }
        let spatial = self.stage.spatial.len();
        let lead = index.iter().enumerate().filter(|(d, _)| *d != vdim);
        if lead
            .clone()
            .any(|(_, ix)| ix.terms.iter().any(|t| t.axis < spatial))
        {
            return None;
        }
        Some(
            (0..self.rd.len())
                .filter(|&k| reads(index, self.rd[k].axis))
                .collect(),
        )
    }

    /// Copies the block of `pk` read by the `S2`/`R1`/`S3` loops at the tile `(s0, s1)` and
    /// reduction step `r0` into `<T>.pack` (a no-op when `pk` is prepared).
    pub(super) fn fetch(
        &self,
        b: &mut TreeBuilder,
        pk: &Pack,
        s0: &[ExprId],
        s1: &[ExprId],
        r0: &[ExprId],
    ) -> Result<()> {
        if pk.prepared.is_some() {
            return Ok(());
        }
        self.copy_block(b, pk, s0, s1, r0, &[])
    }

    /// The prepare statement of a prepared `pk`: a parallel loop over the vector column blocks
    /// and loops over the `R0` steps of the reduction axes it reads, each copying its block
    /// into `<T>.packed`. Nothing when `pk` is packed in the kernel.
    pub(super) fn prepare(&self, b: &mut TreeBuilder, pk: &Pack) -> Result<()> {
        let Some(read) = &pk.prepared else {
            return Ok(());
        };
        let v = self.sp.last().ok_or_else(|| err("no vector axis"))?;
        let blocks = mul(b.e(), v.levels[0], v.levels[1]);
        let mut res = Ok(());
        b.loop_(
            &format!("{}.block", pk.name),
            blocks,
            LoopKind::Parallel,
            |b, vb| {
                let specs: Vec<LoopSpec> = read
                    .iter()
                    .map(|&k| {
                        let t = &self.rd[k];
                        LoopSpec::new(format!("{}.0", t.name), t.levels[0], LoopKind::Serial)
                    })
                    .collect();
                loop_nest(b, &specs, &mut |b, steps| {
                    let zero = b.c(0.0);
                    let s0 = vec![zero; self.sp.len()];
                    let mut s1 = s0.clone();
                    if let Some(last) = s1.last_mut() {
                        *last = vb;
                    }
                    let mut r0 = vec![zero; self.rd.len()];
                    for (&k, &r) in read.iter().zip(steps) {
                        r0[k] = r;
                    }
                    let prefix = [&[vb], steps].concat();
                    if let Err(e) = self.copy_block(b, pk, &s0, &s1, &r0, &prefix) {
                        res = Err(e);
                    }
                });
            },
        );
        res
    }

    /// Copies the block at `(s0, s1, r0)` into `pk.local` at `[prefix…, block index]`.
    fn copy_block(
        &self,
        b: &mut TreeBuilder,
        pk: &Pack,
        s0: &[ExprId],
        s1: &[ExprId],
        r0: &[ExprId],
        prefix: &[ExprId],
    ) -> Result<()> {
        let base = self.block_base(b, s0, s1, r0);
        let lead: Vec<IndexExpr> = pk.lead().cloned().collect();
        let mut starts = Vec::with_capacity(lead.len());
        for ix in &lead {
            let s = self.shift(b, ix);
            starts.push(block_origin(b, ix, &base, s)?);
        }
        let v = self.sp.last().ok_or_else(|| err("no vector axis"))?;
        let vbase = base[v.axis];
        // Read along the operand's contiguous dimension: the column loop `p3` innermost and
        // vectorized when the vectorized axis indexes the last dimension, else outside the
        // leading loops (the copy transposes; its innermost loop reads consecutive floats).
        let contiguous = pk.vdim + 1 == pk.index.len();
        let p3_kind = if contiguous {
            LoopKind::Vectorized
        } else {
            LoopKind::Serial
        };
        let p3 = LoopSpec::new(format!("{}.p3", pk.name), v.levels[3], p3_kind);
        let mut specs = vec![LoopSpec::new(
            format!("{}.p2", pk.name),
            v.levels[2],
            LoopKind::Serial,
        )];
        if !contiguous {
            specs.push(p3.clone());
        }
        for (d, &e) in pk.ext.iter().enumerate() {
            specs.push(LoopSpec::new(
                format!("{}.p{d}_", pk.name),
                e,
                LoopKind::Serial,
            ));
        }
        if contiguous {
            specs.push(p3);
        }
        loop_nest(b, &specs, &mut |b, c| {
            let (p2, p3, mid) = if contiguous {
                (c[0], c[c.len() - 1], &c[1..c.len() - 1])
            } else {
                (c[0], c[1], &c[2..])
            };
            let mut g: Vec<ExprId> = starts
                .iter()
                .zip(mid)
                .map(|(&s, &m)| add(b.e(), s, m))
                .collect();
            let col = mul(b.e(), p2, v.levels[3]);
            let col = add(b.e(), col, p3);
            g.insert(pk.vdim, add(b.e(), vbase, col));
            let at = [prefix, &[p2], mid, &[p3]].concat();
            let value = match &self.pad {
                Some(pad) => pad.packed_value(b, pk.global, &pk.index, &g),
                None => Value::load(pk.global, &g),
            };
            let value = match pk.pad {
                Some(outside) => self.bounded(b, pk, &g, value, outside),
                None => value,
            };
            b.store(pk.local, &at, value);
        });
        Ok(())
    }

    /// `value` where the coordinates `g` of `pk` are inside the operand, else `outside`.
    fn bounded(
        &self,
        b: &mut TreeBuilder,
        pk: &Pack,
        g: &[ExprId],
        value: Value,
        outside: f64,
    ) -> Value {
        let shape = self.def.tensors[pk.tensor].shape.clone();
        let mut cond = None;
        for ((ix, &x), dim) in pk.index.iter().zip(g).zip(shape) {
            if is_bare_axis(ix) {
                continue;
            }
            let ext = b.c(dim as f64);
            let ok = in_bounds(b, x, ext);
            cond = Some(match cond {
                Some(c) => b.e().and(c, ok),
                None => ok,
            });
        }
        match cond {
            Some(c) => Value::select(c, value, Value::Const(outside as f32)),
            None => value,
        }
    }

    /// The micro-kernel's load of `pk` at the register-tile point `(s2, s3)` and reduction
    /// offset `r1` of the block `(s0, s1, r0)`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn packed_load(
        &self,
        b: &mut TreeBuilder,
        pk: &Pack,
        (s0, s1): (&[ExprId], &[ExprId]),
        s2: &[ExprId],
        s3: &[ExprId],
        r0: &[ExprId],
        r1: &[ExprId],
    ) -> Result<Value> {
        let local = self.block_offsets(b, s2, s3, r1);
        let n = s2.len();
        let mut idx = Vec::new();
        if let Some(read) = &pk.prepared {
            let v = self.sp.last().ok_or_else(|| err("no vector axis"))?;
            let vb = mul(b.e(), s0[n - 1], v.levels[1]);
            idx.push(add(b.e(), vb, s1[n - 1]));
            idx.extend(read.iter().map(|&k| r0[k]));
        }
        idx.push(s2[n - 1]);
        for ix in pk.lead() {
            let s = self.shift(b, ix);
            idx.push(block_index(b, ix, &local, s)?);
        }
        idx.push(s3[n - 1]);
        Ok(Value::load(pk.local, &idx))
    }
}
