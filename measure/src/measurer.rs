//! The [`Measurer`] trait: the search's view of measurement (candidates in, timings out).

use std::sync::Arc;

use tilegrad_symbolic::{Assignment, Target};
use tilegrad_templates::Sketch;

use crate::{MeasureError, Measurement};

/// One candidate: a sketch and a legal assignment of its space's variables.
#[derive(Debug, Clone)]
pub struct MeasureInput {
    /// The symbolic schedule (its workload is the operator measured).
    pub sketch: Arc<Sketch>,
    /// Values of the sketch's schedule variables.
    pub assignment: Assignment,
}

/// The outcome for one candidate: run times (all samples, median, spread) and build time, or
/// why the candidate failed (instantiation, code generation, build, crash, wrong answer, …).
pub type MeasureResult = Result<Measurement, MeasureError>;

/// Something that measures candidates on one target.
pub trait Measurer {
    /// The hardware measured on.
    fn target(&self) -> &Target;

    /// Measures a batch; one result per input, in order. A failing candidate never stops the
    /// batch.
    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult>;
}

/// The per-device steps of a compiling measurer, shared by [`measure_grouped`].
pub(crate) trait GroupedMeasurer {
    /// The built-kernel description the runner takes.
    type Kernel;
    /// Inputs, reference and checks of one workload (cached by the measurer).
    fn problem(
        &mut self,
        workload: &tilegrad_templates::Workload,
    ) -> Result<Arc<crate::Problem>, MeasureError>;
    /// Code generation for one candidate.
    fn kernel(&self, input: &MeasureInput) -> Result<Self::Kernel, MeasureError>;
    /// Builds, runs, verifies and times the kernels of one workload, one result each.
    fn run(&mut self, problem: &crate::Problem, kernels: &[Self::Kernel]) -> Vec<MeasureResult>;
}

/// Measures `batch` grouped by workload (in order of first appearance), so that each
/// workload's inputs and reference are made once; one result per input, in order.
pub(crate) fn measure_grouped<M: GroupedMeasurer>(
    m: &mut M,
    batch: &[MeasureInput],
) -> Vec<MeasureResult> {
    let mut results: Vec<Option<MeasureResult>> = vec![None; batch.len()];
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, inp) in batch.iter().enumerate() {
        let key = inp.sketch.workload.to_string();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    for (_, idx) in groups {
        let problem = match m.problem(&batch[idx[0]].sketch.workload) {
            Ok(p) => p,
            Err(e) => {
                for &i in &idx {
                    results[i] = Some(Err(e.clone()));
                }
                continue;
            }
        };
        let mut kernels = Vec::new();
        let mut slots = Vec::new();
        for &i in &idx {
            match m.kernel(&batch[i]) {
                Ok(k) => {
                    kernels.push(k);
                    slots.push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let measured = m.run(&problem, &kernels);
        for (i, r) in slots.into_iter().zip(measured) {
            results[i] = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(MeasureError::Worker("candidate was not run".into()))))
        .collect()
}
