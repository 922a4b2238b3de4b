//! Rounding continuous points to legal assignments, and projection.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{Assignment, ExprArena, LogTerm, Space, SymbolicError};

const AWKWARD: [u64; 6] = [11008, 49, 1000, 97, 1, 30030];

fn space_for(extent: u64) -> Space {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space
        .add_split_group(&mut arena, "sp_0", extent, 3)
        .unwrap();
    space
        .add_choice(&mut arena, "unroll", &[1, 16, 64, 512, 1024])
        .unwrap();
    space.add_split_group(&mut arena, "sp_1", 12, 2).unwrap();
    space.add_choice(&mut arena, "vec", &[1, 2, 4]).unwrap();
    space
}

/// A GPU-like space: two tiled axes, threads = sp_0_1·sp_1_1 in [32, 256], vector·unroll
/// bounded, blocks (quotient of sp_0) at most 64.
fn constrained_space(lower_bound: bool) -> Space {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let g0 = space.add_split_group(&mut arena, "sp_0", 11008, 3).unwrap();
    space.add_split_group(&mut arena, "sp_1", 1000, 3).unwrap();
    let unroll = space
        .add_choice(&mut arena, "unroll", &[1, 16, 64, 512, 1024])
        .unwrap();
    let vec = space.add_choice(&mut arena, "vec", &[1, 2, 4]).unwrap();
    let v = space.vars();
    let threads = [(LogTerm::Var(v[1]), 1.0), (LogTerm::Var(v[4]), 1.0)];
    space
        .add_log_product_constraint("threads_max", &threads, 256.0)
        .unwrap();
    let work = [
        (LogTerm::Var(v[2]), 1.0),
        (LogTerm::Var(vec), 1.0),
        (LogTerm::Var(unroll), 0.5),
    ];
    space
        .add_log_product_constraint("work", &work, 64.0)
        .unwrap();
    if lower_bound {
        let neg: Vec<_> = threads.iter().map(|&(t, a)| (t, -a)).collect();
        space
            .add_log_product_constraint("threads_min", &neg, 1.0 / 32.0)
            .unwrap();
        space
            .add_log_product_constraint("blocks", &[(LogTerm::Quotient(g0), 1.0)], 64.0)
            .unwrap();
    }
    space
}

/// A random point in the box widened by 3 on each side, sometimes with non-finite entries.
fn random_point(space: &Space, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let (lo, hi) = space.bounds();
    lo.iter()
        .zip(&hi)
        .map(|(&l, &h)| match rng.random_range(0..40) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => l - 3.0 + (h - l + 6.0) * rng.random::<f64>(),
        })
        .collect()
}

fn assert_divides(space: &Space, a: &Assignment) {
    for g in space.groups() {
        let product: u64 = g.factors().iter().map(|&f| a.value(f).unwrap()).product();
        assert_eq!(g.extent() % product, 0, "{a}: group {}", g.name());
    }
}

#[test]
fn rounding_random_points_is_always_legal() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for extent in AWKWARD {
        let space = space_for(extent);
        for _ in 0..500 {
            let x = random_point(&space, &mut rng);
            let a = space.round(&x).unwrap();
            space.check(&a).unwrap();
            assert_divides(&space, &a);
        }
    }
}

#[test]
fn rounding_is_the_identity_on_legal_points_and_robust_to_small_noise() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for extent in AWKWARD {
        let space = space_for(extent);
        for _ in 0..200 {
            let a = space.sample(&mut rng).unwrap();
            let x = space.encode(&a).unwrap();
            assert_eq!(space.round(&x).unwrap(), a);
            // Noise below 0.3 in every coordinate (choices are ≥ ln 2 apart in log space).
            let noisy: Vec<f64> = x
                .iter()
                .map(|v| v + 0.6 * (rng.random::<f64>() - 0.5))
                .collect();
            assert_eq!(space.round(&noisy).unwrap(), a, "noisy {noisy:?}");
        }
    }
}

