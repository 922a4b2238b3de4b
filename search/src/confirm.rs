//! Confirmation of a benchmark's picks: every schedule that some run delivered as its best
//! (at the end of a round) is measured again, `rounds` times, interleaved with the picks of
//! every other run of the same task, and gets the median of those re-measurements, each
//! relative to the other picks timed in the same pass.
//!
//! Why: on a shared machine one measurement can be off by tens of percent for seconds at a
//! time. A single lucky measurement then becomes the reference every policy is
//! judged against, and which policy "reached 95 %" is decided by when the noise was kind. The
//! re-measurements are made close together in time, in alternating order (forwards, then
//! backwards), so drift of the machine hits every policy's picks alike.
//!
//! How: all passes go to the measurer as one batch, so each pick is built once and the passes
//! run back to back, with no compilation between them. The machine's speed still drifts
//! between passes: on the 2-core VM every kernel of a pass can be 20 % slower than in the
//! pass before, and for some seconds. So each re-measurement is taken relative to its pass's
//! level (the median throughput of the pass's successful picks), and a pick's confirmed
//! throughput is the median of its relative throughputs times the median level of all passes.
//! The measurements behind this design:
//! `results/search/2026-11-26-policies-confirmed-passes-5tasks-4seeds/noise/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tilegrad_measure::{MeasureInput, Measurer, DISTURBED};

use crate::compare::RunCurve;
use crate::report::BestSchedule;
use crate::tuner::TuneTask;
use crate::{Result, SearchError};

/// A schedule one run delivered as its best, from the round that found it on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    /// The task trial (1-based) that measured it.
    pub trial: usize,
    /// Seconds since the run started when it was measured.
    pub elapsed_s: f64,
    /// Sketch id.
    pub sketch: String,
    /// Assignment text.
    pub assignment: String,
    /// Throughput as measured during the run, GFLOP/s.
    pub measured_gflops: f64,
    /// Median throughput of the confirmation re-measurements, GFLOP/s (`None`: not
    /// confirmed; `Some(0.0)`: every re-measurement failed).
    #[serde(default)]
    pub confirmed_gflops: Option<f64>,
    /// Confirmation re-measurements of it timed while other processes took more than
    /// [`tilegrad_measure::DISTURBED`] of the CPUs.
    #[serde(default)]
    pub disturbed: usize,
}

impl Pick {
    /// The pick of a task's new best.
    pub fn of(best: &BestSchedule) -> Pick {
        Pick {
            trial: best.trial,
            elapsed_s: best.elapsed_s,
            sketch: best.sketch.clone(),
            assignment: best.assignment.clone(),
            measured_gflops: best.gflops,
            confirmed_gflops: None,
            disturbed: 0,
        }
    }

    fn key(&self) -> (String, String) {
        (self.sketch.clone(), self.assignment.clone())
    }
}

/// Re-measures every distinct pick of `picks` (all runs of `task`) `rounds` times and sets
/// each pick's `confirmed_gflops` to its pass-relative median (see the [module docs](self)).
/// A pick whose sketch or assignment does not belong to `task` is an error; a
/// re-measurement that fails counts as 0 GFLOP/s.
pub fn confirm_picks(
    task: &TuneTask,
    picks: &mut [&mut Pick],
    rounds: usize,
    measurer: &mut dyn Measurer,
) -> Result<()> {
    if rounds == 0 || picks.is_empty() {
        return Ok(());
    }
    let mut distinct: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut batch = Vec::new();
    for p in picks.iter() {
        if distinct.contains_key(&p.key()) {
            continue;
        }
        let sketch = task
            .sketches
            .iter()
            .find(|s| s.id == p.sketch)
            .ok_or_else(|| {
                SearchError::Task(format!("no sketch `{}` in `{}`", p.sketch, task.workload))
            })?;
        let assignment = sketch
            .space
            .parse_assignment(&p.assignment)
            .map_err(|e| SearchError::Task(format!("pick `{}`: {e}", p.assignment)))?;
        distinct.insert(p.key(), batch.len());
        batch.push(MeasureInput {
            sketch: Arc::clone(sketch),
            assignment,
        });
    }
    let flops = task.workload.flops();
    let n = batch.len();
    // Pass `r` runs forwards when `r` is even, backwards when odd.
    let order: Vec<usize> = (0..rounds)
        .flat_map(|r| (0..n).map(move |j| if r % 2 == 0 { j } else { n - 1 - j }))
        .collect();
    let inputs: Vec<MeasureInput> = order.iter().map(|&i| batch[i].clone()).collect();
    let results = measurer.measure(&inputs);
    // gflops[pass][pick]
    let mut gflops = vec![vec![0.0; n]; rounds];
    let mut disturbed = vec![0; n];
    for (j, (&i, result)) in order.iter().zip(results).enumerate() {
        if let Ok(m) = result {
            if m.timing.median_s > 0.0 {
                gflops[j / n][i] = flops / m.timing.median_s / 1e9;
                if m.timing.interference.is_some_and(|s| s > DISTURBED) {
                    disturbed[i] += 1;
                }
            }
        }
    }
    let confirmed = pass_relative(&gflops);
    for p in picks.iter_mut() {
        let i = distinct[&p.key()];
        p.confirmed_gflops = Some(confirmed[i]);
        p.disturbed = disturbed[i];
    }
    Ok(())
}

