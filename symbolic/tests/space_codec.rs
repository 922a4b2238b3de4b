//! Encoding, decoding, pullback and legality checks of spaces.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::{ExprArena, Space, SymbolicError};

const AWKWARD: [u64; 6] = [11008, 49, 1000, 97, 1, 30030];

/// A space with one 3-factor group of `extent`, an unroll and a vector-width choice, built in
/// an arena that also holds an unrelated loop variable `i` (index 0).
fn space_for(extent: u64) -> (ExprArena, Space) {
    let mut arena = ExprArena::new();
    arena.var("i");
    let mut space = Space::new();
    space
        .add_split_group(&mut arena, "sp_0", extent, 3)
        .unwrap();
    space
        .add_choice(&mut arena, "unroll", &[1, 16, 64, 512, 1024])
        .unwrap();
    space.add_split_group(&mut arena, "sp_1", 12, 1).unwrap();
    space.add_choice(&mut arena, "vec", &[1, 2, 4]).unwrap();
    (arena, space)
}

fn random_inside(space: &Space, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let (lo, hi) = space.bounds();
    lo.iter()
        .zip(&hi)
        .map(|(&l, &h)| l + (h - l) * rng.random::<f64>())
        .collect()
}

#[test]
fn encode_decode_round_trip_is_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for extent in AWKWARD {
        let (arena, space) = space_for(extent);
        for _ in 0..50 {
            let a = space.sample(&mut rng).unwrap();
            let x = space.encode(&a).unwrap();
            assert!(x.iter().all(|v| v.is_finite()));
            assert_eq!(space.to_assignment(&x).unwrap(), a);
            let mut values = vec![-7.0; arena.num_vars()];
            space.decode(&x, &mut values).unwrap();
            assert_eq!(values[0], -7.0, "decode touched a non-space variable");
            let mut exact = a.values_vec(&arena).unwrap();
            exact[0] = -7.0;
            assert_eq!(values, exact, "{a}");
        }
    }
}

#[test]
fn batch_decode_and_pullback_match_the_scalar_versions() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (arena, space) = space_for(11008);
    let rows = 7;
    let mut x = Array2::zeros((rows, space.dim()));
    let mut dv = Array2::zeros((rows, space.num_vars()));
    for r in 0..rows {
        let p = random_inside(&space, &mut rng);
        x.row_mut(r).assign(&ndarray::ArrayView1::from(&p));
        for c in 0..space.num_vars() {
            dv[(r, c)] = rng.random::<f64>() - 0.5;
        }
    }
    let values = space.decode_batch(x.view()).unwrap();
    let grads = space.pullback_batch(x.view(), dv.view()).unwrap();
    assert_eq!(values.dim(), (rows, space.num_vars()));
    assert_eq!(grads.dim(), x.dim());
    for r in 0..rows {
        let xr = x.row(r).to_vec();
        let mut full = vec![0.0; arena.num_vars()];
        space.decode(&xr, &mut full).unwrap();
        let mut d_full = vec![0.0; arena.num_vars()];
        for (c, v) in space.vars().iter().enumerate() {
            assert_eq!(values[(r, c)], full[v.index()]);
            d_full[v.index()] = dv[(r, c)];
        }
        let mut dx = vec![0.0; space.dim()];
        space.pullback(&xr, &d_full, &mut dx).unwrap();
        assert_eq!(grads.row(r).to_vec(), dx);
    }
}

#[test]
fn pullback_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for extent in AWKWARD {
        let (arena, space) = space_for(extent);
        for _ in 0..10 {
            let x = random_inside(&space, &mut rng);
            let w: Vec<f64> = (0..arena.num_vars())
                .map(|_| rng.random::<f64>() - 0.5)
                .collect();
            // L(x) = Σ_v w_v · ln(value_v)² — smooth and well scaled.
            let loss = |x: &[f64]| {
                let mut v = vec![0.0; arena.num_vars()];
                space.decode(x, &mut v).unwrap();
                space
                    .vars()
                    .iter()
                    .map(|u| w[u.index()] * v[u.index()].ln().powi(2))
                    .sum::<f64>()
            };
            let mut values = vec![0.0; arena.num_vars()];
            space.decode(&x, &mut values).unwrap();
            let mut d_values = vec![0.0; arena.num_vars()];
            for v in space.vars() {
                d_values[v.index()] =
                    w[v.index()] * 2.0 * values[v.index()].ln() / values[v.index()];
            }
            let mut dx = vec![f64::NAN; space.dim()];
            space.pullback(&x, &d_values, &mut dx).unwrap();
            for (i, &dxi) in dx.iter().enumerate() {
                let h = 1e-6;
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let fd = (loss(&xp) - loss(&xm)) / (2.0 * h);
                assert!(
                    (fd - dxi).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "extent {extent}, coordinate {}: fd {fd} vs {dxi}",
                    space.coordinate_names()[i]
                );
            }
        }
    }
}

