//! [`GradientSearch`]: Felix-style gradient descent on the relaxed schedule variables.
//!
//! Per sketch and per call of [`SearchPolicy::propose`] (steps 1-3 run for all sketches in
//! parallel, each on a random stream seeded from the caller's in sketch order, so the result
//! depends on the seed alone):
//! 1. `n` legal starting points, encoded as coordinates (prime exponents, `ln` of choices):
//!    up to `⌊elite_share · n⌉` of them are the sketch's best measured assignments (fed back
//!    through [`SearchPolicy::observe`]), the rest the best by the model
//!    (`predicted + κ·uncertainty`) of `m` uniform samples ([`Space::sample`]). Starting from
//!    measured winners and from the model's favourites among random points keeps the descent
//!    where the model was trained instead of extrapolating from a few dozen samples; Felix
//!    starts from random points only. `n = n_starts` and `m = screen`, but a *lagging*
//!    sketch (its best measured throughput below `lagging_below` of the best sketch's) gets
//!    `lagging_share` of both.
//! 2. `n_steps` steps of the optimiser ([`Optimizer`]): by default projected Adam with
//!    per-row state created fresh for this call, minimising `−score + λ·penalty` through
//!    [`Space::decode_batch`] → [`Objective::evaluate`] → [`Space::pullback_batch`]. The
//!    temperature goes geometrically from `tau0` to `tau1` and the learning rate from `lr` to
//!    `lr_final`. With a `trust_radius`, every row stays within that many coordinate units
//!    (prime exponents) of its start in each coordinate: a learned model is only worth
//!    following near the points it has seen ranked well.
//! 3. Every iterate of every row (starting points included) and every screened sample is
//!    rounded ([`Space::round`], and in value space, [`crate::rounding`]) into a candidate
//!    pool, de-duplicated against the pool and everything in the [`SeenSet`]; with
//!    `elite_neighbors`, so are the one-step neighbours of the best measured assignments.
//! 4. The pool of all sketches is scored exactly ([`Objective::score_exact`]; the screened
//!    samples keep the scores they got in step 1) and polished
//!    (the best few candidates' integer neighbours are scored too, [`crate::polish`]),
//!    ranked by `predicted + κ·uncertainty` (κ = 0 by default), spread out so
//!    that the picks of a sketch differ in at least `min_diff` variables
//!    ([`crate::pool::spread`]), and the best `k − ⌊εk⌉` are returned together with `⌊εk⌉`
//!    random legal picks.
//!
//! # Penalty scaling
//! Felix rescales each row's penalty gradient to 5× the norm of its cost gradient. That
//! leaves the penalty without force where the cost is flat (`‖g_c‖ ≈ 0`), so here the
//! reference norm is `max(‖g_c,row‖, 0.1 · median_rows ‖g_c‖)`:
//! `g = −g_score + penalty_ratio · ref / ‖g_pen‖ · g_pen` on rows with a positive penalty.

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2, Axis, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tilegrad_symbolic::{Assignment, Space};

use crate::adam::{project_rows, ProjectedAdam};
use crate::lbfgs::lbfgs_trace;
use crate::polish::polish;
use crate::pool::{rank, select_ranked, spread, Pool};
use crate::proposal::Elite;
use crate::rounding::ValueRounder;
use crate::work::{fit_shares, RoundWork};
use crate::{
    Ask, ExactScore, GradientConfig, Objective, Optimizer, Proposal, ProposalSource, Result,
    SearchError, SearchPolicy,
};

mod starts;

/// Gradient descent on the relaxed variables through the objective; see the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct GradientSearch {
    /// Settings.
    pub config: GradientConfig,
    /// Best measured `(sketch, assignment, score)`, best first.
    measured: Elite,
    /// Best measured score per sketch (all measurements, not only the elite's).
    sketch_best: BTreeMap<usize, f64>,
    /// The work of the last round ([`GradientSearch::last_work`]).
    last_work: RoundWork,
}

