//! [`Sketch`]: a symbolic schedule of one workload for one kind of target.
//!
//! A sketch is a symbolic [`LoopTree`] (loop extents, buffer shapes and indices are
//! expressions of schedule variables) plus the [`Space`] of those variables (tile-factor
//! split groups, unroll and vector-width choices, linear limits). The space's variables
//! live in the tree's own arena (`sketch.tree.exprs`) and are the tree's
//! `schedule_vars`. [`sketches`] runs every [`SketchRule`] of [`crate::rules::RULES`].

use rand::Rng;
use tilegrad_symbolic::{Assignment, GpuSpec, LoopTree, Space, Target};

use crate::{ComputeDef, Result, TemplateError, Workload};

/// A symbolic schedule: tree + space.
#[derive(Clone, Debug)]
pub struct Sketch {
    /// Stable identifier of the structure, `<rule>` or `<rule>/<variant>`, e.g.
    /// `gpu-tiling` or `gpu-reduce/cross-thread`. Logged with every measurement.
    pub id: String,
    /// The workload scheduled.
    pub workload: Workload,
    /// The symbolic loop tree.
    pub tree: LoopTree,
    /// Domains of the tree's schedule variables.
    pub space: Space,
}

impl Sketch {
    /// The concrete loop tree for a legal assignment of the space.
    pub fn instantiate(&self, a: &Assignment) -> Result<LoopTree> {
        if !self.space.is_legal(a) {
            return Err(TemplateError::Schedule(format!(
                "illegal assignment `{a}` for sketch `{}`",
                self.id
            )));
        }
        let values: Vec<_> = a
            .vars()
            .iter()
            .zip(a.values())
            .map(|(&v, &x)| (v, x as i64))
            .collect();
        self.tree
            .instantiate(&values)
            .map_err(|e| TemplateError::Schedule(format!("sketch `{}`: {e}", self.id)))
    }

    /// A uniformly random legal assignment (see [`Space::sample`]).
    pub fn sample(&self, rng: &mut impl Rng) -> Result<Assignment> {
        self.space
            .sample(rng)
            .map_err(|e| TemplateError::Schedule(format!("sketch `{}`: {e}", self.id)))
    }
}

/// One way of turning a workload into sketches.
pub trait SketchRule: Sync {
    /// The rule's name (the first part of the sketch ids it makes).
    fn name(&self) -> &'static str;

    /// The sketches this rule makes for `workload` on `target`; empty when it does not apply.
    fn generate(
        &self,
        workload: &Workload,
        compute: &ComputeDef,
        target: &Target,
    ) -> Result<Vec<Sketch>>;
}

/// A sketch rule for GPU targets only: a [`SketchRule`] that makes no sketch on any other
/// target and hands its GPU's description to [`GpuRule::gpu_sketches`].
pub trait GpuRule: Sync {
    /// The rule's name (the first part of the sketch ids it makes).
    const NAME: &'static str;

    /// The sketches this rule makes for `w` (computing `c`) on `gpu`; empty when it does
    /// not apply.
    fn gpu_sketches(&self, w: &Workload, c: &ComputeDef, gpu: &GpuSpec) -> Result<Vec<Sketch>>;
}

impl<R: GpuRule> SketchRule for R {
    fn name(&self) -> &'static str {
        R::NAME
    }

    fn generate(&self, w: &Workload, c: &ComputeDef, target: &Target) -> Result<Vec<Sketch>> {
        match target.gpu() {
            Some(gpu) => self.gpu_sketches(w, c, gpu),
            None => Ok(Vec::new()),
        }
    }
}

/// Every sketch of `workload` for `target`, in rule order. An error if no rule applies.
pub fn sketches(workload: &Workload, target: &Target) -> Result<Vec<Sketch>> {
    workload.validate()?;
    let compute = workload.compute();
    let mut out = Vec::new();
    for rule in crate::rules::RULES {
        out.extend(rule.generate(workload, &compute, target)?);
    }
    if out.is_empty() {
        return Err(TemplateError::Schedule(format!(
            "no sketch rule applies to `{workload}` on {}",
            target.kind()
        )));
    }
    Ok(out)
}
