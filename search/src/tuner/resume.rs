//! [`Tuner::resume`]: taking over the records of an earlier run.

use tilegrad_datasets::{Outcome, Record};

use super::{RecordSink, Tuner};
use crate::pretrain::{is_confirmation, Logged, StandIns};
use crate::report::TimeSplit;
use crate::report_builder::{RoundStats, Trial, TrialResult};
use crate::{Proposal, ProposalSource, Result};

/// What [`Tuner::resume`] took over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResumeStats {
    /// Records used (this target, a task's workload and sketch, a legal assignment).
    pub used: usize,
    /// Of which successful measurements.
    pub successes: usize,
    /// Records of another target.
    pub other_target: usize,
    /// Records of no task of this run (workload or sketch unknown).
    pub other_task: usize,
    /// Records whose assignment does not parse or is illegal in the sketch's space.
    pub bad_assignment: usize,
    /// Records of a candidate already taken over.
    pub duplicates: usize,
    /// Whether the model was fitted on the records.
    pub fitted: bool,
}

impl Tuner {
    /// Takes over `records` (e.g. [`TuningLog::read`](tilegrad_datasets::TuningLog::read) of
    /// the run's own log): every candidate of this target and these tasks enters its task's
    /// seen set (it is never proposed or measured again), successes restore the best
    /// schedules, and the model is fitted on them (failures as unlabelled worst samples). A
    /// candidate with head-to-head records (`provenance.policy = "confirm"`) counts with its
    /// latest one instead of its own measurement; those records are not trials.
    /// Each task with records gets one report round with zero times. The trials taken over
    /// ([`ResumeStats::used`]) count toward the budget ([`Tuner::remaining_trials`]). Call
    /// before [`Tuner::run`].
    pub fn resume(&mut self, records: &[Record]) -> Result<ResumeStats> {
        let mut stats = ResumeStats::default();
        let mut per_task: Vec<Vec<(usize, &Record)>> = vec![Vec::new(); self.tasks.len()];
        let mut remeasured: Vec<Vec<Record>> = vec![Vec::new(); self.tasks.len()];
        let stand_ins = StandIns::of(records);
        let mut max_round = None;
        for r in records {
            if r.target.key != self.info.key {
                stats.other_target += 1;
                continue;
            }
            let found = self
                .tasks
                .iter()
                .position(|t| t.key == r.workload_key)
                .and_then(|t| self.tasks[t].sketch_index.get(&r.sketch).map(|&s| (t, s)));
            let Some((t, s)) = found else {
                stats.other_task += 1;
                continue;
            };
            if is_confirmation(r) {
                remeasured[t].push(r.clone());
                continue;
            }
            per_task[t].push((s, r));
            max_round = max_round.max(Some(r.provenance.round));
        }
        for (t, recs) in per_task.into_iter().enumerate() {
            if recs.is_empty() {
                continue;
            }
            let mut trials = Vec::new();
            let mut pending = Vec::new();
            for (s, r) in recs {
                let st = &mut self.tasks[t];
                let space = &st.task.sketches[s].space;
                let a = match space.parse_assignment(&r.assignment) {
                    Ok(a) if space.is_legal(&a) => a,
                    _ => {
                        stats.bad_assignment += 1;
                        continue;
                    }
                };
                if !st.seen.insert(s, &a) {
                    stats.duplicates += 1;
                    continue;
                }
                stats.used += 1;
                st.trials += 1;
                let counted = stand_ins.for_record(r);
                if let (true, Outcome::Ok(timing)) = (is_confirmation(counted), &counted.outcome) {
                    let key = (r.sketch.clone(), a.to_string());
                    st.confirmed.insert(key, timing.samples_s.clone());
                }
                let logged = Logged::of(counted);
                let result = match &logged {
                    Logged::Success(m) => {
                        stats.successes += 1;
                        st.offer_best(&r.sketch, &a.to_string(), *m, 0.0);
                        TrialResult::Ok { median_s: *m }
                    }
                    Logged::InvalidTiming => TrialResult::Failed {
                        kind: "invalid_timing".into(),
                    },
                    Logged::Failure { kind, .. } => TrialResult::Failed { kind: kind.clone() },
                };
                let (label, sample) = (logged.label(), logged.trains());
                trials.push(Trial {
                    sketch: r.sketch.clone(),
                    assignment: a.to_string(),
                    predicted: None,
                    elapsed_s: Some(0.0),
                    result,
                    interference: match &counted.outcome {
                        Outcome::Ok(t) => t.interference,
                        Outcome::Error { .. } => None,
                    },
                });
                if sample {
                    pending.push((s, a, label));
                }
            }
            // The policy learns the logged winners too (gradient and evolutionary searches
            // start from the measured elite), so a resumed run continues where it stopped.
            let observed: Vec<(Proposal, Option<f64>)> = pending
                .iter()
                .filter(|(_, _, label)| label.is_some())
                .map(|(s, a, label)| {
                    let p = Proposal {
                        sketch: *s,
                        assignment: a.clone(),
                        predicted: 0.0,
                        uncertainty: 0.0,
                        source: ProposalSource::Population,
                    };
                    (p, *label)
                })
                .collect();
            self.tasks[t].policy.observe(&observed);
            let samples = self.samples_of(t, &pending)?;
            self.successes += samples.iter().filter(|s| s.label.is_some()).count();
            self.samples.extend(samples);
            let n = trials.len();
            // The report lists the logged re-measurements (its builder takes them as a sink).
            self.builder.record(&remeasured[t])?;
            if n > 0 {
                self.builder.round(
                    t,
                    RoundStats {
                        elapsed_s: 0.0,
                        time: TimeSplit::default(),
                        trials,
                        best: None,
                    },
                )?;
                let best = self.tasks[t].best.as_ref().map(|b| b.median_s);
                self.scheduler.observe(t, n, best)?;
            }
        }
        if let Some(r) = max_round {
            self.next_round = self.next_round.max(r + 1);
        }
        stats.fitted = self.fit(0)?.is_some();
        self.resumed_trials += stats.used;
        self.resumed = Some(stats);
        Ok(stats)
    }
}