impl GradientSearch {
    /// A policy with these settings (validated).
    pub fn new(config: GradientConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            measured: Elite::default(),
            sketch_best: BTreeMap::new(),
            last_work: RoundWork::default(),
        })
    }

    /// The work the last [`SearchPolicy::propose`] did, summed over its sketches (bounded by
    /// [`GradientConfig::work_budget`]; see [`crate::work`]).
    pub fn last_work(&self) -> RoundWork {
        self.last_work
    }

    /// The best measured assignments of sketch `sketch` that are legal in `space`, best first.
    fn elite<'a>(
        &'a self,
        sketch: usize,
        space: &'a Space,
    ) -> impl Iterator<Item = &'a (usize, Assignment, f64)> + 'a {
        self.measured
            .iter()
            .filter(move |(s, a, _)| *s == sketch && space.is_legal(a))
    }

    /// The share of the full `n_starts` and `screen` that sketch `sketch` gets this round:
    /// `lagging_share` when it has measured schedules and its best runs below `lagging_below`
    /// of the best measured throughput of any sketch, else 1. The descent is the costliest
    /// part of a round and grows with the number of sketches; most rounds' picks come from
    /// the sketches that already lead.
    fn share(&self, sketch: usize) -> f64 {
        let top = self
            .sketch_best
            .values()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        // Scores are `−ln(median s)`, so a difference is a log throughput ratio.
        match self.sketch_best.get(&sketch) {
            Some(own) if (own - top).exp() < self.config.lagging_below => self.config.lagging_share,
            _ => 1.0,
        }
    }

    /// The descent direction at `x` (see the module docs), for temperature `tau`.
    pub fn direction(
        &self,
        obj: &dyn Objective,
        x: ArrayView2<f64>,
        tau: f64,
    ) -> Result<Array2<f64>> {
        let space = obj.space();
        let values = space.decode_batch(x)?;
        let ev = obj.evaluate(values.view(), tau)?;
        ev.check_shape(x.nrows(), space.num_vars())?;
        let gs = space.pullback_batch(x, ev.d_score.view())?;
        let gp = space.pullback_batch(x, ev.d_penalty.view())?;
        let norm = |r: ndarray::ArrayView1<f64>| r.dot(&r).sqrt();
        let mut cost_norms: Vec<f64> = gs
            .rows()
            .into_iter()
            .map(norm)
            .filter(|n| n.is_finite())
            .collect();
        cost_norms.sort_by(f64::total_cmp);
        let median = cost_norms.get(cost_norms.len() / 2).copied().unwrap_or(0.0);
        let mut g = -gs;
        for (i, mut row) in g.axis_iter_mut(Axis(0)).enumerate() {
            if !ev.ok[i] {
                row.fill(0.0);
                continue;
            }
            let pn = norm(gp.row(i));
            if ev.penalty[i] > 0.0 && pn > 0.0 && pn.is_finite() {
                let reference = norm(row.view()).max(0.1 * median);
                row.scaled_add(self.config.penalty_ratio * reference / pn, &gp.row(i));
            }
        }
        Ok(g)
    }

    /// All iterates (starting points included) of one sketch's descent with share `share`
    /// of the starts, one row each, its screened samples and its descent rows × steps.
    fn trace(
        &self,
        sketch: usize,
        obj: &dyn Objective,
        share: f64,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Vec<Vec<f64>>, Vec<Screened>, usize)> {
        let space = obj.space();
        let (mut x, screened) = self.starts(sketch, obj, share, rng)?;
        let descent_rows = x.nrows() * self.config.n_steps;
        let x0 = x.clone();
        let mut trace: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
        let c = &self.config;
        match c.optimizer {
            Optimizer::Adam(params) => {
                let mut adam = ProjectedAdam::new(params, x.nrows(), x.ncols());
                for step in 0..c.n_steps {
                    let tau = c.geometric(c.tau0, c.tau1, step);
                    let g = self.direction(obj, x.view(), tau)?;
                    adam.step(space, &mut x, &g, c.geometric(c.lr, c.lr_final, step))?;
                    if c.trust_radius.is_finite() {
                        let r = c.trust_radius;
                        Zip::from(&mut x)
                            .and(&x0)
                            .for_each(|x, &x0| *x = x.clamp(x0 - r, x0 + r));
                        project_rows(space, &mut x)?;
                    }
                    trace.extend(x.rows().into_iter().map(|r| r.to_vec()));
                }
            }
            Optimizer::Lbfgs(cfg) => {
                for row in x.rows() {
                    trace.extend(lbfgs_trace(obj, &row.to_vec(), c.n_steps as u64, &cfg)?);
                }
            }
        }
        Ok((trace, screened, descent_rows))
    }

    /// One sketch's descent ([`GradientSearch::trace`]) with every iterate rounded (by
    /// exponent, and by value when `value_rounding`), its screened samples, and its work.
    fn descend(
        &self,
        sketch: usize,
        obj: &dyn Objective,
        share: f64,
        rng: &mut ChaCha8Rng,
    ) -> Result<Descent> {
        let space = obj.space();
        let (trace, screened, descent_rows) = self.trace(sketch, obj, share, rng)?;
        let mut rounded = round_all(space, &trace)?;
        if self.config.value_rounding {
            let flat: Vec<f64> = trace.iter().flatten().copied().collect();
            let x = Array2::from_shape_vec((trace.len(), space.dim()), flat)
                .map_err(|e| SearchError::Objective(e.to_string()))?;
            let values = space.decode_batch(x.view())?;
            rounded.extend(ValueRounder::new(space).round_batch(space, values.view())?);
        }
        let work = RoundWork {
            screened: screened.len(),
            descent_rows,
            rounded: rounded.len(),
        };
        Ok((rounded, screened, work))
    }
}

