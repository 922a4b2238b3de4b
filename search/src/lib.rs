//! tilegrad-search: search policies over a sketch's schedule space.
//!
//! A policy ([`SearchPolicy`]) proposes legal, never-seen assignments for the sketches of one
//! task, each sketch seen through an [`Objective`] (its features + cost model, abstracted):
//!
//! * [`GradientSearch`]: the core. Projected Adam (or argmin's L-BFGS) on the relaxed
//!   prime-exponent coordinates through the objective, penalties scaled against the score
//!   gradient, annealed temperature, every iterate rounded (exponent rounding and
//!   [`rounding`] in value space) into a de-duplicated pool, the best few hill-climbed over
//!   integer neighbours ([`polish`]), ranked by exact score plus an exploration bonus, with
//!   an ε share of random legal picks.
//! * [`EvolutionarySearch`]: Ansor-style population, mutation and crossover, model-guided
//!   selection, ε-greedy.
//! * [`RandomSearch`]: uniform legal samples, optionally ranked by the model.
//!
//! [`synthetic`] holds objectives with known optima for tests and benchmarks.

pub mod adam;
pub mod compare;
pub mod compare_run;
pub mod confirm;
pub mod error;
pub mod evolution;
pub mod gradient;
pub mod gradient_config;
pub mod lbfgs;
pub mod model_objective;
pub mod objective;
pub mod policy;
pub mod polish;
pub mod pool;
pub mod pretrain;
pub mod proposal;
pub mod random;
pub mod report;
pub mod report_builder;
pub mod rounding;
pub mod scheduler;
pub mod synthetic;
pub mod tuner;
pub mod work;

pub use adam::{AdamParams, ProjectedAdam};
pub use compare::{summarize, Comparison, Disturbed, RunCurve};
pub use compare_run::{compare_policies, BenchConfig, BenchOutcome, RunId};
pub use error::{Result, SearchError};
pub use evolution::{EvolutionConfig, EvolutionarySearch};
pub use gradient::GradientSearch;
pub use gradient_config::{GradientConfig, Optimizer, GRADIENT_KEYS};
pub use lbfgs::LbfgsConfig;
pub use model_objective::{feature_spec, ModelObjective, ModelRef};
pub use objective::{ExactScore, Objective, ObjectiveEval};
pub use policy::{Ask, SearchPolicy};
pub use pretrain::{
    pretrain, training_set, PretrainConfig, PretrainReport, SampleStats, TrainingSet,
};
pub use proposal::{Proposal, ProposalSource, SeenSet};
pub use random::{RandomConfig, RandomSearch};
pub use report::{Remeasurement, Report, RunMeta, TimeSplit, REPORT_VERSION};
pub use report_builder::{ReportBuilder, RoundStats, TaskInfo, Trial, TrialResult};
pub use scheduler::{SchedulerConfig, TaskScheduler};
pub use tuner::{
    ColdStart, ModelChoice, PolicyKind, RecordSink, ResolvedModel, ResumeStats, StopReason,
    TuneEvent, TuneOutcome, TuneTask, Tuner, TunerConfig, TunerModel, BEST_RULE, CONFIRM_POLICY,
};
pub use work::RoundWork;
