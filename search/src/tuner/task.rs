//! [`TuneTask`] (what the user asks to tune) and the tuner's per-task state.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tilegrad_symbolic::{Assignment, FeatureSet, Target};
use tilegrad_templates::{Sketch, Workload};

use crate::report::BestSchedule;
use crate::{Proposal, ProposalSource, Result, SearchError, SearchPolicy, SeenSet};

/// One task of a tuning run: a workload, its weight in the network (how many times it runs
/// per inference) and the sketches searched.
#[derive(Clone, Debug)]
pub struct TuneTask {
    /// The workload.
    pub workload: Workload,
    /// Times the workload runs per network execution (positive).
    pub weight: f64,
    /// The sketches searched (all of them share the task's measurement budget).
    pub sketches: Vec<Arc<Sketch>>,
}

impl TuneTask {
    /// Every sketch of `workload` for `target` ([`tilegrad_templates::sketches`]).
    pub fn new(workload: Workload, weight: f64, target: &Target) -> Result<Self> {
        let sketches = tilegrad_templates::sketches(&workload, target)
            .map_err(|e| SearchError::Task(format!("`{workload}`: {e}")))?
            .into_iter()
            .map(Arc::new)
            .collect();
        Ok(Self {
            workload,
            weight,
            sketches,
        })
    }

    /// A task over the given sketches (e.g. one chosen sketch).
    pub fn with_sketches(workload: Workload, weight: f64, sketches: Vec<Arc<Sketch>>) -> Self {
        Self {
            workload,
            weight,
            sketches,
        }
    }

    /// The workload key (16 hex digits), as in the tuning log.
    pub fn key(&self) -> String {
        self.workload.key().to_string()
    }
}

/// Everything the tuner keeps per task.
pub(crate) struct TaskState {
    pub task: TuneTask,
    pub key: String,
    pub features: Vec<Arc<FeatureSet>>,
    pub sketch_index: HashMap<String, usize>,
    pub seen: SeenSet,
    pub policy: Box<dyn SearchPolicy>,
    pub best: Option<BestSchedule>,
    /// Every measured median of the candidates confirmed head to head, by (sketch, assignment).
    pub confirmed: HashMap<(String, String), Vec<f64>>,
    /// Every candidate measured successfully, at its first timing, by (sketch, assignment):
    /// what head-to-head settling ranks with the confirmed medians.
    pub measured: HashMap<(String, String), BestSchedule>,
    /// Measurements of this task (resumed ones included), for the report's trial numbers.
    pub trials: usize,
    pub exhausted: bool,
    /// Seed schedules not yet proposed, `(sketch, assignment)`: the first seed of every
    /// sketch, then the next ones ([`tilegrad_templates::seeds`]).
    pub seed_schedules: VecDeque<(usize, Assignment)>,
}

impl TaskState {
    pub fn new(task: TuneTask, target: &Target, policy: Box<dyn SearchPolicy>) -> Result<Self> {
        if !(task.weight.is_finite() && task.weight > 0.0) {
            return Err(SearchError::Task(format!(
                "`{}`: weight {} must be positive",
                task.workload, task.weight
            )));
        }
        if task.sketches.is_empty() {
            return Err(SearchError::Task(format!("`{}`: no sketch", task.workload)));
        }
        let features = task
            .sketches
            .iter()
            .map(|s| {
                FeatureSet::build(&s.tree, &s.space, target)
                    .map(Arc::new)
                    .map_err(|e| SearchError::Task(format!("features of `{}`: {e}", s.id)))
            })
            .collect::<Result<Vec<_>>>()?;
        let sketch_index = task
            .sketches
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let per_sketch: Vec<Vec<Assignment>> = task
            .sketches
            .iter()
            .map(|s| tilegrad_templates::seeds(s, target))
            .collect();
        let rank = per_sketch.iter().map(Vec::len).max().unwrap_or(0);
        let seeds = (0..rank)
            .flat_map(|r| {
                per_sketch
                    .iter()
                    .enumerate()
                    .filter_map(move |(s, v)| v.get(r).map(|a| (s, a.clone())))
            })
            .collect();
        Ok(Self {
            key: task.key(),
            task,
            features,
            sketch_index,
            seen: SeenSet::new(),
            policy,
            best: None,
            confirmed: HashMap::new(),
            measured: HashMap::new(),
            trials: 0,
            exhausted: false,
            seed_schedules: seeds,
        })
    }

    /// Up to `n` seed schedules never measured (nor proposed) before, as proposals.
    pub fn take_seed_schedules(&mut self, n: usize) -> Vec<Proposal> {
        let mut out = Vec::new();
        while out.len() < n {
            let Some((sketch, assignment)) = self.seed_schedules.pop_front() else {
                break;
            };
            if !self.seen.contains(sketch, &assignment) {
                out.push(Proposal {
                    sketch,
                    assignment,
                    predicted: f64::NAN,
                    uncertainty: 0.0,
                    source: ProposalSource::Seed,
                });
            }
        }
        out
    }

    /// Offers a measured latency (remembered as the candidate's first timing); returns
    /// whether it is the task's new best.
    pub fn offer_best(
        &mut self,
        sketch: &str,
        assignment: &str,
        median_s: f64,
        elapsed_s: f64,
    ) -> bool {
        if !(median_s.is_finite() && median_s > 0.0) {
            return false;
        }
        let first = self.schedule(sketch, assignment, median_s, elapsed_s);
        self.measured
            .entry((sketch.to_string(), assignment.to_string()))
            .or_insert(first);
        if self.best.as_ref().is_some_and(|b| b.median_s <= median_s) {
            return false;
        }
        self.best = Some(self.schedule(sketch, assignment, median_s, elapsed_s));
        true
    }

    /// The schedule of the task's latest trial, measured at `median_s`.
    pub fn schedule(
        &self,
        sketch: &str,
        assignment: &str,
        median_s: f64,
        elapsed_s: f64,
    ) -> BestSchedule {
        BestSchedule {
            sketch: sketch.to_string(),
            assignment: assignment.to_string(),
            median_s,
            gflops: self.task.workload.flops() / median_s / 1e9,
            trial: self.trials,
            elapsed_s,
        }
    }

    /// `b` at another time (a confirmed median), its throughput recomputed.
    pub fn retimed(&self, b: BestSchedule, median_s: f64) -> BestSchedule {
        let gflops = self.task.workload.flops() / median_s / 1e9;
        BestSchedule {
            median_s,
            gflops,
            ..b
        }
    }
}
