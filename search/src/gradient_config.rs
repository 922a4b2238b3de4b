//! [`GradientConfig`]: the settings of [`GradientSearch`](crate::GradientSearch), with a
//! `key=value` text form for command lines ([`GradientConfig::apply`]).

use crate::adam::AdamParams;
use crate::lbfgs::LbfgsConfig;
use crate::{Result, SearchError};

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
    /// Starting points per sketch (a lagging sketch gets `lagging_share` of them).
    pub n_starts: usize,
    /// Optimiser steps per round (Adam) or iterations per start (L-BFGS). With 32 starts and
    /// 20 steps a CPU round searches in 0.11-0.18 s (matmul 512^3, two sketches; 3x3 convs);
    /// 64 and 40 took 0.35-0.48 s, a fifth of the tuning time at 8 candidates per round.
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
    /// 0 by default: exploration comes from the screened random starts and the ε random
    /// picks. The measurements behind the default:
    /// `results/search/2026-11-25-gradient-settings-first-round/README.md`.
    pub kappa: f64,
    /// Share `ε` of the `k` proposals that are random legal picks (`⌊εk⌉`; the evolutionary
    /// baseline's 0.05, so none at 8 per round).
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
    /// Uniform samples per sketch and round that the model screens for the non-elite
    /// starting points (the best-ranked become starts, all join the pool); at most the
    /// number of non-elite starts means plain uniform starts, as in Felix. Measured as for
    /// `kappa`.
    pub screen: usize,
    /// Largest move of an Adam iterate from its start in any coordinate, in coordinate units
    /// (one prime exponent; `ln` for choices); infinite: unbounded. Ignored by L-BFGS.
    /// Measured as for `kappa`.
    pub trust_radius: f64,
    /// The best measured assignments of each sketch whose one-step neighbours
    /// ([`Space::neighbors`](tilegrad_symbolic::Space::neighbors)) join the candidate pool
    /// (0: none), ranked by the same model: local moves around what measured well. The
    /// measurements behind the default:
    /// `results/search/2026-11-25-gradient-elite-neighbors-5tasks-3seeds/README.md`.
    pub elite_neighbors: usize,
    /// A sketch whose best measured throughput is below this fraction of the best of any
    /// sketch is *lagging*: it gets `lagging_share` of `n_starts` and `screen` (see
    /// `lagging_share`). Sketches without a measured schedule never lag.
    pub lagging_below: f64,
    /// Share of `n_starts` and `screen` that a lagging sketch gets (1: all sketches the same,
    /// as in Felix). The descent costs most of a round's search time and every sketch adds
    /// its own; most picks come from the sketches that lead.
    pub lagging_share: f64,
    /// Most work units per round, over all sketches (0: unbounded): one unit is one row
    /// through the feature tape and the model (see [`crate::work`]). When a round would
    /// exceed it, every sketch's share of `n_starts` and `screen` shrinks by one factor, so
    /// that no shape (many sketches, many prime-exponent coordinates) can make the search
    /// dominate the measurements; counted in work, not wall time, so the proposals still
    /// depend on the seed alone. The default 16384 leaves the three CPU sketches' full
    /// rounds (about 11300 units) as they were and holds a round to about 1-1.5 s on 2 cores.
    pub work_budget: usize,
}

