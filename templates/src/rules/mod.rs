//! The sketch rules. Each rule is a unit struct implementing [`SketchRule`]; [`RULES`]
//! lists them in the order [`crate::sketch::sketches`] tries them.

pub mod cpu_lanes;
pub mod cpu_rows;
pub mod cpu_simple;
pub mod cpu_tiling;
pub mod gpu_fused;
pub mod gpu_reduce;
pub mod gpu_simple;
pub mod gpu_tiling;
pub mod lower;

use crate::sketch::SketchRule;

/// Every rule, in order.
pub static RULES: &[&dyn SketchRule] = &[
    &gpu_tiling::GpuTiling,
    &gpu_simple::GpuElementwise,
    &gpu_reduce::GpuReduce,
    &cpu_tiling::CpuTiling,
    &cpu_simple::CpuSimple,
];
