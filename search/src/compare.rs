//! Policy comparison statistics: best-so-far curves of several policies → the table behind
//! `tilegrad bench search`.
//!
//! Input: one [`RunCurve`] per (policy, task, seed) run. For each task the reference is the
//! best throughput **any** run found (over all policies and seeds). For each policy and
//! threshold `q` (e.g. 0.95) a run *reaches* `q` at the first trial whose best-so-far is at
//! least `q ×` reference; the table gives, over the policy's runs (all tasks and seeds):
//!
//! * `reached / runs`: how many runs reached it ("not reached" is counted, never dropped);
//! * `trials_geomean`, `seconds_geomean`: geometric means over the runs that reached it;
//! * `trials_geomean_censored`: the geometric mean over all runs, a run that never reached it
//!   counting its whole trial count (a lower bound on what it would have needed), so that a
//!   policy cannot look fast by failing on the hard runs;
//!
//! plus the final best per task (mean and max over seeds, GFLOP/s), the geometric mean over
//! runs of final best / reference, the geometric mean over tasks of the policy's mean final
//! best / the highest mean final best of any policy (`mean/top`: 1.0 when no policy ends
//! higher on average on any task), and the search-overhead share (time not spent building or
//! measuring, over wall time, summed over runs).
//!
//! **Confirmed tasks.** When every run of a task carries confirmed [`Pick`]s (see
//! [`crate::confirm`]), the task is judged on them instead of the single measurements: a run's
//! value after trial `t` is the confirmed throughput of the schedule it would deliver then
//! (its latest pick), its final best is that of its last pick, and the reference is the best
//! confirmed throughput of any pick of any run.
//! [`compare_policies`](crate::compare_run::compare_policies) drives the tuner to produce the
//! curves.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use tilegrad_measure::DISTURBED;

use crate::confirm::{pick_noise, Pick, PickNoise};
use crate::report::Report;
use crate::{Result, SearchError};

/// One sample of a best-so-far curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveSample {
    /// Trials measured so far (1-based).
    pub trial: usize,
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Best throughput so far (None before the first success).
    pub best_gflops: Option<f64>,
}

/// The best-so-far curve of one (policy, task, seed) run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunCurve {
    /// Policy name.
    pub policy: String,
    /// Task name (workload text).
    pub task: String,
    /// RNG seed of the run.
    pub seed: u64,
    /// Curve samples in trial order.
    pub samples: Vec<CurveSample>,
    /// Trials the run measured.
    pub trials: usize,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
    /// Seconds spent building and measuring.
    pub build_measure_s: f64,
    /// The schedules the run delivered as its best, one per round that improved it.
    #[serde(default)]
    pub picks: Vec<Pick>,
    /// Successful trials timed while other processes took more than
    /// [`tilegrad_measure::DISTURBED`] of the CPUs ([`crate::report::TaskReport::disturbed`]).
    #[serde(default)]
    pub disturbed: usize,
}

impl RunCurve {
    /// The curve of task `task` of `report` (policy and seed from its metadata).
    pub fn from_report(report: &Report, task: usize) -> Result<RunCurve> {
        let t = report.tasks.get(task).ok_or_else(|| {
            SearchError::Report(format!(
                "no task {task} in a report of {}",
                report.tasks.len()
            ))
        })?;
        // One task: the run's wall time. Several: the task's share of the rounds' time.
        let total = report.time.total_s();
        let wall_s = if report.tasks.len() == 1 || total <= 0.0 {
            report.meta.wall_s
        } else {
            report.meta.wall_s * t.time.total_s() / total
        };
        Ok(RunCurve {
            policy: report.meta.policy.clone(),
            task: t.workload.clone(),
            seed: report.meta.seed,
            samples: t
                .curve
                .iter()
                .map(|p| CurveSample {
                    trial: p.trial,
                    elapsed_s: p.elapsed_s,
                    best_gflops: p.best_gflops,
                })
                .collect(),
            trials: t.trials,
            wall_s,
            build_measure_s: t.time.build_s + t.time.measure_s,
            picks: Vec::new(),
            disturbed: t.disturbed,
        })
    }

    /// Whether every pick has a confirmed throughput (a run that never succeeded has none
    /// to confirm and counts as confirmed).
    pub fn is_confirmed(&self) -> bool {
        self.picks.iter().all(|p| p.confirmed_gflops.is_some())
            && (!self.picks.is_empty() || self.measured_final().is_none())
    }