impl Default for GradientConfig {
    fn default() -> Self {
        Self {
            n_starts: 32,
            n_steps: 20,
            lr: 0.5,
            lr_final: 0.1,
            tau0: 1.0,
            tau1: 0.05,
            penalty_ratio: 5.0,
            kappa: 0.0,
            epsilon: 0.05,
            value_rounding: true,
            polish_top: 4,
            polish_rounds: 4,
            optimizer: Optimizer::Adam(AdamParams::default()),
            elite_share: 0.5,
            min_diff: 2,
            screen: 512,
            trust_radius: 2.0,
            elite_neighbors: 8,
            lagging_below: 0.9,
            lagging_share: 0.5,
            work_budget: 16384,
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
        if self.trust_radius.is_nan() || self.trust_radius <= 0.0 {
            return bad("trust_radius must be positive (infinite: unbounded)");
        }
        let share_ok = self.lagging_share > 0.0 && self.lagging_share <= 1.0;
        if !((0.0..=1.0).contains(&self.lagging_below) && share_ok) {
            return bad("lagging_below must be in [0, 1] and lagging_share in (0, 1]");
        }
        Ok(())
    }

    /// `start · (end/start)^(step/(n_steps−1))`.
    pub(crate) fn geometric(&self, start: f64, end: f64, step: usize) -> f64 {
        let frac = if self.n_steps > 1 {
            step as f64 / (self.n_steps - 1) as f64
        } else {
            0.0
        };
        start * (end / start).powf(frac)
    }
}

/// The settings [`GradientConfig::set`] knows, in the order of the struct.
pub const GRADIENT_KEYS: &[&str] = &[
    "n_starts",
    "n_steps",
    "lr",
    "lr_final",
    "tau0",
    "tau1",
    "penalty_ratio",
    "kappa",
    "epsilon",
    "value_rounding",
    "polish_top",
    "polish_rounds",
    "elite_share",
    "min_diff",
    "screen",
    "trust_radius",
    "elite_neighbors",
    "lagging_below",
    "lagging_share",
    "work_budget",
];

impl GradientConfig {
    /// Sets one setting by name (see [`GRADIENT_KEYS`]; `trust_radius` also takes `inf`),
    /// then validates the whole.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let bad =
            || SearchError::InvalidConfig(format!("gradient setting `{key}`: bad value `{value}`"));
        let f = || value.trim().parse::<f64>().map_err(|_| bad());
        let n = || value.trim().parse::<usize>().map_err(|_| bad());
        match key.trim() {
            "n_starts" => self.n_starts = n()?,
            "n_steps" => self.n_steps = n()?,
            "lr" => self.lr = f()?,
            "lr_final" => self.lr_final = f()?,
            "tau0" => self.tau0 = f()?,
            "tau1" => self.tau1 = f()?,
            "penalty_ratio" => self.penalty_ratio = f()?,
            "kappa" => self.kappa = f()?,
            "epsilon" => self.epsilon = f()?,
            "value_rounding" => self.value_rounding = value.trim().parse().map_err(|_| bad())?,
            "polish_top" => self.polish_top = n()?,
            "polish_rounds" => self.polish_rounds = n()?,
            "elite_share" => self.elite_share = f()?,
            "min_diff" => self.min_diff = n()?,
            "screen" => self.screen = n()?,
            "trust_radius" => self.trust_radius = f()?,
            "elite_neighbors" => self.elite_neighbors = n()?,
            "lagging_below" => self.lagging_below = f()?,
            "lagging_share" => self.lagging_share = f()?,
            "work_budget" => self.work_budget = n()?,
            other => {
                return Err(SearchError::InvalidConfig(format!(
                    "unknown gradient setting `{other}` (one of {})",
                    GRADIENT_KEYS.join(", ")
                )))
            }
        }
        self.validate()
    }

    /// Applies `key=value` settings separated by commas, e.g. `kappa=0,screen=1024`.
    pub fn apply(&mut self, text: &str) -> Result<()> {
        for item in text.split(',').filter(|i| !i.trim().is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                SearchError::InvalidConfig(format!("gradient setting `{item}`: expected key=value"))
            })?;
            self.set(k, v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_by_name_and_are_validated() {
        let mut c = GradientConfig::default();
        c.apply("kappa=0.25, screen=64,trust_radius=inf,value_rounding=false,work_budget=5000")
            .unwrap();
        assert_eq!(c.kappa, 0.25);
        assert_eq!(c.screen, 64);
        assert!(c.trust_radius.is_infinite());
        assert!(!c.value_rounding);
        assert_eq!(c.work_budget, 5000);
        for bad in [
            "kappa",
            "nope=1",
            "n_starts=0",
            "lr=-1",
            "screen=x",
            "trust_radius=0",
            "lagging_share=0",
            "lagging_below=1.5",
        ] {
            let mut c = GradientConfig::default();
            assert!(c.apply(bad).is_err(), "{bad}");
        }
        assert_eq!(GRADIENT_KEYS.len(), 20);
    }
}
