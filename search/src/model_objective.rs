//! [`ModelObjective`]: the real [`Objective`] of one sketch: its features
//! ([`FeatureSet`], compiled once) fed through a cost model.
//!
//! Relaxed evaluation of a batch of variable values at temperature `tau`:
//! 1. the feature tape forward (relaxed) gives every point's `rows × features` matrix and its
//!    hardware constraints `g_c` (legal when `≤ 0`);
//! 2. the cost model scores the points and gives `∂score/∂features` (for an
//!    [`EnsembleModel`]: the members' mean, their spread as the uncertainty);
//! 3. the tape's vector-Jacobian product carries `∂score/∂features` back to the variables
//!    (chain rule), and a second one carries `∂penalty/∂g_c = 2·max(0, g_c)` for the penalty
//!    `Σ max(0, g_c)²`.
//!
//! Exact scoring evaluates the tape exactly at the integer assignment; an assignment is legal
//! when every constraint holds and every feature is finite.

use std::sync::Arc;

use ndarray::{Array2, Array3, ArrayView2};
use tilegrad_cost_model::{CostModel, EnsembleModel, FeatureBatch, FeatureSpec, ProgramFeatures};
use tilegrad_symbolic::features::{FEATURE_VERSION, N_FEATURES};
use tilegrad_symbolic::{Assignment, FeatureEval, FeatureSet, Mode, Space, Target};
use tilegrad_templates::Sketch;

use crate::{ExactScore, Objective, ObjectiveEval, Result, SearchError};

/// Tolerance on a constraint value for an exact assignment to count as legal.
const LEGAL_EPS: f64 = 1e-9;

/// The feature spec every model used by the search must read.
pub fn feature_spec() -> FeatureSpec {
    FeatureSpec::new(FEATURE_VERSION, N_FEATURES)
}

/// The cost model behind an objective: a plain one (no uncertainty) or an ensemble (whose
/// members' spread is the uncertainty).
#[derive(Clone, Copy)]
pub enum ModelRef<'m> {
    /// Any cost model; uncertainty 0.
    Plain(&'m dyn CostModel),
    /// An ensemble: mean score, spread as the uncertainty.
    Ensemble(&'m EnsembleModel),
}

impl std::fmt::Debug for ModelRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRef::Plain(_) => f.write_str("ModelRef::Plain"),
            ModelRef::Ensemble(_) => f.write_str("ModelRef::Ensemble"),
        }
    }
}

impl ModelRef<'_> {
    /// Scores (and their spread) of a batch, without gradients.
    pub fn predict(&self, batch: &FeatureBatch) -> Result<(Vec<f64>, Vec<f64>)> {
        let err = |e: tilegrad_cost_model::CostModelError| SearchError::Objective(e.to_string());
        match self {
            ModelRef::Plain(m) => {
                let s = m.predict(batch).map_err(err)?;
                let n = s.len();
                Ok((s.into_iter().map(f64::from).collect(), vec![0.0; n]))
            }
            ModelRef::Ensemble(e) => {
                let preds = e
                    .members()
                    .iter()
                    .map(|m| m.predict(batch))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(err)?;
                let n = batch.n_programs();
                let k = preds.len().max(1) as f64;
                let mean: Vec<f64> = (0..n)
                    .map(|i| preds.iter().map(|p| f64::from(p[i])).sum::<f64>() / k)
                    .collect();
                let std = (0..n)
                    .map(|i| {
                        let v = preds
                            .iter()
                            .map(|p| (f64::from(p[i]) - mean[i]).powi(2))
                            .sum::<f64>();
                        (v / k).sqrt()
                    })
                    .collect();
                Ok((mean, std))
            }
        }
    }

    /// Scores, spreads and `∂score/∂features` (layout of `batch.data`).
    fn predict_with_grad(&self, batch: &FeatureBatch) -> Result<(Vec<f64>, Vec<f64>, Vec<f32>)> {
        let err = |e: tilegrad_cost_model::CostModelError| SearchError::Objective(e.to_string());
        match self {
            ModelRef::Plain(m) => {
                let p = m.predict_with_grad(batch).map_err(err)?;
                let n = p.scores.len();
                Ok((
                    p.scores.into_iter().map(f64::from).collect(),
                    vec![0.0; n],
                    p.grads,
                ))
            }
            ModelRef::Ensemble(e) => {
                let p = e.predict_with_uncertainty(batch).map_err(err)?;
                Ok((
                    p.mean.into_iter().map(f64::from).collect(),
                    p.std.into_iter().map(f64::from).collect(),
                    p.grad_mean,
                ))
            }
        }
    }
}