    /// The run as `(trial, seconds, GFLOP/s)` steps: with `confirmed`, each pick's confirmed
    /// throughput from its trial on; otherwise the measured best-so-far samples.
    pub fn steps(&self, confirmed: bool) -> Vec<(usize, f64, f64)> {
        if confirmed {
            self.picks
                .iter()
                .map(|p| (p.trial, p.elapsed_s, p.confirmed_gflops.unwrap_or(0.0)))
                .collect()
        } else {
            self.samples
                .iter()
                .filter_map(|s| s.best_gflops.map(|g| (s.trial, s.elapsed_s, g)))
                .collect()
        }
    }

    /// Final best throughput as measured during the run.
    pub fn measured_final(&self) -> Option<f64> {
        self.samples
            .iter()
            .filter_map(|s| s.best_gflops)
            .reduce(f64::max)
    }

    /// Final best throughput: the confirmed throughput of the last pick with `confirmed`,
    /// else as measured.
    pub fn final_gflops(&self, confirmed: bool) -> Option<f64> {
        self.steps(confirmed).last().map(|s| s.2)
    }

    /// The highest throughput of any step (the run's contribution to the reference).
    pub fn peak_gflops(&self, confirmed: bool) -> Option<f64> {
        self.steps(confirmed).iter().map(|s| s.2).reduce(f64::max)
    }

    /// The first step (trial, seconds) whose throughput reaches `gflops`.
    pub fn first_reaching(&self, gflops: f64, confirmed: bool) -> Option<(usize, f64)> {
        self.steps(confirmed)
            .into_iter()
            .find(|s| s.2 >= gflops)
            .map(|s| (s.0, s.1))
    }
}

/// How a policy reached one threshold (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reach {
    /// The threshold, as a share of the reference (e.g. 0.95).
    pub threshold: f64,
    /// Runs that reached it.
    pub reached: usize,
    /// Runs of the policy.
    pub runs: usize,
    /// Geometric mean of the trials needed, over the runs that reached it.
    pub trials_geomean: Option<f64>,
    /// Geometric mean of the seconds needed, over the runs that reached it.
    pub seconds_geomean: Option<f64>,
    /// Geometric mean over all runs, a run that never reached it counting all its trials.
    pub trials_geomean_censored: Option<f64>,
}

/// A policy's final best on one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinalBest {
    /// Task name.
    pub task: String,
    /// Mean over seeds of the final best GFLOP/s (runs without a success count 0).
    pub mean_gflops: f64,
    /// Max over seeds.
    pub max_gflops: f64,
}

/// One policy's row of the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyRow {
    /// Policy name.
    pub policy: String,
    /// Runs (tasks × seeds).
    pub runs: usize,
    /// One entry per threshold, in [`Comparison::thresholds`] order.
    pub reach: Vec<Reach>,
    /// Per task, in [`Comparison::tasks`] order.
    pub final_best: Vec<FinalBest>,
    /// Geometric mean over runs of final best / reference (a run without success counts
    /// as excluded and is visible in `reach`).
    pub final_ratio_geomean: Option<f64>,
    /// Geometric mean over tasks of this policy's mean final best (over seeds) divided by
    /// the highest mean final best of any policy on the task: 1.0 when no policy ends higher
    /// on average on any task.
    #[serde(default)]
    pub mean_final_vs_top: Option<f64>,
    /// `1 − (build + measure) / wall`, summed over the policy's runs.
    pub search_overhead_share: Option<f64>,
}

/// The reference of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRef {
    /// Task name.
    pub task: String,
    /// Best throughput any run found (GFLOP/s; 0 if none succeeded).
    pub best_gflops: f64,
    /// The policy that found it.
    pub best_policy: Option<String>,
    /// Whether the task is judged on confirmed picks (see the [module docs](self)).
    #[serde(default)]
    pub confirmed: bool,
}

/// The comparison table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Thresholds (shares of each task's reference).
    pub thresholds: Vec<f64>,
    /// Tasks and their references, in first-seen order.
    pub tasks: Vec<TaskRef>,
    /// One row per policy, in first-seen order.
    pub policies: Vec<PolicyRow>,
    /// Measured against confirmed throughput of the runs' picks (when some were confirmed).
    #[serde(default)]
    pub noise: Option<PickNoise>,
    /// Measurements behind the table that other processes disturbed (see
    /// [`tilegrad_measure::DISTURBED`]).
    #[serde(default)]
    pub disturbed: Disturbed,
}

/// How many of a comparison's measurements ran while other processes took more than
/// [`tilegrad_measure::DISTURBED`] of the CPUs: a benchmark must have the machine to itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disturbed {
    /// Disturbed trials.
    pub trials: usize,
    /// All trials of the runs.
    pub of_trials: usize,
    /// Picks with at least one disturbed confirmation re-measurement.
    pub picks: usize,
}

fn geomean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

