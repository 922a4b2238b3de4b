//! Tuning-log records → cost-model [`Sample`]s: the one path shared by the tuner (every
//! round and [`Tuner::resume`](crate::Tuner::resume)) and by pretraining
//! ([`training_set`](super::training_set)).
//!
//! A measured candidate becomes a sample of its task (the workload key) with the sketch's
//! exact features at the assignment (the [`ModelObjective`] path, so training sees what the
//! search scores) and the label `ln(1 / median_s)` for a success, `None` for a failure of the
//! candidate (an unlabelled worst sample). Environment failures (a missing driver, a record
//! not in a replayed log, ...) say nothing about the candidate and are not trained on.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tilegrad_cost_model::{
    CostModel, FeatureBatch, FitOptions, FitReport, Prediction, Result as CmResult, Sample,
};
use tilegrad_datasets::{Outcome, Record};
use tilegrad_measure::record::result_of;
use tilegrad_symbolic::features::N_FEATURES;
use tilegrad_symbolic::{Assignment, FeatureSet, Target};
use tilegrad_templates::{Sketch, Workload};

use crate::model_objective::{ModelObjective, ModelRef};
use crate::tuner::CONFIRM_POLICY;
use crate::Result;

/// Whether `r` is a head-to-head re-measurement of a would-be best (not a trial).
pub(crate) fn is_confirmation(r: &Record) -> bool {
    r.provenance.policy == CONFIRM_POLICY
}

/// The latest head-to-head record of each candidate of a log: it stands in for the
/// candidate's own measurement (see `tuner/head_to_head.rs`), in resume and pre-training.
pub(crate) struct StandIns<'a>(HashMap<(&'a str, &'a str, &'a str, &'a str), &'a Record>);

impl<'a> StandIns<'a> {
    fn key(r: &'a Record) -> (&'a str, &'a str, &'a str, &'a str) {
        (&r.workload_key, &r.target.key, &r.sketch, &r.assignment)
    }

    /// The stand-ins of `records` (later records win).
    pub(crate) fn of(records: &'a [Record]) -> Self {
        Self(
            records
                .iter()
                .filter(|r| is_confirmation(r))
                .map(|r| (Self::key(r), r))
                .collect(),
        )
    }

    /// The record that counts for `r`'s candidate: its stand-in, else `r`.
    pub(crate) fn for_record(&self, r: &'a Record) -> &'a Record {
        self.0.get(&Self::key(r)).copied().unwrap_or(r)
    }
}

/// What a logged record says about its candidate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Logged {
    /// It built, verified and timed: the median time in seconds (finite, positive).
    Success(f64),
    /// It ran but its timing is unusable (non-finite or zero median).
    InvalidTiming,
    /// It failed; `fault`: the failure is the candidate's (build error, wrong answer, ...)
    /// rather than the environment's.
    Failure {
        /// The logged failure kind.
        kind: String,
        /// Whether the candidate is to blame.
        fault: bool,
    },
}

impl Logged {
    /// Classifies a record's outcome.
    pub(crate) fn of(r: &Record) -> Self {
        match (&r.outcome, r.median_s()) {
            (Outcome::Ok(_), Some(m)) => Logged::Success(m),
            (Outcome::Ok(_), None) => Logged::InvalidTiming,
            (Outcome::Error { kind, .. }, _) => Logged::Failure {
                kind: kind.clone(),
                fault: result_of(&r.outcome)
                    .err()
                    .is_some_and(|e| e.is_candidate_fault()),
            },
        }
    }

    /// The training label: `ln(1 / median_s)` for a success, else `None`.
    pub(crate) fn label(&self) -> Option<f64> {
        match self {
            Logged::Success(m) => Some(label_of(*m)),
            _ => None,
        }
    }

    /// Whether the candidate is a training sample (successes and the candidate's failures).
    pub(crate) fn trains(&self) -> bool {
        match self {
            Logged::Success(_) | Logged::InvalidTiming => true,
            Logged::Failure { fault, .. } => *fault,
        }
    }
}

/// The label of a measured median time: `ln(1 / median_s)` (higher is better).
pub(crate) fn label_of(median_s: f64) -> f64 {
    -median_s.ln()
}

/// Samples of task `task` from `(assignment, label)` items of the sketch behind `obj`, in
/// item order; items whose exact features are not finite are left out.
pub(crate) fn sketch_samples(
    task: &str,
    obj: &ModelObjective<'_>,
    items: &[(&Assignment, Option<f64>)],
) -> Result<Vec<Sample>> {
    let assignments: Vec<Assignment> = items.iter().map(|(a, _)| (*a).clone()).collect();
    let feats = obj.exact_features(&assignments)?;
    Ok(items
        .iter()
        .zip(feats)
        .filter_map(|((_, label), f)| {
            f.map(|features| Sample {
                task: task.to_string(),
                features,
                label: *label,
            })
        })
        .collect())
}

/// A stand-in model for objectives that only compute exact features (never scores): every
/// call errors, so a misuse cannot go unnoticed.
struct FeaturesOnly;

impl CostModel for FeaturesOnly {
    fn n_features(&self) -> usize {
        N_FEATURES
    }
    fn predict(&self, _: &FeatureBatch) -> CmResult<Vec<f32>> {
        Err(unused())
    }
    fn predict_with_grad(&self, _: &FeatureBatch) -> CmResult<Prediction> {
        Err(unused())
    }
    fn fit(&mut self, _: &[Sample], _: &FitOptions) -> CmResult<FitReport> {
        Err(unused())
    }
}

