//! Save/load round trips, refusal of other feature versions, determinism.

mod common;

use common::{spec, synthetic, NF};
use tilegrad_cost_model::{
    batch_of, CostModel, CostModelError, EnsembleModel, FeatureSpec, FitOptions, MlpConfig,
    MlpModel,
};

fn cfg(seed: u64) -> MlpConfig {
    MlpConfig {
        hidden: 32,
        n_residual: 2,
        seed,
    }
}

fn quick() -> FitOptions {
    FitOptions {
        max_epochs: 8,
        batch_size: 64,
        ..FitOptions::default()
    }
}

#[test]
fn save_load_round_trip_gives_identical_predictions() {
    let samples = synthetic(3, 20, true, 1);
    let mut m = MlpModel::new(&spec(), "cuda:a5000", cfg(1)).unwrap();
    m.fit(&samples, &quick()).unwrap();
    let bytes = m.to_bytes().unwrap();
    let back = MlpModel::from_bytes(&bytes, &spec()).unwrap();
    let batch = batch_of(NF, &samples).unwrap();
    assert_eq!(m.predict(&batch).unwrap(), back.predict(&batch).unwrap());
    assert_eq!(
        m.predict_with_grad(&batch).unwrap(),
        back.predict_with_grad(&batch).unwrap()
    );
    assert_eq!(m.meta(), back.meta());
    assert_eq!(back.meta().n_samples, 60);
    assert_eq!(back.meta().n_tasks, 3);
    assert_eq!(back.meta().target, "cuda:a5000");
    assert_eq!(back.to_bytes().unwrap(), bytes);
}

#[test]
fn ensemble_round_trip_via_path() {
    let samples = synthetic(2, 12, false, 2);
    let mut e = EnsembleModel::new(&spec(), "cpu", cfg(5), 2).unwrap();
    e.fit(&samples, &quick()).unwrap();
    let path = std::env::temp_dir().join(format!("tilegrad-cm-test-{}.json", std::process::id()));
    e.save(&path).unwrap();
    let back = EnsembleModel::load(&path, &spec()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let batch = batch_of(NF, &samples).unwrap();
    assert_eq!(
        e.predict_with_uncertainty(&batch).unwrap(),
        back.predict_with_uncertainty(&batch).unwrap()
    );
}

#[test]
fn other_feature_version_is_refused_with_both_versions_named() {
    let m = MlpModel::new(&spec(), "cpu", cfg(1)).unwrap();
    let bytes = m.to_bytes().unwrap();
    let err = MlpModel::from_bytes(&bytes, &FeatureSpec::new("test-v2", NF)).unwrap_err();
    assert!(matches!(
        &err,
        CostModelError::FeatureVersionMismatch { expected, found } if expected == "test-v2" && found == "test-v1"
    ));
    let msg = err.to_string();
    assert!(msg.contains("test-v1") && msg.contains("test-v2"), "{msg}");
    let err = MlpModel::from_bytes(&bytes, &FeatureSpec::new("test-v1", NF + 1)).unwrap_err();
    assert!(
        matches!(err, CostModelError::FeatureCountMismatch { expected, found } if expected == NF + 1 && found == NF)
    );
    let e = EnsembleModel::new(&spec(), "cpu", cfg(1), 2).unwrap();
    let err =
        EnsembleModel::from_bytes(&e.to_bytes().unwrap(), &FeatureSpec::new("v0", NF)).unwrap_err();
    assert!(matches!(err, CostModelError::FeatureVersionMismatch { .. }));
}

#[test]
fn tampered_weights_and_garbage_are_refused() {
    let m = MlpModel::new(&spec(), "cpu", cfg(1)).unwrap();
    let text = String::from_utf8(m.to_bytes().unwrap()).unwrap();
    // Flip one hex digit inside the first weight tensor.
    let at = text.find("\"hex\":\"").unwrap() + 7;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    assert!(matches!(
        MlpModel::from_bytes(&bytes, &spec()),
        Err(CostModelError::HashMismatch { .. })
    ));
    assert!(matches!(
        MlpModel::from_bytes(b"not json", &spec()),
        Err(CostModelError::Decode(_))
    ));
}

#[test]
fn same_seed_gives_same_weights_and_different_seed_does_not() {
    let samples = synthetic(3, 20, true, 3);
    let train = |seed: u64| {
        let mut m = MlpModel::new(&spec(), "cpu", cfg(seed)).unwrap();
        let rep = m.fit(&samples, &FitOptions { seed, ..quick() }).unwrap();
        (m.params().unwrap(), m.meta().content_hash.clone(), rep)
    };
    let (a, ha, ra) = train(7);
    let (b, hb, rb) = train(7);
    let (c, hc, _) = train(8);
    assert_eq!(a, b);
    assert_eq!(ha, hb);
    assert_eq!(ra, rb);
    assert_ne!(a, c);
    assert_ne!(ha, hc);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let m = MlpModel::new(&spec(), "cpu", cfg(1)).unwrap();
    let mut b = tilegrad_cost_model::FeatureBatch::new(NF + 1);
    b.push(&[0.0; NF + 1]).unwrap();
    assert!(matches!(
        m.predict(&b),
        Err(CostModelError::FeatureCountMismatch { .. })
    ));
    let mut b = tilegrad_cost_model::FeatureBatch::new(NF);
    b.push(&[f32::NAN; NF]).unwrap();
    assert!(matches!(
        m.predict_with_grad(&b),
        Err(CostModelError::NonFinite(_))
    ));
    let mut failed = synthetic(1, 4, false, 4);
    failed.iter_mut().for_each(|s| s.label = None);
    let mut m2 = m.clone();
    assert!(matches!(
        m2.fit(&failed, &quick()),
        Err(CostModelError::NoLabels)
    ));
    failed[0].features.rows.pop();
    assert!(m2.fit(&failed, &quick()).is_err());
    assert_eq!(
        m.predict(&tilegrad_cost_model::FeatureBatch::new(NF))
            .unwrap(),
        Vec::<f32>::new()
    );
}