/// One sketch's features through a cost model, as an [`Objective`]; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct ModelObjective<'m> {
    sketch: Arc<Sketch>,
    features: Arc<FeatureSet>,
    model: ModelRef<'m>,
}

/// A batch of the cost model from feature arrays; non-finite points get all-zero rows and
/// `false` in the returned mask.
fn batch_of_features(features: &Array3<f64>, finite: &[bool]) -> Result<(FeatureBatch, Vec<bool>)> {
    let (p, r, f) = features.dim();
    let mut batch = FeatureBatch::with_capacity(f, p, p * r);
    let mut ok = Vec::with_capacity(p);
    let mut rows = vec![0f32; r * f];
    for (i, &fin) in finite.iter().enumerate().take(p) {
        let view = features.slice(ndarray::s![i, .., ..]);
        let good = fin
            && view
                .iter()
                .all(|v| v.is_finite() && v.abs() < f32::MAX as f64);
        for (dst, &src) in rows.iter_mut().zip(view.iter()) {
            *dst = if good { src as f32 } else { 0.0 };
        }
        batch
            .push(&rows)
            .map_err(|e| SearchError::Objective(e.to_string()))?;
        ok.push(good);
    }
    Ok((batch, ok))
}

impl<'m> ModelObjective<'m> {
    /// An objective from an already built feature set (of `sketch` for the target).
    pub fn new(sketch: Arc<Sketch>, features: Arc<FeatureSet>, model: ModelRef<'m>) -> Self {
        Self {
            sketch,
            features,
            model,
        }
    }

    /// Builds the sketch's feature set for `target` (once; share it with [`Self::new`]).
    pub fn build(sketch: Arc<Sketch>, target: &Target, model: ModelRef<'m>) -> Result<Self> {
        let features = Arc::new(FeatureSet::build(&sketch.tree, &sketch.space, target)?);
        Ok(Self::new(sketch, features, model))
    }

    /// The sketch.
    pub fn sketch(&self) -> &Arc<Sketch> {
        &self.sketch
    }

    /// The compiled feature set.
    pub fn features(&self) -> &Arc<FeatureSet> {
        &self.features
    }

    /// The values matrix (`assignments × space.vars()`) of integer assignments.
    fn values_of(&self, assignments: &[Assignment]) -> Result<Array2<f64>> {
        values_of(&self.sketch.space, assignments)
    }

    /// The exact evaluation of `assignments`, and its features as a batch in the cost
    /// model's layout with whether each row is finite.
    fn exact_batch(
        &self,
        assignments: &[Assignment],
    ) -> Result<(FeatureEval, FeatureBatch, Vec<bool>)> {
        let values = self.values_of(assignments)?;
        let ev = self.features.eval(values.view(), Mode::Exact)?;
        let finite: Vec<bool> = ev.status.iter().map(|s| s.is_ok()).collect();
        let (batch, ok) = batch_of_features(&ev.features, &finite)?;
        Ok((ev, batch, ok))
    }

    /// The exact features of each assignment (`None` where some value is not finite), in
    /// the cost model's layout: what a measured candidate is trained on.
    pub fn exact_features(
        &self,
        assignments: &[Assignment],
    ) -> Result<Vec<Option<ProgramFeatures>>> {
        if assignments.is_empty() {
            return Ok(Vec::new());
        }
        let (_, batch, ok) = self.exact_batch(assignments)?;
        Ok((0..assignments.len())
            .map(|i| {
                ok[i].then(|| {
                    ProgramFeatures::new(batch.program(i).to_vec(), self.features.n_rows())
                })
            })
            .collect())
    }
}

