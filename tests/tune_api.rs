//! `tilegrad::tune`: tunes into a log and a database that `Database::best` then answers from;
//! resuming measures nothing twice. Uses a synthetic measurer (time from the assignment), so
//! it needs no compiler and is deterministic.

use tilegrad::measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
use tilegrad::search::{PolicyKind, TunerConfig};
use tilegrad::symbolic::Target;
use tilegrad::templates::Workload;
use tilegrad::{tune, Database, LookupKind, TuneOptions};

/// Time = 1 ms × (1 + Σ |log2(value) - 2|) over the assignment; counts measurements.
struct Synthetic {
    target: Target,
    measured: Vec<String>,
}

impl Measurer for Synthetic {
    fn target(&self) -> &Target {
        &self.target
    }

    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        batch
            .iter()
            .map(|m| {
                self.measured
                    .push(format!("{}|{}", m.sketch.id, m.assignment));
                let cost: f64 = m
                    .assignment
                    .values()
                    .iter()
                    .map(|&v| ((v.max(1) as f64).log2() - 2.0).abs())
                    .sum();
                let t = 1e-3 * (1.0 + cost);
                Ok(Measurement {
                    timing: Timing::from_samples(vec![t, t, t])?,
                    build_s: 0.0,
                })
            })
            .collect()
    }
}

#[test]
fn tune_fills_log_and_database_and_resume_measures_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let w: Workload = "matmul(M=32,N=32,K=16)".parse().unwrap();
    let target = tilegrad::measure::host_cpu(Some(1));
    let mut m = Synthetic {
        target: target.clone(),
        measured: Vec::new(),
    };
    let mut options = TuneOptions {
        config: TunerConfig {
            max_trials: 8,
            per_round: 4,
            seed: 3,
            policy: PolicyKind::Random,
            ..TunerConfig::default()
        },
        log: dir.path().join("log.jsonl"),
        resume: false,
        db: Some(dir.path().join("t.db")),
    };
    let run = tune(&[(w.clone(), 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    assert_eq!(run.outcome.trials, 8);
    let imported = run.imported.unwrap();
    assert_eq!((imported.records, imported.added), (8, 8));
    let k = Database::open(dir.path().join("t.db"))
        .unwrap()
        .best(&w, &target)
        .unwrap();
    assert_eq!(k.lookup, LookupKind::Exact);
    let best = run.outcome.best[0].as_ref().unwrap();
    assert_eq!(
        (k.sketch.as_str(), k.assignment.as_str()),
        (best.sketch.as_str(), best.assignment.as_str())
    );
    assert_eq!(k.median_s, best.median_s);

    options.resume = true;
    let again = tune(&[(w, 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    assert_eq!(again.resumed.unwrap().used, 8);
    let mut seen = m.measured.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        m.measured.len(),
        "a candidate was measured twice"
    );
    assert_eq!(again.imported.unwrap().duplicates, 8);
}
