//! tilegrad-templates: operator definitions.
//!
//! A [`Workload`] is an operator ([`Op`]) with concrete shapes, a [`DType`]
//! and a fused epilogue ([`EpilogueOp`]s). It has a canonical one-line text
//! form (`conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu`)
//! that parses and prints back identically, a stable [`WorkloadKey`], and a
//! [`ComputeDef`]: its compute as TE-style loop-nest stages (spatial and
//! reduction axes, affine accesses with padding guards, body, post
//! expression) that sketch rules can walk without knowing the operator.
//!
//! [`reference::reference`] computes each operator directly (f64
//! accumulation); [`evaluate`] runs any `ComputeDef` naively. Tests check
//! the two agree for every operator and epilogue.

mod check;
pub mod compute;
pub mod epilogue;
pub mod error;
mod eval;
mod index;
mod key;
mod lower;
mod lower_conv;
mod lower_epilogue;
mod math;
pub mod op;
mod params;
mod parse;
pub mod reference;
pub mod rules;
pub mod seeds;
mod shapes;
pub mod sketch;
#[doc(hidden)]
pub mod testing;
pub mod workload;

pub use compute::{
    Axis, AxisId, Combiner, ComputeDef, Guard, IndexExpr, Stage, TensorDecl, TensorId, TensorRole,
    Term, UnaryFn, ValueExpr,
};
pub use epilogue::EpilogueOp;
pub use error::{Result, TemplateError};
pub use eval::evaluate;
pub use key::WorkloadKey;
pub use lower::{LAYER_NORM_EPS, RMS_NORM_EPS};
pub use math::{erf, sigmoid};
pub use op::{
    BatchMatmul, Binary, BinaryFn, Conv2d, Conv2dTranspose, Conv3d, GlobalAvgPool, Matmul, Op,
    Pool2d, PoolKind, Rope, Rows, OP_NAMES,
};
pub use seeds::seeds;
pub use sketch::{sketches, GpuRule, Sketch, SketchRule};
pub use workload::{DType, Workload};
