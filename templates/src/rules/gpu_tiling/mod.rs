//! GPU multi-level tiling (`gpu-tiling`): Ansor's "SSSRRSRS" structure for matmul/conv-like
//! operators, adapted to one perfect thread nest per kernel.
//!
//! # When it applies
//! A CUDA target and a single-stage [`ComputeDef`] with a [`Combiner::Sum`] combiner, at
//! least one reduction axis, and *data reuse* (Ansor's `NeedsMultilevelTiling`): some load of
//! the body does not use every non-trivial axis of the stage. So matmul, batch matmul, every
//! conv2d (depthwise, grouped, dilated, strided), conv2d transpose and conv3d get it; pooling
//! (every load uses every axis), multi-stage operators and max reductions are left to other
//! rules.
//!
//! # Structure (sketch `gpu-tiling`)
//! Each non-trivial spatial axis `a` (extent > 1) is split into five levels
//! `[Q_a, V_a, T_a, I_a, J_a]` = (block, virtual thread, thread, outer inner, innermost) with the
//! split group `sp_<a>` of four free factors `sp_<a>_0 = V`, `sp_<a>_1 = T`, `sp_<a>_2 = I`,
//! `sp_<a>_3 = J` and the quotient `Q = E / (V·T·I·J)`. Each non-trivial reduction axis `r` is
//! split into three `[R0_r, R1_r, R2_r]` with the group `rd_<r>` (`rd_<r>_0 = R1`,
//! `rd_<r>_1 = R2`, quotient `R0`). Axes of extent 1 get no variables and no loops. Index
//! mapping (outermost level first, as in Ansor):
//! `global_a = (((q·V + v)·T + t)·I + i)·J + j` and `global_r = (r0·R1 + r1)·R2 + r2`.
//! Fused loops decompose row-major over the axes in stage order (first axis outermost).
//!
//! ```text
//! for bx in 0..Π Q @blockIdx.x
//!  for tx in 0..Π T @threadIdx.x
//!   for vt in 0..Π V @vthread { for a.3 in I_a … { for a.4 in J_a … { acc[v…, i…, j…] = 0 }}}
//!   for r.0 in R0_r …                         // one serial loop per reduction axis
//!     <T>.shared ← cooperative fetch of the block's region of every staged input
//!     barrier
//!     for r.1 in R1_r … (unroll_max_step = unroll) { for vt @vthread { for a.3 … {
//!       for r.2 in R2_r … { for a.4 … { acc[…] = acc[…] + body(loads from <T>.shared) }}}}}
//!     barrier
//!   for vt @vthread { for a.3 … { for a.4 … { out[global] = post(acc[…]) }}}   // epilogue
//! ```
//! The accumulator `<out>.local` is a [`tilegrad_symbolic::Scope::Local`] buffer of shape
//! `[V_a…, I_a…, J_a…]` (one copy per thread). Cooperative fetch of input `T`: its region for
//! one block tile and one `r0` step is, per dimension with affine index `Σ c·a + o`, of extent
//! `1 + Σ |c|·(tile_a − 1)` (tile = `V·T·I·J` for spatial axes, `R1·R2` for reduction axes)
//! starting at `o + Σ c·base_a + Σ_{c<0} c·(tile_a − 1)` (`base_a` = the tile's first global
//! coordinate); a compute-phase access reads `shared[global − region base]`. The fetch is
//! `for <T>.f in 0..⌈size / (Π T · vec_<T>)⌉ { for <T>.v in 0..vec_<T> @vectorized { flat =
//! (f·ΠT + tx)·vec + v; if flat < size { <T>.shared[unflatten(flat)] = global (pad value
//! outside the tensor) }}}`. Loads with a divisor (conv2d transpose's input) and tensors read
//! twice are not staged: they are read from global memory directly.
//!
//! Sketch `gpu-tiling/no-shared` is the same nest without staging (no fetch, no barriers, no
//! `vec_*` variables): every load reads global memory (for depthwise convs and tiny
//! reductions, where staging buys little).
//!
//! # Space
//! Split groups as above, `unroll ∈ {1, 16, 64, 512, 1024}` (the `auto_unroll_max_step` of the
//! compute nest's outermost loop; 1 = no unrolling), `vec_<T> ∈ {1, 2, 4}` (capped by the
//! target's `max_vector_bytes`). Linear constraints: `Π T ≤ max_threads_per_block`
//! (`threads`), `Π V ≤ max_vthread` (`vthreads`), every innermost factor `J_a`, `R2_r ≤ 64`
//! (`innermost_<a>`). Shared-memory size is not a space constraint (it is not linear); it is
//! computable from the tree's buffer shapes.

mod build;
mod stage;

use tilegrad_symbolic::{GpuSpec, LogTerm, Space, TreeBuilder};

use crate::compute::{AxisId, ComputeDef, Stage};
use crate::sketch::{GpuRule, Sketch};
use crate::{Result, TemplateError, Workload};

pub use super::lower::{is_tileable as applies, MAX_INNERMOST};

/// The values of the `unroll` variable.
pub const UNROLL_VALUES: [u64; 5] = [1, 16, 64, 512, 1024];
/// The candidate values of the `vec_<T>` variables (capped by the target's vector width).
pub const VECTOR_VALUES: [u64; 3] = [1, 2, 4];

/// The GPU multi-level tiling rule (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuTiling;

impl GpuRule for GpuTiling {
    const NAME: &'static str = "gpu-tiling";

