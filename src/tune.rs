//! [`tune`]: programmatic tuning: a list of workloads on one target, every record handed to
//! the tuning log and the schedule database as it is made.
//!
//! The same loop as `tilegrad tune` without the terminal, and the same set-up ([`prepare`],
//! which the CLI calls too): [`tilegrad_search::Tuner`] over one task per workload (all
//! sketches of the target), the cost model of a [`ModelChoice`] ([`tune`]: `auto`, the shipped
//! pre-trained model of the target kind, else an untrained ensemble; [`tune_with_model`] to
//! choose), resume from the log's records (nothing measured twice; the trials taken over
//! count toward the budget, [`Tuner::remaining_trials`]), and the log and the database as the
//! tuner's record sinks ([`tilegrad_search::RecordSink`]: records flow one way, tuner then
//! sinks), so `Database::open(db)?.best(..)` answers right after every round.

use std::path::PathBuf;

use tilegrad_datasets::{ScheduleDb, TuningLog};
use tilegrad_measure::Measurer;
use tilegrad_search::{
    ModelChoice, ResumeStats, TuneEvent, TuneOutcome, TuneTask, Tuner, TunerConfig, TunerModel,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::Workload;

use crate::Error;

/// Where [`tune`] reads and writes, and how it searches.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    /// Search budget (resumed trials included), policy, seed.
    pub config: TunerConfig,
    /// The tuning log (created if missing); the ground truth of the run.
    pub log: PathBuf,
    /// Resume from the log's records of this target.
    pub resume: bool,
    /// The schedule database every round is committed to (created if missing).
    pub db: Option<PathBuf>,
}

/// What [`tune`] did.
#[derive(Debug)]
pub struct TuneRun {
    /// The tuner's outcome (stop reason, trials, best per task, report).
    pub outcome: TuneOutcome,
    /// What resuming used (`None` without `resume`).
    pub resumed: Option<ResumeStats>,
    /// Records committed to the database (`None` without one): on resume the log's earlier
    /// records, then every record of the run (a record stored already is stored once).
    pub committed: Option<usize>,
}

/// A tuner set up by [`prepare`], not yet run.
pub struct Prepared {
    /// The tuner, with the log and the database (if any) as its record sinks.
    pub tuner: Tuner,
    /// What resuming used (`None` without `resume`).
    pub resumed: Option<ResumeStats>,
    /// The log's earlier records committed to the database on resume (a run killed between
    /// its log append and its database commit left some behind).
    pub recommitted: usize,
    /// The log's warnings: a torn last line repaired or skipped.
    pub warnings: Vec<String>,
}

/// Sets a run up, the one way the CLI and [`tune`] share: opens the log (repairing a torn
/// last line), on `resume` takes its records over into the tuner and commits them to the
/// database, and attaches the log, then the database, as the tuner's record sinks.
pub fn prepare(
    target: Target,
    tasks: Vec<TuneTask>,
    model: TunerModel,
    options: &TuneOptions,
) -> Result<Prepared, Error> {
    let log = TuningLog::open(&options.log)?;
    let mut warnings: Vec<String> = log.repaired().map(str::to_string).into_iter().collect();
    let earlier = if options.resume {
        let contents = TuningLog::read(&options.log)?;
        warnings.extend(contents.warnings);
        contents.records
    } else {
        Vec::new()
    };
    let mut db = options.db.as_ref().map(ScheduleDb::open).transpose()?;
    if let Some(db) = db.as_mut() {
        db.commit_all(&earlier)?;
    }
    let mut tuner = Tuner::new(target, tasks, model, options.config.clone())?;
    let resumed = if options.resume {
        Some(tuner.resume(&earlier)?)
    } else {
        None
    };
    let mut tuner = tuner.with_log(log);
    let recommitted = if let Some(db) = db {
        tuner = tuner.with_sink(db);
        earlier.len()
    } else {
        0
    };
    Ok(Prepared {
        tuner,
        resumed,
        recommitted,
        warnings,
    })
}

/// Tunes `workloads` (with their weights) on `measurer`'s target, starting from the shipped
/// pre-trained model of its kind if there is one ([`ModelChoice::Auto`]); see the module
/// docs. `on_event` sees every tuner event (progress, new bests, model fits).
pub fn tune(
    workloads: &[(Workload, f64)],
    measurer: &mut dyn Measurer,
    options: &TuneOptions,
    on_event: &mut dyn FnMut(&TuneEvent),
) -> Result<TuneRun, Error> {
    tune_with_model(workloads, measurer, options, &ModelChoice::Auto, on_event)
}

/// [`tune`] starting from the cost model `model` (`auto`, `none` or a saved model's path).
pub fn tune_with_model(
    workloads: &[(Workload, f64)],
    measurer: &mut dyn Measurer,
    options: &TuneOptions,
    model: &ModelChoice,
    on_event: &mut dyn FnMut(&TuneEvent),
) -> Result<TuneRun, Error> {
    let target = measurer.target().clone();
    let tasks = workloads
        .iter()
        .map(|(w, weight)| TuneTask::new(w.clone(), *weight, &target))
        .collect::<Result<Vec<_>, _>>()?;
    let model = model.resolve(&target, options.config.seed)?.model;
    let mut run = prepare(target, tasks, model, options)?;
    let outcome = run.tuner.run(measurer, on_event)?;
    let committed = options
        .db
        .as_ref()
        .map(|_| run.recommitted + outcome.records);
    Ok(TuneRun {
        outcome,
        resumed: run.resumed,
        committed,
    })
}
