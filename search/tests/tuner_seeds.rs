//! Seed schedules (`TunerConfig::seed_schedules`): every policy's run begins with the sketches' seeds
//! ([`tilegrad_templates::seeds`]), at most half of each round, first seeds first, each
//! measured once; without seeds the policy alone proposes.

use tilegrad_cost_model::{EnsembleModel, MlpConfig};
use tilegrad_measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
use tilegrad_search::{feature_spec, PolicyKind, TuneTask, Tuner, TunerConfig, TunerModel};
use tilegrad_symbolic::Target;
use tilegrad_templates::{seeds, Workload};

/// `(sketch id, assignment text)`.
type Candidate = (String, String);

/// Answers every candidate with 1 ms and remembers `(sketch, assignment)` in order.
struct Recorder {
    target: Target,
    seen: Vec<Candidate>,
}

impl Measurer for Recorder {
    fn target(&self) -> &Target {
        &self.target
    }
    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        batch
            .iter()
            .map(|m| {
                self.seen
                    .push((m.sketch.id.clone(), m.assignment.to_string()));
                Ok(Measurement {
                    timing: Timing::from_samples(vec![1e-3])?,
                    build_s: 0.0,
                })
            })
            .collect()
    }
}

/// The measured `(sketch, assignment)` of a 24-trial random-policy run, and the seeds in the
/// order the tuner owes them.
fn run(use_seeds: bool) -> (Vec<Candidate>, Vec<Candidate>) {
    let target = Target::example_cpu();
    let w: Workload = "matmul(M=512,N=512,K=512)".parse().unwrap();
    let task = TuneTask::new(w, 1.0, &target).unwrap();
    let per_sketch: Vec<Vec<Candidate>> = task
        .sketches
        .iter()
        .map(|s| {
            seeds(s, &target)
                .iter()
                .map(|a| (s.id.clone(), a.to_string()))
                .collect()
        })
        .collect();
    let expected = (0..tilegrad_templates::seeds::MAX_SEEDS)
        .flat_map(|r| per_sketch.iter().filter_map(move |v| v.get(r).cloned()))
        .collect();
    let config = TunerConfig {
        max_trials: 24,
        per_round: 8,
        policy: PolicyKind::Random,
        seed_schedules: use_seeds,
        ..TunerConfig::default()
    };
    let mlp = MlpConfig {
        hidden: 16,
        ..MlpConfig::default()
    };
    let model = EnsembleModel::new(&feature_spec(), "test cpu", mlp, 2).unwrap();
    let model = TunerModel::Ensemble(model);
    let mut tuner = Tuner::new(target.clone(), vec![task], model, config).unwrap();
    let mut m = Recorder {
        target,
        seen: Vec::new(),
    };
    tuner.run(&mut m, &mut |_| {}).unwrap();
    (m.seen, expected)
}

#[test]
fn runs_begin_with_the_seeds_at_most_half_a_round_each() {
    let (measured, seeds) = run(true);
    assert!(
        seeds.len() == 4,
        "matmul 512^3 has four tiling sketches: {seeds:?}"
    );
    assert!(seeds
        .iter()
        .any(|(s, a)| s == "cpu-tiling/padded" && a.contains("sp_i_2=6,")));
    // Four seeds in each round of eight, in order, until they run out.
    for (r, chunk) in seeds.chunks(4).enumerate() {
        assert_eq!(&measured[8 * r..8 * r + chunk.len()], chunk, "round {r}");
    }
    // Each measured once.
    for s in &seeds {
        assert_eq!(measured.iter().filter(|m| *m == s).count(), 1, "{s:?}");
    }
    let (plain, _) = run(false);
    assert_eq!(plain.len(), 24);
    assert_ne!(plain[..4], measured[..4]);
}
