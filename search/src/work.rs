//! The work budget of one [`GradientSearch`](crate::GradientSearch) round, counted in model
//! evaluations (rows), never in wall time, so that a round's proposals depend on the seed
//! alone and not on the speed of the machine.
//!
//! One *work unit* is one row through the feature tape and the cost model. Per sketch, a
//! round with `n` starts and `m` screened samples costs (planned, upper bound):
//! * `max(m, n)` uniform samples drawn and scored,
//! * `RELAXED_COST · n · n_steps` for the descent (each step: the tape forward, the model with
//!   its gradient, and two vector-Jacobian products back through the tape),
//! * `n · (n_steps + 1)` rounded iterates (twice with value rounding), each scored exactly in
//!   the candidate pool.
//!
//! When the sum over the sketches exceeds [`GradientConfig::work_budget`], every sketch's
//! share of `n_starts` and `screen` is scaled down by the same factor (at least one start per
//! sketch remains). The elite's neighbours and polishing are bounded by their own settings
//! (`elite_neighbors`, `polish_top · polish_rounds`) and are not scaled.

use crate::GradientConfig;

/// Work units of one relaxed row-step (forward, model gradient, two VJPs) relative to one
/// exact evaluation.
pub const RELAXED_COST: usize = 3;

/// The work a round did or plans, in units (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundWork {
    /// Uniform samples drawn (and scored when screening).
    pub screened: usize,
    /// Descent rows times steps.
    pub descent_rows: usize,
    /// Iterates rounded (and scored in the pool).
    pub rounded: usize,
}

impl RoundWork {
    /// The total in work units: `screened + RELAXED_COST · descent_rows + rounded`.
    pub fn units(&self) -> usize {
        self.screened + RELAXED_COST * self.descent_rows + self.rounded
    }
}

impl std::ops::Add for RoundWork {
    type Output = RoundWork;

    /// The sum of two counts.
    fn add(self, other: RoundWork) -> RoundWork {
        RoundWork {
            screened: self.screened + other.screened,
            descent_rows: self.descent_rows + other.descent_rows,
            rounded: self.rounded + other.rounded,
        }
    }
}

/// Starting points of a sketch with share `share` of `n_starts` (at least one).
pub(crate) fn starts_of(c: &GradientConfig, share: f64) -> usize {
    ((share * c.n_starts as f64).ceil() as usize).max(1)
}

/// Uniform samples screened by a sketch with share `share` of `screen`.
pub(crate) fn screen_of(c: &GradientConfig, share: f64) -> usize {
    (share * c.screen as f64).ceil() as usize
}

/// The planned work of one sketch with share `share`.
pub fn planned(c: &GradientConfig, share: f64) -> RoundWork {
    let n = starts_of(c, share);
    let per_row = if c.value_rounding { 2 } else { 1 };
    RoundWork {
        screened: screen_of(c, share).max(n),
        descent_rows: n * c.n_steps,
        rounded: n * (c.n_steps + 1) * per_row,
    }
}

/// The sketches' shares scaled by one common factor so that the planned work fits
/// `c.work_budget` (0: unbounded; shares returned unchanged). Deterministic: it depends on
/// the settings and the shares alone. When even one start per sketch exceeds the budget,
/// the shares shrink to that floor.
pub fn fit_shares(c: &GradientConfig, shares: &[f64]) -> Vec<f64> {
    let total = |f: f64| -> usize { shares.iter().map(|&s| planned(c, s * f).units()).sum() };
    if c.work_budget == 0 || total(1.0) <= c.work_budget {
        return shares.to_vec();
    }
    let mut f = c.work_budget as f64 / total(1.0) as f64;
    // `ceil` and the one-start floor make the planned work only roughly linear in `f`.
    while total(f) > c.work_budget && f > 1e-6 {
        f *= 0.9;
    }
    shares.iter().map(|&s| s * f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_shrink_to_fit_the_budget_and_not_below_one_start() {
        let c = GradientConfig::default();
        let full = planned(&c, 1.0).units();
        assert_eq!(fit_shares(&c, &[1.0, 0.5]), vec![1.0, 0.5]);
        let tight = GradientConfig {
            work_budget: 2 * full,
            ..c
        };
        let shares = fit_shares(&tight, &[1.0; 4]);
        let used: usize = shares.iter().map(|&s| planned(&tight, s).units()).sum();
        assert!(
            used <= tight.work_budget && used > tight.work_budget / 2,
            "{used}"
        );
        let tiny = GradientConfig {
            work_budget: 1,
            ..c
        };
        for s in fit_shares(&tiny, &[1.0; 3]) {
            assert_eq!(starts_of(&tiny, s), 1);
        }
    }
}