fn unused() -> tilegrad_cost_model::CostModelError {
    tilegrad_cost_model::CostModelError::InvalidConfig(
        "features-only objective: no cost model".into(),
    )
}

/// How the records given to [`training_set`](super::training_set) were used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SampleStats {
    /// Records read.
    pub records: usize,
    /// Records that became samples.
    pub used: usize,
    /// Of which successes (labelled).
    pub successes: usize,
    /// Records of another target kind (`cpu` vs `cuda`).
    pub other_kind: usize,
    /// Records whose workload text no longer parses or has no sketch on the target.
    pub bad_workload: usize,
    /// Records of a sketch id the workload no longer has.
    pub unknown_sketch: usize,
    /// Records whose feature set could not be built.
    pub bad_features: usize,
    /// Records whose assignment does not parse or is illegal in the sketch's space.
    pub bad_assignment: usize,
    /// Environment failures (the candidate is not to blame): not trained on.
    pub environment: usize,
    /// Repeats of a candidate already used (the first record wins).
    pub duplicates: usize,
    /// Candidates whose exact features are not finite.
    pub non_finite: usize,
}

impl SampleStats {
    /// Records skipped for any reason.
    pub fn skipped(&self) -> usize {
        self.records - self.used
    }
}

/// One sketch's pending items: the assignments and labels of its records.
type Pending = Vec<(Assignment, Option<f64>)>;

/// A workload's key and sketches (`None`: the workload does not parse or has no sketch).
type Sketches = Option<(String, Vec<Arc<Sketch>>)>;

/// Groups usable records by workload and sketch (validating each), counting the rest.
fn group(
    records: &[Record],
    target: &Target,
    stats: &mut SampleStats,
    names: &mut BTreeMap<String, String>,
) -> Vec<(String, Arc<Sketch>, Pending)> {
    let mut sketches: BTreeMap<String, Sketches> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), (Arc<Sketch>, Pending)> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    // A head-to-head record stands in for its candidate's measurement; it is not a sample
    // of its own.
    let stand_ins = StandIns::of(records);
    for r in records {
        if is_confirmation(r) {
            continue;
        }
        if r.target.kind != target.kind() {
            stats.other_kind += 1;
            continue;
        }
        let entry = sketches.entry(r.workload.clone()).or_insert_with(|| {
            let w: Workload = r.workload.parse().ok()?;
            w.validate().ok()?;
            let list = tilegrad_templates::sketches(&w, target).ok()?;
            Some((
                w.key().to_string(),
                list.into_iter().map(Arc::new).collect(),
            ))
        });
        let Some((key, list)) = entry.as_ref() else {
            stats.bad_workload += 1;
            continue;
        };
        let Some(sketch) = list.iter().find(|s| s.id == r.sketch) else {
            stats.unknown_sketch += 1;
            continue;
        };
        let a = match sketch.space.parse_assignment(&r.assignment) {
            Ok(a) if sketch.space.is_legal(&a) => a,
            _ => {
                stats.bad_assignment += 1;
                continue;
            }
        };
        let logged = Logged::of(stand_ins.for_record(r));
        if !logged.trains() {
            stats.environment += 1;
            continue;
        }
        if !seen.insert((key.clone(), r.sketch.clone(), a.to_string())) {
            stats.duplicates += 1;
            continue;
        }
        names.insert(key.clone(), r.workload.clone());
        groups
            .entry((key.clone(), r.sketch.clone()))
            .or_insert_with(|| (sketch.clone(), Vec::new()))
            .1
            .push((a, logged.label()));
    }
    groups
        .into_iter()
        .map(|((key, _), (sketch, items))| (key, sketch, items))
        .collect()
}

/// Samples of `records` for `target`; see [`training_set`](super::training_set).
pub(crate) fn samples_of_records(
    records: &[Record],
    target: &Target,
) -> Result<(Vec<Sample>, BTreeMap<String, String>, SampleStats)> {
    let mut stats = SampleStats {
        records: records.len(),
        ..SampleStats::default()
    };
    let mut names = BTreeMap::new();
    let groups = group(records, target, &mut stats, &mut names);
    let none = FeaturesOnly;
    let mut out = Vec::new();
    for (key, sketch, items) in groups {
        let features = match FeatureSet::build(&sketch.tree, &sketch.space, target) {
            Ok(f) => Arc::new(f),
            Err(_) => {
                stats.bad_features += items.len();
                continue;
            }
        };
        let obj = ModelObjective::new(sketch, features, ModelRef::Plain(&none));
        let refs: Vec<(&Assignment, Option<f64>)> = items.iter().map(|(a, l)| (a, *l)).collect();
        let samples = sketch_samples(&key, &obj, &refs)?;
        stats.non_finite += items.len() - samples.len();
        stats.used += samples.len();
        stats.successes += samples.iter().filter(|s| s.label.is_some()).count();
        out.extend(samples);
    }
    // Names only of workloads that kept a sample.
    let kept: std::collections::HashSet<&str> = out.iter().map(|s| s.task.as_str()).collect();
    names.retain(|k, _| kept.contains(k.as_str()));
    Ok((out, names, stats))
}