#[test]
fn rounding_without_constraints_finds_the_nearest_legal_point() {
    // Brute force over the whole legal set, in the log-value metric (exponent differences
    // weighted by ln p, choice differences in ln).
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_split_group(&mut arena, "a", 360, 3).unwrap();
    space.add_choice(&mut arena, "u", &[1, 3, 64]).unwrap();
    let all: Vec<Vec<f64>> = space
        .enumerate(10_000)
        .unwrap()
        .iter()
        .map(|a| space.encode(a).unwrap())
        .collect();
    let weights: Vec<f64> = space
        .coordinate_names()
        .iter()
        .map(|n| {
            n.rsplit_once(".e")
                .map_or(1.0, |(_, p)| p.parse::<f64>().unwrap().ln())
        })
        .collect();
    let (lo, hi) = space.bounds();
    for _ in 0..300 {
        let x: Vec<f64> = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| l + (h - l) * rng.random::<f64>())
            .collect();
        let dist = |p: &[f64]| -> f64 {
            (0..p.len())
                .map(|i| (weights[i] * (p[i] - x[i])).powi(2))
                .sum()
        };
        let best = all.iter().map(|p| dist(p)).fold(f64::INFINITY, f64::min);
        let r = space.encode(&space.round(&x).unwrap()).unwrap();
        assert!(
            dist(&r) <= best + 1e-9,
            "round gave {r:?} at distance {} > {best}",
            dist(&r)
        );
    }
}

#[test]
fn rounding_respects_linear_constraints() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for lower_bound in [false, true] {
        let space = constrained_space(lower_bound);
        for _ in 0..300 {
            let x = random_point(&space, &mut rng);
            let a = space.round(&x).unwrap();
            space.check(&a).unwrap();
            assert_divides(&space, &a);
            // Legal points are fixed points.
            assert_eq!(space.round(&space.encode(&a).unwrap()).unwrap(), a);
        }
    }
}

#[test]
fn infeasible_constraints_are_reported() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_split_group(&mut arena, "s", 64, 2).unwrap();
    let f = space.vars()[0];
    // s_0 ≥ 4 and s_0 ≤ 2: no legal assignment.
    space
        .add_log_product_constraint("ge4", &[(LogTerm::Var(f), -1.0)], 0.25)
        .unwrap();
    space
        .add_log_product_constraint("le2", &[(LogTerm::Var(f), 1.0)], 2.0)
        .unwrap();
    assert!(matches!(
        space.round(&[1.0, 1.0]),
        Err(SymbolicError::NoLegalAssignment(_))
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert!(matches!(
        space.sample(&mut rng),
        Err(SymbolicError::NoLegalAssignment(_))
    ));
    assert!(space.enumerate(1000).unwrap().is_empty());
    // A bound below the smallest possible product is infeasible too.
    let mut space = space_for(97);
    let v = space.vars()[0];
    space
        .add_log_product_constraint("tiny", &[(LogTerm::Var(v), 1.0)], 0.5)
        .unwrap();
    assert!(matches!(
        space.round(&vec![0.0; space.dim()]),
        Err(SymbolicError::NoLegalAssignment(_))
    ));
}

#[test]
fn projection_lands_in_the_feasible_region() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for space in [
        space_for(30030),
        space_for(11008),
        constrained_space(false),
        constrained_space(true),
    ] {
        let (lo, hi) = space.bounds();
        for _ in 0..200 {
            let mut x = random_point(&space, &mut rng);
            space.project(&mut x).unwrap();
            for (i, &xi) in x.iter().enumerate() {
                assert!(
                    xi >= lo[i] && xi <= hi[i],
                    "coordinate {i} = {xi} outside box"
                );
            }
            for g in space.groups() {
                for (k, &(_, e)) in g.primes().iter().enumerate() {
                    let s: f64 = g.prime_coords(k).map(|i| x[i]).sum();
                    assert!(
                        s <= e as f64 + 1e-9,
                        "group {} prime sum {s} > {e}",
                        g.name()
                    );
                }
            }
            for c in space.constraints() {
                assert_eq!(
                    c.violation(&x),
                    0.0,
                    "{}: {} > {}",
                    c.name(),
                    c.lhs(&x),
                    c.rhs()
                );
            }
            // Projection of a feasible point changes nothing (up to rounding error).
            let mut y = x.clone();
            space.project(&mut y).unwrap();
            for (xi, yi) in x.iter().zip(&y) {
                assert!((xi - yi).abs() < 1e-6);
            }
        }
    }
}
