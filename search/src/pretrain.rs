//! Pretraining the cost model on tuning logs, so a run starts from a model that already
//! ranks schedules (Felix descends through a pre-trained model; see
//! `shared/reference/felix.md` §1.9).
//!
//! 1. [`training_set`]: log [`Record`]s of any workloads → [`Sample`]s for a [`Target`],
//!    exactly as the tuner makes them (the same code: workload → sketches → sketch by id →
//!    assignment → exact features through the [`ModelObjective`](crate::ModelObjective)
//!    path; label `ln(1/median_s)`, `None` for the candidate's failures). Records that no
//!    longer parse, are illegal or belong to the other target kind are skipped and counted
//!    ([`SampleStats`]), never an error for the whole set.
//! 2. [`pretrain`]: an [`EnsembleModel`] fitted on every sample, and a held-out evaluation
//!    that leaves whole workloads out (k folds over the workloads: each workload is scored
//!    by the model of the fold that did not see it), per workload Spearman, pairwise
//!    accuracy and top-1/top-5 recall ([`tilegrad_cost_model::metrics`]).

mod samples;

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tilegrad_cost_model::{
    calibration, Calibration, CostModel, EnsembleModel, FitOptions, FitReport, MlpConfig, Sample,
};
use tilegrad_datasets::Record;
use tilegrad_symbolic::Target;

pub use samples::SampleStats;
pub(crate) use samples::{is_confirmation, label_of, sketch_samples, Logged, StandIns};

use crate::model_objective::feature_spec;
use crate::{Result, SearchError};

/// The samples of a set of records, with the workloads they came from.
#[derive(Clone, Debug)]
pub struct TrainingSet {
    /// One sample per usable record (task = the workload key).
    pub samples: Vec<Sample>,
    /// Workload key → canonical workload text, for every workload with a sample.
    pub workloads: BTreeMap<String, String>,
    /// How the records were used or why they were skipped.
    pub stats: SampleStats,
}

/// Turns `records` into training samples for `target` (records of the other target kind are
/// skipped; the features are computed for `target`). See the [module docs](self).
pub fn training_set(records: &[Record], target: &Target) -> Result<TrainingSet> {
    let (samples, workloads, stats) = samples::samples_of_records(records, target)?;
    Ok(TrainingSet {
        samples,
        workloads,
        stats,
    })
}

/// Settings of [`pretrain`].
#[derive(Clone, Debug, PartialEq)]
pub struct PretrainConfig {
    /// Ensemble members (their spread is the search's uncertainty).
    pub members: usize,
    /// Seed of the weights, the folds and the fits.
    pub seed: u64,
    /// Hidden width (`None`: the [`MlpConfig`] default).
    pub hidden: Option<usize>,
    /// Maximum epochs (`None`: [`FitOptions::default`]'s).
    pub epochs: Option<usize>,
    /// Folds over the workloads for the held-out evaluation (0 or 1: none).
    pub folds: usize,
    /// Fitting settings (its seed and epochs are overridden by the fields above).
    pub fit: FitOptions,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        Self {
            members: crate::tuner::DEFAULT_MEMBERS,
            seed: 0,
            hidden: None,
            epochs: None,
            folds: 4,
            fit: FitOptions::default(),
        }
    }
}

impl PretrainConfig {
    fn mlp(&self) -> MlpConfig {
        let d = MlpConfig::default();
        MlpConfig {
            hidden: self.hidden.unwrap_or(d.hidden),
            seed: self.seed,
            ..d
        }
    }

    fn fit_options(&self) -> FitOptions {
        FitOptions {
            seed: self.seed,
            max_epochs: self.epochs.unwrap_or(self.fit.max_epochs),
            ..self.fit.clone()
        }
    }
}

