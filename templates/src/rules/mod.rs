//! The sketch rules. Each rule is a unit struct implementing [`SketchRule`]; [`RULES`]
//! lists them in the order [`crate::sketch::sketches`] tries them.

pub mod gpu_tiling;
pub mod lower;

use crate::sketch::SketchRule;

/// Every rule, in order.
pub static RULES: &[&dyn SketchRule] = &[&gpu_tiling::GpuTiling];