fn first_seen<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// The comparison table of `runs` at `thresholds` (each in (0, 1]).
pub fn summarize(runs: &[RunCurve], thresholds: &[f64]) -> Result<Comparison> {
    if let Some(q) = thresholds.iter().find(|q| !(**q > 0.0 && **q <= 1.0)) {
        return Err(SearchError::Report(format!(
            "threshold {q} is not in (0, 1]"
        )));
    }
    let task_names = first_seen(runs.iter().map(|r| r.task.as_str()));
    let tasks: Vec<TaskRef> = task_names
        .iter()
        .map(|task| {
            let confirmed = runs
                .iter()
                .filter(|r| &r.task == task)
                .all(|r| r.is_confirmed());
            let best = runs
                .iter()
                .filter(|r| &r.task == task)
                .filter_map(|r| r.peak_gflops(confirmed).map(|g| (g, &r.policy)))
                .fold(None, |acc: Option<(f64, &String)>, (g, p)| match acc {
                    Some((bg, _)) if bg >= g => acc,
                    _ => Some((g, p)),
                });
            TaskRef {
                task: task.clone(),
                best_gflops: best.map_or(0.0, |b| b.0),
                best_policy: best.map(|b| b.1.clone()),
                confirmed,
            }
        })
        .collect();
    let reference: BTreeMap<&str, (f64, bool)> = tasks
        .iter()
        .map(|t| (t.task.as_str(), (t.best_gflops, t.confirmed)))
        .collect();
    let mut policies: Vec<PolicyRow> = first_seen(runs.iter().map(|r| r.policy.as_str()))
        .into_iter()
        .map(|policy| {
            let mine: Vec<&RunCurve> = runs.iter().filter(|r| r.policy == policy).collect();
            policy_row(policy, &mine, &tasks, &reference, thresholds)
        })
        .collect();
    set_mean_final_vs_top(&mut policies);
    Ok(Comparison {
        thresholds: thresholds.to_vec(),
        tasks,
        policies,
        noise: pick_noise(runs),
        disturbed: Disturbed {
            trials: runs.iter().map(|r| r.disturbed).sum(),
            of_trials: runs.iter().map(|r| r.trials).sum(),
            picks: runs
                .iter()
                .flat_map(|r| &r.picks)
                .filter(|p| p.disturbed > 0)
                .count(),
        },
    })
}

fn policy_row(
    policy: String,
    mine: &[&RunCurve],
    tasks: &[TaskRef],
    reference: &BTreeMap<&str, (f64, bool)>,
    thresholds: &[f64],
) -> PolicyRow {
    let reach = thresholds
        .iter()
        .map(|&q| {
            let (mut trials, mut secs, mut censored) = (Vec::new(), Vec::new(), Vec::new());
            for r in mine {
                let (best, confirmed) = reference[r.task.as_str()];
                let target = q * best;
                match r.first_reaching(target, confirmed).filter(|_| target > 0.0) {
                    Some((trial, elapsed_s)) => {
                        trials.push(trial as f64);
                        secs.push(elapsed_s.max(1e-9));
                        censored.push(trial as f64);
                    }
                    None => censored.push(r.trials.max(1) as f64),
                }
            }
            Reach {
                threshold: q,
                reached: trials.len(),
                runs: mine.len(),
                trials_geomean: geomean(&trials),
                seconds_geomean: geomean(&secs),
                trials_geomean_censored: geomean(&censored),
            }
        })
        .collect();
    let final_best = tasks
        .iter()
        .filter_map(|t| {
            let finals: Vec<f64> = mine
                .iter()
                .filter(|r| r.task == t.task)
                .map(|r| r.final_gflops(t.confirmed).unwrap_or(0.0))
                .collect();
            (!finals.is_empty()).then(|| FinalBest {
                task: t.task.clone(),
                mean_gflops: finals.iter().sum::<f64>() / finals.len() as f64,
                max_gflops: finals.iter().copied().fold(0.0, f64::max),
            })
        })
        .collect();
    let ratios: Vec<f64> = mine
        .iter()
        .filter_map(|r| {
            let (reference, confirmed) = reference[r.task.as_str()];
            r.final_gflops(confirmed)
                .filter(|_| reference > 0.0)
                .map(|g| g / reference)
        })
        .collect();
    let wall: f64 = mine.iter().map(|r| r.wall_s).sum();
    let bm: f64 = mine.iter().map(|r| r.build_measure_s).sum();
    PolicyRow {
        policy,
        runs: mine.len(),
        reach,
        final_best,
        final_ratio_geomean: geomean(&ratios),
        mean_final_vs_top: None,
        search_overhead_share: (wall > 0.0).then(|| (1.0 - bm / wall).max(0.0)),
    }
}

