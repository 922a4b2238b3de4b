//! CPU multi-level tiling (`cpu-tiling`): Ansor's CPU "SSRSRS" structure for matmul/conv-like
//! operators, with all outer tiles fused into one parallel loop.
//!
//! # When it applies
//! A CPU target and the operators of [`super::lower::is_tileable`]: a single stage with a
//! [`crate::Combiner::Sum`] combiner, at least one reduction axis and data reuse (matmul, batch
//! matmul, every conv2d, conv2d transpose, conv3d). Pooling, multi-stage operators and
//! reductions without reuse are left to [`super::cpu_simple`].
//!
//! # Structure (sketch `cpu-tiling`)
//! Each spatial axis `a` of extent > 1 is split into four levels `[S0_a, S1_a, S2_a, S3_a]`
//! with the split group `sp_<a>` (`sp_<a>_0 = S1`, `sp_<a>_1 = S2`, `sp_<a>_2 = S3`, quotient
//! `S0 = E / (S1·S2·S3)`); each reduction axis `r` of extent > 1 into `[R0_r, R1_r]` with the
//! group `rd_<r>` (`rd_<r>_0 = R1`, quotient `R0`). Axes of extent 1 get no variables and no
//! loops. Coordinates: `global_a = ((s0·S1 + s1)·S2 + s2)·S3 + s3`, `global_r = r0·R1 + r1`.
//!
//! ```text
//! for i.0_j.0 in 0..Π S0 @parallel           // all S0 fused; unflattened row-major
//!  for i.1 in S1_i { for j.1 in S1_j {
//!   for i.2 … { for j.2 … { for i.3 … { for j.3 … @vectorized { C.local[…] = 0 }}}}
//!   for k.0 in R0_k (unroll_max_step = unroll) {
//!    for i.2 in S2_i { for j.2 in S2_j { for k.1 in R1_k {
//!     for i.3 in S3_i { for j.3 in S3_j @vectorized { C.local[i.2, j.2, i.3, j.3] += body }}}}}}
//!   for i.2 … { for j.2 … { for i.3 … { for j.3 … @vectorized { C[global] = post(C.local[…]) }}}}
//!  }}
//! ```
//! The accumulator `<out>.local` ([`Scope::Local`], shape `[S2_a…, S3_a…]`) holds the
//! sub-tile of one `S1` iteration, so the epilogue (`post`) runs once per output element.
//! The vectorized loop is the `S3` loop of the last tiled spatial axis, i.e. the output's
//! contiguous dimension (`j` of matmul, `k` of an NHWC conv). The `unroll_max_step` pragma
//! sits on the outermost loop of the reduction nest (the first `R0` loop; the first `S2`
//! loop when no reduction axis is tiled).
//!
//! Sketch `cpu-tiling/no-cache` is the same nest without the accumulator: the output tile is
//! zeroed in place (`C[global] = 0` over `S2`, `S3`), the reduction accumulates into `C`
//! directly, and, only when the epilogue is not the identity, an in-place pass
//! `C[global] = post(C[global])` over the same sub-tile follows the reduction. It saves the
//! copy-out pass and the accumulator's footprint: it wins when the reduction is short
//! (depthwise convs, 1×1 convs with few channels, small `K`) so that init and write-back
//! are a large share of the work, and when a large `S2·S3` tile would not fit in registers
//! anyway (Ansor generates this sketch too, the cached one only with its cache-write rule).
//!
//! Sketch `cpu-tiling/packed` is the cached nest with the *vector operand* (the load the
//! micro-kernel reads with vector loads: matmul's `B`, a conv's weights) copied, at every
//! `R0` step, into a contiguous per-thread block `<T>.pack` that the `S2`/`R1`/`S3` loops then
//! read (`cpu_pack.rs` has the layout and the index arithmetic):
//!
//! ```text
//!   for k.0 in R0_k (unroll_max_step = unroll) {
//!    for B.p2 in S2_j { for B.p0_ in R1_k { for B.p3 in S3_j @vectorized {
//!      B.pack[p2, p0, p3] = B[k.0·R1 + p0, tile_j + p2·S3_j + p3] }}}
//!    for i.2 … { for j.2 … { for k.1 … { for i.3 … { for j.3 … @vectorized {
//!      C.local[…] += A[…] · B.pack[j.2, k.1, j.3] }}}}}}
//! ```
//! Unpacked, consecutive `k` rows of `B` are `N` floats apart, so for power-of-two `N` the
//! rows of one block share a few L1 sets; packed they are `S3_j` floats apart. It is generated
//! only when the stage has a vector operand. A *transposed* vector operand (the vectorized axis
//! indexes one of its leading dimensions: `B[j, k]` of a `trans_b` matmul, the `[N, K]` weights
//! of every dense layer) is transposed by the copy, and then `packed` is the rule's only
//! sketch: the unpacked nests would read it with strided vector loads.
//!
//! Sketch `cpu-tiling/padded` is `packed` tiled over *padded* extents: an axis whose extent has
//! few small divisors (a prime `M` or `K`, an `N` that is no multiple of the vector width) is
//! tiled as if it were a little longer, the copy into the pack fills zeros beyond a padded
//! reduction axis, the other loads read at clamped coordinates and the write-back stores only
//! the real points (`cpu_pad.rs` has the rules). It is generated only when some axis is
//! awkward, beside the unpadded sketches.
//!
//! Sketch `cpu-tiling/staged` is the cached nest with the *padded operand* (a conv's input with
//! zero padding) copied once per `S1` iteration, halo and padding zeros included, into a
//! per-thread block `<T>.stage` that the micro-kernel reads without bounds tests
//! (`cpu_stage.rs`). It is generated only when the stage has such an operand.
//!
//! Sketch `cpu-tiling/dot` vectorizes along a reduction axis that every operand reads
//! contiguously (a `trans_b` matmul's `k`): `cpu_dot.rs` has its structure and space.
//!
//! # Space
//! The split groups above, `unroll ∈ {1, 16, 64, 512}`, and linear constraints: every
//! innermost factor `S3_a`, `R1_r ≤ 64` (`innermost_<a>`; this bounds the vector length);
//! the register tile `Π S3_a ≤ 12 · lanes` (`register_tile`: at most 12 vector accumulators)
//! and `≥ 8 · lanes` where some tile of the extents' divisors allows it (`register_min`; like
//! Ansor's innermost limits, these keep random samples in the fast region); the vectorized
//! `S3 ≥ lanes` when its extent is a multiple of the vector width (`vector_lanes`); `Π S0_a ≥
//! cores` when the extents allow it (`parallel`, so every core gets work); and for
//! `cpu-tiling` the accumulator size `Π S2_a·S3_a ≤ L2 bytes / 16` (`local_tile`). Packed, the
//! panel depth `R1` may reach 256 (BLIS's `kc`) and the pack `S2_v·S3_v·Π R1 ≤ L2 bytes / 16`
//! (`pack_tile`).
//!
//! The `S3` loops form the register tile: the vectorized one innermost, the other `S3` loops
//! [`LoopKind::Unrolled`], so code generation keeps the `Π S3_a / lanes` accumulators in
//! vector registers across the `R1` loop (a register-blocked micro-kernel: one broadcast of
//! the row operand and one vector load of the contiguous operand per accumulator row/column).

