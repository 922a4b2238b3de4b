//! Fused element-wise GPU kernels (`gpu-elementwise`).
//!
//! # When it applies
//! A CUDA target and a single-stage [`ComputeDef`] without reduction ([`Combiner::None`], no
//! reduction axes): element-wise and broadcast binary ops, RoPE, and any epilogue.
//!
//! # Structure (sketch `gpu-elementwise`)
//! All spatial axes are fused row-major (first axis outermost) into one index space of size
//! `N = Π extents` and launched as [`super::gpu_fused`] describes, with an item loop:
//!
//! ```text
//! for bx in 0..blocks @blockIdx.x
//!  for tx in 0..threads @threadIdx.x
//!   for v in 0..items @vectorized
//!    idx = (bx·threads + tx)·items + v
//!    if idx < N {                                 // guarded path only
//!      out[unflatten(idx)] = post(body(unflatten(idx)))
//!    }
//! ```
//! Consecutive threads own consecutive groups of `items` elements (coalesced, and a
//! `float2`/`float4` access per thread when `items` > 1).
//!
//! # Space
//! Split path (`N` has a divisor in `[warp_size, max_threads_per_block]`): `sp_fused_0`
//! (threads), `sp_fused_1` (items), constraints `threads`, `min_threads`, `vec`. Guarded path:
//! choices `threads` and `vec`. See [`super::gpu_fused`].

use tilegrad_symbolic::{GpuSpec, Space, TreeBuilder};

use super::gpu_fused::FusedLaunch;
use super::lower::{declare_tensors, lower_value, unflatten};
use crate::compute::{Combiner, ComputeDef};
use crate::sketch::{GpuRule, Sketch};
use crate::{Result, TemplateError, Workload};

/// The fused element-wise rule (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct GpuElementwise;

const RULE: &str = "gpu-elementwise";

fn err(msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("{RULE}: {msg}"))
}

/// Whether the rule applies to `def`: one stage, no reduction.
pub fn applies(def: &ComputeDef) -> bool {
    matches!(def.stages.as_slice(), [s] if s.combiner == Combiner::None && s.reduce.is_empty())
}

impl GpuRule for GpuElementwise {
    const NAME: &'static str = RULE;

    fn gpu_sketches(&self, w: &Workload, c: &ComputeDef, gpu: &GpuSpec) -> Result<Vec<Sketch>> {
        if !applies(c) {
            return Ok(Vec::new());
        }
        Ok(vec![sketch(w, c, gpu)?])
    }
}

fn sketch(workload: &Workload, def: &ComputeDef, gpu: &GpuSpec) -> Result<Sketch> {
    let stage = &def.stages[0];
    let mut b = TreeBuilder::new(&stage.name);
    let mut space = Space::new();
    let bufs = declare_tensors(&mut b, def);
    let out = bufs
        .get(stage.output)
        .copied()
        .flatten()
        .ok_or_else(|| err("the stage does not write the output"))?;
    let n: u64 = stage.spatial.iter().map(|a| a.extent as u64).product();
    let launch = FusedLaunch::declare(&mut b, &mut space, n, gpu, true, RULE)?;
    let extents: Vec<_> = stage.spatial.iter().map(|a| b.c(a.extent as f64)).collect();
    launch.emit(&mut b, &mut |b, idx, _tx| {
        let coords = unflatten(b.e(), idx, &extents);
        let v = lower_value(b, def, &bufs, &stage.body, &coords, None)?;
        let p = lower_value(b, def, &bufs, &stage.post, &coords, Some(&v))?;
        b.store(out, &coords, p);
        Ok(())
    })?;
    let tree = b.finish();
    tree.verify().map_err(err)?;
    Ok(Sketch {
        id: RULE.into(),
        workload: workload.clone(),
        tree,
        space,
    })
}
