//! Simple CPU sketches (`cpu-simple/*`) for every operator that [`super::cpu_tiling`] does not
//! tile: element-wise and broadcast operators, pooling, global pooling, reductions without
//! reuse, and the multi-stage row-wise operators (softmax, layer norm, RMS norm).
//!
//! # Sketches
//! * `cpu-simple/elementwise` (single stage, no reduction): every spatial axis of extent > 1
//!   fused into one flat index of extent `E`, split into `[P, S, V]` with the group `sp_fused`
//!   (`sp_fused_0 = S`, `sp_fused_1 = V ≤ 64`, constraint `innermost_fused`):
//!   ```text
//!   for fused.0 in 0..P @parallel { for fused.1 in 0..S { for fused.2 in 0..V @vectorized {
//!     flat = (fused.0·S + fused.1)·V + fused.2; (b, i, j) = unflatten(flat)
//!     out[b, i, j] = post(body) }}}
//!   ```
//!   Best when the last dimension is short (vector code runs across rows).
//! * `cpu-simple/rows` ([`super::cpu_rows`]): parallel over rows, per-row stages with their
//!   intermediates in local buffers, serial reductions, the contiguous inner axis vectorized.
//!   For element-wise operators it is the alternative to the fused sketch without
//!   `floordiv`/`mod` in the vector loop's indices (contiguous, broadcast-friendly accesses).
//!
//! Every workload of [`crate::testing::small_workloads`] gets at least one CPU sketch from
//! [`super::cpu_tiling::CpuTiling`] or this rule (a test checks it).

use tilegrad_symbolic::{LogTerm, LoopKind, Space, Target, TreeBuilder};

use super::cpu_rows::{rows_plan, rows_sketch};
use super::lower::{declare_tensors, flatten, lower_value, unflatten};
use super::lower::{is_tileable as tiled, MAX_INNERMOST};
use crate::compute::{Combiner, ComputeDef, TensorRole};
use crate::sketch::{Sketch, SketchRule};
use crate::{Result, TemplateError, Workload};

/// The simple CPU rule (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSimple;

impl SketchRule for CpuSimple {
    fn name(&self) -> &'static str {
        "cpu-simple"
    }

    fn generate(&self, w: &Workload, c: &ComputeDef, target: &Target) -> Result<Vec<Sketch>> {
        if target.cpu().is_none() || tiled(c) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if is_elementwise(c) {
            out.push(elementwise_sketch(w, c)?);
        }
        if let Some(nrow) = rows_plan(c) {
            out.push(rows_sketch(w, c, nrow)?);
        }
        Ok(out)
    }
}

/// Whether `def` is one stage without reduction writing the output.
pub fn is_elementwise(def: &ComputeDef) -> bool {
    matches!(def.stages.as_slice(), [s] if s.combiner == Combiner::None
        && s.reduce.is_empty()
        && def.tensors.get(s.output).map(|t| t.role) == Some(TensorRole::Output))
}

fn err(e: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("cpu-simple/elementwise: {e}"))
}

/// The `cpu-simple/elementwise` sketch of an element-wise `def` (see [`is_elementwise`]).
pub fn elementwise_sketch(workload: &Workload, def: &ComputeDef) -> Result<Sketch> {
    let [st] = def.stages.as_slice() else {
        return Err(err("not a single stage"));
    };
    let mut b = TreeBuilder::new(&st.name);
    let mut space = Space::new();
    let total: usize = st.spatial.iter().map(|a| a.extent).product();
    let gid = space
        .add_split_group(b.e(), "sp_fused", total as u64, 2)
        .map_err(err)?;
    let f = space.group(gid).map_err(err)?.factors().to_vec();
    space
        .add_log_product_constraint(
            "innermost_fused",
            &[(LogTerm::Var(f[1]), 1.0)],
            MAX_INNERMOST,
        )
        .map_err(err)?;
    let q = space.quotient_expr(b.e(), gid).map_err(err)?;
    let (s, v) = (b.sched_var("sp_fused_0"), b.sched_var("sp_fused_1"));
    let bufs = declare_tensors(&mut b, def);
    let out = bufs
        .get(st.output)
        .copied()
        .flatten()
        .ok_or_else(|| err("no output buffer"))?;
    let live: Vec<usize> = (0..st.spatial.len())
        .filter(|&k| st.spatial[k].extent > 1)
        .collect();
    let ext: Vec<_> = live
        .iter()
        .map(|&k| b.c(st.spatial[k].extent as f64))
        .collect();
    let mut res = Ok(());
    b.loop_("fused.0", q, LoopKind::Parallel, |b, f0| {
        b.loop_("fused.1", s, LoopKind::Serial, |b, f1| {
            b.loop_("fused.2", v, LoopKind::Vectorized, |b, f2| {
                let flat = flatten(b.e(), &[f0, f1, f2], &[q, s, v]);
                let zero = b.c(0.0);
                let mut sp = vec![zero; st.spatial.len()];
                for (&k, c) in live.iter().zip(unflatten(b.e(), flat, &ext)) {
                    sp[k] = c;
                }
                res = lower_value(b, def, &bufs, &st.body, &sp, None).and_then(|body| {
                    let post = lower_value(b, def, &bufs, &st.post, &sp, Some(&body))?;
                    b.store(out, &sp, post);
                    Ok(())
                });
            });
        });
    });
    res?;
    let tree = b.finish();
    tree.verify().map_err(err)?;
    Ok(Sketch {
        id: "cpu-simple/elementwise".into(),
        workload: workload.clone(),
        tree,
        space,
    })
}
