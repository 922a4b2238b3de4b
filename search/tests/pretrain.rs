//! Pretraining: log records → samples (skips counted, the same samples the tuner makes), a
//! deterministic pretrained ensemble with finite held-out metrics, and a tuner that starts
//! from it (no cold start, deterministic for a seed).

#[allow(dead_code)]
mod pretrain_fixture;

use pretrain_fixture::{cpu, log_every, log_of, sketches_of, small_config, TRAIN};
use tilegrad_datasets::{Outcome, Record, TuningLog};
use tilegrad_measure::ReplayMeasurer;
use tilegrad_search::pretrain::{pretrain, training_set, PretrainConfig};
use tilegrad_search::{
    GradientConfig, ModelChoice, PolicyKind, TuneEvent, TuneTask, Tuner, TunerConfig, TunerModel,
};

#[test]
fn bad_records_are_skipped_and_counted() {
    let good = log_of(TRAIN[0], 10);
    let n = good.len();
    let mut records = good.clone();
    let base = good[0].clone();
    let with = |f: &dyn Fn(&mut Record)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    records.push(with(&|r| r.workload = "matmul(M=16,N=16".into()));
    records.push(with(&|r| r.workload = "nosuchop(M=1)".into()));
    records.push(with(&|r| r.sketch = "no-such-sketch".into()));
    records.push(with(&|r| r.assignment = "x=1".into()));
    records.push(with(&|r| {
        r.assignment = r.assignment.replacen("=", "=3", 1)
    }));
    records.push(with(&|r| r.target.kind = "cuda".into()));
    records.push(with(&|r| {
        r.outcome = Outcome::Error {
            kind: "io".into(),
            message: "disk full".into(),
        }
    }));
    records.push(good[1].clone());
    let set = training_set(&records, &cpu()).unwrap();
    let s = set.stats;
    assert_eq!(s.records, n + 8);
    assert_eq!(s.used, n, "{s:?}");
    assert_eq!(set.samples.len(), n);
    assert_eq!(
        (
            s.bad_workload,
            s.unknown_sketch,
            s.bad_assignment,
            s.other_kind
        ),
        (2, 1, 2, 1),
        "{s:?}"
    );
    assert_eq!(
        (s.environment, s.duplicates, s.non_finite),
        (1, 1, 0),
        "{s:?}"
    );
    assert_eq!(s.skipped(), 8);
    let wrong = good.iter().filter(|r| r.median_s().is_none()).count();
    assert_eq!(s.successes, n - wrong);
    assert!(wrong > 0, "the fixture has failures");
    // Labels are ln(1/median) of the successes, failures unlabelled.
    for (r, smp) in good.iter().zip(&set.samples) {
        match r.median_s() {
            Some(m) => assert!((smp.label.unwrap() + m.ln()).abs() < 1e-12),
            None => assert!(smp.label.is_none()),
        }
    }
    assert_eq!(set.workloads.len(), 1);
    assert_eq!(set.workloads.values().next().unwrap(), TRAIN[0]);
}

