//! One round of the [`Tuner`]: propose → measure → log → fine-tune.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tilegrad_cost_model::Sample;
use tilegrad_datasets::Provenance;
use tilegrad_measure::record::{error_kind, record_of};
use tilegrad_measure::{MeasureInput, Measurer};

use super::head_to_head::CONFIRM_POLICY;
use super::task::TaskState;
use super::{ColdStart, TuneEvent, Tuner, TunerModel, TILEGRAD_VERSION};
use crate::model_objective::ModelObjective;
use crate::pretrain::{label_of, sketch_samples};
use crate::report::{BestSchedule, TimeSplit};
use crate::report_builder::{RoundStats, Trial, TrialResult};
use crate::{Objective, Proposal, RandomSearch, Result, SearchError, SearchPolicy};

/// What a round did, for the run loop.
pub(super) struct RoundOut {
    /// Candidates measured (0: the task's policy found nothing new).
    pub measured: usize,
    /// Whether the task got a new best.
    pub improved: bool,
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Tuner {
    /// Proposes up to `k` candidates for task `t`; returns them and whether they were
    /// cold-start random picks.
    fn propose(&mut self, t: usize, k: usize) -> Result<(Vec<Proposal>, bool)> {
        let seeds = if self.config.seed_schedules {
            self.tasks[t].take_seed_schedules(k.div_ceil(2))
        } else {
            Vec::new()
        };
        // Seen already, so that the policy proposes them no more.
        self.tasks[t].seen.extend(&seeds);
        let k = k - seeds.len();
        if k == 0 {
            return Ok((seeds, false));
        }
        let cold = !self.fitted && self.config.cold_start == ColdStart::Random;
        let mut policy: Box<dyn SearchPolicy> = if cold {
            Box::new(RandomSearch::default())
        } else {
            std::mem::replace(&mut self.tasks[t].policy, Box::new(RandomSearch::default()))
        };
        let out = {
            let objectives = objectives_of(&self.tasks[t], &self.model);
            let refs: Vec<&dyn Objective> =
                objectives.iter().map(|o| o as &dyn Objective).collect();
            policy.propose(&refs, &self.tasks[t].seen, k, &mut self.rng)
        };
        if !cold {
            self.tasks[t].policy = policy;
        }
        let mut out = out?;
        out.splice(0..0, seeds);
        Ok((out, cold))
    }

    /// Training samples of `pending` `(sketch, assignment, label)` of task `t` (candidates
    /// whose exact features are not finite are skipped): the path pretraining shares
    /// ([`crate::pretrain`]).
    pub(super) fn samples_of(
        &self,
        t: usize,
        pending: &[(usize, tilegrad_symbolic::Assignment, Option<f64>)],
    ) -> Result<Vec<Sample>> {
        let st = &self.tasks[t];
        let objectives = objectives_of(st, &self.model);
        let mut out = Vec::with_capacity(pending.len());
        for (s, obj) in objectives.iter().enumerate() {
            let mine: Vec<_> = pending
                .iter()
                .filter(|p| p.0 == s)
                .map(|p| (&p.1, p.2))
                .collect();
            if !mine.is_empty() {
                out.extend(sketch_samples(&st.key, obj, &mine)?);
            }
        }
        Ok(out)
    }

    /// Runs one round of task `t` with at most `k` candidates.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn round(
        &mut self,
        measurer: &mut dyn Measurer,
        t: usize,
        trials_before: usize,
        k: usize,
        round: usize,
        start: Instant,
        on_event: &mut dyn FnMut(&TuneEvent),
    ) -> Result<RoundOut> {
        let mut time = TimeSplit::default();
        let t0 = Instant::now();
        let model_hash = self.model.hash();
        let (proposals, cold) = self.propose(t, k)?;
        time.search_s += t0.elapsed().as_secs_f64();
        if proposals.is_empty() {
            return Ok(RoundOut {
                measured: 0,
                improved: false,
            });
        }
        let st = &mut self.tasks[t];
        st.seen.extend(&proposals);
        let inputs: Vec<MeasureInput> = proposals
            .iter()
            .map(|p| MeasureInput {
                sketch: st.task.sketches[p.sketch].clone(),
                assignment: p.assignment.clone(),
            })
            .collect();
        let t1 = Instant::now();
        let results = measurer.measure(&inputs);
        if results.len() != inputs.len() {
            return Err(SearchError::Objective(format!(
                "the measurer returned {} results for {} candidates",
                results.len(),
                inputs.len()
            )));
        }
        let wall = t1.elapsed().as_secs_f64();
        // Builds run in parallel, so their summed times overstate the wall time they took:
        // the measure share is the kernels' timed runs (their samples), the build share the
        // rest of the measurer's wall time (code generation, compilation, worker, verify).
        let runs: f64 = results
            .iter()
            .filter_map(|r| {
                r.as_ref()
                    .ok()
                    .map(|m| m.timing.samples_s.iter().sum::<f64>())
            })
            .sum();
        time.measure_s = runs.min(wall);
        time.build_s = wall - time.measure_s;

        // Log, best, samples, report trials.
        let t2 = Instant::now();
        let elapsed_s = start.elapsed().as_secs_f64();
        let provenance = Provenance {
            tilegrad: TILEGRAD_VERSION.to_string(),
            model: model_hash,
            policy: if cold {
                format!("{}(cold:random)", self.config.policy.name())
            } else {
                self.config.policy.name().to_string()
            },
            seed: self.config.seed,
            round: self.next_round,
            timestamp: now_s(),
        };
        self.next_round += 1;
        let incumbent = self.tasks[t].best.clone();
        let mut pending = Vec::new();
        let mut records = Vec::new();
        let mut trials = Vec::with_capacity(results.len());
        let mut observed = Vec::with_capacity(results.len());
        let mut improved = false;
        let mut successes = 0;
        for ((p, input), result) in proposals.iter().zip(&inputs).zip(&results) {
            let st = &mut self.tasks[t];
            st.trials += 1;
            let sketch_id = &input.sketch.id;
            let text = p.assignment.to_string();
            let (trial_result, label, logged) = match result {
                Ok(m) => {
                    let median = m.timing.median_s;
                    if median.is_finite() && median > 0.0 {
                        successes += 1;
                        if st.offer_best(sketch_id, &text, median, elapsed_s) {
                            improved = true;
                        }
                        (
                            TrialResult::Ok { median_s: median },
                            Some(label_of(median)),
                            true,
                        )
                    } else {
                        let kind = "invalid_timing".to_string();
                        (TrialResult::Failed { kind }, None, true)
                    }
                }
                Err(e) => (
                    TrialResult::Failed {
                        kind: error_kind(e).to_string(),
                    },
                    None,
                    e.is_candidate_fault(),
                ),
            };
            observed.push((p.clone(), label));
            trials.push(Trial {
                sketch: sketch_id.clone(),
                assignment: text,
                predicted: p.predicted.is_finite().then_some(p.predicted),
                elapsed_s: Some(elapsed_s),
                result: trial_result,
                interference: result.as_ref().ok().and_then(|m| m.timing.interference),
            });
            if logged {
                records.push(record_of(input, &self.info, result, provenance.clone()));
                pending.push((p.sketch, p.assignment.clone(), label));
            }
        }
        // A new best on one timing: confirm it head to head with the old one.
        let mut confirm_wall = 0.0;
        let mut best_override = None;
        if improved && self.config.confirm_best > 0 {
            let confirm = Provenance {
                policy: CONFIRM_POLICY.to_string(),
                timestamp: now_s(),
                ..provenance.clone()
            };
            let key = |b: &BestSchedule| (b.sketch.clone(), b.assignment.clone());
            let before = incumbent.as_ref().map(key);
            let (confirm_records, wall) = self.confirm_round(t, incumbent, measurer, &confirm)?;
            let best = self.tasks[t].best.clone();
            improved = best.as_ref().map(key) != before;
            confirm_wall = wall;
            time.measure_s += wall;
            records.extend(confirm_records);
            best_override = best;
        }
        let new_samples = self.samples_of(t, &pending)?;
        self.hand_to_sinks(&records)?;
        self.successes += new_samples.iter().filter(|s| s.label.is_some()).count();
        self.samples.extend(new_samples);
        self.tasks[t].policy.observe(&observed);
        time.search_s += (t2.elapsed().as_secs_f64() - confirm_wall).max(0.0);
        if improved {
            if let Some(best) = self.tasks[t].best.as_ref() {
                on_event(&TuneEvent::NewBest { task: t, best });
            }
        }

        // Fine-tune.
        let t3 = Instant::now();
        let fit = self.fit(round)?;
        time.train_s = t3.elapsed().as_secs_f64();
        if let Some(rep) = fit {
            on_event(&TuneEvent::ModelFitted {
                round,
                samples: self.samples.len(),
                epochs: rep.epochs,
                loss: rep.best_loss,
            });
        }

        let measured = results.len();
        let elapsed_s = start.elapsed().as_secs_f64();
        self.builder.round(
            t,
            RoundStats {
                elapsed_s,
                time,
                trials,
                best: best_override,
            },
        )?;
        let best_s = self.tasks[t].best.as_ref().map(|b| b.median_s);
        self.scheduler.observe(t, measured, best_s)?;
        self.time.add(&time);
        on_event(&TuneEvent::RoundDone {
            round,
            task: t,
            measured,
            successes,
            cold,
            trials: trials_before + measured,
            elapsed_s,
            time,
            best: self.tasks[t].best.as_ref(),
        });
        Ok(RoundOut { measured, improved })
    }
}

/// The objectives of a task's sketches over `model`.
pub(super) fn objectives_of<'a>(
    st: &'a TaskState,
    model: &'a TunerModel,
) -> Vec<ModelObjective<'a>> {
    st.task
        .sketches
        .iter()
        .zip(&st.features)
        .map(|(s, f)| ModelObjective::new(s.clone(), f.clone(), model.as_ref()))
        .collect()
}
