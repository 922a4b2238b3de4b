//! [`Tuner`]: rounds of propose → measure → log → fine-tune over a list of tasks.
//!
//! Each round:
//! 1. the [`TaskScheduler`] picks a task (one warm-up round per task first, then the task
//!    with the largest expected gain in weighted latency);
//! 2. the policy ([`TunerConfig::policy`]) proposes up to `k` unseen legal candidates over
//!    all of the task's sketches, each sketch seen through a [`ModelObjective`];
//! 3. the [`Measurer`] measures them; every candidate counts as a trial;
//! 4. the results become log records with provenance (tilegrad version, cost-model hash,
//!    policy, seed, round, timestamp; failures of the candidate are recorded with their kind,
//!    environment failures such as [`MeasureError::NotInLog`](tilegrad_measure::MeasureError)
//!    are not), handed once per round to every [`RecordSink`]: the [`TuningLog`], the
//!    schedule database, the report builder (records flow one way: tuner, then sinks);
//! 5. the cost model is fine-tuned on everything measured on this target (failures as
//!    unlabelled worst samples), once at least [`TunerConfig::min_train_successes`]
//!    successes exist.
//!
//! **Cold start** ([`ColdStart`]): by default, while the model has not been fitted, rounds
//! propose uniform random legal picks (an untrained MLP ranks at random, and the first fit
//! needs an even cover of the space); with [`ColdStart::Model`] the policy runs from round 1
//! (for an analytic model). A model given already fitted ([`TunerModel::is_fitted`]: the
//! shipped pre-trained one, [`TunerModel::pretrained_for`]) counts as fitted from round 1:
//! no cold start; it is fine-tuned from its weights every round once
//! [`TunerConfig::min_train_successes`] successes exist (its normaliser stays frozen),
//! gently: at most [`PRETRAINED_FINETUNE_EPOCHS`] epochs at a learning rate of at most
//! [`PRETRAINED_FINETUNE_LR`] (the default fine-tuning undid most of what pretraining taught;
//! the measurement is at [`PRETRAINED_FINETUNE_LR`]).
//!
//! **Resume** ([`Tuner::resume`]): records of an earlier run fill the seen sets (nothing is
//! measured twice), restore the best schedules and warm-start the model (fitted on them).
//! The trials taken over count toward [`TunerConfig::max_trials`]
//! ([`Tuner::remaining_trials`]).
//!
//! **Determinism**: the policies, scheduler and fits are seeded from [`TunerConfig::seed`];
//! apart from the measured times (and a time limit) a run is deterministic, and on a
//! [`ReplayMeasurer`](tilegrad_measure::ReplayMeasurer) entirely so.
//!
//! Wrong answers and other failures never become a best.

mod config;
mod event;
mod head_to_head;
mod model;
mod resume;
mod round;
mod sink;
mod task;

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_cost_model::Sample;
use tilegrad_datasets::{Record, TargetInfo, TuningLog};
use tilegrad_measure::record::target_info;
use tilegrad_measure::Measurer;
use tilegrad_symbolic::Target;

pub use config::{ColdStart, PolicyKind, StopReason, TunerConfig};
pub use event::{TuneEvent, TuneOutcome};
pub use head_to_head::{BEST_RULE, CONFIRM_POLICY};
pub use model::{ModelChoice, ResolvedModel, TunerModel, DEFAULT_MEMBERS};
pub use resume::ResumeStats;
pub use sink::RecordSink;
pub use task::TuneTask;

use crate::report::{RunMeta, TimeSplit};
use crate::report_builder::{ReportBuilder, TaskInfo};
use crate::{Result, SearchError, TaskScheduler};
use task::TaskState;

/// A model given pre-trained is fine-tuned for at most this many epochs per round.
pub const PRETRAINED_FINETUNE_EPOCHS: usize = 20;

/// A model given pre-trained is fine-tuned at most at this learning rate.
///
/// Measured with `search/examples/pretrain_finetune.rs`; the history of this cap is in
/// `search/models/README.md` ("Fine-tuning during a run").
pub const PRETRAINED_FINETUNE_LR: f64 = 1e-4;

