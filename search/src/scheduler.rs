//! [`TaskScheduler`]: which task of a network gets the next tuning round.
//!
//! Ansor's gradient task scheduler (TVM `auto_scheduler/task_scheduler.py`, as Felix uses it),
//! pure: no clock, no IO, deterministic for an RNG state. The objective is the network's
//! estimated end-to-end latency `f = Σ_i w_i · g_i`, with `w_i` the number of times task `i`
//! appears in the network and `g_i` its best measured latency. Each round goes to the task
//! whose next round is expected to reduce `f` the most:
//!
//! * **Warm-up**: every task gets one round first, in index order.
//! * **Retry**: a live task without any successful measurement yet (its warm-up failed) is
//!   retried next (Ansor starts every `g_i` at 1e10, which has the same effect), until it has
//!   failed [`SchedulerConfig::max_failed_rounds`] rounds, when it is dead.
//! * **ε-greedy**: with probability [`SchedulerConfig::epsilon`] a uniformly random live task.
//! * **Gradient**: otherwise the live task with the most negative
//!   `∂f/∂t_i = w_i · (α · backward_i + (1 − α) · forward_i)`, where, with `r_i` the rounds task
//!   `i` has had and `h_i[k]` its best latency after round `k` (0-based):
//!   * `backward_i = (h_i[r_i−1] − h_i[r_i−1−W]) / W` over the backward window `W`
//!     (0 while `r_i ≤ W` or either end has no success): the recent improvement rate;
//!   * `forward_i = min(g_i − g_i / r_i, β · flops_i / best_group_throughput) − g_i`: an
//!     optimistic guess that the next round improves the best by a `1/r_i` share, or (only
//!     with [`TaskScheduler::set_similarity`], when another task of the same group has a
//!     best) that the task reaches `1/β` of the best throughput in its group.
//!
//!   Ties: the lowest index; when every live task has the same value (e.g. all zero), a
//!   uniformly random live task.
//!
//! A task is **dead** (never picked again) once its space is exhausted (a round that measured
//! nothing, or [`TaskScheduler::mark_exhausted`]), once it failed every one of its first
//! `max_failed_rounds` rounds, or, with [`SchedulerConfig::patience_rounds`], after that many
//! consecutive rounds without improvement. [`TaskScheduler::next_task`] returns `None` when
//! every task is dead; trial and time budgets are the caller's.
//!
//! The gain [`TaskScheduler::expected_gains`] reports is `−∂f/∂t_i` in seconds of weighted
//! end-to-end latency per round.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::{Result, SearchError};

/// Settings of [`TaskScheduler`]. Defaults are Ansor's / Felix's.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// Weight `α` of the backward gradient against the forward one (Ansor, Felix: 0.2).
    pub alpha: f64,
    /// Factor `β` of the similar-task term (Ansor: 2); only used after
    /// [`TaskScheduler::set_similarity`].
    pub beta: f64,
    /// Backward window `W` in rounds (Ansor, Felix: 3).
    pub backward_window: usize,
    /// Probability that a post-warm-up round goes to a uniformly random live task (0.05).
    pub epsilon: f64,
    /// A task with no successful measurement after this many rounds is dead (2; at least 1).
    pub max_failed_rounds: usize,
    /// A task whose best has not improved for this many consecutive rounds is dead (None:
    /// never; Ansor's `early_stopping_task`, counted in rounds).
    pub patience_rounds: Option<usize>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            alpha: 0.2,
            beta: 2.0,
            backward_window: 3,
            epsilon: 0.05,
            max_failed_rounds: 2,
            patience_rounds: None,
        }
    }
}

impl SchedulerConfig {
    fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(SearchError::InvalidConfig(format!("scheduler: {what}")));
        if !(0.0..=1.0).contains(&self.alpha) {
            return bad("alpha must be in [0, 1]");
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return bad("beta must be finite and positive");
        }
        if self.backward_window == 0 {
            return bad("backward_window must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.epsilon) {
            return bad("epsilon must be in [0, 1]");
        }
        if self.max_failed_rounds == 0 {
            return bad("max_failed_rounds must be at least 1");
        }
        if self.patience_rounds == Some(0) {
            return bad("patience_rounds must be at least 1");
        }
        Ok(())
    }
}

