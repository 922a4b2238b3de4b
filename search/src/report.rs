//! [`Report`]: the versioned JSON record of a tuning run.
//!
//! A [`ReportBuilder`](crate::report_builder::ReportBuilder) fed once per round by the tuner
//! produces it. Notebooks and the CLI read the JSON, so **field names are stable** within a
//! [`REPORT_VERSION`]; renaming or removing a field, or changing a unit, bumps the version
//! (adding a field with a serde default does not). Units: seconds (`*_s`), GFLOP/s
//! (`*_gflops`, 1e9 floating-point operations per second), latencies are medians of a
//! measurement's samples. Absent values are JSON `null`.
//!
//! **Curve and best.** A task's `best` is the best by the tuner's rule, named in
//! `meta.best_rule` (the lowest median over each candidate's measurements, see
//! `tuner/head_to_head.rs`). Its `curve` is best-so-far, so it never goes up in latency (down
//! in GFLOP/s): each point is the lowest latency the best has had up to that trial. A
//! re-measurement (`remeasurements`) that finds the best slower is shown beside the curve,
//! not folded into it; then the curve's last point is below `best.median_s`. The `network`
//! estimate sums the curves' points likewise.
//!
//! Layout (JSON):
//! ```text
//! { "report_version": 1,
//!   "meta":    { tilegrad_version, target, policy, seed, max_trials, time_limit_s, per_round,
//!                early_stop_rounds, labels{..}, stop_reason, wall_s, best_rule },
//!   "tasks":   [ { index, workload, key, weight, flops, trials, rounds,
//!                  curve: [ { trial, global_trial, elapsed_s, best_latency_s, best_gflops } ],
//!                  remeasurements: [ { trial, elapsed_s, sketch, assignment, median_s,
//!                                      measurements, error } ],
//!                  best: { sketch, assignment, median_s, gflops, trial, elapsed_s } | null,
//!                  time: { search_s, build_s, measure_s, train_s },
//!                  round_log: [ { round, task_round, trials, successes, elapsed_s,
//!                                 best_latency_s, time, calibration: { n, spearman, k,
//!                                 topk_recall }, disturbed } ],
//!                  failures: { "<kind>": count }, disturbed } ],
//!   "network": [ { round, task, global_trial, elapsed_s, latency_s } ],
//!   "time": { search_s, build_s, measure_s, train_s },
//!   "total_trials": 0, "rounds": 0, "failures": { "<kind>": count } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Result, SearchError};

/// Version of the report's JSON layout (see the [module docs](self)).
pub const REPORT_VERSION: u32 = 1;

/// A whole tuning run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_VERSION`] for reports this build writes.
    pub report_version: u32,
    /// Settings and outcome of the run.
    pub meta: RunMeta,
    /// One entry per task, in the tuner's task order (`tasks[i].index == i`).
    pub tasks: Vec<TaskReport>,
    /// Estimated end-to-end latency after every round (one point per round).
    pub network: Vec<NetworkPoint>,
    /// Time split summed over all rounds.
    pub time: TimeSplit,
    /// Trials measured over all tasks (failures included).
    pub total_trials: usize,
    /// Rounds run over all tasks.
    pub rounds: usize,
    /// Failed trials by error kind, over all tasks.
    pub failures: BTreeMap<String, usize>,
}

/// Settings and outcome of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// `CARGO_PKG_VERSION` of the tilegrad that ran.
    pub tilegrad_version: String,
    /// Target name (e.g. `h100-sxm` or the CPU model).
    pub target: String,
    /// Search policy name (`gradient`, `evolutionary`, `random`, ...).
    pub policy: String,
    /// The run's RNG seed.
    pub seed: u64,
    /// Trial budget over all tasks.
    pub max_trials: Option<usize>,
    /// Wall-time budget in seconds.
    pub time_limit_s: Option<f64>,
    /// Candidates measured per round.
    pub per_round: usize,
    /// Early stop after this many rounds without improvement.
    pub early_stop_rounds: Option<usize>,
    /// Free-form extra settings (e.g. `optimizer = adam`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Why the run stopped (the tuner's stop reason, e.g. `trial_budget`); `null` in a
    /// snapshot of a running tuner.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Wall-clock seconds of the run (up to the snapshot).
    #[serde(default)]
    pub wall_s: f64,
    /// How the tasks' `best` was chosen among their measured candidates (the tuner's
    /// `BEST_RULE`); empty in reports written before it was recorded.
    #[serde(default)]
    pub best_rule: String,
}

