//! [`TuneEvent`]s (progress callbacks) and the [`TuneOutcome`] of a run.

use crate::report::{BestSchedule, Report, TimeSplit};

use super::StopReason;

/// Something that happened during a run, passed to the run's callback.
#[derive(Clone, Debug, PartialEq)]
pub enum TuneEvent<'a> {
    /// Records of an earlier run were taken over (before the first round).
    Resumed {
        /// Records used (of this target and these tasks).
        records: usize,
        /// Of which successful measurements.
        successes: usize,
        /// Whether the model was fitted on them.
        fitted: bool,
    },
    /// A task has a new best schedule.
    NewBest {
        /// Task index.
        task: usize,
        /// The schedule.
        best: &'a BestSchedule,
    },
    /// The cost model was fitted on everything measured so far.
    ModelFitted {
        /// Round (0-based, this run).
        round: usize,
        /// Samples fitted on (failures included).
        samples: usize,
        /// Epochs run.
        epochs: usize,
        /// Loss of the kept weights.
        loss: f64,
    },
    /// A round finished.
    RoundDone {
        /// Round (0-based, this run).
        round: usize,
        /// Task index.
        task: usize,
        /// Candidates measured in the round.
        measured: usize,
        /// Of which verified and timed.
        successes: usize,
        /// Whether the round's candidates were cold-start random picks.
        cold: bool,
        /// Measurements made by this run so far.
        trials: usize,
        /// Seconds since the run started.
        elapsed_s: f64,
        /// The round's time split.
        time: TimeSplit,
        /// The task's best so far.
        best: Option<&'a BestSchedule>,
    },
    /// The run stopped.
    Stopped {
        /// Why.
        reason: StopReason,
        /// Measurements made by this run.
        trials: usize,
        /// Seconds since the run started.
        elapsed_s: f64,
    },
}

/// What a run returns.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneOutcome {
    /// Why it stopped.
    pub stop: StopReason,
    /// Measurements made by this run (resumed records excluded).
    pub trials: usize,
    /// Rounds run.
    pub rounds: usize,
    /// Log records this run handed to its sinks (trials and re-measurements).
    pub records: usize,
    /// Per task: the best schedule (resumed records included).
    pub best: Vec<Option<BestSchedule>>,
    /// The run's time split (also in the report).
    pub time: TimeSplit,
    /// The report (resumed records appear as one round per task with zero times).
    pub report: Report,
}
