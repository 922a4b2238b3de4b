//! [`GradientSearch`]: Felix-style gradient descent on the relaxed schedule variables.
//!
//! Per sketch and per call of [`SearchPolicy::propose`]:
//! 1. `n_starts` legal starting points, encoded as coordinates (prime exponents, `ln` of
//!    choices): up to `⌊elite_share · n_starts⌉` of them are the sketch's best measured
//!    assignments (fed back through [`SearchPolicy::observe`]), the rest sampled uniformly
//!    ([`Space::sample`]). Starting from measured winners keeps the descent where the
//!    model was trained instead of extrapolating from a few dozen samples.
//! 2. `n_steps` steps of the optimiser ([`Optimizer`]): by default projected Adam with
//!    per-row state created fresh for this call, minimising `−score + λ·penalty` through
//!    [`Space::decode_batch`] → [`Objective::evaluate`] → [`Space::pullback_batch`]. The
//!    temperature goes geometrically from `tau0` to `tau1` and the learning rate from `lr` to
//!    `lr_final`.
//! 3. Every iterate of every row (starting points included) is rounded ([`Space::round`], and
//!    in value space, [`crate::rounding`]) into a candidate pool, de-duplicated against the pool and everything in the [`SeenSet`].
//! 4. The pool of all sketches is scored exactly ([`Objective::score_exact`]) and polished
//!    (the best few candidates' integer neighbours are scored too, [`crate::polish`]),
//!    ranked by `predicted + κ·uncertainty` (κ < 0 by default: pessimistic), spread out so
//!    that the picks of a sketch differ in at least `min_diff` variables
//!    ([`crate::pool::spread`]), and the best `k − ⌊εk⌉` are returned together with `⌊εk⌉`
//!    random legal picks.
//!
//! # Penalty scaling
//! Felix rescales each row's penalty gradient to 5× the norm of its cost gradient. That
//! leaves the penalty without force where the cost is flat (`‖g_c‖ ≈ 0`), so here the
//! reference norm is `max(‖g_c,row‖, 0.1 · median_rows ‖g_c‖)`:
//! `g = −g_score + penalty_ratio · ref / ‖g_pen‖ · g_pen` on rows with a positive penalty.

use ndarray::{Array2, ArrayView2, Axis};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tilegrad_symbolic::{Assignment, Space};

use crate::adam::{AdamParams, ProjectedAdam};
use crate::lbfgs::{lbfgs_trace, LbfgsConfig};
use crate::polish::polish;
use crate::pool::{rank, select_ranked, spread, Pool};
use crate::proposal::Elite;
use crate::rounding::ValueRounder;
use crate::{Objective, Proposal, ProposalSource, Result, SearchError, SearchPolicy, SeenSet};

/// Which optimiser moves the starting points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Projected Adam, all starts in one batch (the default).
    Adam(AdamParams),
    /// argmin's L-BFGS per start on a penalised reparametrisation (see [`crate::lbfgs`]).
    Lbfgs(LbfgsConfig),
}

/// Settings of [`GradientSearch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientConfig {
    /// Starting points per sketch.
    pub n_starts: usize,
    /// Optimiser steps per round (Adam) or iterations per start (L-BFGS).
    pub n_steps: usize,
    /// Initial learning rate, in coordinate units (one unit = one prime exponent).
    pub lr: f64,
    /// Final learning rate (geometric schedule from `lr`).
    pub lr_final: f64,
    /// Initial relaxation temperature.
    pub tau0: f64,
    /// Final relaxation temperature (geometric schedule from `tau0`).
    pub tau1: f64,
    /// Penalty-gradient norm relative to the cost-gradient norm (Felix: 5).
    pub penalty_ratio: f64,
    /// Weight `κ` of the ensemble's uncertainty when ranking (`predicted + κ·uncertainty`).
    /// Negative by default: a descent drives candidates to where the model over-predicts,
    /// which is where its members disagree, so ranking is pessimistic there. On the CPU
    /// (pre-trained model, 3 tasks x 4 seeds, best of the first 8 measured) κ = -0.5 gave
    /// 107 / 92 / 85 GFLOP/s against 95 / 87 / 64 with the former +0.5 exploration bonus;
    /// exploration comes from the ε random picks instead.
    pub kappa: f64,
    /// Share `ε` of the `k` proposals that are random legal picks.
    pub epsilon: f64,
    /// Also round every iterate in value space ([`crate::rounding`]), besides
    /// [`Space::round`]'s exponent rounding.
    pub value_rounding: bool,
    /// Candidates hill-climbed per polishing round ([`crate::polish`]; 0 disables it).
    pub polish_top: usize,
    /// Maximum polishing rounds.
    pub polish_rounds: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Share of the starting points taken from the best measured assignments (0 disables it).
    pub elite_share: f64,
    /// A round's model picks differ pairwise in at least this many variables (per sketch)
    /// while the ranked pool allows ([`crate::pool::spread`]; 0 or 1 disables it).
    pub min_diff: usize,
}