use tilegrad_symbolic::{
    CpuSpec, ExprId, LogTerm, LoopKind, LoopTree, Scope, Space, Target, TreeBuilder, Value,
};

use super::lower::{
    declare_tensors, flatten, loop_nest, lower_load, lower_value, lower_value_with, product,
    unflatten, LoopSpec,
};
use super::lower::{is_tileable as applies, MAX_INNERMOST};
use crate::compute::{AxisId, ComputeDef, Stage, ValueExpr};
use crate::sketch::{Sketch, SketchRule};

#[path = "cpu_dot.rs"]
mod dot;
#[path = "cpu_pack.rs"]
mod pack;
#[path = "cpu_pad.rs"]
mod pad;
#[path = "cpu_registers.rs"]
mod registers;
#[path = "cpu_stage.rs"]
mod staging;
use crate::{Result, TemplateError, Workload};
use registers::register_constraints;
pub use registers::{MIN_ACCUMULATORS, REGISTER_ACCUMULATORS};

/// The most accumulator elements of a `local_tile` (the block one thread accumulates over the
/// whole reduction): a quarter of L2. The block lives in L2 (the micro-kernel reloads its
/// registers from it once per panel); larger blocks read the operands fewer times.
pub fn local_tile_elems(cpu: &CpuSpec) -> u64 {
    (cpu.l2_bytes / 16).max(1)
}

/// The values of the `unroll` variable (`auto_unroll_max_step`; 1 = no unrolling).
pub const UNROLL_VALUES: [u64; 4] = [1, 16, 64, 512];

