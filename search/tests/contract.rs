//! The policy contract: only legal, never-seen, pairwise distinct proposals, at most `k`,
//! deterministic for a seed; over several rounds with a growing seen set.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::synthetic::{tiled_space, Quadratic, Roofline, Synthetic};
use tilegrad_search::{
    EvolutionConfig, EvolutionarySearch, GradientConfig, GradientSearch, LbfgsConfig, Objective,
    Optimizer, RandomConfig, RandomSearch, SearchPolicy, SeenSet,
};

/// Every policy under test, small budgets.
fn policies() -> Vec<Box<dyn SearchPolicy>> {
    let grad = GradientConfig {
        n_starts: 12,
        n_steps: 12,
        epsilon: 0.25,
        ..GradientConfig::default()
    };
    let lbfgs = GradientConfig {
        n_starts: 3,
        n_steps: 8,
        optimizer: Optimizer::Lbfgs(LbfgsConfig::default()),
        ..grad
    };
    let evo = EvolutionConfig {
        population: 24,
        generations: 2,
        epsilon: 0.2,
        ..EvolutionConfig::default()
    };
    let ranked = RandomConfig {
        oversample: 3,
        rank_by_model: true,
        kappa: 0.5,
    };
    vec![
        Box::new(GradientSearch::new(grad).unwrap()),
        Box::new(GradientSearch::new(lbfgs).unwrap()),
        Box::new(EvolutionarySearch::new(evo).unwrap()),
        Box::new(RandomSearch::new(RandomConfig::default()).unwrap()),
        Box::new(RandomSearch::new(ranked).unwrap()),
    ]
}

/// Two sketches: a roofline matmul (with hardware penalties) and a constrained quadratic.
fn objectives() -> (Synthetic<Roofline>, Synthetic<Quadratic>) {
    let roof = Roofline::matmul(256, 512, 128).unwrap();
    let space = tiled_space(&[("a", 64, 2), ("b", 48, 2)], &[("u", &[1, 4, 16])]).unwrap();
    let target = space
        .parse_assignment("a_0=8,a_1=4,b_0=4,b_1=3,u=4")
        .unwrap();
    let quad = Quadratic::objective(space, &target, &[])
        .unwrap()
        .with_limit(&["a_0", "b_0"], 16.0)
        .unwrap();
    (roof, quad)
}

/// Runs `rounds` rounds of `k` proposals, checking the contract each round, feeding back the
/// exact score as the "measurement"; returns every proposal as `(sketch, text)`.
fn run(
    policy: &mut dyn SearchPolicy,
    tasks: &[&dyn Objective],
    rounds: usize,
    k: usize,
    seed: u64,
) -> Vec<(usize, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = SeenSet::new();
    let mut all = Vec::new();
    for round in 0..rounds {
        let props = policy.propose(tasks, &seen, k, &mut rng).unwrap();
        assert!(props.len() <= k, "{}: {} > k", policy.name(), props.len());
        let mut results = Vec::new();
        for p in &props {
            let obj = tasks[p.sketch];
            assert!(
                obj.space().is_legal(&p.assignment),
                "{}: illegal {}",
                policy.name(),
                p.assignment
            );
            let exact = obj
                .score_exact(std::slice::from_ref(&p.assignment))
                .unwrap()[0];
            assert!(
                exact.legal,
                "{}: hardware-illegal {}",
                policy.name(),
                p.assignment
            );
            assert_eq!(exact.score, p.predicted);
            assert!(
                !seen.contains(p.sketch, &p.assignment),
                "{} round {round}: seen {}",
                policy.name(),
                p.assignment
            );
            results.push((p.clone(), Some(exact.score)));
        }
        let before = seen.len();
        seen.extend(&props);
        assert_eq!(
            seen.len(),
            before + props.len(),
            "{}: duplicate within a batch",
            policy.name()
        );
        policy.observe(&results);
        all.extend(props.iter().map(|p| p.key()));
    }
    all
}

#[test]
fn every_policy_is_legal_fresh_and_deterministic() {
    let (roof, quad) = objectives();
    let tasks: [&dyn Objective; 2] = [&roof, &quad];
    for (mut p1, mut p2) in policies().into_iter().zip(policies()) {
        let a = run(p1.as_mut(), &tasks, 4, 16, 7);
        let b = run(p2.as_mut(), &tasks, 4, 16, 7);
        assert_eq!(a, b, "{} is not deterministic", p1.name());
        assert!(a.len() >= 48, "{} proposed only {}", p1.name(), a.len());
        assert!(
            a.iter().any(|x| x.0 == 0) && a.iter().any(|x| x.0 == 1),
            "{}: one sketch only",
            p1.name()
        );
        let c = run(p1.as_mut(), &tasks, 1, 16, 8);
        assert_ne!(a[..c.len()], c[..], "{}: seed ignored", p1.name());
    }
}

#[test]
fn tiny_space_is_exhausted_without_duplicates() {
    // 6 legal assignments (2 factors of extent 4 = 2²: C(4, 2)) times 2 choices = 12.
    let space = tiled_space(&[("a", 4, 2)], &[("u", &[1, 2])]).unwrap();
    let target = space.parse_assignment("a_0=2,a_1=1,u=2").unwrap();
    let quad = Quadratic::objective(space, &target, &[]).unwrap();
    let tasks: [&dyn Objective; 1] = [&quad];
    for mut p in policies() {
        let all = run(p.as_mut(), &tasks, 5, 5, 3);
        assert!(all.len() <= 12, "{}: {} > 12", p.name(), all.len());
        // Enough budget to find every point: random sampling draws 20 per pick, the others
        // explore the whole space in a few rounds.
        assert!(
            all.len() >= 10,
            "{}: only {} of 12 found",
            p.name(),
            all.len()
        );
    }
}