impl Default for GradientConfig {
    fn default() -> Self {
        Self {
            n_starts: 64,
            n_steps: 40,
            lr: 0.5,
            lr_final: 0.1,
            tau0: 1.0,
            tau1: 0.05,
            penalty_ratio: 5.0,
            kappa: -0.5,
            epsilon: 0.1,
            value_rounding: true,
            polish_top: 4,
            polish_rounds: 4,
            optimizer: Optimizer::Adam(AdamParams::default()),
            elite_share: 0.5,
            min_diff: 2,
        }
    }
}

impl GradientConfig {
    /// Errors on out-of-range settings.
    pub fn validate(&self) -> Result<()> {
        let pos = |v: f64| v.is_finite() && v > 0.0;
        let bad = |m: &str| Err(SearchError::InvalidConfig(m.to_string()));
        if self.n_starts == 0 {
            return bad("n_starts must be at least 1");
        }
        if !(pos(self.lr) && pos(self.lr_final) && pos(self.tau0) && pos(self.tau1)) {
            return bad("lr, lr_final, tau0 and tau1 must be positive and finite");
        }
        if !(self.penalty_ratio.is_finite() && self.penalty_ratio >= 0.0) {
            return bad("penalty_ratio must be finite and non-negative");
        }
        if !self.kappa.is_finite() || !(0.0..=1.0).contains(&self.epsilon) {
            return bad("kappa must be finite and epsilon in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.elite_share) {
            return bad("elite_share must be in [0, 1]");
        }
        Ok(())
    }

    /// `start · (end/start)^(step/(n_steps−1))`.
    fn geometric(&self, start: f64, end: f64, step: usize) -> f64 {
        let frac = if self.n_steps > 1 {
            step as f64 / (self.n_steps - 1) as f64
        } else {
            0.0
        };
        start * (end / start).powf(frac)
    }
}

/// Gradient descent on the relaxed variables through the objective; see the
/// [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct GradientSearch {
    /// Settings.
    pub config: GradientConfig,
    /// Best measured `(sketch, assignment, score)`, best first.
    measured: Elite,
}

impl GradientSearch {
    /// A policy with these settings (validated).
    pub fn new(config: GradientConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            measured: Elite::default(),
        })
    }

    /// Legal starting points of sketch `sketch`'s `space`, one per row: its best measured
    /// assignments first (up to the elite share), then uniform samples.
    fn starts(&self, sketch: usize, space: &Space, rng: &mut ChaCha8Rng) -> Result<Array2<f64>> {
        let n = self.config.n_starts;
        let n_elite = (self.config.elite_share * n as f64).round() as usize;
        let elite = self
            .measured
            .iter()
            .filter(|(s, a, _)| *s == sketch && space.is_legal(a))
            .take(n_elite);
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(n);
        for (_, a, _) in elite {
            rows.push(space.encode(a)?);
        }
        while rows.len() < n {
            rows.push(space.encode(&space.sample(rng)?)?);
        }
        let mut x = Array2::zeros((n, space.dim()));
        for (mut row, r) in x.axis_iter_mut(Axis(0)).zip(&rows) {
            row.assign(&ndarray::ArrayView1::from(r));
        }
        Ok(x)
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

    /// All iterates (starting points included) of one sketch's descent, one row each.
    fn trace(
        &self,
        sketch: usize,
        obj: &dyn Objective,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Vec<f64>>> {
        let space = obj.space();
        let mut x = self.starts(sketch, space, rng)?;
        let mut trace: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
        let c = &self.config;
        match c.optimizer {
            Optimizer::Adam(params) => {
                let mut adam = ProjectedAdam::new(params, x.nrows(), x.ncols());
                for step in 0..c.n_steps {
                    let tau = c.geometric(c.tau0, c.tau1, step);
                    let g = self.direction(obj, x.view(), tau)?;
                    adam.step(space, &mut x, &g, c.geometric(c.lr, c.lr_final, step))?;
                    trace.extend(x.rows().into_iter().map(|r| r.to_vec()));
                }
            }
            Optimizer::Lbfgs(cfg) => {
                for row in x.rows() {
                    trace.extend(lbfgs_trace(obj, &row.to_vec(), c.n_steps as u64, &cfg)?);
                }
            }
        }
        Ok(trace)
    }
}

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

    fn propose(
        &mut self,
        tasks: &[&dyn Objective],
        seen: &SeenSet,
        k: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Proposal>> {
        self.config.validate()?;
        if tasks.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let mut pool = Pool::new(tasks.len());
        for (sketch, &obj) in tasks.iter().enumerate() {
            let space = obj.space();
            let trace = self.trace(sketch, obj, rng)?;
            let mut rounded = round_all(space, &trace)?;
            if self.config.value_rounding {
                let flat: Vec<f64> = trace.iter().flatten().copied().collect();
                let x = Array2::from_shape_vec((trace.len(), space.dim()), flat)
                    .map_err(|e| SearchError::Objective(e.to_string()))?;
                let values = space.decode_batch(x.view())?;
                rounded.extend(ValueRounder::new(space).round_batch(space, values.view())?);
            }
            for a in rounded {
                pool.offer(obj, sketch, a, ProposalSource::Gradient, seen);
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
        self.measured
            .observe(results, 4 * self.config.n_starts.max(1));
    }
}
