//! [`Quadratic`]: `score = −Σ_v w_v (ln v − ln t_v)²` with a legal target `t`, optionally with
//! a hardware-style limit `Π_{v ∈ S} v ≤ bound` as the penalty `max(0, Σ_S ln v − ln bound)²`.
//! Without the limit the unique optimum is the target (score 0).

use tilegrad_symbolic::{Assignment, Space};

use super::{LogModel, Synthetic};
use crate::{Result, SearchError};

/// The separable log-space quadratic; see the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct Quadratic {
    target_ln: Vec<f64>,
    weights: Vec<f64>,
    /// Positions (space order) of the limited product and `ln bound`.
    limit: Option<(Vec<usize>, f64)>,
}

impl Quadratic {
    /// The objective over `space` with optimum `target` (must be legal) and per-variable
    /// `weights` (space order, positive; empty means all 1).
    pub fn objective(
        space: Space,
        target: &Assignment,
        weights: &[f64],
    ) -> Result<Synthetic<Self>> {
        space.check(target)?;
        let weights = if weights.is_empty() {
            vec![1.0; space.num_vars()]
        } else {
            weights.to_vec()
        };
        if weights.len() != space.num_vars() || weights.iter().any(|w| !(w.is_finite() && *w > 0.0))
        {
            return Err(SearchError::InvalidConfig(format!(
                "need {} positive weights, got {weights:?}",
                space.num_vars()
            )));
        }
        let target_ln = target.values().iter().map(|&v| (v as f64).ln()).collect();
        Ok(Synthetic::new(
            space,
            Self {
                target_ln,
                weights,
                limit: None,
            },
        ))
    }
}

impl Synthetic<Quadratic> {
    /// Adds the limit `Π_{names} v ≤ bound` (a penalty, not a space constraint).
    pub fn with_limit(mut self, names: &[&str], bound: f64) -> Result<Self> {
        let positions = names
            .iter()
            .map(|n| {
                self.space
                    .var_names()
                    .iter()
                    .position(|m| m == n)
                    .ok_or_else(|| SearchError::InvalidConfig(format!("no variable `{n}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        if !(bound.is_finite() && bound >= 1.0) {
            return Err(SearchError::InvalidConfig(format!(
                "bound {bound} must be ≥ 1"
            )));
        }
        self.model.limit = Some((positions, bound.ln()));
        Ok(self)
    }
}

impl LogModel for Quadratic {
    fn eval(&self, ln_v: &[f64], _tau: f64) -> (f64, f64, f64) {
        let score = -ln_v
            .iter()
            .zip(&self.target_ln)
            .zip(&self.weights)
            .map(|((x, t), w)| w * (x - t) * (x - t))
            .sum::<f64>();
        let penalty = match &self.limit {
            Some((pos, ln_bound)) => {
                // Tolerance: integer points exactly at the bound count as legal.
                let v = pos.iter().map(|&i| ln_v[i]).sum::<f64>() - ln_bound;
                if v > 1e-9 {
                    v * v
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        (score, penalty, 0.0)
    }
}
