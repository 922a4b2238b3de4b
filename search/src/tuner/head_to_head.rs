//! Head-to-head confirmation of a task's new best ([`TunerConfig::confirm_best`]).
//!
//! On a noisy machine the fastest of many single timings is often a lucky one (measured in
//! `results/search/2026-11-25-policies-confirmed-picks-5tasks-3seeds/`). So when a
//! round's best beats the task's best on its one measurement, both are measured
//! `confirm_best` more times, alternating, and each keeps the median of all its measurements;
//! the challenger replaces the incumbent only if its median is lower. The re-measurements are
//! logged as one record per candidate with `provenance.policy = "confirm"`, whose samples are
//! the candidate's per-measurement medians so far (its `median_s` is the confirmed time): the
//! database ranks a candidate by its latest such record, and [`Tuner::resume`] restores the
//! confirmed times from them.
//!
//! **The best of a task**, for the tuner, its report, the database (`best`, `export`, the
//! C ABI's `tg_db_best`) alike: the candidate with the lowest *rank time*, where a confirmed
//! candidate's rank time is the median of all its measurements and any other candidate's is
//! its one timing. After every round with a would-be new best, the tuner settles: while the
//! first candidate by rank time over everything the task measured is not the best, it is
//! confirmed against the best (or, confirmed already, becomes the best). A re-measurement that
//! makes the best slower thus brings earlier rounds' single timings back into play, and the
//! best the tuner reports is the one the database serves.
//!
//! [`TunerConfig::confirm_best`]: super::TunerConfig::confirm_best

use tilegrad_datasets::{Provenance, Record};
use tilegrad_measure::record::record_of;
use tilegrad_measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};

use super::Tuner;
use crate::confirm::median;
use crate::report::BestSchedule;
use crate::{Result, SearchError};

/// The `provenance.policy` of a confirmation record.
pub const CONFIRM_POLICY: &str = "confirm";

/// The rule that chooses a task's best (see the [module docs](self)), as the report records
/// it (`meta.best_rule`).
pub const BEST_RULE: &str = "lowest median of each candidate's measurements \
     (one timing, or all of its head-to-head re-measurements)";

/// What a head-to-head did.
struct HeadToHead {
    /// Log records of the re-measurements (one per candidate).
    pub records: Vec<Record>,
    /// Seconds the measurer took.
    pub wall_s: f64,
}

