//! `Workload`: an operator with concrete shapes, a dtype and an epilogue.
//!
//! Canonical text: `name(P=v,...)` with parameters in the operator's fixed
//! order (shape parameters and conv/pool `stride`/`pad` always, the others
//! only when not at their default), then `,dtype=f16` if not f32, then each
//! epilogue step as `+name` or `+name(args)`. No whitespace. For every
//! workload `w`, `w.to_string().parse() == Ok(w)`; for canonical text `s`,
//! `s.parse::<Workload>()?.to_string() == s`. Non-canonical text (any
//! parameter order, defaults written out, whitespace) parses to the same
//! workload and prints canonically.

use std::fmt;
use std::str::FromStr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::compute::ComputeDef;
use crate::epilogue::EpilogueOp;
use crate::error::TemplateError;
use crate::key::WorkloadKey;
use crate::op::Op;

/// Element type. Only `F32` is implemented; the others are rejected by
/// validation with [`TemplateError::UnsupportedDtype`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DType {
    /// 32-bit float.
    #[default]
    F32,
    /// 16-bit IEEE float (planned).
    F16,
    /// bfloat16 (planned).
    BF16,
}

impl DType {
    /// The name in the text form (`f32`, `f16`, `bf16`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }

    /// Bytes per element.
    pub fn bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }
}

impl FromStr for DType {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, TemplateError> {
        match s {
            "f32" => Ok(DType::F32),
            "f16" => Ok(DType::F16),
            "bf16" => Ok(DType::BF16),
            other => Err(TemplateError::UnsupportedDtype(other.into())),
        }
    }
}

/// A validated operator instance: every `Workload` value has passed
/// [`Workload::validate`], so its compute, shapes and FLOPs are total.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    op: Op,
    dtype: DType,
    epilogue: Vec<EpilogueOp>,
}

impl Workload {
    /// Builds and validates a workload.
    pub fn new(op: Op, dtype: DType, epilogue: Vec<EpilogueOp>) -> Result<Workload, TemplateError> {
        let w = Workload {
            op,
            dtype,
            epilogue,
        };
        w.validate()?;
        Ok(w)
    }

    /// An f32 workload without epilogue.
    pub fn plain(op: Op) -> Result<Workload, TemplateError> {
        Workload::new(op, DType::F32, Vec::new())
    }

    /// Checks parameter ranges, that shapes compose, epilogue arguments, and
    /// the dtype (only f32 is supported yet).
    pub fn validate(&self) -> Result<(), TemplateError> {
        self.op.validate()?;
        for step in &self.epilogue {
            step.validate()?;
        }
        if self.dtype != DType::F32 {
            return Err(TemplateError::UnsupportedDtype(self.dtype.name().into()));
        }
        Ok(())
    }

    /// The operator.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The fused epilogue steps, in order.
    pub fn epilogue(&self) -> &[EpilogueOp] {
        &self.epilogue
    }

    /// The stable key of the canonical text.
    pub fn key(&self) -> WorkloadKey {
        WorkloadKey::of_text(&self.to_string())
    }

    /// The compute as a list of loop-nest stages.
    pub fn compute(&self) -> ComputeDef {
        crate::lower::lower(&self.op, &self.epilogue)
    }

    /// FLOPs, counted on the compute definition: each arithmetic node
    /// (unary, binary, select) of a stage body counts 1 per iteration of the
    /// full loop nest, a reduction's combine counts 1 per iteration, and each
    /// node of the `post` expression (epilogue) 1 per output element. So a
    /// multiply-add is 2 FLOPs (matmul = 2·M·N·K), padded conv taps are
    /// counted (2·N·P·Q·K·(C/G)·R·S), a transposed conv counts the taps its
    /// lowering computes (in sub-pixel form the real ones, about 2·N·H·W·C·K·R·S;
    /// otherwise every (output, kernel, channel) triple including the stride
    /// holes, like Ansor), exp/erf/rsqrt count 1, loads count 0.
    pub fn flops(&self) -> f64 {
        self.compute().flops()
    }

    /// Shapes of all inputs, row-major: the operator's inputs (see
    /// [`Op::input_shapes`]) then one per epilogue step that reads a tensor
    /// (`bias`: `[channels]`; `res`, `mul`: the output shape).
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        let mut shapes = self.op.input_shapes();
        let out = self.op.output_shape();
        for step in &self.epilogue {
            match step {
                EpilogueOp::Bias => shapes.push(vec![*out.last().unwrap_or(&1)]),
                EpilogueOp::Residual | EpilogueOp::Mul => shapes.push(out.clone()),
                _ => {}
            }
        }
        shapes
    }

    /// Shape of the output, row-major.
    pub fn output_shape(&self) -> Vec<usize> {
        self.op.output_shape()
    }

    /// Deterministic inputs for tests: one buffer per input, values uniform
    /// in [-1, 1] from ChaCha8 seeded with `seed`; never all zeros.
    pub fn random_inputs(&self, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.input_shapes()
            .iter()
            .map(|s| {
                let n: usize = s.iter().product();
                let mut v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..=1.0)).collect();
                if let Some(first) = v.first_mut().filter(|_| n > 0) {
                    if *first == 0.0 {
                        *first = 0.5;
                    }
                }
                v
            })
            .collect()
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.op.name())?;
        let mut first = true;
        for (spec, value) in self.op.spec().iter().zip(self.op.values()) {
            if spec.always || Some(value) != spec.default {
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                write!(f, "{}={}", spec.name, value)?;
            }
        }
        if self.dtype != DType::F32 {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "dtype={}", self.dtype.name())?;
        }
        f.write_str(")")?;
        for step in &self.epilogue {
            write!(f, "+{step}")?;
        }
        Ok(())
    }
}

impl FromStr for Workload {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, TemplateError> {
        crate::parse::parse(s)
    }
}

impl serde::Serialize for Workload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Workload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