/// Seconds spent per activity. `search_s` is the policy (proposing candidates, features and
/// cost-model predictions), `build_s` code generation and compilation, `measure_s` running
/// and verifying kernels, `train_s` fine-tuning the cost model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSplit {
    /// Proposing candidates.
    pub search_s: f64,
    /// Generating and compiling code.
    pub build_s: f64,
    /// Running and verifying kernels.
    pub measure_s: f64,
    /// Fine-tuning the cost model.
    pub train_s: f64,
}

impl TimeSplit {
    /// The sum of the four parts.
    pub fn total_s(&self) -> f64 {
        self.search_s + self.build_s + self.measure_s + self.train_s
    }

    /// Adds `other` part by part.
    pub fn add(&mut self, other: &TimeSplit) {
        self.search_s += other.search_s;
        self.build_s += other.build_s;
        self.measure_s += other.measure_s;
        self.train_s += other.train_s;
    }

    /// Whether every part is finite and non-negative.
    pub fn is_valid(&self) -> bool {
        [self.search_s, self.build_s, self.measure_s, self.train_s]
            .iter()
            .all(|x| x.is_finite() && *x >= 0.0)
    }
}

/// One task of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// Position in [`Report::tasks`].
    pub index: usize,
    /// Canonical workload text.
    pub workload: String,
    /// Workload key (16 hex digits).
    pub key: String,
    /// Times the task appears in the network (1 for a single kernel).
    pub weight: f64,
    /// Floating-point operations of one execution.
    pub flops: f64,
    /// Trials measured (failures included).
    pub trials: usize,
    /// Rounds run.
    pub rounds: usize,
    /// Best-so-far after every trial: `curve[j].trial == j + 1`; never rises (see the
    /// [module docs](self)).
    pub curve: Vec<CurvePoint>,
    /// Re-measurements of candidates already measured (head to head with the best), in
    /// order: beside the curve, not points of it.
    #[serde(default)]
    pub remeasurements: Vec<Remeasurement>,
    /// The best schedule by [`RunMeta::best_rule`] (`null` while nothing succeeded).
    pub best: Option<BestSchedule>,
    /// Time split summed over the task's rounds.
    pub time: TimeSplit,
    /// One entry per round of this task.
    pub round_log: Vec<RoundSummary>,
    /// Failed trials by error kind.
    pub failures: BTreeMap<String, usize>,
    /// Successful trials timed while other processes took more than
    /// [`tilegrad_measure::DISTURBED`] of the CPUs (even after the measurer's retries): their
    /// times are not comparable with the others'.
    #[serde(default)]
    pub disturbed: usize,
}

/// A point of a best-so-far curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Trials of this task measured so far (1-based: this trial's number).
    pub trial: usize,
    /// Trials of all tasks measured so far.
    pub global_trial: usize,
    /// Seconds since the run started when this trial finished (the end of its round when
    /// the tuner gave no per-trial time).
    pub elapsed_s: f64,
    /// Best latency so far (`null` before the first success).
    pub best_latency_s: Option<f64>,
    /// Best throughput so far, `flops / best_latency_s / 1e9`.
    pub best_gflops: Option<f64>,
}

/// A re-measurement of a candidate measured before (not a trial).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remeasurement {
    /// Trials of the task measured when it was made.
    pub trial: usize,
    /// Seconds since the run started at the end of the round that made it (0 for resumed
    /// ones).
    pub elapsed_s: f64,
    /// Sketch id.
    pub sketch: String,
    /// Assignment text.
    pub assignment: String,
    /// The candidate's time after it: the median of all its measurements (`null` if the
    /// re-measurement failed).
    pub median_s: Option<f64>,
    /// How many measurements that median is over.
    pub measurements: usize,
    /// The error kind of a failed re-measurement.
    pub error: Option<String>,
}