#[test]
fn pretraining_is_deterministic_with_finite_holdout_metrics() {
    let records: Vec<Record> = TRAIN.iter().flat_map(|w| log_of(w, 40)).collect();
    let set = training_set(&records, &cpu()).unwrap();
    assert_eq!(set.workloads.len(), 3);
    let (m1, r1) = pretrain(&set.samples, "cpu:test", &small_config(3)).unwrap();
    let (m2, r2) = pretrain(&set.samples, "cpu:test", &small_config(3)).unwrap();
    assert_eq!(m1.to_bytes().unwrap(), m2.to_bytes().unwrap());
    assert_eq!(r1, r2);
    let (m3, _) = pretrain(&set.samples, "cpu:test", &small_config(4)).unwrap();
    assert_ne!(m1.meta().content_hash, m3.meta().content_hash);
    assert_eq!(
        (r1.n_workloads, r1.folds, r1.members, r1.hidden),
        (3, 3, 2, 16)
    );
    assert_eq!(r1.n_samples, set.samples.len());
    let h = r1.holdout.as_ref().unwrap();
    assert_eq!(h.per_task.len(), 3, "every workload is held out once");
    assert_eq!(
        h.per_task.iter().map(|t| t.n).sum::<usize>(),
        set.samples.len()
    );
    for t in &h.per_task {
        let s = t.spearman.unwrap();
        assert!(s.is_finite() && (-1.0..=1.0).contains(&s), "{t:?}");
        assert!(t.top1_recall.is_some() && t.top5_recall.is_some());
    }
    assert!(r1.fit.best_loss.is_finite());
    // No folds: no held-out metrics; no success: an error.
    let (_, r0) = pretrain(
        &set.samples,
        "cpu:test",
        &PretrainConfig {
            folds: 0,
            ..small_config(3)
        },
    )
    .unwrap();
    assert!(r0.holdout.is_none());
    let failures: Vec<_> = set
        .samples
        .iter()
        .filter(|s| s.label.is_none())
        .cloned()
        .collect();
    assert!(pretrain(&failures, "cpu:test", &small_config(3)).is_err());
}

/// Runs a gradient tuner on `workload` over a replay of its records; returns the logged
/// records and whether each round was a cold (random) one.
fn tune(
    model: TunerModel,
    workload: &str,
    records: &[Record],
    seed: u64,
) -> (Vec<Record>, Vec<bool>) {
    let (w, sk) = sketches_of(workload);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let cfg = TunerConfig {
        max_trials: 24,
        per_round: 8,
        seed,
        policy: PolicyKind::Gradient,
        gradient: GradientConfig {
            n_starts: 8,
            n_steps: 8,
            ..GradientConfig::default()
        },
        fit: tilegrad_cost_model::FitOptions {
            max_epochs: 3,
            ..tilegrad_cost_model::FitOptions::finetune()
        },
        min_train_successes: 4,
        ..TunerConfig::default()
    };
    let mut tuner = Tuner::new(cpu(), vec![TuneTask::with_sketches(w, 1.0, sk)], model, cfg)
        .unwrap()
        .with_log(TuningLog::open(&path).unwrap());
    let mut replay = ReplayMeasurer::new(cpu(), records.to_vec());
    let mut cold = Vec::new();
    tuner
        .run(&mut replay, &mut |e| {
            if let TuneEvent::RoundDone { cold: c, .. } = e {
                cold.push(*c);
            }
        })
        .unwrap();
    (TuningLog::read(&path).unwrap().records, cold)
}

