//! [`Objective`]: what a search policy needs from "features + cost model" for one sketch.
//!
//! A policy never sees features or the cost model directly: it moves the continuous
//! coordinates of the sketch's [`Space`], decodes them to variable values
//! ([`Space::decode_batch`]), asks the objective for the predicted score, its spread and the
//! hardware-limit penalty together with their gradients with respect to those values, and
//! pulls the gradients back to the coordinates ([`Space::pullback_batch`]). At integer points
//! it asks for exact scores ([`Objective::score_exact`]) to rank candidates.

use ndarray::{Array2, ArrayView2};
use tilegrad_symbolic::{Assignment, Space};

use crate::{Result, SearchError};

/// The relaxed evaluation of a batch of points (see [`Objective::evaluate`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveEval {
    /// Predicted score per row (higher is better; e.g. `ln(1/latency)`).
    pub score: Vec<f64>,
    /// Uncertainty of the prediction per row (e.g. the ensemble's standard deviation).
    pub uncertainty: Vec<f64>,
    /// Hardware-limit penalty per row: `Σ max(0, g_c)²` over the constraints `g_c ≤ 0`
    /// (zero when every limit holds).
    pub penalty: Vec<f64>,
    /// `∂score/∂value`, one row per point, one column per [`Space::vars`] entry.
    pub d_score: Array2<f64>,
    /// `∂penalty/∂value`, same shape as [`ObjectiveEval::d_score`].
    pub d_penalty: Array2<f64>,
    /// Whether the row's outputs and gradients are all finite.
    pub ok: Vec<bool>,
}

impl ObjectiveEval {
    /// Errors unless every field has `rows` rows and the gradients have `cols` columns.
    pub fn check_shape(&self, rows: usize, cols: usize) -> Result<()> {
        let lens = [
            self.score.len(),
            self.uncertainty.len(),
            self.penalty.len(),
            self.ok.len(),
        ];
        if lens.iter().any(|&l| l != rows)
            || self.d_score.dim() != (rows, cols)
            || self.d_penalty.dim() != (rows, cols)
        {
            return Err(SearchError::Objective(format!(
                "evaluation shapes {lens:?}, {:?}, {:?} do not match {rows} rows x {cols} vars",
                self.d_score.dim(),
                self.d_penalty.dim()
            )));
        }
        Ok(())
    }
}

/// The exact evaluation of one integer assignment (see [`Objective::score_exact`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExactScore {
    /// Predicted score at the exact features (higher is better).
    pub score: f64,
    /// Uncertainty of the prediction.
    pub uncertainty: f64,
    /// Whether every hardware limit holds (and the score is finite).
    pub legal: bool,
}

/// A differentiable objective over one sketch's [`Space`]: the features of the sketch fed
/// through a cost model, plus the hardware limits the space itself cannot express as linear
/// constraints (e.g. shared memory). Implementations must be deterministic: the same inputs
/// give the same outputs, so that policies are deterministic for a seed. They are `Sync`:
/// policies may evaluate several sketches' objectives at once.
pub trait Objective: Sync {
    /// The sketch's schedule space.
    fn space(&self) -> &Space;

    /// Relaxed evaluation at real variable values: `values` has one row per point and one
    /// column per [`Space::vars`] entry (as [`Space::decode_batch`] produces). `tau` is the
    /// relaxation temperature (smaller is closer to the exact program).
    fn evaluate(&self, values: ArrayView2<f64>, tau: f64) -> Result<ObjectiveEval>;

    /// Exact evaluation at legal integer assignments of [`Objective::space`], one result per
    /// assignment, in order.
    fn score_exact(&self, assignments: &[Assignment]) -> Result<Vec<ExactScore>>;
}

/// Calls [`Objective::score_exact`] and checks that one result came back per assignment.
pub(crate) fn score_checked(obj: &dyn Objective, batch: &[Assignment]) -> Result<Vec<ExactScore>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let out = obj.score_exact(batch)?;
    if out.len() != batch.len() {
        return Err(SearchError::Objective(format!(
            "score_exact returned {} results for {} assignments",
            out.len(),
            batch.len()
        )));
    }
    Ok(out)
}
