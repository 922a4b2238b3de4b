//! Uniform sampling, enumeration and neighbours.

use std::collections::HashMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{Assignment, ExprArena, LogTerm, Space};

const AWKWARD: [u64; 6] = [11008, 49, 1000, 97, 1, 30030];

fn group_space(extent: u64, factors: usize, choice: Option<&[u64]>) -> Space {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space
        .add_split_group(&mut arena, "sp", extent, factors)
        .unwrap();
    if let Some(values) = choice {
        space.add_choice(&mut arena, "vec", values).unwrap();
    }
    space
}

/// Pearson's chi-square statistic of `n` draws from `draw` against the uniform distribution
/// over `cells`; panics on a draw outside `cells`.
fn chi_square(cells: &[Assignment], n: usize, mut draw: impl FnMut() -> Assignment) -> f64 {
    let mut counts: HashMap<String, usize> = cells.iter().map(|a| (a.to_string(), 0)).collect();
    for _ in 0..n {
        let a = draw();
        *counts
            .get_mut(&a.to_string())
            .unwrap_or_else(|| panic!("{a} is not a legal cell")) += 1;
    }
    let expect = n as f64 / cells.len() as f64;
    counts
        .values()
        .map(|&c| (c as f64 - expect).powi(2) / expect)
        .sum()
}

/// Upper 0.1 % points of chi-square with `dof` degrees of freedom (Wilson–Hilferty).
fn chi2_critical(dof: usize) -> f64 {
    let k = dof as f64;
    let z = 3.090; // standard normal upper 0.1 %
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

#[test]
fn sampling_is_uniform_over_legal_assignments() {
    let cases = [
        group_space(12, 2, None),             // 18 legal tilings
        group_space(49, 3, Some(&[1, 2, 4])), // 10 · 3
        group_space(360, 2, None),            // 2^3·3^2·5: 10·6·3 = 180
    ];
    for (seed, space) in cases.iter().enumerate() {
        let cells = space.enumerate(10_000).unwrap();
        assert_eq!(cells.len() as f64, space.size());
        let n = 200 * cells.len();
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed as u64);
        let chi2 = chi_square(&cells, n, || space.sample(&mut rng).unwrap());
        let crit = chi2_critical(cells.len() - 1);
        assert!(chi2 < crit, "space {seed}: chi2 {chi2} ≥ {crit}");
    }
}

#[test]
fn the_uniformity_test_detects_a_biased_sampler() {
    // Rounding uniform continuous points is far from uniform over legal tilings: the same
    // statistic must reject it (so the test above can fail).
    let space = group_space(12, 2, None);
    let cells = space.enumerate(100).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (lo, hi) = space.bounds();
    let chi2 = chi_square(&cells, 200 * cells.len(), || {
        use rand::Rng;
        let x: Vec<f64> = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| l + (h - l) * rng.random::<f64>())
            .collect();
        space.round(&x).unwrap()
    });
    assert!(chi2 > 10.0 * chi2_critical(cells.len() - 1), "chi2 {chi2}");
}

#[test]
fn samples_of_awkward_extents_divide_the_extent() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for extent in AWKWARD {
        let space = group_space(extent, 4, Some(&[1, 16, 64, 512, 1024]));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let a = space.sample(&mut rng).unwrap();
            let product: u64 = a.values()[..4].iter().product();
            assert_eq!(extent % product, 0, "{a}");
            space.check(&a).unwrap();
            seen.insert(a.to_string());
        }
        // Many distinct tilings are reached (all of them for the small spaces).
        let expect = space.size().min(500.0) as usize;
        assert!(
            seen.len() >= expect.min(space.size() as usize),
            "extent {extent}: {} distinct",
            seen.len()
        );
    }
}

#[test]
fn sampling_is_deterministic_for_a_seed() {
    let space = group_space(11008, 4, Some(&[1, 2, 4]));
    let draw = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..20)
            .map(|_| space.sample(&mut rng).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
}