/// Fills [`PolicyRow::mean_final_vs_top`] of every row (tasks where the top mean is 0 are
/// left out).
fn set_mean_final_vs_top(rows: &mut [PolicyRow]) {
    let mut top: BTreeMap<String, f64> = BTreeMap::new();
    for f in rows.iter().flat_map(|r| &r.final_best) {
        let t = top.entry(f.task.clone()).or_insert(0.0);
        *t = t.max(f.mean_gflops);
    }
    for row in rows.iter_mut() {
        let ratios: Vec<f64> = row
            .final_best
            .iter()
            .filter(|f| top[&f.task] > 0.0)
            .map(|f| (f.mean_gflops / top[&f.task]).max(1e-9))
            .collect();
        row.mean_final_vs_top = geomean(&ratios);
    }
}

impl Comparison {
    /// JSON (pretty).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| SearchError::Report(e.to_string()))
    }

    /// Parses [`Comparison::to_json`] output.
    pub fn from_json(text: &str) -> Result<Comparison> {
        serde_json::from_str(text).map_err(|e| SearchError::Report(e.to_string()))
    }

    /// The row of `policy`.
    pub fn row(&self, policy: &str) -> Option<&PolicyRow> {
        self.policies.iter().find(|p| p.policy == policy)
    }

    /// A plain-text table: per threshold, trials (geomean over runs that reached it, then
    /// the censored geomean) and seconds with `reached/runs`; then final best per task.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let opt = |x: Option<f64>, p: usize| x.map_or("-".to_string(), |v| format!("{v:.p$}"));
        for q in &self.thresholds {
            let _ = writeln!(s, "reach {:.0}% of the best any policy found", q * 100.0);
            let _ = writeln!(
                s,
                "  {:<14} {:>9} {:>10} {:>10} {:>9}",
                "policy", "reached", "trials", "censored", "seconds"
            );
            for p in &self.policies {
                if let Some(r) = p.reach.iter().find(|r| r.threshold == *q) {
                    let _ = writeln!(
                        s,
                        "  {:<14} {:>9} {:>10} {:>10} {:>9}",
                        p.policy,
                        format!("{}/{}", r.reached, r.runs),
                        opt(r.trials_geomean, 1),
                        opt(r.trials_geomean_censored, 1),
                        opt(r.seconds_geomean, 2),
                    );
                }
            }
        }
        let _ = writeln!(s, "final best GFLOP/s (mean / max over seeds)");
        for t in &self.tasks {
            let _ = writeln!(
                s,
                "  {}  [best {:.1} by {}{}]",
                t.task,
                t.best_gflops,
                t.best_policy.as_deref().unwrap_or("-"),
                if t.confirmed { ", confirmed" } else { "" }
            );
            for p in &self.policies {
                if let Some(f) = p.final_best.iter().find(|f| f.task == t.task) {
                    let _ = writeln!(
                        s,
                        "    {:<14} {:>9.1} {:>9.1}",
                        p.policy, f.mean_gflops, f.max_gflops
                    );
                }
            }
        }
        let _ = writeln!(
            s,
            "  {:<14} {:>12} {:>10} {:>10}",
            "policy", "final/best", "mean/top", "overhead"
        );
        for p in &self.policies {
            let _ = writeln!(
                s,
                "  {:<14} {:>12} {:>10} {:>10}",
                p.policy,
                opt(p.final_ratio_geomean, 3),
                opt(p.mean_final_vs_top, 3),
                p.search_overhead_share
                    .map_or("-".into(), |o| format!("{:.1}%", o * 100.0)),
            );
        }
        if let Some(n) = &self.noise {
            let _ = writeln!(
                s,
                "confirmation: {} picks of {} runs measured {:.3}x their confirmed speed \
                 (median); {} of {} pick changes were slower when confirmed; {} runs ended \
                 below their own best pick",
                n.picks,
                n.runs,
                n.measured_over_confirmed,
                n.slower_changes,
                n.changes,
                n.runs_ending_below_own_best
            );
        }
        let d = &self.disturbed;
        if d.trials + d.picks > 0 {
            let _ = writeln!(
                s,
                "warning: {} of {} trials, and the confirmation of {} picks, ran while other \
                 processes took more than {:.0}% of the CPUs: this comparison is not reliable",
                d.trials,
                d.of_trials,
                d.picks,
                DISTURBED * 100.0
            );
        }
        s.push_str(
            "trials/seconds: geomean over the runs that reached the threshold; censored: over all\n\
             runs, a run that never reached it counted at its trial count; final/best: geomean\n\
             over runs of the final best over the best any policy found; mean/top: geomean over\n\
             tasks of the policy's mean final best over the highest mean of any policy;\n\
             overhead: share of wall time not spent building or measuring; confirmed: judged\n\
             on the re-measured throughput of each run's successive best schedules\n",
        );
        s
    }
}
