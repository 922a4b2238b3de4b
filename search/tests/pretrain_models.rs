//! The shipped models, `--model` choices, and the policy benchmark's shared model.

#[allow(dead_code)]
mod pretrain_fixture;

use std::sync::Arc;

use pretrain_fixture::{cpu, log_of, sketches_of};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::ReplayMeasurer;
use tilegrad_search::{
    GradientConfig, ModelChoice, ModelObjective, Objective, PolicyKind, TuneEvent, TuneTask,
    TunerConfig, TunerModel,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

#[test]
fn model_choices_parse_and_resolve() {
    for (text, want) in [
        ("auto", ModelChoice::Auto),
        ("builtin", ModelChoice::Auto),
        ("none", ModelChoice::None),
        ("models/m.json", ModelChoice::Path("models/m.json".into())),
    ] {
        let c: ModelChoice = text.parse().unwrap();
        assert_eq!(c, want, "{text}");
    }
    assert!("".parse::<ModelChoice>().is_err());
    assert_eq!(ModelChoice::default(), ModelChoice::Auto);
    let auto = ModelChoice::Auto.resolve(&cpu(), 0).unwrap();
    assert!(auto.warning.is_none(), "{:?}", auto.warning);
    assert!(auto.model.is_fitted() && auto.source.starts_with("builtin:cpu"));
    let none = ModelChoice::None.resolve(&cpu(), 0).unwrap();
    assert!(!none.model.is_fitted() && none.source.starts_with("untrained"));
    let missing = ModelChoice::Path("/nonexistent/model.json".into());
    assert!(missing.resolve(&cpu(), 0).is_err());
    // A saved model round-trips through a path.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    std::fs::write(&p, TunerModel::builtin("cuda").unwrap()).unwrap();
    let r = ModelChoice::Path(p).resolve(&cpu(), 0).unwrap();
    assert!(r.model.is_fitted());
    assert!(
        r.warning.is_some_and(|w| w.contains("cuda")),
        "trained for another kind"
    );
}

/// The shipped model of each kind loads and scores legal schedules of a sample workload.
#[test]
fn shipped_models_load_and_predict_finite_scores() {
    let h100 = Target::preset("h100-sxm").unwrap();
    let mut legal = 0;
    for (target, workload) in [
        (cpu(), "matmul(M=64,N=64,K=64)"),
        (
            h100,
            "conv2d(N=1,H=16,W=16,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu",
        ),
    ] {
        let model = TunerModel::pretrained_for(&target)
            .unwrap()
            .expect("a shipped model");
        assert!(model.is_fitted());
        assert!(TunerModel::builtin(target.kind()).unwrap().len() < 5 << 20);
        let w: Workload = workload.parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for s in sketches(&w, &target).unwrap() {
            let s = Arc::new(s);
            let obj = ModelObjective::build(s.clone(), &target, model.as_ref()).unwrap();
            let picks: Vec<_> = (0..8).map(|_| s.space.sample(&mut rng).unwrap()).collect();
            for e in obj.score_exact(&picks).unwrap() {
                if e.legal {
                    legal += 1;
                    assert!(e.score.is_finite() && e.uncertainty.is_finite(), "{}", s.id);
                }
            }
        }
    }
    assert!(legal > 0, "some sampled schedules are legal");
}

/// The policy benchmark gives gradient and evolutionary search the same pretrained model.
#[test]
fn the_bench_gives_both_model_policies_the_same_pretrained_model() {
    use tilegrad_search::compare_run::{compare_policies, BenchConfig};
    let bytes = TunerModel::builtin("cpu").unwrap();
    let workload = "matmul(M=16,N=32,K=16)";
    let (w, sk) = sketches_of(workload);
    let records = log_of(workload, 100_000);
    let config = BenchConfig {
        policies: vec![PolicyKind::Gradient, PolicyKind::Evolutionary],
        seeds: vec![2],
        tuner: TunerConfig {
            max_trials: 8,
            per_round: 8,
            gradient: GradientConfig {
                n_starts: 4,
                n_steps: 4,
                ..GradientConfig::default()
            },
            ..TunerConfig::default()
        },
        ..BenchConfig::default()
    };
    let mut replay = ReplayMeasurer::new(cpu(), records);
    let mut labels = Vec::new();
    let mut cold = false;
    compare_policies(
        &cpu(),
        &[TuneTask::with_sketches(w, 1.0, sk)],
        &config,
        &mut |_| TunerModel::from_bytes(bytes),
        &mut replay,
        &mut |_, e| cold |= matches!(e, TuneEvent::RoundDone { cold: true, .. }),
        &mut |id, r| labels.push((id.policy, r.meta.labels["model"].clone())),
    )
    .unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].1, labels[1].1, "{labels:?}");
    assert!(labels[0].1.starts_with("pretrained "), "{labels:?}");
    assert!(!cold, "no cold start with a pretrained model");
}