/// The values matrix (`assignments × space.vars()`) of integer assignments of `space`.
pub fn values_of(space: &Space, assignments: &[Assignment]) -> Result<Array2<f64>> {
    let vars = space.vars();
    let mut out = Array2::zeros((assignments.len(), vars.len()));
    for (i, a) in assignments.iter().enumerate() {
        for (j, &v) in vars.iter().enumerate() {
            out[[i, j]] = a.value(v).ok_or_else(|| {
                SearchError::Objective(format!("assignment `{a}` lacks variable {j} of the space"))
            })? as f64;
        }
    }
    Ok(out)
}

impl Objective for ModelObjective<'_> {
    fn space(&self) -> &Space {
        &self.sketch.space
    }

    fn evaluate(&self, values: ArrayView2<f64>, tau: f64) -> Result<ObjectiveEval> {
        let mode = Mode::Relaxed { tau };
        let (p, nv) = values.dim();
        let fs = &self.features;
        let ev = fs.eval(values, mode)?;
        let finite: Vec<bool> = ev.status.iter().map(|s| s.is_ok()).collect();
        let (batch, mut ok) = batch_of_features(&ev.features, &finite)?;
        let (score, uncertainty, grads) = self.model.predict_with_grad(&batch)?;
        // d score / d features, as the tape's cotangent (zero on bad rows).
        let (_, r, f) = ev.features.dim();
        let mut d_feat = Array3::<f64>::zeros((p, r, f));
        for (i, _) in ok.iter().enumerate().filter(|(_, &good)| good) {
            let g = batch.program(i).len();
            let start = batch.row_offsets[i] * f;
            for (dst, &src) in d_feat
                .slice_mut(ndarray::s![i, .., ..])
                .iter_mut()
                .zip(&grads[start..start + g])
            {
                *dst = f64::from(src);
            }
        }
        let nc = ev.constraints.ncols();
        let zero_c = Array2::<f64>::zeros((p, nc));
        let (_, d_score) = fs.vjp(values, mode, d_feat.view(), zero_c.view())?;
        let mut penalty = vec![0.0; p];
        let mut d_cons = Array2::<f64>::zeros((p, nc));
        for i in 0..p {
            for (c, &g) in ev.constraints.row(i).iter().enumerate() {
                if g > 0.0 {
                    penalty[i] += g * g;
                    d_cons[[i, c]] = 2.0 * g;
                }
            }
        }
        let d_penalty = if penalty.iter().any(|&x| x > 0.0) {
            let zero_f = Array3::<f64>::zeros((p, r, f));
            fs.vjp(values, mode, zero_f.view(), d_cons.view())?.1
        } else {
            Array2::zeros((p, nv))
        };
        for i in 0..p {
            ok[i] = ok[i]
                && score[i].is_finite()
                && penalty[i].is_finite()
                && d_score.row(i).iter().all(|v| v.is_finite())
                && d_penalty.row(i).iter().all(|v| v.is_finite());
        }
        Ok(ObjectiveEval {
            score,
            uncertainty,
            penalty,
            d_score,
            d_penalty,
            ok,
        })
    }

    fn score_exact(&self, assignments: &[Assignment]) -> Result<Vec<ExactScore>> {
        if assignments.is_empty() {
            return Ok(Vec::new());
        }
        let (ev, batch, ok) = self.exact_batch(assignments)?;
        let (score, spread) = self.model.predict(&batch)?;
        Ok((0..assignments.len())
            .map(|i| {
                let limits = ev.constraints.row(i).iter().all(|&g| g <= LEGAL_EPS);
                ExactScore {
                    score: score[i],
                    uncertainty: spread[i],
                    legal: ok[i] && limits && score[i].is_finite(),
                }
            })
            .collect())
    }
}