/// What [`pretrain`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainReport {
    /// Samples trained on (the final model).
    pub n_samples: usize,
    /// Of which successes (labelled).
    pub n_successes: usize,
    /// Distinct workloads (tasks).
    pub n_workloads: usize,
    /// Ensemble members.
    pub members: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Folds of the held-out evaluation actually run (0: none).
    pub folds: usize,
    /// Held-out metrics per workload (each workload scored by the fold model that did not
    /// see it) and their means; `None` without folds.
    pub holdout: Option<Calibration>,
    /// The final fit on every sample (its first member).
    pub fit: FitReport,
}

fn cm(e: tilegrad_cost_model::CostModelError) -> SearchError {
    SearchError::Model(e.to_string())
}

fn fit_ensemble(
    samples: &[Sample],
    target: &str,
    cfg: &PretrainConfig,
) -> Result<(EnsembleModel, FitReport)> {
    let mut e = EnsembleModel::new(&feature_spec(), target, cfg.mlp(), cfg.members).map_err(cm)?;
    let rep = e.fit(samples, &cfg.fit_options()).map_err(cm)?;
    Ok((e, rep))
}

/// Fold of every workload key: the sorted keys shuffled by `seed`, dealt round-robin.
fn folds_of(samples: &[Sample], k: usize, seed: u64) -> HashMap<String, usize> {
    let mut keys: Vec<&str> = samples.iter().map(|s| s.task.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    keys.iter()
        .enumerate()
        .map(|(i, k_)| (k_.to_string(), i % k))
        .collect()
}

/// Held-out metrics: for each fold, a model fitted on the other folds scores this fold's
/// workloads. Folds whose training part has no success are left out.
fn holdout(
    samples: &[Sample],
    target: &str,
    cfg: &PretrainConfig,
    k: usize,
) -> Result<Calibration> {
    let fold = folds_of(samples, k, cfg.seed);
    let (mut tasks, mut labels, mut preds) = (Vec::new(), Vec::new(), Vec::new());
    for f in 0..k {
        let (test, train): (Vec<&Sample>, Vec<&Sample>) =
            samples.iter().partition(|s| fold[&s.task] == f);
        if test.is_empty() || train.iter().all(|s| s.label.is_none()) {
            continue;
        }
        let train: Vec<Sample> = train.into_iter().cloned().collect();
        let test: Vec<Sample> = test.into_iter().cloned().collect();
        let (model, _) = fit_ensemble(&train, target, cfg)?;
        let batch = tilegrad_cost_model::batch_of(model.n_features(), &test).map_err(cm)?;
        preds.extend(model.predict(&batch).map_err(cm)?);
        labels.extend(test.iter().map(|s| s.label));
        tasks.extend(test.into_iter().map(|s| s.task));
    }
    let refs: Vec<&str> = tasks.iter().map(String::as_str).collect();
    calibration(&refs, &labels, &preds).map_err(cm)
}

/// Fits an ensemble on `samples` (tagged with `target`, the target's name) and evaluates it
/// on held-out workloads; see the [module docs](self). Deterministic for a seed.
pub fn pretrain(
    samples: &[Sample],
    target: &str,
    config: &PretrainConfig,
) -> Result<(EnsembleModel, PretrainReport)> {
    if config.members == 0 {
        return Err(SearchError::InvalidConfig(
            "pretrain: members must be at least 1".into(),
        ));
    }
    let n_successes = samples.iter().filter(|s| s.label.is_some()).count();
    if n_successes == 0 {
        return Err(SearchError::InvalidConfig(
            "pretrain: no successful measurement to train on".into(),
        ));
    }
    let mut keys: Vec<&str> = samples.iter().map(|s| s.task.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let k = if config.folds >= 2 {
        config.folds.min(keys.len())
    } else {
        0
    };
    let holdout = if k >= 2 {
        Some(holdout(samples, target, config, k)?)
    } else {
        None
    };
    let (model, fit) = fit_ensemble(samples, target, config)?;
    Ok((
        model,
        PretrainReport {
            n_samples: samples.len(),
            n_successes,
            n_workloads: keys.len(),
            members: config.members,
            hidden: config.mlp().hidden,
            folds: if k >= 2 { k } else { 0 },
            holdout,
            fit,
        },
    ))
}