/// The CPU multi-level tiling rule (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTiling;

impl SketchRule for CpuTiling {
    fn name(&self) -> &'static str {
        "cpu-tiling"
    }

    fn generate(
        &self,
        workload: &Workload,
        compute: &ComputeDef,
        target: &Target,
    ) -> Result<Vec<Sketch>> {
        let Some(cpu) = target.cpu() else {
            return Ok(Vec::new());
        };
        if !applies(compute) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for v in [
            Variant::Cached,
            Variant::NoCache,
            Variant::Packed,
            Variant::Padded,
            Variant::Staged,
        ] {
            out.extend(sketch(workload, compute, cpu, v)?);
        }
        out.extend(dot::sketch(workload, compute, cpu)?);
        Ok(out)
    }
}

/// The three sketches of the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// `cpu-tiling`: register-tile accumulator.
    Cached,
    /// `cpu-tiling/no-cache`: accumulation in the output.
    NoCache,
    /// `cpu-tiling/packed`: as `Cached`, with the vector operand packed per `R0` step.
    Packed,
    /// `cpu-tiling/padded`: as `Packed`, over padded extents of the awkward axes.
    Padded,
    /// `cpu-tiling/staged`: as `Cached`, with the padded operand staged per `R0` step.
    Staged,
}

impl Variant {
    fn id(self) -> &'static str {
        match self {
            Variant::Cached => "cpu-tiling",
            Variant::NoCache => "cpu-tiling/no-cache",
            Variant::Packed => "cpu-tiling/packed",
            Variant::Padded => "cpu-tiling/padded",
            Variant::Staged => "cpu-tiling/staged",
        }
    }
}

/// One tiled axis: its levels, outermost (the quotient) first.
#[derive(Clone, Debug)]
struct Tiled {
    axis: AxisId,
    name: String,
    levels: Vec<ExprId>,
}

fn err(e: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("cpu-tiling: {e}"))
}

/// Declares `<prefix>_<axis>` split groups of `n` free factors for every axis of extent > 1
/// in `axes` (ids from `first`); returns the tilings and the innermost factor of each.
fn declare_groups(
    b: &mut TreeBuilder,
    space: &mut Space,
    axes: &[crate::compute::Axis],
    first: AxisId,
    prefix: &str,
    n: usize,
) -> Result<Vec<(Tiled, tilegrad_symbolic::SplitGroupId)>> {
    let mut out = Vec::new();
    for (k, a) in axes.iter().enumerate().filter(|(_, a)| a.extent > 1) {
        let group = format!("{prefix}_{}", a.name);
        let gid = space
            .add_split_group(b.e(), &group, a.extent as u64, n)
            .map_err(err)?;
        let mut levels = vec![space.quotient_expr(b.e(), gid).map_err(err)?];
        levels.extend((0..n).map(|j| b.sched_var(&format!("{group}_{j}"))));
        let tiled = Tiled {
            axis: first + k,
            name: a.name.clone(),
            levels,
        };
        out.push((tiled, gid));
    }
    Ok(out)
}

