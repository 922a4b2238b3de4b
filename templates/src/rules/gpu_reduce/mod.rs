//! GPU reductions and row operators (`gpu-reduce/*`).
//!
//! # When it applies
//! A CUDA target and a *row operator* not taken by [`super::gpu_tiling`]: a chain of
//! reduction stages ([`Combiner::Sum`] / [`Combiner::Max`]) whose spatial axes are the same
//! *row axes*, optionally followed by one final map stage ([`Combiner::None`]) over the row
//! axes then *column axes*; intermediates (the per-row results of earlier reductions) are
//! only read at the current row. So: pooling (one reduction over the window), global average
//! pooling (one reduction over `H·W`), softmax (max, exp-sum, normalize), layer norm (mean,
//! variance, normalize), RMS norm (mean square, normalize), and any Sum/Max reduction without
//! the data reuse multi-level tiling needs. The *columns* of a stage are its reduction axes
//! (reductions) or its spatial axes after the row axes (the map); several row or column axes
//! are fused row-major.
//!
//! # Sketch `gpu-reduce/thread-per-output`
//! One thread per row (per output element for single-stage reductions), launched over the
//! `M` rows as [`super::gpu_fused`] describes (no item loop; split or guarded path). Each
//! thread runs every stage serially: accumulator `<stage>.acc` (local `[1]`), reduction
//! loops named after the axes, then `<tensor>.local[0] = post(acc)` for an intermediate (a
//! per-thread register) or the output store; the map stage loops over its columns.
//!
//! ```text
//! for bx @blockIdx.x { for tx @threadIdx.x { row = bx·threads + tx; if row < M {
//!   softmax_max.acc[0] = -inf; for j { softmax_max.acc[0] = max(…, data[row, j]) }
//!   softmax_max.local[0] = softmax_max.acc[0]
//!   …; for j { softmax_norm[row, j] = exp(data[row, j] - softmax_max.local[0]) / … } }}}
//! ```
//!
//! # Sketch `gpu-reduce/cross-thread`
//! One block per row (`bx` over `M`, no variable), `threads` threads (choice
//! `{32, 64, …, 1024} ∩ ≤ max_threads_per_block`, powers of two). For every reduction stage in
//! turn: each thread folds the columns `c = c0·threads + tx` (`c0 < ⌈C / threads⌉`, guarded by
//! `c < C`) into its local `<stage>.acc[0]`, stores it to the shared `<stage>.red[tx]`, and the
//! block combines `<stage>.red` by a tree reduction of `log2(threads)` steps, each
//! `if tx < s { red[tx] = red[tx] ⊕ red[tx + s] }` with `s = threads / 2^(step+1)`, followed by
//! a barrier (one barrier after the initial store too). Every thread then reads the total
//! `red[0]` into its `<tensor>.local[0]` (the intermediate), or thread 0 writes the output
//! (single-stage reductions). The final map stage is spread over the threads the same way
//! (strided columns, guarded). Offered unless a reduction is *windowed* (a load index combines
//! a reduction axis with another axis, as in pooling, whose windows are small).
//!
//! # Space
//! Thread-per-output: the [`super::gpu_fused`] variables (no `vec`). Cross-thread: `threads`.

mod cross;
mod plan;
mod thread;

use tilegrad_symbolic::{BufferId, GpuSpec, Scope, TreeBuilder};

use crate::compute::ComputeDef;
use crate::rules::lower::declare_tensors;
use crate::sketch::{GpuRule, Sketch};
use crate::{Result, TemplateError, Workload};
use plan::RowPlan;

/// Id of the thread-per-output sketch.
pub const THREAD_PER_OUTPUT: &str = "gpu-reduce/thread-per-output";
/// Id of the cross-thread sketch.
pub const CROSS_THREAD: &str = "gpu-reduce/cross-thread";

/// The GPU reduction rule (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuReduce;

fn err(msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("gpu-reduce: {msg}"))
}

/// The sketch ids the rule makes for `def` (empty when it does not apply).
pub fn variants(def: &ComputeDef) -> Vec<&'static str> {
    if super::lower::is_tileable(def) {
        return Vec::new();
    }
    match RowPlan::analyze(def) {
        Some(p) if p.windowed => vec![THREAD_PER_OUTPUT],
        Some(_) => vec![THREAD_PER_OUTPUT, CROSS_THREAD],
        None => Vec::new(),
    }
}

impl GpuRule for GpuReduce {
    const NAME: &'static str = "gpu-reduce";

    fn gpu_sketches(&self, w: &Workload, c: &ComputeDef, gpu: &GpuSpec) -> Result<Vec<Sketch>> {
        let ids = variants(c);
        let Some(plan) = RowPlan::analyze(c) else {
            return Ok(Vec::new());
        };
        ids.into_iter()
            .map(|id| {
                let mut b = TreeBuilder::new(w.op().name());
                let bufs = Buffers::declare(&mut b, &plan)?;
                let (tree, space) = if id == CROSS_THREAD {
                    cross::build(b, &plan, &bufs, gpu)?
                } else {
                    thread::build(b, &plan, &bufs, gpu)?
                };
                tree.verify().map_err(err)?;
                Ok(Sketch {
                    id: id.into(),
                    workload: w.clone(),
                    tree,
                    space,
                })
            })
            .collect()
    }
}

/// The buffers of a row-operator kernel.
pub(crate) struct Buffers {
    /// Global buffers per tensor (inputs and output).
    pub global: Vec<Option<BufferId>>,
    /// Per tensor: the local `<tensor>.local[1]` holding an intermediate's value at the row.
    pub locals: Vec<Option<BufferId>>,
    /// Per stage of the plan: the local accumulator `<stage>.acc[1]` (reductions only).
    pub accs: Vec<Option<BufferId>>,
    /// The output buffer.
    pub out: BufferId,
}

impl Buffers {
    fn declare(b: &mut TreeBuilder, plan: &RowPlan<'_>) -> Result<Buffers> {
        let global = declare_tensors(b, plan.def);
        let one = b.c(1.0);
        let mut locals = vec![None; plan.def.tensors.len()];
        let mut accs = Vec::new();
        let mut out = None;
        let last = plan.stages.len() - 1;
        for (k, rs) in plan.stages.iter().enumerate() {
            let s = rs.stage;
            accs.push(
                rs.reduce
                    .then(|| b.buffer(&format!("{}.acc", s.name), Scope::Local, &[one])),
            );
            if k == last {
                out = global.get(s.output).copied().flatten();
            } else {
                let name = &plan.def.tensors[s.output].name;
                locals[s.output] = Some(b.buffer(&format!("{name}.local"), Scope::Local, &[one]));
            }
        }
        Ok(Buffers {
            global,
            locals,
            accs,
            out: out.ok_or_else(|| err("the last stage does not write the output"))?,
        })
    }
}

/// Checks the spec has room for at least one thread (used by both builders).
pub(crate) fn check_gpu(gpu: &GpuSpec) -> Result<()> {
    if gpu.max_threads_per_block == 0 {
        return Err(err("the target allows no threads per block"));
    }
    Ok(())
}
