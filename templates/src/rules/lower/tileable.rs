//! Which workloads the multi-level tiling rules (GPU and CPU) take.

use crate::compute::{AxisId, Combiner, ComputeDef};

/// Ansor's `max_innermost_split_factor`: the largest innermost tile factor a tiling rule allows.
pub const MAX_INNERMOST: f64 = 64.0;

/// Whether `def` suits multi-level tiling: one stage, a Sum combiner, at least one reduction
/// axis, and some load that misses a non-trivial axis (Ansor's test for data reuse).
pub fn is_tileable(def: &ComputeDef) -> bool {
    let [stage] = def.stages.as_slice() else {
        return false;
    };
    if stage.combiner != Combiner::Sum || stage.reduce.is_empty() {
        return false;
    }
    let live: Vec<AxisId> = stage
        .axes()
        .enumerate()
        .filter(|(_, a)| a.extent > 1)
        .map(|(i, _)| i)
        .collect();
    stage.body.loads().iter().any(|(_, index, _)| {
        live.iter()
            .any(|&a| !index.iter().any(|ix| ix.axes().any(|x| x == a)))
    })
}
