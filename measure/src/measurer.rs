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