/// The tilegrad version written into provenance and reports.
pub const TILEGRAD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The tuning loop; see the [module docs](self).
pub struct Tuner {
    target: Target,
    info: TargetInfo,
    config: TunerConfig,
    model: TunerModel,
    tasks: Vec<TaskState>,
    scheduler: TaskScheduler,
    samples: Vec<Sample>,
    successes: usize,
    fitted: bool,
    /// The model was given already fitted: it is fine-tuned gently.
    pretrained: bool,
    /// Where every round's records go, in this order, before the report builder.
    sinks: Vec<Box<dyn RecordSink>>,
    /// Records handed to the sinks so far.
    records: usize,
    builder: ReportBuilder,
    rng: ChaCha8Rng,
    /// Round number written to provenance (continues after resumed rounds).
    next_round: u32,
    time: TimeSplit,
    resumed: Option<ResumeStats>,
    /// Trials taken over by [`Tuner::resume`] (they count toward the budget).
    resumed_trials: usize,
}

impl Tuner {
    /// A tuner for `tasks` on `target`, searching with `model`.
    pub fn new(
        target: Target,
        tasks: Vec<TuneTask>,
        model: TunerModel,
        config: TunerConfig,
    ) -> Result<Self> {
        config.validate()?;
        if tasks.is_empty() {
            return Err(SearchError::InvalidConfig("no task to tune".into()));
        }
        let weights: Vec<f64> = tasks.iter().map(|t| t.weight).collect();
        let scheduler = TaskScheduler::new(&weights, config.scheduler.clone())?;
        let infos = tasks
            .iter()
            .map(|t| TaskInfo {
                workload: t.workload.to_string(),
                key: t.key(),
                weight: t.weight,
                flops: t.workload.flops(),
            })
            .collect();
        let mut meta = RunMeta {
            tilegrad_version: TILEGRAD_VERSION.to_string(),
            target: target.name.clone(),
            policy: config.policy.name().to_string(),
            seed: config.seed,
            max_trials: Some(config.max_trials),
            time_limit_s: config.time_limit_s,
            per_round: config.per_round,
            early_stop_rounds: config.early_stop_rounds,
            best_rule: BEST_RULE.to_string(),
            ..RunMeta::default()
        };
        let origin = if model.is_fitted() {
            "pretrained"
        } else {
            "untrained"
        };
        meta.labels
            .insert("model".into(), format!("{origin} {}", model.hash()));
        let builder = ReportBuilder::new(meta, infos)?;
        let states = tasks
            .into_iter()
            .map(|t| TaskState::new(t, &target, config.make_policy()?))
            .collect::<Result<Vec<_>>>()?;
        let fitted = model.is_fitted();
        Ok(Self {
            info: target_info(&target),
            target,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            model,
            tasks: states,
            scheduler,
            samples: Vec::new(),
            successes: 0,
            fitted,
            pretrained: fitted,
            sinks: Vec::new(),
            records: 0,
            builder,
            next_round: 0,
            time: TimeSplit::default(),
            resumed: None,
            resumed_trials: 0,
        })
    }

    /// Writes every round's records to `log` (appended and flushed per round): the
    /// [`RecordSink`] of the log.
    pub fn with_log(self, log: TuningLog) -> Self {
        self.with_sink(log)
    }