/// Per pick, from `gflops[pass][pick]` (0 = failed): the median over passes of its
/// throughput over the pass's level (median of the pass's non-zero values), times the
/// median level. Passes where everything failed are skipped; a pick that failed everywhere
/// gets 0.
pub fn pass_relative(gflops: &[Vec<f64>]) -> Vec<f64> {
    let n = gflops.first().map_or(0, Vec::len);
    let passes: Vec<(&Vec<f64>, f64)> = gflops
        .iter()
        .filter_map(|pass| {
            let ok: Vec<f64> = pass.iter().copied().filter(|g| *g > 0.0).collect();
            (!ok.is_empty()).then(|| (pass, median(&ok)))
        })
        .collect();
    if passes.is_empty() {
        return vec![0.0; n];
    }
    let level = median(&passes.iter().map(|p| p.1).collect::<Vec<_>>());
    (0..n)
        .map(|i| median(&passes.iter().map(|(p, l)| p[i] / l).collect::<Vec<_>>()) * level)
        .collect()
}

/// The median of `values` (non-empty).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// How far the runs' own measurements of their picks were from the confirmed ones: the
/// measure of how much a single timing can be trusted on the machine benchmarked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickNoise {
    /// Confirmed picks over all runs.
    pub picks: usize,
    /// Median over picks of measured / confirmed throughput (> 1: the picks were measured
    /// luckier than they are, the winner's curse of taking the best of many noisy timings).
    pub measured_over_confirmed: f64,
    /// Changes of pick (a run replacing its best by a faster-measured schedule).
    pub changes: usize,
    /// Of which the new pick was slower when confirmed.
    pub slower_changes: usize,
    /// Runs whose last pick is not their fastest confirmed pick.
    pub runs_ending_below_own_best: usize,
    /// Runs with confirmed picks.
    pub runs: usize,
}

/// The [`PickNoise`] of every run whose picks are all confirmed (`None` if there is none).
pub fn pick_noise(runs: &[RunCurve]) -> Option<PickNoise> {
    let confirmed: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .filter(|r| !r.picks.is_empty() && r.is_confirmed())
        .map(|r| {
            r.picks
                .iter()
                .map(|p| (p.measured_gflops, p.confirmed_gflops.unwrap_or(0.0)))
                .collect()
        })
        .collect();
    if confirmed.is_empty() {
        return None;
    }
    let ratios: Vec<f64> = confirmed
        .iter()
        .flatten()
        .filter(|(_, c)| *c > 0.0)
        .map(|(m, c)| m / c)
        .collect();
    let changes = confirmed.iter().map(|p| p.len() - 1).sum();
    let slower_changes = confirmed
        .iter()
        .flat_map(|p| p.windows(2).filter(|w| w[1].1 < w[0].1))
        .count();
    let runs_ending_below_own_best = confirmed
        .iter()
        .filter(|p| p.iter().any(|x| x.1 > p[p.len() - 1].1))
        .count();
    Some(PickNoise {
        picks: confirmed.iter().map(Vec::len).sum(),
        measured_over_confirmed: if ratios.is_empty() {
            f64::NAN
        } else {
            median(&ratios)
        },
        changes,
        slower_changes,
        runs_ending_below_own_best,
        runs: confirmed.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::pass_relative;

    #[test]
    fn passes_are_judged_relative_to_their_level() {
        // Pass 2 ran 20 % slow for every pick: the picks' relative speeds are unchanged.
        let g = vec![
            vec![100.0, 90.0, 80.0],
            vec![80.0, 72.0, 64.0],
            vec![100.0, 90.0, 80.0],
        ];
        let c = pass_relative(&g);
        let want = [100.0, 90.0, 80.0];
        assert!(
            c.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
            "{c:?}"
        );
        // A failure counts as 0 for its pick and leaves the level to the others; a pass
        // where everything failed is skipped; a lone pick keeps its median.
        let g = vec![vec![100.0, 0.0], vec![0.0, 0.0], vec![90.0, 45.0]];
        let c = pass_relative(&g);
        // Levels 100 and 67.5 (median 83.75); pick 0: median(1, 90/67.5) · 83.75.
        assert!(
            (c[0] - (1.0 + 90.0 / 67.5) / 2.0 * 83.75).abs() < 1e-9,
            "{c:?}"
        );
        assert!((c[1] - (45.0 / 67.5) / 2.0 * 83.75).abs() < 1e-9, "{c:?}");
        assert_eq!(pass_relative(&[vec![0.0, 0.0]]), vec![0.0, 0.0]);
        let lone = pass_relative(&[vec![50.0], vec![70.0], vec![60.0]]);
        assert!((lone[0] - 60.0).abs() < 1e-9);
    }
}
