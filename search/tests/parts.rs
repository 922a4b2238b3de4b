//! The building blocks: penalty scaling, value rounding, error paths.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::rounding::ValueRounder;
use tilegrad_search::synthetic::{tiled_space, Quadratic};
use tilegrad_search::{
    EvolutionConfig, EvolutionarySearch, ExactScore, GradientConfig, GradientSearch, Objective,
    ObjectiveEval, RandomConfig, RandomSearch, Result, SearchError, SearchPolicy, SeenSet,
};
use tilegrad_symbolic::{Assignment, Space};

#[test]
fn penalty_gradient_is_scaled_to_the_ratio_of_the_score_gradient() {
    let space = tiled_space(&[("a", 64, 2)], &[]).unwrap();
    let target = space.parse_assignment("a_0=16,a_1=4").unwrap();
    let obj = Quadratic::objective(space, &target, &[])
        .unwrap()
        .with_limit(&["a_0"], 4.0)
        .unwrap();
    // One row at a_0 = 2^3 (violates a_0 ≤ 4), a_1 = 2^1: both gradients non-zero.
    let x = Array2::from_shape_vec((1, 2), vec![3.0, 1.0]).unwrap();
    let policy = GradientSearch::new(GradientConfig::default()).unwrap();
    let g = policy.direction(&obj, x.view(), 1.0).unwrap();
    let values = obj.space().decode_batch(x.view()).unwrap();
    let ev = obj.evaluate(values.view(), 1.0).unwrap();
    let gs = obj
        .space()
        .pullback_batch(x.view(), ev.d_score.view())
        .unwrap();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let pen_part: Vec<f64> = (0..2).map(|i| g[[0, i]] + gs[[0, i]]).collect();
    let ratio = norm(&pen_part) / norm(&gs.row(0).to_vec());
    assert!((ratio - 5.0).abs() < 1e-6, "ratio {ratio}");
    // Legal rows get the plain score gradient.
    let legal = Array2::from_shape_vec((1, 2), vec![2.0, 1.0]).unwrap();
    let g = policy.direction(&obj, legal.view(), 1.0).unwrap();
    let values = obj.space().decode_batch(legal.view()).unwrap();
    let ev = obj.evaluate(values.view(), 1.0).unwrap();
    let gs = obj
        .space()
        .pullback_batch(legal.view(), ev.d_score.view())
        .unwrap();
    assert_eq!(g, -gs);
}

#[test]
fn value_rounding_keeps_the_value_where_exponent_rounding_does_not() {
    let space = tiled_space(&[("a", 36, 2)], &[("u", &[1, 8, 64])]).unwrap();
    // a_0 = 2^0.8 · 3^x3 = 3 exactly; a_1 = 2; u = e^{ln 6} -> 8 (nearest in log).
    let x3 = 1.0 - 0.8 * 2f64.ln() / 3f64.ln();
    let x = vec![0.8, x3, 1.0, 0.0, 6f64.ln()];
    let values = space
        .decode_batch(Array2::from_shape_vec((1, 5), x.clone()).unwrap().view())
        .unwrap();
    assert!((values[[0, 0]] - 3.0).abs() < 1e-9);
    let by_value = ValueRounder::new(&space)
        .round_values(&space, values.row(0).as_slice().unwrap())
        .unwrap();
    assert_eq!(by_value.to_string(), "a_0=3,a_1=2,u=8");
    assert_eq!(space.round(&x).unwrap().to_string(), "a_0=2,a_1=2,u=8");
}

/// An objective that returns one score too few.
struct Broken(Space);

impl Objective for Broken {
    fn space(&self) -> &Space {
        &self.0
    }
    fn evaluate(&self, values: ArrayView2<f64>, _tau: f64) -> Result<ObjectiveEval> {
        let n = values.nrows();
        Ok(ObjectiveEval {
            score: vec![0.0; n.saturating_sub(1)],
            uncertainty: vec![0.0; n],
            penalty: vec![0.0; n],
            d_score: Array2::zeros(values.raw_dim()),
            d_penalty: Array2::zeros(values.raw_dim()),
            ok: vec![true; n],
        })
    }
    fn score_exact(&self, a: &[Assignment]) -> Result<Vec<ExactScore>> {
        Ok(vec![
            ExactScore {
                score: 0.0,
                uncertainty: 0.0,
                legal: true
            };
            a.len().saturating_sub(1)
        ])
    }
}