/// The scheduler's record of one task.
#[derive(Clone, Debug)]
struct TaskState {
    weight: f64,
    trials: usize,
    /// Best latency so far after each round (`None` until the first success).
    history: Vec<Option<f64>>,
    stale_rounds: usize,
    exhausted: bool,
    group: Option<String>,
    flops: f64,
}

impl TaskState {
    fn best(&self) -> Option<f64> {
        self.history.last().copied().flatten()
    }
}

/// The gradient task scheduler (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct TaskScheduler {
    config: SchedulerConfig,
    tasks: Vec<TaskState>,
}

impl TaskScheduler {
    /// A scheduler over `weights.len()` tasks; `weights[i]` is how many times task `i`
    /// appears in the network (finite and positive; 1 for a single kernel).
    pub fn new(weights: &[f64], config: SchedulerConfig) -> Result<Self> {
        config.validate()?;
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(SearchError::InvalidConfig(format!(
                "scheduler: task weight {w} is not finite and positive"
            )));
        }
        let tasks = weights
            .iter()
            .map(|&weight| TaskState {
                weight,
                trials: 0,
                history: Vec::new(),
                stale_rounds: 0,
                exhausted: false,
                group: None,
                flops: 0.0,
            })
            .collect();
        Ok(Self { config, tasks })
    }

    /// Enables the similar-task term: `groups[i]` names task `i`'s group (e.g. its operator
    /// family; `None`: no group) and `flops[i]` its floating-point operation count.
    pub fn set_similarity(&mut self, groups: &[Option<String>], flops: &[f64]) -> Result<()> {
        if groups.len() != self.tasks.len() || flops.len() != self.tasks.len() {
            return Err(SearchError::InvalidConfig(format!(
                "scheduler: {} groups and {} flop counts for {} tasks",
                groups.len(),
                flops.len(),
                self.tasks.len()
            )));
        }
        if let Some(f) = flops.iter().find(|f| !(f.is_finite() && **f >= 0.0)) {
            return Err(SearchError::InvalidConfig(format!(
                "scheduler: flop count {f} is not finite and non-negative"
            )));
        }
        for ((t, g), &f) in self.tasks.iter_mut().zip(groups).zip(flops) {
            t.group = g.clone();
            t.flops = f;
        }
        Ok(())
    }

    /// The settings.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Task `task`'s weight (None: no such task).
    pub fn weight(&self, task: usize) -> Option<f64> {
        self.tasks.get(task).map(|t| t.weight)
    }

    /// Rounds task `task` has had (0 for an unknown task).
    pub fn rounds(&self, task: usize) -> usize {
        self.tasks.get(task).map_or(0, |t| t.history.len())
    }

    /// Trials measured for task `task` (0 for an unknown task).
    pub fn trials(&self, task: usize) -> usize {
        self.tasks.get(task).map_or(0, |t| t.trials)
    }

    /// Task `task`'s best latency so far, in seconds.
    pub fn best_latency_s(&self, task: usize) -> Option<f64> {
        self.tasks.get(task).and_then(TaskState::best)
    }

    /// Whether task `task` will never be picked again (true for an unknown task).
    pub fn is_dead(&self, task: usize) -> bool {
        self.tasks.get(task).is_none_or(|t| self.dead(t))
    }

    fn dead(&self, t: &TaskState) -> bool {
        let failed = t.best().is_none() && t.history.len() >= self.config.max_failed_rounds;
        let stale = self
            .config
            .patience_rounds
            .is_some_and(|p| t.best().is_some() && t.stale_rounds >= p);
        t.exhausted || failed || stale
    }

    /// Estimated end-to-end latency `Σ weight · best`, in seconds; `None` until every task has
    /// a successful measurement.
    pub fn estimated_latency_s(&self) -> Option<f64> {
        self.tasks
            .iter()
            .map(|t| t.best().map(|b| t.weight * b))
            .sum()
    }

    /// Records a finished round of `task`: `trials_used` candidates were measured and
    /// `best_latency_s` is the best latency of this round or the best so far (the scheduler
    /// keeps the minimum; `None`: no success). `trials_used == 0` means the policy had
    /// nothing left to propose: the task is marked exhausted.
    pub fn observe(
        &mut self,
        task: usize,
        trials_used: usize,
        best_latency_s: Option<f64>,
    ) -> Result<()> {
        let n = self.tasks.len();
        let t = self.tasks.get_mut(task).ok_or_else(|| {
            SearchError::InvalidConfig(format!("scheduler: task {task} of {n} observed"))
        })?;
        if let Some(l) = best_latency_s.filter(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(SearchError::InvalidConfig(format!(
                "scheduler: latency {l} of task {task} is not finite and positive"
            )));
        }
        let old = t.best();
        let new = match (old, best_latency_s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let improved = match (old, new) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b < a,
            _ => false,
        };
        t.stale_rounds = if improved { 0 } else { t.stale_rounds + 1 };
        t.history.push(new);
        t.trials += trials_used;
        if trials_used == 0 {
            t.exhausted = true;
        }
        Ok(())
    }

    /// Marks `task`'s space as exhausted: it is never picked again.
    pub fn mark_exhausted(&mut self, task: usize) {
        if let Some(t) = self.tasks.get_mut(task) {
            t.exhausted = true;
        }
    }

    /// Expected reduction of the weighted end-to-end latency from one more round, per task
    /// (`−∂f/∂t_i`, seconds, ≥ 0); `None` for dead tasks and tasks without a best yet.
    pub fn expected_gains(&self) -> Vec<Option<f64>> {
        self.tasks
            .iter()
            .map(|t| {
                if self.dead(t) {
                    return None;
                }
                let best = t.best()?;
                Some(-self.gradient(t, best))
            })
            .collect()
    }

    /// `∂f/∂t_i` of a live task with best `best` (≤ 0).
    fn gradient(&self, t: &TaskState, best: f64) -> f64 {
        let c = &self.config;
        let r = t.history.len();
        let w = c.backward_window;
        let backward = if r > w {
            match (t.history[r - 1], t.history[r - 1 - w]) {
                (Some(now), Some(then)) => (now - then) / w as f64,
                _ => 0.0,
            }
        } else {
            0.0
        };
        let optimistic = best - best / r.max(1) as f64;
        let similar = self.similar_guess(t).unwrap_or(f64::INFINITY);
        let forward = optimistic.min(similar) - best;
        // min(..) may exceed `best` through the similar-task term: never a positive gradient.
        (t.weight * (c.alpha * backward + (1.0 - c.alpha) * forward)).min(0.0)
    }

    /// `β · flops / best throughput of the group`, when another task of the group has a best.
    fn similar_guess(&self, t: &TaskState) -> Option<f64> {
        let group = t.group.as_ref()?;
        let members: Vec<&TaskState> = self
            .tasks
            .iter()
            .filter(|o| o.group.as_ref() == Some(group))
            .collect();
        if members.len() < 2 {
            return None;
        }
        let best_throughput = members
            .iter()
            .filter_map(|o| o.best().map(|b| o.flops / b))
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            })?;
        (best_throughput > 0.0).then(|| self.config.beta * t.flops / best_throughput)
    }

    /// The task for the next round, or `None` when every task is dead (see the
    /// [module docs](self) for the rule). Draws from `rng` only after the warm-up.
    pub fn next_task(&mut self, rng: &mut ChaCha8Rng) -> Option<usize> {
        let live: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| !self.dead(&self.tasks[i]))
            .collect();
        if let Some(&i) = live.iter().find(|&&i| self.tasks[i].history.is_empty()) {
            return Some(i);
        }
        if let Some(&i) = live.iter().find(|&&i| self.tasks[i].best().is_none()) {
            return Some(i);
        }
        if live.is_empty() {
            return None;
        }
        if self.config.epsilon > 0.0 && rng.random::<f64>() < self.config.epsilon {
            return Some(live[rng.random_range(0..live.len())]);
        }
        let grads: Vec<f64> = live
            .iter()
            .map(|&i| {
                let t = &self.tasks[i];
                self.gradient(t, t.best().unwrap_or(0.0))
            })
            .collect();
        let (lo, hi) = grads
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &g| {
                (l.min(g), h.max(g))
            });
        if lo == hi {
            return Some(live[rng.random_range(0..live.len())]);
        }
        let pick = (0..live.len())
            .find(|&k| grads[k] == lo)
            .unwrap_or_default();
        Some(live[pick])
    }
}
