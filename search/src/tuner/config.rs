//! [`TunerConfig`], [`PolicyKind`], [`ColdStart`] and [`StopReason`].

use std::fmt;
use std::str::FromStr;

use tilegrad_cost_model::FitOptions;

use crate::{
    EvolutionConfig, EvolutionarySearch, GradientConfig, GradientSearch, RandomConfig,
    RandomSearch, Result, SchedulerConfig, SearchError, SearchPolicy,
};

/// Which search policy proposes the candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// [`GradientSearch`]: gradient descent through features and cost model (the core).
    Gradient,
    /// [`EvolutionarySearch`]: Ansor-style baseline.
    Evolutionary,
    /// [`RandomSearch`]: uniform legal picks, the honest baseline.
    Random,
}

impl PolicyKind {
    /// Every kind, in a fixed order.
    pub const ALL: [PolicyKind; 3] = [
        PolicyKind::Gradient,
        PolicyKind::Evolutionary,
        PolicyKind::Random,
    ];

    /// `gradient`, `evolutionary` or `random`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Gradient => "gradient",
            PolicyKind::Evolutionary => "evolutionary",
            PolicyKind::Random => "random",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PolicyKind {
    type Err = SearchError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gradient" | "grad" => Ok(PolicyKind::Gradient),
            "evolutionary" | "evolution" | "evo" => Ok(PolicyKind::Evolutionary),
            "random" => Ok(PolicyKind::Random),
            other => Err(SearchError::InvalidConfig(format!(
                "unknown policy `{other}` (gradient, evolutionary, random)"
            ))),
        }
    }
}

/// What proposes candidates while the cost model has not been fitted on this run's data yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColdStart {
    /// Uniform random legal picks until the model has been fitted on at least
    /// [`TunerConfig::min_train_successes`] successful measurements (the default: an
    /// untrained MLP ranks at random anyway, and random picks cover the space evenly,
    /// which is what the first fit needs).
    Random,
    /// Use the configured policy from the first round: for a model that is useful untrained
    /// (an [`AnalyticModel`](tilegrad_cost_model::AnalyticModel) or a pre-trained one).
    Model,
}

/// Settings of a [`Tuner`](super::Tuner) run.
#[derive(Clone, Debug, PartialEq)]
pub struct TunerConfig {
    /// Budget of trials, resumed ones included: the trials [`Tuner::resume`] took over
    /// count toward it ([`Tuner::remaining_trials`], the one place they are counted).
    ///
    /// [`Tuner::resume`]: super::Tuner::resume
    /// [`Tuner::remaining_trials`]: super::Tuner::remaining_trials
    pub max_trials: usize,
    /// Wall-time budget in seconds (checked between rounds); `None`: unlimited.
    pub time_limit_s: Option<f64>,
    /// Candidates measured per round (`k`).
    pub per_round: usize,
    /// Stop after this many consecutive rounds without a new best in any task.
    pub early_stop_rounds: Option<usize>,
    /// Seed of everything random (policies, scheduler, model fits).
    pub seed: u64,
    /// The search policy.
    pub policy: PolicyKind,
    /// Settings of the gradient policy.
    pub gradient: GradientConfig,
    /// Settings of the evolutionary policy.
    pub evolution: EvolutionConfig,
    /// Settings of the random policy.
    pub random: RandomConfig,
    /// Settings of the task scheduler.
    pub scheduler: SchedulerConfig,
    /// What proposes while the model is cold (see [`ColdStart`]).
    pub cold_start: ColdStart,
    /// Successful measurements needed before the model is fitted (and, with
    /// [`ColdStart::Random`], before the policy takes over).
    pub min_train_successes: usize,
    /// Fitting settings of every round's fine-tuning (its seed is offset by the round).
    pub fit: FitOptions,
    /// Re-measurements of a would-be new best and of the best it would replace, head to
    /// head, before the replacement is accepted (0: a single timing decides; see
    /// `tuner/head_to_head.rs`). They are logged, but are not trials.
    pub confirm_best: usize,
    /// Whether every task first measures its sketches' seed schedules
    /// ([`tilegrad_templates::seeds`]: an analytical model's picks), at most half of each
    /// round, before the policy's own proposals. Every policy gets the same seeds.
    pub seed_schedules: bool,
}

impl Default for TunerConfig {
    fn default() -> Self {
        Self {
            max_trials: 64,
            time_limit_s: None,
            per_round: 16,
            early_stop_rounds: None,
            seed: 0,
            policy: PolicyKind::Gradient,
            gradient: GradientConfig::default(),
            evolution: EvolutionConfig::default(),
            random: RandomConfig::default(),
            scheduler: SchedulerConfig::default(),
            cold_start: ColdStart::Random,
            min_train_successes: 8,
            fit: FitOptions::finetune(),
            confirm_best: 0,
            seed_schedules: true,
        }
    }
}

impl TunerConfig {
    /// Errors on out-of-range settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(SearchError::InvalidConfig(m.to_string()));
        if self.per_round == 0 {
            return bad("per_round must be at least 1");
        }
        if self
            .time_limit_s
            .is_some_and(|t| !(t.is_finite() && t > 0.0))
        {
            return bad("time_limit_s must be positive and finite");
        }
        if self.early_stop_rounds == Some(0) {
            return bad("early_stop_rounds must be at least 1");
        }
        self.gradient.validate()
    }

    /// A fresh policy instance of the configured kind (one per task: the evolutionary
    /// policy keeps the task's measured elite).
    pub fn make_policy(&self) -> Result<Box<dyn SearchPolicy>> {
        Ok(match self.policy {
            PolicyKind::Gradient => Box::new(GradientSearch::new(self.gradient)?),
            PolicyKind::Evolutionary => Box::new(EvolutionarySearch::new(self.evolution)?),
            PolicyKind::Random => Box::new(RandomSearch::new(self.random)?),
        })
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// [`TunerConfig::max_trials`] trials were made (resumed ones included).
    TrialBudget,
    /// [`TunerConfig::time_limit_s`] passed.
    TimeLimit,
    /// [`TunerConfig::early_stop_rounds`] rounds passed without a new best.
    EarlyStop,
    /// The policies found no unseen legal candidate in any task.
    SpaceExhausted,
    /// The scheduler has no live task left (every task exhausted or failing).
    NoLiveTask,
}

impl StopReason {
    /// Snake-case name (`trial_budget`, …), as written into the report.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::TrialBudget => "trial_budget",
            StopReason::TimeLimit => "time_limit",
            StopReason::EarlyStop => "early_stop",
            StopReason::SpaceExhausted => "space_exhausted",
            StopReason::NoLiveTask => "no_live_task",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