    /// Hands every round's records to `sink`, after the sinks attached before it (see
    /// [`RecordSink`]).
    pub fn with_sink(mut self, sink: impl RecordSink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Hands `records` to every sink, then to the report builder, once.
    fn hand_to_sinks(&mut self, records: &[Record]) -> Result<()> {
        for sink in &mut self.sinks {
            sink.record(records)?;
        }
        self.builder.record(records)?;
        self.records += records.len();
        Ok(())
    }

    /// The trial budget left: [`TunerConfig::max_trials`] less the trials taken over by
    /// [`Tuner::resume`]. The one place resumed records count toward the budget: [`Tuner::run`]
    /// stops on it, and the CLI and `tilegrad::tune` show it.
    pub fn remaining_trials(&self) -> usize {
        self.config.max_trials.saturating_sub(self.resumed_trials)
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The log's description of the target (records of other targets are not resumed).
    pub fn target_info(&self) -> &TargetInfo {
        &self.info
    }

    /// The configuration.
    pub fn config(&self) -> &TunerConfig {
        &self.config
    }

    /// The cost model (fitted on everything measured once enough successes exist).
    pub fn model(&self) -> &TunerModel {
        &self.model
    }

    /// Whether the model ranks: fitted on this run's (or resumed) data, or given already
    /// fitted (pre-trained), in which case the policy runs from the first round.
    pub fn model_fitted(&self) -> bool {
        self.fitted
    }

    /// Training samples collected so far (resumed and measured; failures unlabelled).
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Candidates proposed or measured so far for task `task` (resumed ones included).
    pub fn seen_count(&self, task: usize) -> usize {
        self.tasks.get(task).map_or(0, |t| t.seen.len())
    }

    /// Fits the model on every sample if enough successes exist; returns the report.
    pub(super) fn fit(&mut self, round: usize) -> Result<Option<tilegrad_cost_model::FitReport>> {
        if self.successes < self.config.min_train_successes.max(1) {
            return Ok(None);
        }
        let mut opts = self.config.fit.clone();
        opts.seed = self.config.seed.wrapping_add(round as u64);
        if self.pretrained {
            opts.max_epochs = opts.max_epochs.min(PRETRAINED_FINETUNE_EPOCHS);
            opts.lr = opts.lr.min(PRETRAINED_FINETUNE_LR);
        }
        let rep = self.model.fit(&self.samples, &opts)?;
        self.fitted = true;
        Ok(Some(rep))
    }

    /// Runs rounds until a budget, early stop or exhaustion; `on_event` sees progress.
    pub fn run(
        &mut self,
        measurer: &mut dyn Measurer,
        on_event: &mut dyn FnMut(&TuneEvent),
    ) -> Result<TuneOutcome> {
        let start = Instant::now();
        if let Some(r) = self.resumed.take() {
            on_event(&TuneEvent::Resumed {
                records: r.used,
                successes: r.successes,
                fitted: r.fitted,
            });
        }
        let cfg = self.config.clone();
        let budget = self.remaining_trials();
        let mut trials = 0usize;
        let mut rounds = 0usize;
        let mut stale = 0usize;
        let stop = loop {
            let elapsed = start.elapsed().as_secs_f64();
            if trials >= budget {
                break StopReason::TrialBudget;
            }
            if cfg.time_limit_s.is_some_and(|l| elapsed >= l) {
                break StopReason::TimeLimit;
            }
            if cfg.early_stop_rounds.is_some_and(|n| stale >= n) {
                break StopReason::EarlyStop;
            }
            if self.tasks.iter().all(|t| t.exhausted) {
                break StopReason::SpaceExhausted;
            }
            let Some(t) = self.scheduler.next_task(&mut self.rng) else {
                break if self.tasks.iter().all(|t| t.exhausted) {
                    StopReason::SpaceExhausted
                } else {
                    StopReason::NoLiveTask
                };
            };
            let k = cfg.per_round.min(budget - trials);
            let out = self.round(measurer, t, trials, k, rounds, start, on_event)?;
            if out.measured == 0 {
                self.tasks[t].exhausted = true;
                self.scheduler.mark_exhausted(t);
                continue;
            }
            trials += out.measured;
            rounds += 1;
            stale = if out.improved { 0 } else { stale + 1 };
        };
        let elapsed_s = start.elapsed().as_secs_f64();
        on_event(&TuneEvent::Stopped {
            reason: stop,
            trials,
            elapsed_s,
        });
        Ok(TuneOutcome {
            stop,
            trials,
            rounds,
            records: self.records,
            best: self.tasks.iter().map(|t| t.best.clone()).collect(),
            time: self.time,
            report: self.builder.clone().finish(stop.name(), elapsed_s),
        })
    }
}
