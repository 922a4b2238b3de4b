//! The fused one-dimensional launch shared by `gpu-elementwise` and
//! `gpu-reduce/thread-per-output`: a flat index space of `N` work items (elements, or
//! rows of a row operator) split into `[blocks, threads, items]`.
//!
//! ```text
//! for bx in 0..blocks @blockIdx.x
//!  for tx in 0..threads @threadIdx.x
//!   for v in 0..items @vectorized           // only with items (elementwise)
//!    idx = (bx·threads + tx)·items + v
//!    if idx < N { … }                       // only on the guarded path
//! ```
//!
//! Two parameterisations, picked from `N` and the target:
//! * **Split** (`N` has a divisor `d` with `warp_size ≤ d ≤ max_threads_per_block`): the
//!   split group `sp_fused` of extent `N` with factors `sp_fused_0` = threads and (with items)
//!   `sp_fused_1` = items; blocks is the quotient, so every index is in range and there is no
//!   guard. Constraints: `threads` (`sp_fused_0 ≤ max_threads_per_block`), `min_threads`
//!   (`sp_fused_0 ≥ warp_size`) and `vec` (`sp_fused_1 ≤ max_vector_bytes / 4`).
//! * **Guarded** (any `N`, e.g. a prime): choices `threads ∈ {32, …, 1024} ∩ [1,
//!   max_threads_per_block]` and (with items) `vec ∈ {1, 2, 4} ∩ [1, max_vector_bytes / 4]`;
//!   `blocks = ⌈N / (threads·vec)⌉` and the body runs under `if idx < N`.

use tilegrad_symbolic::looptree::Axis3;
use tilegrad_symbolic::{ExprId, GpuSpec, LogTerm, LoopKind, Space, TreeBuilder};

use super::lower::{add, ceildiv, mul};
use crate::{Result, TemplateError};

/// Candidate threads per block of the guarded launch and of cross-thread reductions.
pub const THREAD_VALUES: [u64; 6] = [32, 64, 128, 256, 512, 1024];
/// Candidate items (vector width) per thread of the elementwise launch.
pub const VECTOR_VALUES: [u64; 3] = [1, 2, 4];

/// [`THREAD_VALUES`] allowed by `gpu` (at most `max_threads_per_block`); never empty: the
/// largest power of two within the limit when it is below 32. Always powers of two.
pub fn thread_values(gpu: &GpuSpec) -> Vec<u64> {
    let max = u64::from(gpu.max_threads_per_block.max(1));
    let v: Vec<u64> = THREAD_VALUES
        .iter()
        .copied()
        .filter(|&t| t <= max)
        .collect();
    if v.is_empty() {
        vec![1 << max.ilog2()]
    } else {
        v
    }
}

/// Largest vector width (in f32 elements) of `gpu` (at least 1).
pub fn max_vector(gpu: &GpuSpec) -> u64 {
    u64::from(gpu.max_vector_bytes / 4).max(1)
}

/// Whether `n` has a divisor in `[warp_size, max_threads_per_block]` (the split path).
pub fn has_thread_divisor(n: u64, gpu: &GpuSpec) -> bool {
    let lo = u64::from(gpu.warp_size.max(1));
    let hi = u64::from(gpu.max_threads_per_block);
    (lo..=hi.min(n)).any(|d| n.is_multiple_of(d))
}

/// A declared fused launch (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct FusedLaunch {
    /// Number of work items `N`.
    pub n: u64,
    /// Grid size.
    pub blocks: ExprId,
    /// Threads per block.
    pub threads: ExprId,
    /// Items per thread (`None`: no item loop).
    pub items: Option<ExprId>,
    /// Whether the body runs under `if idx < N`.
    pub guarded: bool,
}

impl FusedLaunch {
    /// Declares the variables of a launch over `n` items in `space` (with an item loop when
    /// `with_items`); `rule` prefixes error messages.
    pub(crate) fn declare(
        b: &mut TreeBuilder,
        space: &mut Space,
        n: u64,
        gpu: &GpuSpec,
        with_items: bool,
        rule: &str,
    ) -> Result<Self> {
        let err =
            |e: tilegrad_symbolic::SymbolicError| TemplateError::Schedule(format!("{rule}: {e}"));
        let max_vec = max_vector(gpu);
        if has_thread_divisor(n, gpu) {
            let nf = if with_items { 2 } else { 1 };
            let gid = space
                .add_split_group(b.e(), "sp_fused", n, nf)
                .map_err(err)?;
            let vars = space.group(gid).map_err(err)?.factors().to_vec();
            let threads = b.schedule_var(vars[0]);
            let items = with_items.then(|| b.schedule_var(vars[1]));
            let blocks = space.quotient_expr(b.e(), gid).map_err(err)?;
            let t = [(LogTerm::Var(vars[0]), 1.0)];
            space
                .add_log_product_constraint("threads", &t, f64::from(gpu.max_threads_per_block))
                .map_err(err)?;
            let inv = [(LogTerm::Var(vars[0]), -1.0)];
            space
                .add_log_product_constraint(
                    "min_threads",
                    &inv,
                    1.0 / f64::from(gpu.warp_size.max(1)),
                )
                .map_err(err)?;
            if with_items {
                let v = [(LogTerm::Var(vars[1]), 1.0)];
                space
                    .add_log_product_constraint("vec", &v, max_vec as f64)
                    .map_err(err)?;
            }
            return Ok(FusedLaunch {
                n,
                blocks,
                threads,
                items,
                guarded: false,
            });
        }
        space
            .add_choice(b.e(), "threads", &thread_values(gpu))
            .map_err(err)?;
        let threads = b.sched_var("threads");
        let items = if with_items {
            let vals: Vec<u64> = VECTOR_VALUES
                .iter()
                .copied()
                .filter(|&v| v <= max_vec)
                .collect();
            space.add_choice(b.e(), "vec", &vals).map_err(err)?;
            Some(b.sched_var("vec"))
        } else {
            None
        };
        let per_block = match items {
            Some(v) => mul(b.e(), threads, v),
            None => threads,
        };
        let total = b.c(n as f64);
        let blocks = ceildiv(b.e(), total, per_block);
        Ok(FusedLaunch {
            n,
            blocks,
            threads,
            items,
            guarded: true,
        })
    }

    /// Emits the launch nest and calls `f(b, idx, tx)` inside it (under the guard).
    pub(crate) fn emit(
        &self,
        b: &mut TreeBuilder,
        f: &mut dyn FnMut(&mut TreeBuilder, ExprId, ExprId) -> Result<()>,
    ) -> Result<()> {
        let mut res = Ok(());
        b.loop_("bx", self.blocks, LoopKind::BlockIdx(Axis3::X), |b, bx| {
            b.loop_(
                "tx",
                self.threads,
                LoopKind::ThreadIdx(Axis3::X),
                |b, tx| {
                    let base = mul(b.e(), bx, self.threads);
                    let thread = add(b.e(), base, tx);
                    let mut inner = |b: &mut TreeBuilder, idx: ExprId| {
                        if self.guarded {
                            let n = b.c(self.n as f64);
                            let ok = b.e().lt(idx, n);
                            b.if_(ok, |b| res = f(b, idx, tx));
                        } else {
                            res = f(b, idx, tx);
                        }
                    };
                    match self.items {
                        Some(v) => b.loop_("v", v, LoopKind::Vectorized, |b, vi| {
                            let scaled = mul(b.e(), thread, v);
                            let idx = add(b.e(), scaled, vi);
                            inner(b, idx);
                        }),
                        None => inner(b, thread),
                    }
                },
            );
        });
        res
    }
}