/// A screened uniform sample and its exact score (`None`: not scored).
type Screened = (Assignment, Option<ExactScore>);

/// One sketch's rounded iterates, screened samples and work.
type Descent = (Vec<Assignment>, Vec<Screened>, RoundWork);

/// Rounds every point (in parallel, order preserved).
fn round_all(space: &Space, points: &[Vec<f64>]) -> Result<Vec<Assignment>> {
    points
        .par_iter()
        .map(|p| space.round(p).map_err(SearchError::from))
        .collect()
}

impl SearchPolicy for GradientSearch {
    fn name(&self) -> &'static str {
        match self.config.optimizer {
            Optimizer::Adam(_) => "gradient-adam",
            Optimizer::Lbfgs(_) => "gradient-lbfgs",
        }
    }

    fn propose_some(&mut self, ask: &Ask<'_>, rng: &mut ChaCha8Rng) -> Result<Vec<Proposal>> {
        let Ask { tasks, seen, k } = *ask;
        self.config.validate()?;
        // Each sketch descends on its own stream, seeded in sketch order, so the sketches
        // can descend in parallel and the result still depends on the seed alone.
        let seeds: Vec<u64> = tasks.iter().map(|_| rng.random()).collect();
        // Shares scaled to the work budget: counts only, so still the seed alone decides.
        let shares: Vec<f64> = (0..tasks.len()).map(|s| self.share(s)).collect();
        let shares = fit_shares(&self.config, &shares);
        let descents = tasks
            .par_iter()
            .zip(&seeds)
            .zip(&shares)
            .enumerate()
            .map(|(sketch, ((&obj, &seed), &share))| {
                self.descend(sketch, obj, share, &mut ChaCha8Rng::seed_from_u64(seed))
            })
            .collect::<Vec<_>>();
        let mut pool = Pool::new(tasks.len());
        self.last_work = RoundWork::default();
        for ((sketch, &obj), descent) in tasks.iter().enumerate().zip(descents) {
            let space = obj.space();
            let (rounded, screened, work) = descent?;
            self.last_work = self.last_work + work;
            for a in rounded {
                pool.offer(obj, sketch, a, ProposalSource::Gradient, seen);
            }
            for (a, score) in screened {
                pool.offer_scored(obj, sketch, a, ProposalSource::Screened, seen, score);
            }
            let elite = self.elite(sketch, space).take(self.config.elite_neighbors);
            for (_, a, _) in elite {
                for n in space.neighbors(a)? {
                    pool.offer(obj, sketch, n, ProposalSource::Mutation, seen);
                }
            }
        }
        let mut scored = pool.score(tasks)?;
        let c = &self.config;
        polish(
            tasks,
            seen,
            &mut scored,
            c.polish_top,
            c.polish_rounds,
            c.kappa,
        )?;
        rank(&mut scored, c.kappa);
        let ordered = spread(scored, c.min_diff);
        select_ranked(tasks, seen, ordered, k, c.epsilon, rng)
    }

    fn observe(&mut self, results: &[(Proposal, Option<f64>)]) {
        for (p, score) in results {
            if let Some(s) = score.filter(|s| s.is_finite()) {
                let best = self.sketch_best.entry(p.sketch).or_insert(s);
                *best = best.max(s);
            }
        }
        self.measured
            .observe(results, 4 * self.config.n_starts.max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::tiled_space;

    #[test]
    fn a_sketch_behind_the_best_by_more_than_the_threshold_gets_the_lagging_share() {
        let space = tiled_space(&[("a", 64, 2)], &[]).unwrap();
        let a = space.parse_assignment("a_0=2,a_1=2").unwrap();
        let mut g = GradientSearch::new(GradientConfig::default()).unwrap();
        assert_eq!(
            g.share(0),
            1.0,
            "nothing measured: every sketch descends fully"
        );
        let p = |sketch| Proposal {
            sketch,
            assignment: a.clone(),
            predicted: 0.0,
            uncertainty: 0.0,
            source: ProposalSource::Gradient,
        };
        // Scores are −ln(seconds): sketch 1 at 0.95x of sketch 0, sketch 2 at 0.5x, sketch 3
        // failed, sketch 4 never measured.
        g.observe(&[
            (p(0), Some(0.0)),
            (p(1), Some(0.95f64.ln())),
            (p(2), Some(0.5f64.ln())),
            (p(2), Some(0.25f64.ln())),
            (p(3), None),
        ]);
        let lag = g.config.lagging_share;
        assert!(lag < 1.0);
        assert_eq!(
            [0, 1, 2, 3, 4].map(|s| g.share(s)),
            [1.0, 1.0, lag, 1.0, 1.0]
        );
    }
}
