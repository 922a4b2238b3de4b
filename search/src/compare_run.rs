//! The policy comparison harness behind `tilegrad bench search`: runs several policies under
//! the same [`Tuner`] settings, tasks, target, trial budget and measurer, for several seeds,
//! and summarises their best-so-far curves ([`crate::compare`]).
//!
//! Every (task, seed, policy) is a separate single-task [`Tuner`] run with a fresh model
//! (`make_model(seed)`), so each policy gets the full trial budget on each task. Within a
//! seed every policy gets the same starting model: `tilegrad bench search` passes the shipped
//! pre-trained model (`--model auto`, a fresh copy per run since runs fine-tune it) or an
//! untrained ensemble seeded by the run's seed (`--model none`); random search proposes
//! without it. Runs are
//! interleaved (for each task, for each seed, every policy in turn) so that slow drift of the
//! machine affects all policies alike. With a real measurer the trial counts and best values
//! depend on the measured times; with a replaying or synthetic one they are deterministic.
//!
//! With `confirm` rounds, after all runs of a task every schedule some run delivered as its
//! best is measured again ([`crate::confirm`]) and the task is judged on those confirmed
//! throughputs ([`crate::compare`]).

use serde::{Deserialize, Serialize};
use tilegrad_measure::Measurer;
use tilegrad_symbolic::Target;

use crate::compare::{summarize, Comparison, RunCurve};
use crate::confirm::{confirm_picks, Pick};
use crate::report::Report;
use crate::tuner::{PolicyKind, TuneEvent, TuneTask, Tuner, TunerConfig, TunerModel};
use crate::{Result, SearchError};

/// Settings of [`compare_policies`].
#[derive(Clone, Debug, PartialEq)]
pub struct BenchConfig {
    /// Policies to compare (default: all three).
    pub policies: Vec<PolicyKind>,
    /// Seeds; every policy runs every task once per seed (default: 0, 1, 2).
    pub seeds: Vec<u64>,
    /// Thresholds as shares of the best any policy found (default: 0.90, 0.95, 0.99).
    pub thresholds: Vec<f64>,
    /// Tuner settings shared by every run (trial budget, time limit, round size, ...); its
    /// `policy` and `seed` are overridden per run.
    pub tuner: TunerConfig,
    /// Re-measurements of every run's picks after each task (0: judge on the runs' own
    /// measurements).
    pub confirm: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            policies: PolicyKind::ALL.to_vec(),
            seeds: vec![0, 1, 2],
            thresholds: vec![0.90, 0.95, 0.99],
            tuner: TunerConfig::default(),
            confirm: 0,
        }
    }
}

/// Which run a progress event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId {
    /// Task index (into the `tasks` given to [`compare_policies`]).
    pub task: usize,
    /// Seed.
    pub seed: u64,
    /// Policy.
    pub policy: PolicyKind,
    /// Position of the run (0-based) among all runs.
    pub index: usize,
    /// Number of runs.
    pub total: usize,
}

/// The harness's result: the table and every run's curve (enough to recompute the table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchOutcome {
    /// The comparison table.
    pub comparison: Comparison,
    /// One curve per run, in run order.
    pub curves: Vec<RunCurve>,
}

impl BenchOutcome {
    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| SearchError::Report(e.to_string()))
    }
}

/// Runs every policy of `config` on every task for every seed (see the [module
/// docs](self)); `on_event` sees each run's tuner events, `on_report` each run's report.
pub fn compare_policies(
    target: &Target,
    tasks: &[TuneTask],
    config: &BenchConfig,
    make_model: &mut dyn FnMut(u64) -> Result<TunerModel>,
    measurer: &mut dyn Measurer,
    on_event: &mut dyn FnMut(&RunId, &TuneEvent),
    on_report: &mut dyn FnMut(&RunId, &Report),
) -> Result<BenchOutcome> {
    if tasks.is_empty() || config.policies.is_empty() || config.seeds.is_empty() {
        return Err(SearchError::InvalidConfig(
            "bench: needs at least one task, policy and seed".into(),
        ));
    }
    let total = tasks.len() * config.seeds.len() * config.policies.len();
    let mut curves: Vec<RunCurve> = Vec::with_capacity(total);
    for (task, t) in tasks.iter().enumerate() {
        let first = curves.len();
        for &seed in &config.seeds {
            for &policy in &config.policies {
                let id = RunId {
                    task,
                    seed,
                    policy,
                    index: curves.len(),
                    total,
                };
                let cfg = TunerConfig {
                    policy,
                    seed,
                    ..config.tuner.clone()
                };
                let mut tuner =
                    Tuner::new(target.clone(), vec![t.clone()], make_model(seed)?, cfg)?;
                let mut picks = Vec::new();
                let outcome = tuner.run(measurer, &mut |e| {
                    if let TuneEvent::NewBest { best, .. } = e {
                        picks.push(Pick::of(best));
                    }
                    on_event(&id, e)
                })?;
                on_report(&id, &outcome.report);
                let mut curve = RunCurve::from_report(&outcome.report, 0)?;
                curve.picks = picks;
                curves.push(curve);
            }
        }
        let mut picks: Vec<&mut Pick> = curves[first..]
            .iter_mut()
            .flat_map(|c| c.picks.iter_mut())
            .collect();
        confirm_picks(t, &mut picks, config.confirm, measurer)?;
    }
    Ok(BenchOutcome {
        comparison: summarize(&curves, &config.thresholds)?,
        curves,
    })
}