#[test]
fn check_names_the_violated_rule() {
    let (_, space) = space_for(12);
    let a = space
        .parse_assignment("sp_0_0=4,sp_0_1=4,sp_0_2=1,unroll=16,sp_1_0=3,vec=2")
        .unwrap();
    match space.check(&a) {
        Err(SymbolicError::NotDivisible {
            group,
            product,
            extent,
        }) => {
            assert_eq!((group.as_str(), product, extent), ("sp_0", 16, 12));
        }
        other => panic!("expected NotDivisible, got {other:?}"),
    }
    let a = space
        .parse_assignment("sp_0_0=5,sp_0_1=1,sp_0_2=1,unroll=16,sp_1_0=3,vec=2")
        .unwrap();
    assert!(matches!(
        space.check(&a),
        Err(SymbolicError::NotDivisible { product: 5, .. })
    ));
    assert!(space.encode(&a).is_err());
    let a = space
        .parse_assignment("sp_0_0=0,sp_0_1=1,sp_0_2=1,unroll=16,sp_1_0=3,vec=2")
        .unwrap();
    assert!(matches!(
        space.check(&a),
        Err(SymbolicError::NotDivisible { product: 0, .. })
    ));
    let a = space
        .parse_assignment("sp_0_0=2,sp_0_1=1,sp_0_2=1,unroll=17,sp_1_0=3,vec=2")
        .unwrap();
    match space.check(&a) {
        Err(e @ SymbolicError::NotInChoiceSet { .. }) => {
            assert_eq!(
                e.to_string(),
                "value 17 of `unroll` is not in its choice set {1,16,64,512,1024}"
            );
        }
        other => panic!("expected NotInChoiceSet, got {other:?}"),
    }
    let good = space
        .parse_assignment("sp_0_0=2,sp_0_1=3,sp_0_2=2,unroll=16,sp_1_0=12,vec=2")
        .unwrap();
    assert!(space.is_legal(&good));
    // An assignment of another space does not fit.
    let (_, other) = space_for(49);
    let foreign = other.sample(&mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    assert!(other.is_legal(&foreign));
    let (_, mut bigger) = space_for(12);
    bigger
        .add_choice(&mut ExprArena::new(), "extra", &[1])
        .unwrap();
    assert!(matches!(
        bigger.check(&good),
        Err(SymbolicError::AssignmentMismatch(_))
    ));
}

#[test]
fn to_assignment_rejects_non_integral_or_illegal_points() {
    let (_, space) = space_for(12);
    let a = space
        .parse_assignment("sp_0_0=2,sp_0_1=3,sp_0_2=2,unroll=16,sp_1_0=12,vec=2")
        .unwrap();
    let x = space.encode(&a).unwrap();
    let mut y = x.clone();
    y[0] += 0.3;
    match space.to_assignment(&y) {
        Err(SymbolicError::NotIntegral { coord, .. }) => assert_eq!(coord, "sp_0_0.e2"),
        other => panic!("expected NotIntegral, got {other:?}"),
    }
    let mut y = x.clone();
    y[2] = 2.0; // sp_0_1 gets 2^2·3: sum of exponents of 2 becomes 3 > 2
    assert!(matches!(
        space.to_assignment(&y),
        Err(SymbolicError::NotDivisible { .. })
    ));
    let mut y = x.clone();
    let c = space
        .coordinate_names()
        .iter()
        .position(|n| n == "ln(unroll)")
        .unwrap();
    y[c] = 20f64.ln();
    assert!(matches!(
        space.to_assignment(&y),
        Err(SymbolicError::NotIntegral { .. })
    ));
    y[c] = f64::NAN;
    assert!(space.to_assignment(&y).is_err());
    assert!(space.to_assignment(&x[1..]).is_err());
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let (arena, space) = space_for(1000);
    let x = vec![0.0; space.dim()];
    let mut short = vec![0.0; 2];
    assert!(space.decode(&x, &mut short).is_err());
    assert!(space
        .decode(&x[1..], &mut vec![0.0; arena.num_vars()])
        .is_err());
    let mut dx = vec![0.0; space.dim() + 1];
    assert!(space
        .pullback(&x, &vec![0.0; arena.num_vars()], &mut dx)
        .is_err());
    assert!(space.decode_batch(Array2::zeros((3, 2)).view()).is_err());
    let xs = Array2::zeros((3, space.dim()));
    assert!(space
        .pullback_batch(xs.view(), Array2::zeros((2, space.num_vars())).view())
        .is_err());
    assert!(space.assignment(&[1, 2]).is_err());
}