impl Tuner {
    /// Confirms `challenger` (measured once, faster than the task's best) against
    /// `incumbent`, the task's best (see the [module docs](self)); a first best is
    /// re-measured on its own. Sets the task's best to the winner.
    fn head_to_head(
        &mut self,
        t: usize,
        challenger: BestSchedule,
        incumbent: Option<BestSchedule>,
        measurer: &mut dyn Measurer,
        provenance: &Provenance,
    ) -> Result<HeadToHead> {
        let n = self.config.confirm_best.max(1);
        let st = &self.tasks[t];
        // The candidates: the challenger, then the incumbent if there is one.
        let mut cands = vec![challenger];
        cands.extend(incumbent);
        let input = |b: &BestSchedule| -> Result<MeasureInput> {
            let s = *st.sketch_index.get(&b.sketch).ok_or_else(|| {
                SearchError::Task(format!("no sketch `{}` in the task", b.sketch))
            })?;
            let sketch = st.task.sketches[s].clone();
            let assignment = sketch
                .space
                .parse_assignment(&b.assignment)
                .map_err(|e| SearchError::Task(format!("`{}`: {e}", b.assignment)))?;
            Ok(MeasureInput { sketch, assignment })
        };
        let inputs = cands.iter().map(input).collect::<Result<Vec<_>>>()?;
        // Rounds alternate the order of a pair: challenger first, then incumbent first, ...
        let k = cands.len();
        let order: Vec<usize> = (0..k * n)
            .map(|i| if k == 1 { 0 } else { (i % 2) ^ ((i / 2) % 2) })
            .collect();
        let batch: Vec<MeasureInput> = order.iter().map(|&c| inputs[c].clone()).collect();
        let start = std::time::Instant::now();
        let results = measurer.measure(&batch);
        let wall_s = start.elapsed().as_secs_f64();
        if results.len() != batch.len() {
            return Err(SearchError::Objective(format!(
                "the measurer returned {} results for {} candidates",
                results.len(),
                batch.len()
            )));
        }
        let key = |b: &BestSchedule| (b.sketch.clone(), b.assignment.clone());
        let st = &mut self.tasks[t];
        let mut medians: Vec<Vec<f64>> = cands
            .iter()
            .map(|b| {
                st.confirmed
                    .get(&key(b))
                    .cloned()
                    .unwrap_or_else(|| vec![b.median_s])
            })
            .collect();
        let mut failure: Vec<Option<&MeasureResult>> = vec![None; k];
        for (&c, r) in order.iter().zip(&results) {
            match r {
                Ok(m) if m.timing.median_s.is_finite() && m.timing.median_s > 0.0 => {
                    medians[c].push(m.timing.median_s)
                }
                _ => {
                    failure[c].get_or_insert(r);
                }
            }
        }
        let confirmed: Vec<f64> = medians.iter().map(|m| median(m)).collect();
        let mut records = Vec::with_capacity(k);
        for c in 0..k {
            let result: MeasureResult = match failure[c] {
                Some(err) => err.clone(),
                None => Ok(Measurement {
                    timing: Timing::from_samples(medians[c].clone())
                        .map_err(|e| SearchError::Objective(e.to_string()))?,
                    build_s: 0.0,
                }),
            };
            records.push(record_of(
                &inputs[c],
                &self.info,
                &result,
                provenance.clone(),
            ));
        }
        for ((b, m), failed) in cands.iter().zip(medians).zip(&failure) {
            if failed.is_some() {
                // Its failed re-measurement supersedes its timings (as in the database).
                st.measured.remove(&key(b));
            }
            st.confirmed.insert(key(b), m);
        }
        // The challenger stays unless it failed or the incumbent is faster; a lone first best
        // that failed its re-measurement leaves the task without a best.
        let challenger_won =
            failure[0].is_none() && (k == 1 || failure[1].is_some() || confirmed[0] < confirmed[1]);
        let winner = if challenger_won {
            Some(0)
        } else if k == 2 && failure[1].is_none() {
            Some(1)
        } else {
            None
        };
        st.best = winner.map(|w| st.retimed(cands[w].clone(), confirmed[w]));
        Ok(HeadToHead { records, wall_s })
    }

    /// After a round of task `t` whose best before was `incumbent` (the task's best is reset
    /// to it), settles the task's best by the one rule of the [module docs](self): while the
    /// candidate ranked first over everything the task measured (a confirmed candidate by
    /// its confirmed median, any other by its one timing) is not the best, it meets the best
    /// head to head if it was never confirmed, else it becomes the best. So no timing below
    /// the best is left standing, in the tuner or in the log, whichever round it came from.
    /// Returns the log records and the measurer's wall time.
    pub(super) fn confirm_round(
        &mut self,
        t: usize,
        incumbent: Option<BestSchedule>,
        measurer: &mut dyn Measurer,
        provenance: &Provenance,
    ) -> Result<(Vec<Record>, f64)> {
        self.tasks[t].best = incumbent;
        let (mut records, mut wall_s) = (Vec::new(), 0.0);
        loop {
            let st = &self.tasks[t];
            let rank = |c: &BestSchedule| {
                let key = (c.sketch.clone(), c.assignment.clone());
                st.confirmed.get(&key).map_or(c.median_s, |m| median(m))
            };
            let top = st.measured.values().min_by(|a, b| {
                rank(a)
                    .total_cmp(&rank(b))
                    .then_with(|| (&a.sketch, &a.assignment).cmp(&(&b.sketch, &b.assignment)))
            });
            let Some(top) = top.cloned() else {
                return Ok((records, wall_s));
            };
            let same =
                |b: &BestSchedule| (&b.sketch, &b.assignment) == (&top.sketch, &top.assignment);
            let best_s = st.best.as_ref().map_or(f64::INFINITY, |b| b.median_s);
            if st.best.as_ref().is_some_and(same) || rank(&top) >= best_s {
                return Ok((records, wall_s));
            }
            let key = (top.sketch.clone(), top.assignment.clone());
            if st.confirmed.contains_key(&key) {
                let best = st.retimed(top.clone(), rank(&top));
                self.tasks[t].best = Some(best);
                continue;
            }
            let incumbent = st.best.clone();
            let h = self.head_to_head(t, top, incumbent, measurer, provenance)?;
            records.extend(h.records);
            wall_s += h.wall_s;
        }
    }
}
