//! L-BFGS (argmin) on one start, as the second optimiser for [`GradientSearch`]'s comparison.
//!
//! argmin's gradient solvers accept no bounds, so the problem is made unconstrained honestly
//! rather than by a saturating sigmoid (which stalls at the box corners, see
//! `shared/reference/rust-stack.md` §3): the objective is evaluated at the box-clamped point
//! `c = clamp(z, lo, hi)` and quadratic penalties pull `z` back into the box, the group
//! simplices `Σ_f x_{f,p} ≤ E_p` and the space's linear constraints:
//!
//! `f(z) = −score(c) + w_pen·penalty(c) + μ·(Σ relu(z − hi)² + relu(lo − z)² + Σ relu(a·z − b)²)`
//!
//! with a fixed `w_pen` (L-BFGS needs one consistent function, so Felix's adaptive per-step
//! scaling does not apply) and a fixed temperature. Every point the line search evaluates is
//! recorded (clamped and [projected](tilegrad_symbolic::Space::project)) for rounding.
//!
//! [`GradientSearch`]: crate::GradientSearch

use std::cell::RefCell;
use std::rc::Rc;

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::Array2;

use crate::{Objective, Result, SearchError};

/// Settings of the L-BFGS optimiser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// History length `m`.
    pub memory: usize,
    /// Weight `w_pen` of the objective's hardware-limit penalty.
    pub penalty_weight: f64,
    /// Weight `μ` of the box, simplex and linear-constraint penalties.
    pub constraint_weight: f64,
    /// Relaxation temperature used throughout.
    pub tau: f64,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            memory: 7,
            penalty_weight: 10.0,
            constraint_weight: 10.0,
            tau: 0.2,
        }
    }
}

/// The penalised problem for one start.
struct Problem<'a> {
    obj: &'a dyn Objective,
    cfg: LbfgsConfig,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// Linear constraints `(terms, rhs)`: the group simplices and the space's constraints.
    linear: Vec<(Vec<(usize, f64)>, f64)>,
    visited: Rc<RefCell<Vec<Vec<f64>>>>,
}

impl<'a> Problem<'a> {
    fn new(obj: &'a dyn Objective, cfg: LbfgsConfig) -> Self {
        let space = obj.space();
        let (lo, hi) = space.bounds();
        let mut linear: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
        for g in space.groups() {
            for (k, &(_, e)) in g.primes().iter().enumerate() {
                linear.push((g.prime_coords(k).map(|i| (i, 1.0)).collect(), e as f64));
            }
        }
        for c in space.constraints() {
            linear.push((c.terms().to_vec(), c.rhs()));
        }
        Self {
            obj,
            cfg,
            lo,
            hi,
            linear,
            visited: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// `(f(z), ∇f(z))`; records the visited point.
    fn eval(&self, z: &[f64]) -> Result<(f64, Vec<f64>)> {
        let space = self.obj.space();
        let c: Vec<f64> = (0..z.len())
            .map(|i| z[i].clamp(self.lo[i], self.hi[i]))
            .collect();
        let x = Array2::from_shape_vec((1, c.len()), c.clone())
            .map_err(|e| SearchError::Objective(e.to_string()))?;
        let values = space.decode_batch(x.view())?;
        let ev = self.obj.evaluate(values.view(), self.cfg.tau)?;
        ev.check_shape(1, space.num_vars())?;
        let gs = space.pullback_batch(x.view(), ev.d_score.view())?;
        let gp = space.pullback_batch(x.view(), ev.d_penalty.view())?;
        let w = self.cfg.penalty_weight;
        let mu = self.cfg.constraint_weight;
        let mut f = -ev.score[0] + w * ev.penalty[0];
        let mut g: Vec<f64> = (0..z.len())
            .map(|i| {
                let inside = z[i] >= self.lo[i] && z[i] <= self.hi[i];
                if inside {
                    -gs[[0, i]] + w * gp[[0, i]]
                } else {
                    0.0
                }
            })
            .collect();
        for i in 0..z.len() {
            let over = (z[i] - self.hi[i]).max(0.0) - (self.lo[i] - z[i]).max(0.0);
            f += mu * over * over;
            g[i] += 2.0 * mu * over;
        }
        for (terms, rhs) in &self.linear {
            let v = (terms.iter().map(|&(i, a)| a * z[i]).sum::<f64>() - rhs).max(0.0);
            f += mu * v * v;
            for &(i, a) in terms {
                g[i] += 2.0 * mu * v * a;
            }
        }
        let mut p = c;
        space.project(&mut p)?;
        self.visited.borrow_mut().push(p);
        if !ev.ok[0] || !f.is_finite() {
            // A non-finite point: a large finite cost with no pull makes the line search back off.
            return Ok((f64::MAX / 4.0, vec![0.0; z.len()]));
        }
        Ok((f, g))
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, z: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        self.eval(z)
            .map(|(f, _)| f)
            .map_err(|e| argmin::core::Error::msg(e.to_string()))
    }
}

impl Gradient for Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, z: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        self.eval(z)
            .map(|(_, g)| g)
            .map_err(|e| argmin::core::Error::msg(e.to_string()))
    }
}

/// Runs L-BFGS for up to `max_iters` iterations from the legal point `start` and returns every
/// point evaluated on the way (clamped and projected), in evaluation order. Termination by
/// the solver's own criteria or a line-search failure ends the trace early but is not an
/// error; a failing objective is.
pub fn lbfgs_trace(
    obj: &dyn Objective,
    start: &[f64],
    max_iters: u64,
    cfg: &LbfgsConfig,
) -> Result<Vec<Vec<f64>>> {
    let problem = Problem::new(obj, *cfg);
    // Objective errors are detected by evaluating the start directly first.
    problem.eval(start)?;
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), cfg.memory.max(1));
    let init = start.to_vec();
    let visited = Rc::clone(&problem.visited);
    let run = Executor::new(problem, solver)
        .configure(|s| s.param(init).max_iters(max_iters))
        .run();
    if let Err(e) = run {
        let msg = e.to_string();
        if msg.starts_with("objective:") || msg.starts_with("space:") {
            return Err(SearchError::Lbfgs(msg));
        }
    }
    let out = visited.borrow().clone();
    Ok(out)
}