#[test]
fn a_pretrained_tuner_proposes_from_round_one_and_is_deterministic() {
    let train: Vec<Record> = TRAIN.iter().flat_map(|w| log_of(w, 40)).collect();
    let set = training_set(&train, &cpu()).unwrap();
    let (model, _) = pretrain(
        &set.samples,
        "cpu:test",
        &PretrainConfig {
            folds: 0,
            ..small_config(1)
        },
    )
    .unwrap();
    let bytes = model.to_bytes().unwrap();
    let hash = model.meta().content_hash.clone();
    let target = "matmul(M=16,N=32,K=16)";
    // Every candidate answerable, so that round 0 is logged whatever the policy picks.
    let records = log_every(target, 1, 100_000);
    let load = || TunerModel::from_bytes(&bytes).unwrap();
    assert!(load().is_fitted());
    let (log1, cold1) = tune(load(), target, &records, 9);
    assert_eq!(cold1.len(), 3);
    assert!(cold1.iter().all(|c| !c), "no cold start: {cold1:?}");
    assert!(log1.iter().all(|r| r.provenance.policy == "gradient"));
    let first: Vec<_> = log1.iter().filter(|r| r.provenance.round == 0).collect();
    assert!(!first.is_empty() && first.iter().all(|r| r.provenance.model == hash));
    let (log2, _) = tune(load(), target, &records, 9);
    let picks = |l: &[Record]| {
        l.iter()
            .map(|r| (r.sketch.clone(), r.assignment.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(picks(&log1), picks(&log2), "same seed, same candidates");
    // An untrained model starts with random picks.
    let untrained = ModelChoice::None.resolve(&cpu(), 9).unwrap().model;
    assert!(!untrained.is_fitted());
    let (log3, cold3) = tune(untrained, target, &records, 9);
    assert!(cold3[0], "{cold3:?}");
    assert!(log3[0].provenance.policy.contains("cold:random"));
}

/// The tuner's samples of resumed records are exactly the pretraining samples of those
/// records (one code path).
#[test]
fn the_tuner_and_pretraining_make_the_same_samples() {
    let records = log_of(TRAIN[2], 40);
    let set = training_set(&records, &cpu()).unwrap();
    let (w, sk) = sketches_of(TRAIN[2]);
    let model = ModelChoice::None.resolve(&cpu(), 0).unwrap().model;
    let cfg = TunerConfig {
        min_train_successes: usize::MAX,
        ..TunerConfig::default()
    };
    let mut tuner =
        Tuner::new(cpu(), vec![TuneTask::with_sketches(w, 1.0, sk)], model, cfg).unwrap();
    let stats = tuner.resume(&records).unwrap();
    assert_eq!(stats.used, set.stats.used);
    let key = |s: &tilegrad_cost_model::Sample| {
        let f: Vec<u32> = s.features.rows.iter().map(|x| x.to_bits()).collect();
        (s.task.clone(), f, s.label.map(f64::to_bits))
    };
    let mut a: Vec<_> = tuner.samples().iter().map(key).collect();
    let mut b: Vec<_> = set.samples.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a.len(), records.len());
    assert_eq!(a, b);
}

/// A pretrained model is fine-tuned gently (epochs capped), an untrained one is not.
#[test]
fn a_pretrained_model_is_fine_tuned_gently() {
    use tilegrad_search::tuner::PRETRAINED_FINETUNE_EPOCHS;
    let train: Vec<Record> = TRAIN.iter().flat_map(|w| log_of(w, 30)).collect();
    let set = training_set(&train, &cpu()).unwrap();
    let no_folds = PretrainConfig {
        folds: 0,
        ..small_config(2)
    };
    let (model, _) = pretrain(&set.samples, "cpu:test", &no_folds).unwrap();
    let workload = "matmul(M=16,N=32,K=16)";
    let records = log_of(workload, 100_000);
    let epochs = |model: TunerModel| {
        let (w, sk) = sketches_of(workload);
        let cfg = TunerConfig {
            max_trials: 8,
            per_round: 8,
            policy: PolicyKind::Random,
            min_train_successes: 1,
            fit: tilegrad_cost_model::FitOptions {
                max_epochs: PRETRAINED_FINETUNE_EPOCHS + 10,
                patience: 1000,
                ..tilegrad_cost_model::FitOptions::finetune()
            },
            ..TunerConfig::default()
        };
        let task = TuneTask::with_sketches(w, 1.0, sk);
        let mut tuner = Tuner::new(cpu(), vec![task], model, cfg).unwrap();
        let mut replay = ReplayMeasurer::new(cpu(), records.clone());
        let mut fitted = Vec::new();
        tuner
            .run(&mut replay, &mut |e| {
                if let TuneEvent::ModelFitted { epochs, .. } = e {
                    fitted.push(*epochs);
                }
            })
            .unwrap();
        fitted
    };
    assert_eq!(
        epochs(TunerModel::Ensemble(model)),
        vec![PRETRAINED_FINETUNE_EPOCHS]
    );
    let untrained = ModelChoice::None.resolve(&cpu(), 0).unwrap().model;
    assert_eq!(epochs(untrained), vec![PRETRAINED_FINETUNE_EPOCHS + 10]);
}
