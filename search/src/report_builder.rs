//! [`ReportBuilder`]: turns the tuner's per-round statistics into a [`Report`].
//!
//! Pure bookkeeping, no clock: the tuner passes every time it measured. Usage:
//! ```text
//! let mut b = ReportBuilder::new(meta, tasks)?;      // before the first round
//! b.round(task, RoundStats { elapsed_s, time, trials, best: None })?;   // after every round
//! let progress = b.snapshot(wall_s);                  // any time
//! let report = b.finish("trial_budget", wall_s);      // at the end
//! ```
//! Rounds resumed from a tuning log can be fed like any other round (with zero times).
//!
//! The builder is also one of the tuner's [`RecordSink`]s: it is given every logged record
//! once, before the round's statistics. It takes the re-measurements among them (records of
//! the `confirm` policy) into the task's `remeasurements`, beside the curve; the trials come
//! with the round's statistics, which carry what records do not (predicted scores, failures
//! of the environment that are not logged).
//!
//! The curve is a running minimum: a point is the lowest best latency up to it, whatever
//! a re-measurement later found (see [`crate::report`]).

use std::collections::BTreeMap;

use tilegrad_cost_model::metrics::spearman;
use tilegrad_datasets::{Outcome, Record};
use tilegrad_measure::DISTURBED;

use crate::pretrain::is_confirmation;
use crate::report::{
    BestSchedule, CurvePoint, NetworkPoint, Remeasurement, Report, RoundCalibration, RoundSummary,
    RunMeta, TaskReport, TimeSplit, REPORT_VERSION,
};
use crate::tuner::RecordSink;
use crate::{Result, SearchError};

/// What the builder needs to know about a task up front.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    /// Canonical workload text.
    pub workload: String,
    /// Workload key (16 hex digits).
    pub key: String,
    /// Times the task appears in the network (finite, positive).
    pub weight: f64,
    /// Floating-point operations of one execution (finite, non-negative).
    pub flops: f64,
}

/// The outcome of one measured candidate.
#[derive(Clone, Debug, PartialEq)]
pub enum TrialResult {
    /// Verified and timed: the median latency in seconds (finite, positive).
    Ok {
        /// Median latency, seconds.
        median_s: f64,
    },
    /// Failed: a short error kind (e.g. `build`, `verify`, `timeout`, `runtime`).
    Failed {
        /// Error kind; failures are counted by it.
        kind: String,
    },
}

/// One measured candidate of a round.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// Sketch id.
    pub sketch: String,
    /// Assignment text.
    pub assignment: String,
    /// The cost model's predicted score (higher is better), if there was one.
    pub predicted: Option<f64>,
    /// Seconds since the run started when this measurement finished (None: the round's end).
    pub elapsed_s: Option<f64>,
    /// The outcome.
    pub result: TrialResult,
    /// Share of the CPUs other processes took while it was timed
    /// ([`tilegrad_measure::Timing::interference`]), where known.
    pub interference: Option<f64>,
}

/// Everything the tuner reports about one finished round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundStats {
    /// Seconds since the run started, at the end of the round.
    pub elapsed_s: f64,
    /// The round's time split.
    pub time: TimeSplit,
    /// The round's measurements, in measurement order.
    pub trials: Vec<Trial>,
    /// The task's best after the round when the tuner confirmed it by re-measurement: it
    /// replaces the best the trials imply, on the curve from the point where that changed.
    pub best: Option<BestSchedule>,
}

/// Collects rounds into a [`Report`] (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct ReportBuilder {
    report: Report,
    calibration_k: Option<usize>,
    /// Re-measurement records given as a sink, by task, until the task's next round.
    pending: Vec<Vec<Record>>,
}

