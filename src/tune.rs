//! [`tune`]: programmatic tuning: a list of workloads on one target, every measurement in a
//! tuning log, the results committed to a schedule database.
//!
//! The same loop as `tilegrad tune` without the terminal: [`tilegrad_search::Tuner`] over
//! one task per workload (all sketches of the target), the cost model of a [`ModelChoice`]
//! ([`tune`]: `auto`, the shipped pre-trained model of the target kind, else an untrained
//! ensemble; [`tune_with_model`] to choose), resume from the log's records (nothing measured twice), then an import of the log into
//! the database (idempotent), so `Database::open(db)?.best(..)` answers right after.

use std::path::PathBuf;

use tilegrad_datasets::{ImportStats, ScheduleDb, TuningLog};
use tilegrad_measure::Measurer;
use tilegrad_search::{
    ModelChoice, ResumeStats, TuneEvent, TuneOutcome, TuneTask, Tuner, TunerConfig,
};
use tilegrad_templates::Workload;

use crate::Error;

/// Where [`tune`] reads and writes, and how it searches.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    /// Search budget, policy, seed.
    pub config: TunerConfig,
    /// The tuning log (created if missing); the ground truth of the run.
    pub log: PathBuf,
    /// Resume from the log's records of this target.
    pub resume: bool,
    /// The schedule database the log is imported into after the run (created if missing).
    pub db: Option<PathBuf>,
}

/// What [`tune`] did.
#[derive(Debug)]
pub struct TuneRun {
    /// The tuner's outcome (stop reason, trials, best per task, report).
    pub outcome: TuneOutcome,
    /// What resuming used (`None` without `resume`).
    pub resumed: Option<ResumeStats>,
    /// What the database import stored (`None` without a database).
    pub imported: Option<ImportStats>,
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
    let log = TuningLog::open(&options.log)?;
    let mut tuner = Tuner::new(target, tasks, model, options.config.clone())?.with_log(log);
    let resumed = if options.resume {
        let old = TuningLog::read(&options.log)?.records;
        Some(tuner.resume(&old)?)
    } else {
        None
    };
    let outcome = tuner.run(measurer, on_event)?;
    let imported = match &options.db {
        Some(path) => Some(ScheduleDb::open(path)?.import_log(&options.log)?),
        None => None,
    };
    Ok(TuneRun {
        outcome,
        resumed,
        imported,
    })
}
