//! [`ReplayMeasurer`]: answers candidates from tuning-log records instead of running them.
//!
//! Used to replay a tuning run offline (compare policies on measurements already made) and
//! in tests: everything is deterministic, and the measurer counts how many times each
//! candidate was asked, so a test can prove that nothing was measured twice.

use std::collections::HashMap;
use std::path::Path;

use tilegrad_datasets::{Outcome, Record, TuningLog};
use tilegrad_symbolic::Target;

use crate::record::result_of;
use crate::{MeasureError, MeasureInput, MeasureResult, Measurer};

/// `(workload key, sketch id, assignment text)`.
type Key = (String, String, String);

/// A [`Measurer`] that looks candidates up in tuning-log records. The first record of a
/// candidate wins (a log never holds a candidate twice when written by the tuner). A
/// candidate without a record gets [`MeasureError::NotInLog`].
#[derive(Debug, Clone)]
pub struct ReplayMeasurer {
    target: Target,
    outcomes: HashMap<Key, Outcome>,
    asked: HashMap<Key, usize>,
}

impl ReplayMeasurer {
    /// A measurer for `target` answering from `records` (all of them, whatever their
    /// target: filter by [`crate::record::target_info`] first if the log mixes devices).
    pub fn new(target: Target, records: impl IntoIterator<Item = Record>) -> Self {
        let mut outcomes = HashMap::new();
        for r in records {
            outcomes
                .entry((r.workload_key, r.sketch, r.assignment))
                .or_insert(r.outcome);
        }
        ReplayMeasurer {
            target,
            outcomes,
            asked: HashMap::new(),
        }
    }

    /// A measurer answering from every record of the tuning log at `path`.
    pub fn open(path: impl AsRef<Path>, target: Target) -> Result<Self, MeasureError> {
        let contents = TuningLog::read(path).map_err(|e| MeasureError::Io(e.to_string()))?;
        Ok(Self::new(target, contents.records))
    }

    /// Number of distinct candidates known.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether no candidate is known.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// How many times the candidate was asked for (known or not).
    pub fn asked(&self, workload_key: &str, sketch: &str, assignment: &str) -> usize {
        let key = (
            workload_key.to_string(),
            sketch.to_string(),
            assignment.to_string(),
        );
        self.asked.get(&key).copied().unwrap_or(0)
    }

    /// Total number of candidates asked for, repeats included.
    pub fn total_asked(&self) -> usize {
        self.asked.values().sum()
    }

    /// Number of distinct candidates asked for.
    pub fn distinct_asked(&self) -> usize {
        self.asked.len()
    }

    /// The largest number of times any one candidate was asked for (more than 1 means a
    /// duplicate measurement).
    pub fn max_asked(&self) -> usize {
        self.asked.values().copied().max().unwrap_or(0)
    }

    fn answer(&mut self, input: &MeasureInput) -> MeasureResult {
        let key = (
            input.sketch.workload.key().to_string(),
            input.sketch.id.clone(),
            input.assignment.to_string(),
        );
        *self.asked.entry(key.clone()).or_insert(0) += 1;
        match self.outcomes.get(&key) {
            Some(o) => result_of(o),
            None => Err(MeasureError::NotInLog(format!(
                "{} / {} / {}",
                key.0, key.1, key.2
            ))),
        }
    }
}

impl Measurer for ReplayMeasurer {
    fn target(&self) -> &Target {
        &self.target
    }

    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        batch.iter().map(|i| self.answer(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tilegrad_datasets::Provenance;
    use tilegrad_templates::{sketches, Workload};

    use super::*;
    use crate::record::{record_of, target_info};
    use crate::{Measurement, Timing};

    #[test]
    fn answers_from_the_log_counts_asks_and_refuses_unknown_candidates() {
        let target = crate::host::cpu_target(
            &crate::host::parse_cpuinfo("model name : Zen\nflags : avx2"),
            2,
            (32 << 10, 1 << 20, 8 << 20),
        );
        let w: Workload = "matmul(M=16,N=16,K=16)".parse().unwrap();
        let sketch = Arc::new(sketches(&w, &target).unwrap().remove(0));
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let a = sketch.sample(&mut rng).unwrap();
        let b = loop {
            let b = sketch.sample(&mut rng).unwrap();
            if b != a {
                break b;
            }
        };
        let known = MeasureInput {
            sketch: sketch.clone(),
            assignment: a,
        };
        let unknown = MeasureInput {
            sketch,
            assignment: b,
        };
        let result: MeasureResult = Ok(Measurement {
            timing: Timing::from_samples(vec![1e-3, 2e-3]).unwrap(),
            build_s: 0.5,
        });
        let prov = Provenance {
            tilegrad: "t".into(),
            model: String::new(),
            policy: String::new(),
            seed: 0,
            round: 0,
            timestamp: 0.0,
        };
        let rec = record_of(&known, &target_info(&target), &result, prov);
        let mut m = ReplayMeasurer::new(target, vec![rec.clone(), rec]);
        assert_eq!(m.len(), 1);
        let out = m.measure(&[known.clone(), unknown.clone(), known.clone()]);
        assert_eq!(out[0], result);
        assert_eq!(out[2], result);
        assert!(matches!(&out[1], Err(MeasureError::NotInLog(_))));
        let key = known.sketch.workload.key().to_string();
        assert_eq!(
            m.asked(&key, &known.sketch.id, &known.assignment.to_string()),
            2
        );
        assert_eq!(
            m.asked(&key, &unknown.sketch.id, &unknown.assignment.to_string()),
            1
        );
        assert_eq!(
            (m.total_asked(), m.distinct_asked(), m.max_asked()),
            (3, 2, 2)
        );
    }
}