impl ReportBuilder {
    /// A builder for a run with `meta` over `tasks` (in the tuner's task order).
    pub fn new(meta: RunMeta, tasks: Vec<TaskInfo>) -> Result<Self> {
        let bad = |t: &TaskInfo| {
            !(t.weight.is_finite() && t.weight > 0.0 && t.flops.is_finite() && t.flops >= 0.0)
        };
        if let Some(t) = tasks.iter().find(|t| bad(t)) {
            return Err(SearchError::Report(format!(
                "task {} has weight {} and flops {}",
                t.workload, t.weight, t.flops
            )));
        }
        let tasks = tasks
            .into_iter()
            .enumerate()
            .map(|(index, t)| TaskReport {
                index,
                workload: t.workload,
                key: t.key,
                weight: t.weight,
                flops: t.flops,
                trials: 0,
                rounds: 0,
                curve: Vec::new(),
                remeasurements: Vec::new(),
                best: None,
                time: TimeSplit::default(),
                round_log: Vec::new(),
                failures: BTreeMap::new(),
                disturbed: 0,
            })
            .collect();
        let report = Report {
            report_version: REPORT_VERSION,
            meta,
            tasks,
            network: Vec::new(),
            time: TimeSplit::default(),
            total_trials: 0,
            rounds: 0,
            failures: BTreeMap::new(),
        };
        Ok(Self {
            pending: vec![Vec::new(); report.tasks.len()],
            report,
            calibration_k: None,
        })
    }

    /// Sets the `k` of the per-round top-k recall (default: a quarter of the round's
    /// compared measurements, at least 1). Always capped at the number compared.
    pub fn with_calibration_k(mut self, k: usize) -> Self {
        self.calibration_k = Some(k.max(1));
        self
    }

    /// Records a finished round of task `task`.
    pub fn round(&mut self, task: usize, stats: RoundStats) -> Result<()> {
        let n_tasks = self.report.tasks.len();
        validate(task, n_tasks, &stats)?;
        let r = &mut self.report;
        let round = r.rounds;
        let t = &mut r.tasks[task];
        let mut successes = 0;
        let before = t.best.as_ref().map(|b| b.median_s);
        let disturbed = stats
            .trials
            .iter()
            .filter(|tr| tr.interference.is_some_and(|s| s > DISTURBED))
            .count();
        t.disturbed += disturbed;
        for trial in &stats.trials {
            t.trials += 1;
            r.total_trials += 1;
            let elapsed_s = trial.elapsed_s.unwrap_or(stats.elapsed_s);
            match &trial.result {
                TrialResult::Ok { median_s } => {
                    successes += 1;
                    if t.best.as_ref().is_none_or(|b| *median_s < b.median_s) {
                        t.best = Some(BestSchedule {
                            sketch: trial.sketch.clone(),
                            assignment: trial.assignment.clone(),
                            median_s: *median_s,
                            gflops: gflops(t.flops, *median_s),
                            trial: t.trials,
                            elapsed_s,
                        });
                    }
                }
                TrialResult::Failed { kind } => {
                    *t.failures.entry(kind.clone()).or_default() += 1;
                    *r.failures.entry(kind.clone()).or_default() += 1;
                }
            }
            t.curve.push(CurvePoint {
                trial: t.trials,
                global_trial: r.total_trials,
                elapsed_s,
                best_latency_s: t.best.as_ref().map(|b| b.median_s),
                best_gflops: t.best.as_ref().map(|b| b.gflops),
            });
        }
        if let Some(b) = &stats.best {
            let from = t.curve.len() - stats.trials.len();
            for p in t.curve[from..]
                .iter_mut()
                .filter(|p| p.best_latency_s != before)
            {
                p.best_latency_s = Some(b.median_s);
                p.best_gflops = Some(b.gflops);
            }
            t.best = Some(b.clone());
        }
        // Best so far: a point never above the one before it.
        let from = t.curve.len() - stats.trials.len();
        let mut low = from.checked_sub(1).and_then(|i| t.curve[i].best_latency_s);
        for p in &mut t.curve[from..] {
            if let (Some(l), Some(prev)) = (p.best_latency_s, low) {
                if prev < l {
                    p.best_latency_s = Some(prev);
                    p.best_gflops = Some(gflops(t.flops, prev));
                }
            }
            low = p.best_latency_s.or(low);
        }
        for r in std::mem::take(&mut self.pending[task]) {
            t.remeasurements
                .push(remeasurement(&r, t.trials, stats.elapsed_s));
        }
        t.time.add(&stats.time);
        r.time.add(&stats.time);
        t.round_log.push(RoundSummary {
            round,
            task_round: t.rounds,
            trials: stats.trials.len(),
            successes,
            elapsed_s: stats.elapsed_s,
            best_latency_s: t.best.as_ref().map(|b| b.median_s),
            time: stats.time,
            calibration: round_calibration(&stats.trials, self.calibration_k),
            disturbed,
        });
        t.rounds += 1;
        r.rounds += 1;
        r.network.push(NetworkPoint {
            round,
            task,
            global_trial: r.total_trials,
            elapsed_s: stats.elapsed_s,
            latency_s: r.curve_latency_s(),
        });
        r.meta.wall_s = r.meta.wall_s.max(stats.elapsed_s);
        Ok(())
    }