fn constrained() -> Space {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let g = space.add_split_group(&mut arena, "a", 64, 2).unwrap();
    space.add_split_group(&mut arena, "b", 12, 1).unwrap();
    let vec = space.add_choice(&mut arena, "vec", &[1, 2, 4]).unwrap();
    let v = space.vars();
    // a_1 · b_0 ≤ 16, a_1 · b_0 ≥ 2, vec ≤ a_0, quotient of a ≤ 16.
    let threads = [(LogTerm::Var(v[1]), 1.0), (LogTerm::Var(v[2]), 1.0)];
    space
        .add_log_product_constraint("threads", &threads, 16.0)
        .unwrap();
    let neg: Vec<_> = threads.iter().map(|&(t, a)| (t, -a)).collect();
    space
        .add_log_product_constraint("threads_min", &neg, 0.5)
        .unwrap();
    space
        .add_log_product_constraint(
            "vec",
            &[(LogTerm::Var(vec), 1.0), (LogTerm::Var(v[0]), -1.0)],
            1.0,
        )
        .unwrap();
    space
        .add_log_product_constraint("blocks", &[(LogTerm::Quotient(g), 1.0)], 16.0)
        .unwrap();
    space
}

#[test]
fn constrained_sampling_is_legal_and_uniform() {
    let space = constrained();
    let cells = space.enumerate(10_000).unwrap();
    assert!(!cells.is_empty() && (cells.len() as f64) < space.size());
    for a in &cells {
        space.check(&a.clone()).unwrap();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let chi2 = chi_square(&cells, 200 * cells.len(), || {
        space.sample(&mut rng).unwrap()
    });
    assert!(chi2 < chi2_critical(cells.len() - 1), "chi2 {chi2}");
}

#[test]
fn sampling_falls_back_to_rounding_when_rejection_fails() {
    // Only one legal point out of C(10+3,3)·C(10+3,3) = 81796: rejection almost always fails,
    // and rounding must still produce it.
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_split_group(&mut arena, "s", 1 << 10, 3).unwrap();
    space
        .add_split_group(&mut arena, "t", 3u64.pow(10), 3)
        .unwrap();
    let terms: Vec<(LogTerm, f64)> = space
        .vars()
        .into_iter()
        .map(|v| (LogTerm::Var(v), 1.0))
        .collect();
    space
        .add_log_product_constraint("all_one", &terms, 1.0)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..3 {
        assert_eq!(
            space.sample(&mut rng).unwrap().values(),
            &[1, 1, 1, 1, 1, 1]
        );
    }
}

#[test]
fn neighbors_are_legal_single_steps_and_symmetric() {
    for space in [
        group_space(11008, 3, Some(&[1, 16, 64])),
        group_space(1, 2, Some(&[2])),
        constrained(),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..30 {
            let a = space.sample(&mut rng).unwrap();
            let xa = space.encode(&a).unwrap();
            let ns = space.neighbors(&a).unwrap();
            let mut texts: Vec<String> = ns.iter().map(|n| n.to_string()).collect();
            texts.sort();
            texts.dedup();
            assert_eq!(texts.len(), ns.len(), "duplicate neighbours of {a}");
            for n in &ns {
                space.check(n).unwrap();
                assert_ne!(n, &a);
                let xn = space.encode(n).unwrap();
                let changed = xa
                    .iter()
                    .zip(&xn)
                    .filter(|(p, q)| (*p - *q).abs() > 1e-9)
                    .count();
                assert!((1..=2).contains(&changed), "{a} -> {n}");
                assert!(
                    space.neighbors(n).unwrap().contains(&a),
                    "{n} does not lead back to {a}"
                );
            }
        }
    }
    // A middle point of a 1-factor group of a prime power has exactly 2 neighbours.
    let space = group_space(8, 1, None);
    let a = space.parse_assignment("sp_0=2").unwrap();
    let ns: Vec<String> = space
        .neighbors(&a)
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(ns, vec!["sp_0=1", "sp_0=4"]);
    // Neighbours of an illegal assignment are an error.
    assert!(space
        .neighbors(&space.parse_assignment("sp_0=3").unwrap())
        .is_err());
}