/// Builds one sketch of the rule; `None` for `Packed` when the stage has no vector operand.
fn sketch(
    workload: &Workload,
    def: &ComputeDef,
    cpu: &CpuSpec,
    variant: Variant,
) -> Result<Option<Sketch>> {
    let cached = variant != Variant::NoCache;
    let real = &def.stages[0];
    let padded = match variant {
        Variant::Padded => match padding(real, cpu) {
            Some(p) => Some(p),
            None => return Ok(None),
        },
        _ => None,
    };
    let (stage, pad) = match &padded {
        Some((s, p)) => (s, Some(p.clone())),
        None => (real, None),
    };
    let mut b = TreeBuilder::new(&stage.name);
    let mut space = Space::new();
    let sp = declare_groups(&mut b, &mut space, &stage.spatial, 0, "sp", 3)?;
    let ns = stage.spatial.len();
    let rd = declare_groups(&mut b, &mut space, &stage.reduce, ns, "rd", 1)?;
    let mut tile = Vec::new();
    for (t, gid) in sp.iter().chain(&rd) {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        let inner = f[f.len() - 1];
        // Packed, the `R1` block is the panel depth (BLIS's `kc`), up to 4× longer.
        let max = if matches!(variant, Variant::Packed | Variant::Padded) && f.len() == 1 {
            4.0 * MAX_INNERMOST
        } else {
            MAX_INNERMOST
        };
        space
            .add_log_product_constraint(
                &format!("innermost_{}", t.name),
                &[(LogTerm::Var(inner), 1.0)],
                max,
            )
            .map_err(err)?;
        if f.len() == 3 {
            tile.extend([(LogTerm::Var(f[1]), 1.0), (LogTerm::Var(f[2]), 1.0)]);
        }
    }
    register_constraints(&mut space, stage, &sp, cpu)?;
    let sp_t: Vec<Tiled> = sp.iter().map(|(t, _)| t.clone()).collect();
    let rd_t: Vec<Tiled> = rd.iter().map(|(t, _)| t.clone()).collect();
    let rd_axes: Vec<AxisId> = rd_t.iter().map(|t| t.axis).collect();
    let operand = sp_t
        .last()
        .and_then(|v| pack::vector_operand(stage, v.axis, &rd_axes));
    let transposed = operand.is_some_and(|(t, vdim)| {
        let rank = def.tensors[t].shape.len();
        vdim + 1 != rank
    });
    let packed = match variant {
        Variant::Packed | Variant::Padded => operand,
        // Unpacked, a transposed vector operand would be read with strided vector loads.
        _ if transposed => return Ok(None),
        _ => None,
    };
    match (variant, packed) {
        (Variant::Packed | Variant::Padded, None) => return Ok(None),
        (_, Some((tensor, _))) => pack::constraint(&mut space, stage, tensor, &sp, &rd, cpu)?,
        _ => {}
    }
    let staged = match variant {
        Variant::Staged => match staging::padded_operand(stage, &rd_axes) {
            Some(t) => Some(t),
            None => return Ok(None),
        },
        _ => None,
    };
    if let Some(t) = staged {
        if !staging::constraint(&mut space, stage, t, &sp, cpu)? {
            return Ok(None);
        }
    }
    if cached && !tile.is_empty() {
        let elems = local_tile_elems(cpu) as f64;
        space
            .add_log_product_constraint("local_tile", &tile, elems)
            .map_err(err)?;
    }
    space
        .add_choice(b.e(), "unroll", &UNROLL_VALUES)
        .map_err(err)?;
    let unroll = b.sched_var("unroll");
    let plan = Plan {
        def,
        stage,
        sp: sp_t,
        rd: rd_t,
        unroll,
        cached,
        packed,
        pad,
        staged,
    };
    let tree = plan.build(b)?;
    tree.verify().map_err(err)?;
    Ok(Some(Sketch {
        id: variant.id().into(),
        workload: workload.clone(),
        tree,
        space,
    }))
}

/// The stage over padded extents and its padding, for the vector operand of `stage`; `None`
/// when it has none or no axis is awkward (see `cpu_pad.rs`).
fn padding(stage: &Stage, cpu: &CpuSpec) -> Option<(Stage, pad::Padding)> {
    let ns = stage.spatial.len();
    let v = stage.spatial.iter().rposition(|a| a.extent > 1)?;
    let rd: Vec<AxisId> = (0..stage.reduce.len())
        .filter(|&k| stage.reduce[k].extent > 1)
        .map(|k| ns + k)
        .collect();
    let (tensor, _) = pack::vector_operand(stage, v, &rd)?;
    let loads = stage.body.loads();
    let (_, index, _) = loads.iter().find(|(t, _, _)| *t == tensor)?;
    let lanes = (cpu.simd_bytes / 4).max(1) as usize;
    pad::Padding::plan(stage, tensor, index, v, lanes)
}

/// Everything needed to build one sketch's tree.
struct Plan<'a> {
    def: &'a ComputeDef,
    stage: &'a Stage,
    sp: Vec<Tiled>,
    rd: Vec<Tiled>,
    unroll: ExprId,
    cached: bool,
    /// The vector operand packed per `R0` step and the dimension the vectorized axis indexes
    /// (`cpu-tiling/packed`).
    packed: Option<(crate::compute::TensorId, usize)>,
    /// The real extents of the padded axes (`cpu-tiling/padded`).
    pad: Option<pad::Padding>,
    /// The padded operand staged per `R0` step (`cpu-tiling/staged`).
    staged: Option<crate::compute::TensorId>,
}

