//! Projected Adam with per-row state: every row of the parameter matrix is an independent
//! start, with its own first and second moments; after each step every row is projected
//! back onto the space's feasible region ([`Space::project`]).

use ndarray::{Array2, Axis, Zip};
use rayon::prelude::*;
use tilegrad_symbolic::Space;

use crate::Result;

/// Adam's moment decay rates and numerical epsilon.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    /// First-moment decay `β₁`.
    pub beta1: f64,
    /// Second-moment decay `β₂`.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
}

impl Default for AdamParams {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Adam state for `rows` independent points of `dim` coordinates (created fresh for every
/// round, so no state leaks from one round into the next).
#[derive(Clone, Debug)]
pub struct ProjectedAdam {
    params: AdamParams,
    m: Array2<f64>,
    v: Array2<f64>,
    t: i32,
}

impl ProjectedAdam {
    /// Zero moments for a `rows × dim` parameter matrix.
    pub fn new(params: AdamParams, rows: usize, dim: usize) -> Self {
        Self {
            params,
            m: Array2::zeros((rows, dim)),
            v: Array2::zeros((rows, dim)),
            t: 0,
        }
    }

    /// One descent step of size `lr` along the gradient `grad` (same shape as `x`), then a
    /// projection of every row onto `space`'s feasible set. Non-finite gradient entries are
    /// treated as zero, so a broken row simply stays where it is.
    pub fn step(
        &mut self,
        space: &Space,
        x: &mut Array2<f64>,
        grad: &Array2<f64>,
        lr: f64,
    ) -> Result<()> {
        self.t += 1;
        let AdamParams { beta1, beta2, eps } = self.params;
        let bc1 = 1.0 - beta1.powi(self.t);
        let bc2 = 1.0 - beta2.powi(self.t);
        Zip::from(&mut *x)
            .and(&mut self.m)
            .and(&mut self.v)
            .and(grad)
            .for_each(|x, m, v, &g| {
                let g = if g.is_finite() { g } else { 0.0 };
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                *x -= lr * (*m / bc1) / ((*v / bc2).sqrt() + eps);
            });
        project_rows(space, x)
    }
}

/// Projects every row of `x` onto `space`'s feasible set ([`Space::project`]), in parallel.
pub(crate) fn project_rows(space: &Space, x: &mut Array2<f64>) -> Result<()> {
    x.axis_iter_mut(Axis(0))
        .into_par_iter()
        .map(|mut row| match row.as_slice_mut() {
            Some(s) => space.project(s),
            None => {
                let mut owned = row.to_vec();
                space.project(&mut owned)?;
                row.iter_mut().zip(owned).for_each(|(r, o)| *r = o);
                Ok(())
            }
        })
        .collect::<std::result::Result<Vec<()>, _>>()?;
    Ok(())
}