    fn gpu_sketches(&self, w: &Workload, c: &ComputeDef, gpu: &GpuSpec) -> Result<Vec<Sketch>> {
        if !applies(c) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if !stage::stageable(&c.stages[0]).is_empty() {
            out.push(sketch(w, c, gpu, true)?);
        }
        out.push(sketch(w, c, gpu, false)?);
        Ok(out)
    }
}

/// One tiled spatial axis: `[Q, V, T, I, J]` and the block tile `V·T·I·J`.
#[derive(Clone, Debug)]
pub(crate) struct SpatialTiling {
    pub axis: AxisId,
    pub name: String,
    pub levels: [tilegrad_symbolic::ExprId; 5],
    pub tile: tilegrad_symbolic::ExprId,
}

/// One tiled reduction axis: `[R0, R1, R2]` and the tile `R1·R2` of one `r0` step.
#[derive(Clone, Debug)]
pub(crate) struct ReduceTiling {
    pub axis: AxisId,
    pub name: String,
    pub levels: [tilegrad_symbolic::ExprId; 3],
    pub tile: tilegrad_symbolic::ExprId,
}

fn space_err(e: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("gpu-tiling: {e}"))
}

/// Declares the split groups of `stage` in `space` and returns the tilings.
fn declare_tilings(
    b: &mut TreeBuilder,
    space: &mut Space,
    stage: &Stage,
    gpu: &GpuSpec,
) -> Result<(Vec<SpatialTiling>, Vec<ReduceTiling>)> {
    let mut sp = Vec::new();
    let (mut threads, mut vthreads, mut inner) = (Vec::new(), Vec::new(), Vec::new());
    for (axis, a) in stage
        .spatial
        .iter()
        .enumerate()
        .filter(|(_, a)| a.extent > 1)
    {
        let group = format!("sp_{}", a.name);
        let gid = space
            .add_split_group(b.e(), &group, a.extent as u64, 4)
            .map_err(space_err)?;
        let f: Vec<_> = (0..4)
            .map(|j| b.sched_var(&format!("{group}_{j}")))
            .collect();
        let q = space.quotient_expr(b.e(), gid).map_err(space_err)?;
        let vars = space.group(gid).map_err(space_err)?.factors().to_vec();
        vthreads.push((LogTerm::Var(vars[0]), 1.0));
        threads.push((LogTerm::Var(vars[1]), 1.0));
        inner.push((a.name.clone(), vars[3]));
        let tile = super::lower::product(b.e(), &f);
        sp.push(SpatialTiling {
            axis,
            name: a.name.clone(),
            levels: [q, f[0], f[1], f[2], f[3]],
            tile,
        });
    }
    let mut rd = Vec::new();
    let ns = stage.spatial.len();
    for (k, a) in stage
        .reduce
        .iter()
        .enumerate()
        .filter(|(_, a)| a.extent > 1)
    {
        let group = format!("rd_{}", a.name);
        let gid = space
            .add_split_group(b.e(), &group, a.extent as u64, 2)
            .map_err(space_err)?;
        let f: Vec<_> = (0..2)
            .map(|j| b.sched_var(&format!("{group}_{j}")))
            .collect();
        let q = space.quotient_expr(b.e(), gid).map_err(space_err)?;
        inner.push((
            a.name.clone(),
            space.group(gid).map_err(space_err)?.factors()[1],
        ));
        let tile = super::lower::product(b.e(), &f);
        rd.push(ReduceTiling {
            axis: ns + k,
            name: a.name.clone(),
            levels: [q, f[0], f[1]],
            tile,
        });
    }
    if !threads.is_empty() {
        space
            .add_log_product_constraint("threads", &threads, f64::from(gpu.max_threads_per_block))
            .map_err(space_err)?;
        space
            .add_log_product_constraint("vthreads", &vthreads, f64::from(gpu.max_vthread.max(1)))
            .map_err(space_err)?;
    }
    for (name, v) in inner {
        space
            .add_log_product_constraint(
                &format!("innermost_{name}"),
                &[(LogTerm::Var(v), 1.0)],
                MAX_INNERMOST,
            )
            .map_err(space_err)?;
    }
    Ok((sp, rd))
}

/// Builds the `gpu-tiling` sketch (`staged`) or the `gpu-tiling/no-shared` one.
fn sketch(workload: &Workload, def: &ComputeDef, gpu: &GpuSpec, staged: bool) -> Result<Sketch> {
    let stage = &def.stages[0];
    let mut b = TreeBuilder::new(&stage.name);
    let mut space = Space::new();
    let (sp, rd) = declare_tilings(&mut b, &mut space, stage, gpu)?;
    space
        .add_choice(b.e(), "unroll", &UNROLL_VALUES)
        .map_err(space_err)?;
    let unroll = b.sched_var("unroll");
    let max_vec = u64::from(gpu.max_vector_bytes / 4).max(1);
    let vec_values: Vec<u64> = VECTOR_VALUES
        .iter()
        .copied()
        .filter(|&v| v <= max_vec)
        .collect();
    let plan = build::Plan {
        def,
        stage,
        sp,
        rd,
        unroll,
        staged,
        vec_values,
    };
    let tree = plan.build(b, &mut space)?;
    tree.verify().map_err(space_err)?;
    let id = if staged {
        "gpu-tiling"
    } else {
        "gpu-tiling/no-shared"
    };
    Ok(Sketch {
        id: id.into(),
        workload: workload.clone(),
        tree,
        space,
    })
}