/// The best schedule of a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestSchedule {
    /// Sketch id.
    pub sketch: String,
    /// Assignment text (`a=1,b=2`).
    pub assignment: String,
    /// Median latency in seconds.
    pub median_s: f64,
    /// Throughput in GFLOP/s.
    pub gflops: f64,
    /// The task's trial number (1-based) that measured it.
    pub trial: usize,
    /// Seconds since the run started when it was measured.
    pub elapsed_s: f64,
}

/// One round of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundSummary {
    /// Round number over all tasks (0-based).
    pub round: usize,
    /// Round number of this task (0-based).
    pub task_round: usize,
    /// Trials measured in the round.
    pub trials: usize,
    /// Of which succeeded.
    pub successes: usize,
    /// Seconds since the run started at the end of the round.
    pub elapsed_s: f64,
    /// The task's best latency after the round.
    pub best_latency_s: Option<f64>,
    /// The round's time split.
    pub time: TimeSplit,
    /// How well the cost model ranked the round's measurements.
    pub calibration: RoundCalibration,
    /// Trials of the round timed while other processes took more than
    /// [`tilegrad_measure::DISTURBED`] of the CPUs.
    #[serde(default)]
    pub disturbed: usize,
}

/// Cost-model calibration on one round's successful measurements that had a prediction:
/// predicted scores against measured throughput `1 / median_s`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundCalibration {
    /// Measurements compared.
    pub n: usize,
    /// Spearman rank correlation (`null` with fewer than 2 or a constant side).
    pub spearman: Option<f64>,
    /// The `k` of the recall.
    pub k: usize,
    /// `|true top-k ∩ predicted top-k| / k` (`null` when `n == 0`); random ranking
    /// expects `k / n`.
    pub topk_recall: Option<f64>,
}

/// The estimated end-to-end latency after a round.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkPoint {
    /// Round number over all tasks (0-based).
    pub round: usize,
    /// The task the round tuned.
    pub task: usize,
    /// Trials of all tasks measured so far.
    pub global_trial: usize,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// `Σ weight · best-so-far latency` over tasks, the last point of each task's curve
    /// ([`Report::curve_latency_s`]; `null` while a task has no success).
    pub latency_s: Option<f64>,
}

impl Report {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| SearchError::Report(e.to_string()))
    }

    /// Parses JSON written by [`Report::to_json`]; refuses another [`REPORT_VERSION`].
    pub fn from_json(text: &str) -> Result<Report> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SearchError::Report(e.to_string()))?;
        match value.get("report_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(REPORT_VERSION) => {}
            Some(v) => {
                return Err(SearchError::Report(format!(
                    "report version {v}, this build reads version {REPORT_VERSION}"
                )))
            }
            None => return Err(SearchError::Report("no report_version field".into())),
        }
        serde_json::from_value(value).map_err(|e| SearchError::Report(e.to_string()))
    }

    /// Share of the wall time not spent building or measuring (`1 − (build + measure) /
    /// wall`); `None` when the wall time is 0.
    pub fn search_overhead_share(&self) -> Option<f64> {
        let wall = self.meta.wall_s;
        (wall > 0.0).then(|| (1.0 - (self.time.build_s + self.time.measure_s) / wall).max(0.0))
    }

    /// The final estimated end-to-end latency (`Σ weight · best`), when every task has a best.
    pub fn network_latency_s(&self) -> Option<f64> {
        self.tasks
            .iter()
            .map(|t| t.best.as_ref().map(|b| t.weight * b.median_s))
            .sum()
    }

    /// `Σ weight · best-so-far latency` (each task's last curve point), when every task has
    /// one: the [`NetworkPoint`] estimate, which never rises.
    pub fn curve_latency_s(&self) -> Option<f64> {
        self.tasks
            .iter()
            .map(|t| {
                let last = t.curve.last().and_then(|p| p.best_latency_s);
                last.map(|l| t.weight * l)
            })
            .sum()
    }
}

impl TaskReport {
    /// The first point of the curve whose best throughput reaches `gflops` (None: never).
    pub fn first_reaching(&self, gflops: f64) -> Option<&CurvePoint> {
        self.curve
            .iter()
            .find(|p| p.best_gflops.is_some_and(|g| g >= gflops))
    }
}