#[test]
fn malformed_objectives_and_configs_are_errors_not_panics() {
    let obj = Broken(tiled_space(&[("a", 64, 2)], &[]).unwrap());
    let mut policies: Vec<Box<dyn SearchPolicy>> = vec![
        Box::new(GradientSearch::default()),
        Box::new(RandomSearch::default()),
        Box::new(EvolutionarySearch::new(EvolutionConfig::default()).unwrap()),
    ];
    for p in &mut policies {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let err = p
            .propose(&[&obj], &SeenSet::new(), 4, &mut rng)
            .unwrap_err();
        assert!(
            matches!(err, SearchError::Objective(_)),
            "{}: {err}",
            p.name()
        );
    }
    let bad = GradientConfig {
        lr: 0.0,
        ..GradientConfig::default()
    };
    assert!(matches!(
        GradientSearch::new(bad),
        Err(SearchError::InvalidConfig(_))
    ));
    let bad = RandomConfig {
        oversample: 0,
        ..RandomConfig::default()
    };
    assert!(RandomSearch::new(bad).is_err());
    let bad = EvolutionConfig {
        epsilon: 2.0,
        ..EvolutionConfig::default()
    };
    assert!(EvolutionarySearch::new(bad).is_err());
}

#[test]
fn spread_puts_candidates_that_differ_in_enough_variables_first() {
    use tilegrad_search::pool::spread;
    use tilegrad_search::{Proposal, ProposalSource};
    let space = tiled_space(&[("a", 64, 2), ("b", 64, 1)], &[]).unwrap();
    let p = |sketch: usize, text: &str, predicted: f64| Proposal {
        sketch,
        assignment: space.parse_assignment(text).unwrap(),
        predicted,
        uncertainty: 0.0,
        source: ProposalSource::Gradient,
    };
    // Ranked best first: the 2nd differs from the 1st in one variable only, the 3rd in two,
    // the 4th in one (but it is another sketch's).
    let ranked = vec![
        p(0, "a_0=2,a_1=2,b_0=4", 4.0),
        p(0, "a_0=2,a_1=2,b_0=8", 3.0),
        p(0, "a_0=4,a_1=2,b_0=8", 2.0),
        p(1, "a_0=2,a_1=2,b_0=8", 1.0),
    ];
    let order = |min_diff| -> Vec<f64> {
        spread(ranked.clone(), min_diff)
            .iter()
            .map(|p| p.predicted)
            .collect()
    };
    assert_eq!(order(2), vec![4.0, 2.0, 1.0, 3.0]);
    assert_eq!(order(1), vec![4.0, 3.0, 2.0, 1.0]);
    assert_eq!(order(3), vec![4.0, 1.0, 3.0, 2.0]);
}

#[test]
fn a_pool_keeps_the_scores_it_was_given_and_scores_only_the_rest() {
    use tilegrad_search::pool::Pool;
    use tilegrad_search::ProposalSource;
    let space = tiled_space(&[("a", 64, 2)], &[]).unwrap();
    let target = space.parse_assignment("a_0=16,a_1=4").unwrap();
    let obj = Quadratic::objective(space, &target, &[]).unwrap();
    let a = |t: &str| obj.space().parse_assignment(t).unwrap();
    let given = ExactScore {
        score: 42.0,
        uncertainty: 0.5,
        legal: true,
    };
    let mut pool = Pool::new(1);
    let seen = SeenSet::new();
    assert!(pool.offer_scored(
        &obj,
        0,
        a("a_0=2,a_1=2"),
        ProposalSource::Screened,
        &seen,
        Some(given)
    ));
    assert!(pool.offer(&obj, 0, a("a_0=4,a_1=2"), ProposalSource::Gradient, &seen));
    assert!(
        !pool.offer_scored(
            &obj,
            0,
            a("a_0=4,a_1=2"),
            ProposalSource::Screened,
            &seen,
            Some(given)
        ),
        "a duplicate is refused, scored or not"
    );
    let out = pool.score(&[&obj]).unwrap();
    assert_eq!(
        obj.counters().exact_rows(),
        1,
        "only the unscored one is scored"
    );
    assert_eq!((out[0].predicted, out[0].uncertainty), (42.0, 0.5));
    assert_eq!(out[1].predicted, obj.exact(&a("a_0=4,a_1=2")).0);
}