    /// The report so far (no stop reason), with `wall_s` seconds of wall time.
    pub fn snapshot(&self, wall_s: f64) -> Report {
        let mut r = self.report.clone();
        r.meta.wall_s = r.meta.wall_s.max(wall_s);
        r
    }

    /// The final report: `stop_reason` (the tuner's stop reason) and the run's wall time.
    pub fn finish(self, stop_reason: &str, wall_s: f64) -> Report {
        let mut r = self.report;
        r.meta.stop_reason = Some(stop_reason.to_string());
        r.meta.wall_s = r.meta.wall_s.max(wall_s);
        r
    }
}

impl RecordSink for ReportBuilder {
    /// Keeps the re-measurements (see the [module docs](self)) for their task's next round;
    /// a record of no task of the report is an error.
    fn record(&mut self, records: &[Record]) -> Result<()> {
        for r in records.iter().filter(|r| is_confirmation(r)) {
            let task = self
                .report
                .tasks
                .iter()
                .position(|t| t.key == r.workload_key)
                .ok_or_else(|| {
                    SearchError::Report(format!("a record of workload {}", r.workload_key))
                })?;
            self.pending[task].push(r.clone());
        }
        Ok(())
    }
}

/// The report entry of re-measurement record `r`, made after `trial` trials at `elapsed_s`.
fn remeasurement(r: &Record, trial: usize, elapsed_s: f64) -> Remeasurement {
    let (median_s, measurements, error) = match &r.outcome {
        Outcome::Ok(t) => (r.median_s(), t.samples_s.len(), None),
        Outcome::Error { kind, .. } => (None, 0, Some(kind.clone())),
    };
    Remeasurement {
        trial,
        elapsed_s,
        sketch: r.sketch.clone(),
        assignment: r.assignment.clone(),
        median_s,
        measurements,
        error,
    }
}

fn gflops(flops: f64, seconds: f64) -> f64 {
    flops / seconds / 1e9
}

fn validate(task: usize, n_tasks: usize, stats: &RoundStats) -> Result<()> {
    let err = |m: String| Err(SearchError::Report(m));
    if task >= n_tasks {
        return err(format!("round of task {task}, the run has {n_tasks}"));
    }
    let finite_time = stats.elapsed_s.is_finite() && stats.elapsed_s >= 0.0;
    if !(finite_time && stats.time.is_valid()) {
        return err(format!(
            "round of task {task}: non-finite or negative time ({} s, {:?})",
            stats.elapsed_s, stats.time
        ));
    }
    for trial in &stats.trials {
        let finite = |x: Option<f64>| x.is_none_or(f64::is_finite);
        let ok_latency = match trial.result {
            TrialResult::Ok { median_s } => median_s.is_finite() && median_s > 0.0,
            TrialResult::Failed { .. } => true,
        };
        if !ok_latency || !finite(trial.predicted) || !finite(trial.elapsed_s) {
            return err(format!(
                "round of task {task}: trial {} {} has a non-finite value",
                trial.sketch, trial.assignment
            ));
        }
    }
    Ok(())
}

/// Calibration of one round: its successful trials that have a prediction, predicted score
/// against throughput `1 / median_s`. `k`: the recall's k (None: a quarter of the compared,
/// at least 1).
pub fn round_calibration(trials: &[Trial], k: Option<usize>) -> RoundCalibration {
    let (pred, thr): (Vec<f64>, Vec<f64>) = trials
        .iter()
        .filter_map(|t| match (&t.result, t.predicted) {
            (TrialResult::Ok { median_s }, Some(p)) => Some((p, 1.0 / median_s)),
            _ => None,
        })
        .unzip();
    let n = pred.len();
    let k = k.unwrap_or(n.div_ceil(4)).clamp(1, n.max(1));
    RoundCalibration {
        n,
        spearman: spearman(&pred, &thr),
        k,
        topk_recall: (n > 0).then(|| {
            let (tp, tt) = (top_k(&pred, k), top_k(&thr, k));
            tp.iter().filter(|i| tt.contains(i)).count() as f64 / k as f64
        }),
    }
}

/// Indices of the `k` largest values (ties: the earlier index first).
fn top_k(v: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}
