//! Synthetic [`Objective`]s with known structure, for tests and benchmarks: a separable
//! quadratic in log-value space with a known optimum ([`Quadratic`]) and a roofline-like
//! model of a tiled matmul ([`Roofline`]).
//!
//! Both are written as a [`LogModel`] (score, penalty and uncertainty as functions of the
//! variables' logarithms) wrapped in [`Synthetic`], which supplies gradients by central
//! differences in log space (exact up to rounding for the quadratic) and counts evaluations.

mod quadratic;
mod roofline;

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use tilegrad_symbolic::{Assignment, ExprArena, Space};

pub use quadratic::Quadratic;
pub use roofline::Roofline;

use crate::{ExactScore, Objective, ObjectiveEval, Result};

/// Step of the central differences, in `ln value` units.
const FD_STEP: f64 = 1e-5;

/// A model over `ln value` of every space variable (in [`Space::vars`] order).
pub trait LogModel: Sync {
    /// `(score, penalty, uncertainty)` at `ln_v`, relaxed with temperature `tau`
    /// (`tau = 0`: the exact program).
    fn eval(&self, ln_v: &[f64], tau: f64) -> (f64, f64, f64);
}

/// Evaluation counts of a [`Synthetic`] objective.
#[derive(Debug, Default)]
pub struct Counters {
    relaxed_rows: AtomicUsize,
    exact_rows: AtomicUsize,
}

impl Counters {
    /// Rows evaluated by [`Objective::evaluate`] so far.
    pub fn relaxed_rows(&self) -> usize {
        self.relaxed_rows.load(Ordering::Relaxed)
    }
    /// Assignments scored by [`Objective::score_exact`] so far.
    pub fn exact_rows(&self) -> usize {
        self.exact_rows.load(Ordering::Relaxed)
    }
}

/// A [`LogModel`] over a [`Space`], as an [`Objective`].
#[derive(Debug)]
pub struct Synthetic<M> {
    space: Space,
    model: M,
    counters: Counters,
}

impl<M: LogModel> Synthetic<M> {
    /// Wraps `model` over `space`.
    pub fn new(space: Space, model: M) -> Self {
        Self {
            space,
            model,
            counters: Counters::default(),
        }
    }
    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The evaluation counts.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// `(score, penalty)` of the exact program at `a` (no counting, no legality check).
    pub fn exact(&self, a: &Assignment) -> (f64, f64) {
        let ln_v: Vec<f64> = a.values().iter().map(|&v| (v as f64).ln()).collect();
        let (s, p, _) = self.model.eval(&ln_v, 0.0);
        (s, p)
    }

    /// One row: outputs and gradients w.r.t. the values.
    fn row(&self, values: &[f64], tau: f64) -> (f64, f64, f64, Vec<f64>, Vec<f64>, bool) {
        let mut ln_v: Vec<f64> = values.iter().map(|v| v.ln()).collect();
        let (s, p, u) = self.model.eval(&ln_v, tau);
        let mut ds = vec![0.0; values.len()];
        let mut dp = vec![0.0; values.len()];
        for i in 0..values.len() {
            let x = ln_v[i];
            ln_v[i] = x + FD_STEP;
            let (s1, p1, _) = self.model.eval(&ln_v, tau);
            ln_v[i] = x - FD_STEP;
            let (s0, p0, _) = self.model.eval(&ln_v, tau);
            ln_v[i] = x;
            ds[i] = (s1 - s0) / (2.0 * FD_STEP) / values[i];
            dp[i] = (p1 - p0) / (2.0 * FD_STEP) / values[i];
        }
        let ok = [s, p, u]
            .iter()
            .chain(&ds)
            .chain(&dp)
            .all(|v| v.is_finite());
        (s, p, u, ds, dp, ok)
    }
}

impl<M: LogModel> Objective for Synthetic<M> {
    fn space(&self) -> &Space {
        &self.space
    }

    fn evaluate(&self, values: ArrayView2<f64>, tau: f64) -> Result<ObjectiveEval> {
        let (n, nv) = values.dim();
        self.counters.relaxed_rows.fetch_add(n, Ordering::Relaxed);
        let rows: Vec<_> = (0..n)
            .into_par_iter()
            .map(|i| self.row(&values.row(i).to_vec(), tau))
            .collect();
        let mut ev = ObjectiveEval {
            score: Vec::with_capacity(n),
            uncertainty: Vec::with_capacity(n),
            penalty: Vec::with_capacity(n),
            d_score: Array2::zeros((n, nv)),
            d_penalty: Array2::zeros((n, nv)),
            ok: Vec::with_capacity(n),
        };
        for (i, (s, p, u, ds, dp, ok)) in rows.into_iter().enumerate() {
            ev.score.push(s);
            ev.penalty.push(p);
            ev.uncertainty.push(u);
            ev.ok.push(ok);
            for j in 0..nv {
                ev.d_score[[i, j]] = ds[j];
                ev.d_penalty[[i, j]] = dp[j];
            }
        }
        Ok(ev)
    }

    fn score_exact(&self, assignments: &[Assignment]) -> Result<Vec<ExactScore>> {
        self.counters
            .exact_rows
            .fetch_add(assignments.len(), Ordering::Relaxed);
        Ok(assignments
            .iter()
            .map(|a| {
                let ln_v: Vec<f64> = a.values().iter().map(|&v| (v as f64).ln()).collect();
                let (score, penalty, uncertainty) = self.model.eval(&ln_v, 0.0);
                ExactScore {
                    score,
                    uncertainty,
                    legal: self.space.is_legal(a) && penalty == 0.0 && score.is_finite(),
                }
            })
            .collect())
    }
}

/// A space of split groups `(name, extent, number of factors)` followed by choices
/// `(name, values)`, declared in that order in a fresh arena.
pub fn tiled_space(groups: &[(&str, u64, usize)], choices: &[(&str, &[u64])]) -> Result<Space> {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    for &(name, extent, n) in groups {
        space.add_split_group(&mut arena, name, extent, n)?;
    }
    for &(name, values) in choices {
        space.add_choice(&mut arena, name, values)?;
    }
    Ok(space)
}

/// `tau · ln(1 + exp(x / tau))`, the smooth `max(0, x)`; exactly `max(0, x)` at `tau = 0`.
pub fn softplus(x: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return x.max(0.0);
    }
    let z = x / tau;
    tau * if z > 30.0 { z } else { z.exp().ln_1p() }
}

/// `tau · ln Σ exp(x_i / tau)`, the smooth maximum; exactly `max` at `tau = 0`.
pub fn smooth_max(xs: &[f64], tau: f64) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if tau <= 0.0 || !m.is_finite() {
        return m;
    }
    m + tau * xs.iter().map(|x| ((x - m) / tau).exp()).sum::<f64>().ln()
}