impl Plan<'_> {
    fn level(&self, k: usize) -> Vec<ExprId> {
        self.sp.iter().map(|s| s.levels[k]).collect()
    }

    /// Serial loops `<a>.<k>` over level `k` of `tiles`. With `vec` (the register tile `S3`)
    /// the last one is vectorized and the others are unrolled, so that the sub-tile is a
    /// block of register accumulators.
    fn specs(tiles: &[Tiled], k: usize, vec: bool) -> Vec<LoopSpec> {
        let kind = if vec {
            LoopKind::Unrolled
        } else {
            LoopKind::Serial
        };
        let mut specs: Vec<LoopSpec> = tiles
            .iter()
            .map(|t| LoopSpec::new(format!("{}.{k}", t.name), t.levels[k], kind))
            .collect();
        if let Some(last) = specs.last_mut().filter(|_| vec) {
            last.kind = LoopKind::Vectorized;
        }
        specs
    }

    /// The `S2`, `S3` register loops (init and write-back).
    fn register_specs(&self) -> Vec<LoopSpec> {
        [
            Self::specs(&self.sp, 2, false),
            Self::specs(&self.sp, 3, true),
        ]
        .concat()
    }

    /// Global coordinates of every axis (zero for untiled ones) from per-tile levels.
    fn coords(&self, b: &mut TreeBuilder, sp: &[[ExprId; 4]], rd: &[[ExprId; 2]]) -> Vec<ExprId> {
        let zero = b.c(0.0);
        let mut g = vec![zero; self.stage.spatial.len() + self.stage.reduce.len()];
        for (t, v) in self.sp.iter().zip(sp) {
            g[t.axis] = flatten(b.e(), v, &t.levels);
        }
        for (t, v) in self.rd.iter().zip(rd) {
            g[t.axis] = flatten(b.e(), v, &t.levels);
        }
        g
    }

    fn build(&self, mut b: TreeBuilder) -> Result<LoopTree> {
        let bufs = declare_tensors(&mut b, self.def);
        let out = bufs
            .get(self.stage.output)
            .copied()
            .flatten()
            .ok_or_else(|| err("no output buffer"))?;
        let pack = match self.packed {
            Some((t, vdim)) => {
                let global = bufs
                    .get(t)
                    .copied()
                    .flatten()
                    .ok_or_else(|| err("the packed operand has no buffer"))?;
                Some(self.declare_pack(&mut b, t, vdim, global)?)
            }
            None => None,
        };
        let staged = match self.staged {
            Some(t) => {
                let global = bufs
                    .get(t)
                    .copied()
                    .flatten()
                    .ok_or_else(|| err("the staged operand has no buffer"))?;
                Some(self.declare_stage(&mut b, t, global)?)
            }
            None => None,
        };
        let acc = if self.cached {
            let mut shape = [self.level(2), self.level(3)].concat();
            if shape.is_empty() {
                shape.push(b.c(1.0));
            }
            let name = format!("{}.local", self.def.tensors[self.stage.output].name);
            Some(b.buffer(&name, Scope::Local, &shape))
        } else {
            None
        };
        if let Some(pk) = &pack {
            self.prepare(&mut b, pk)?;
        }
        let n0 = product(b.e(), &self.level(0));
        let fused: Vec<String> = self.sp.iter().map(|s| format!("{}.0", s.name)).collect();
        let fused = if fused.is_empty() {
            "fused".to_string()
        } else {
            fused.join("_")
        };
        let n_sp = self.stage.spatial.len();
        let ns = self.sp.len();
        let nr = self.rd.len();
        let mut res: Result<()> = Ok(());
        b.loop_(&fused, n0, LoopKind::Parallel, |b, p| {
            let s0 = unflatten(b.e(), p, &self.level(0));
            loop_nest(b, &Self::specs(&self.sp, 1, false), &mut |b, s1| {
                // Spatial coordinates of the sub-tile point (s2, s3).
                let at = |b: &mut TreeBuilder, s2: &[ExprId], s3: &[ExprId], r: &[[ExprId; 2]]| {
                    let sp: Vec<[ExprId; 4]> =
                        (0..ns).map(|k| [s0[k], s1[k], s2[k], s3[k]]).collect();
                    self.coords(b, &sp, r)
                };
                let acc_index = |b: &mut TreeBuilder, s2: &[ExprId], s3: &[ExprId]| {
                    let idx = [s2, s3].concat();
                    if idx.is_empty() {
                        vec![b.c(0.0)]
                    } else {
                        idx
                    }
                };
                // Init.
                loop_nest(b, &self.register_specs(), &mut |b, v| {
                    let (s2, s3) = v.split_at(ns);
                    match acc {
                        Some(acc) => {
                            let idx = acc_index(b, s2, s3);
                            b.init(acc, &idx, Value::Const(0.0));
                        }
                        None => {
                            let g = at(b, s2, s3, &[]);
                            b.init(out, &g[..n_sp], Value::Const(0.0));
                        }
                    }
                });
                // Reduction: R0 (unrolled), [pack], S2, R1, S3.
                let mut r0_specs = Self::specs(&self.rd, 0, false);
                let inner_specs = [
                    Self::specs(&self.sp, 2, false),
                    Self::specs(&self.rd, 1, false),
                    Self::specs(&self.sp, 3, true),
                ]
                .concat();
                let mut specs = [r0_specs.clone(), inner_specs.clone()].concat();
                if let Some(first) = specs.first_mut() {
                    first.unroll = Some(self.unroll);
                }
                if let Some(first) = r0_specs.first_mut() {
                    first.unroll = Some(self.unroll);
                }
                let body = |b: &mut TreeBuilder, r0: &[ExprId], v: &[ExprId]| {
                    let (s2, rest) = v.split_at(ns);
                    let (r1, s3) = rest.split_at(nr);
                    let r: Vec<[ExprId; 2]> = (0..nr).map(|k| [r0[k], r1[k]]).collect();
                    let g = at(b, s2, s3, &r);
                    // Padded, every load but the packed one reads at clamped coordinates.
                    let g = match &self.pad {
                        Some(pad) => pad.clamp(b, &g),
                        None => g,
                    };
                    let value = lower_value_with(
                        b,
                        &self.stage.body,
                        &g,
                        None,
                        &mut |b, tensor, index, pad| match (&pack, &staged) {
                            (Some(pk), _) if pk.tensor == tensor => {
                                self.packed_load(b, pk, (&s0, s1), s2, s3, r0, r1)
                            }
                            (_, Some(st)) if st.tensor == tensor => {
                                self.staged_load(b, st, s2, s3, &r)
                            }
                            _ => {
                                let buf =
                                    bufs.get(tensor).copied().flatten().ok_or_else(|| {
                                        err(format!("tensor {tensor} has no buffer"))
                                    })?;
                                lower_load(b, self.def, buf, tensor, index, pad, &g)
                            }
                        },
                    );
                    match acc {
                        Some(acc) => {
                            let idx = acc_index(b, s2, s3);
                            b.accumulate(acc, &idx, value?);
                        }
                        None => b.accumulate(out, &g[..n_sp], value?),
                    }
                    Ok(())
                };
                let mut keep = |r: Result<()>| {
                    if let Err(e) = r {
                        res = Err(e);
                    }
                };
                if let Some(st) = &staged {
                    keep(self.fetch_stage(b, st, &s0, s1));
                }
                match &pack {
                    None => loop_nest(b, &specs, &mut |b, v| {
                        let (r0, rest) = v.split_at(nr);
                        keep(body(b, r0, rest));
                    }),
                    Some(pk) => loop_nest(b, &r0_specs, &mut |b, r0| {
                        keep(self.fetch(b, pk, &s0, s1, r0));
                        loop_nest(b, &inner_specs, &mut |b, v| keep(body(b, r0, v)));
                    }),
                }
                // Write-back with the epilogue.
                if acc.is_none() && self.stage.post == ValueExpr::Acc {
                    return;
                }
                loop_nest(b, &self.register_specs(), &mut |b, v| {
                    let (s2, s3) = v.split_at(ns);
                    let g = at(b, s2, s3, &[]);
                    let a = match acc {
                        Some(acc) => {
                            let idx = acc_index(b, s2, s3);
                            Value::load(acc, &idx)
                        }
                        None => Value::load(out, &g[..n_sp]),
                    };
                    let value =
                        lower_value(b, self.def, &bufs, &self.stage.post, &g[..n_sp], Some(&a));
                    let value = match value {
                        Ok(value) => value,
                        Err(e) => {
                            res = Err(e);
                            return;
                        }
                    };
                    // Padded, only the points inside the real extents are stored.
                    match self.pad.as_ref().and_then(|pad| pad.stored(b, &g)) {
                        Some(cond) => b.if_(cond, |b| b.store(out, &g[..n_sp], value)),
                        None => b.store(out, &g[..n_sp], value),
                    }
                });
            });
        });
        res?;
        Ok(b.finish())
    }
}
