//! Building spaces: prime-exponent coordinates for awkward extents, sizes, quotients, errors.

use tilegrad_symbolic::space::factorize;
use tilegrad_symbolic::{eval_exact, eval_relaxed, ExprArena, LogTerm, Space, SymbolicError};

const AWKWARD: [u64; 6] = [11008, 49, 1000, 97, 1, 30030];

fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Number of `k`-tuples of positive integers whose product divides `n`, by brute force.
fn count_tuples(n: u64, k: usize) -> usize {
    if k == 0 {
        return 1;
    }
    divisors(n)
        .into_iter()
        .map(|d| count_tuples(n / d, k - 1))
        .sum()
}

#[test]
fn coordinates_follow_the_factorisation() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let g = space.add_split_group(&mut arena, "sp_0", 11008, 3).unwrap();
    let unroll = space
        .add_choice(&mut arena, "unroll", &[1024, 1, 16, 64, 512, 64])
        .unwrap();
    assert_eq!(space.group(g).unwrap().primes(), &[(2, 8), (43, 1)]);
    assert_eq!(space.dim(), 7);
    assert_eq!(
        space.coordinate_names(),
        &[
            "sp_0_0.e2",
            "sp_0_0.e43",
            "sp_0_1.e2",
            "sp_0_1.e43",
            "sp_0_2.e2",
            "sp_0_2.e43",
            "ln(unroll)"
        ]
    );
    let (lo, hi) = space.bounds();
    assert_eq!(&lo[..6], &[0.0; 6]);
    assert_eq!(&hi[..6], &[8.0, 1.0, 8.0, 1.0, 8.0, 1.0]);
    assert_eq!((lo[6], hi[6]), (0.0, 1024f64.ln()));
    assert_eq!(space.choices()[0].values(), &[1, 16, 64, 512, 1024]);
    assert_eq!(space.var_names(), &["sp_0_0", "sp_0_1", "sp_0_2", "unroll"]);
    assert_eq!(space.vars()[3], unroll);
    assert_eq!(arena.var_name(space.vars()[1]), "sp_0_1");
}

#[test]
fn awkward_extents_have_the_right_number_of_legal_tilings() {
    for extent in AWKWARD {
        for k in 0..=2 {
            let mut arena = ExprArena::new();
            let mut space = Space::new();
            space.add_split_group(&mut arena, "t", extent, k).unwrap();
            let expect = count_tuples(extent, k);
            assert_eq!(space.size(), expect as f64, "extent {extent}, {k} factors");
            let all = space.enumerate(100_000).unwrap();
            assert_eq!(all.len(), expect);
            for a in &all {
                let product: u64 = a.values().iter().product();
                assert_eq!(extent % product, 0, "{a} for extent {extent}");
            }
        }
    }
    // Extent 1: no coordinates, every factor is 1.
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_split_group(&mut arena, "one", 1, 4).unwrap();
    assert_eq!(space.dim(), 0);
    assert_eq!(space.size(), 1.0);
    assert_eq!(space.round(&[]).unwrap().values(), &[1, 1, 1, 1]);
}

#[test]
fn size_counts_groups_and_choices() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_split_group(&mut arena, "a", 12, 2).unwrap(); // 2^2·3: C(4,2)·C(3,2) = 18
    space.add_split_group(&mut arena, "b", 97, 3).unwrap(); // C(4,3) = 4
    space.add_choice(&mut arena, "v", &[1, 2, 4]).unwrap();
    assert_eq!(space.size(), 18.0 * 4.0 * 3.0);
    assert_eq!(space.enumerate(1000).unwrap().len(), 216);
    assert!(space.enumerate(100).is_err());
}

#[test]
fn quotient_expression_evaluates_to_the_outer_extent() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let g = space.add_split_group(&mut arena, "sp_0", 1000, 3).unwrap();
    let empty = space.add_split_group(&mut arena, "sp_1", 49, 0).unwrap();
    let q = space.quotient_expr(&mut arena, g).unwrap();
    assert_eq!(
        arena.display(q),
        "(ceildiv 1000 (* (* sp_0_0 sp_0_1) sp_0_2))"
    );
    let q1 = space.quotient_expr(&mut arena, empty).unwrap();
    assert_eq!(arena.as_const(q1), Some(49.0));
    let a = space
        .parse_assignment("sp_0_0=5,sp_0_1=4,sp_0_2=10")
        .unwrap();
    let values = a.values_vec(&arena).unwrap();
    assert_eq!(eval_exact(&arena, q, &values).unwrap(), 5.0);
    assert_eq!(space.quotient_value(g, &a).unwrap(), 5);
    assert_eq!(space.quotient_value(empty, &a).unwrap(), 49);
    // Relaxed, over-tiled (Π f = 2000 > 1000): the outer loop keeps about one iteration
    // instead of collapsing to ~0 (which would zero every count above it).
    let over = space
        .parse_assignment("sp_0_0=10,sp_0_1=10,sp_0_2=20")
        .unwrap()
        .values_vec(&arena)
        .unwrap();
    for tau in [1.0, 0.2, 0.05] {
        let v = eval_relaxed(&arena, q, &over, tau);
        assert!((0.5..=1.0).contains(&v), "tau {tau}: {v}");
    }
}

#[test]
fn variables_already_in_the_arena_are_reused() {
    let mut arena = ExprArena::new();
    let i = arena.var("i");
    let f = arena.var("sp_3_1");
    let mut space = Space::new();
    space.add_split_group(&mut arena, "sp_3", 64, 2).unwrap();
    assert_eq!(space.vars()[1], arena.lookup_var("sp_3_1").unwrap());
    assert_eq!(arena.var_expr(space.vars()[1]), f);
    assert_ne!(arena.var_expr(space.vars()[0]), i);
    assert_eq!(arena.num_vars(), 3);
}

#[test]
fn bad_declarations_are_typed_errors() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let invalid = |r: Result<_, SymbolicError>| matches!(r, Err(SymbolicError::InvalidSpace(_)));
    assert!(invalid(
        space.add_split_group(&mut arena, "z", 0, 2).map(|_| ())
    ));
    space.add_split_group(&mut arena, "a", 8, 2).unwrap();
    assert!(invalid(
        space.add_split_group(&mut arena, "a", 8, 2).map(|_| ())
    ));
    assert!(invalid(
        space.add_choice(&mut arena, "a_1", &[1, 2]).map(|_| ())
    ));
    assert!(invalid(space.add_choice(&mut arena, "u", &[]).map(|_| ())));
    assert!(invalid(
        space.add_choice(&mut arena, "u", &[0, 4]).map(|_| ())
    ));
    assert!(invalid(
        space.add_choice(&mut arena, "bad name", &[1]).map(|_| ())
    ));
    assert!(invalid(
        space.add_choice(&mut arena, "x=1", &[1]).map(|_| ())
    ));
    assert!(invalid(
        space
            .add_linear_constraint("c", &[(99, 1.0)], 1.0)
            .map(|_| ())
    ));
    assert!(invalid(
        space
            .add_linear_constraint("c", &[(0, 1.0)], f64::NAN)
            .map(|_| ())
    ));
    let v = space.vars()[0];
    assert!(invalid(
        space
            .add_log_product_constraint("c", &[(LogTerm::Var(v), 1.0)], 0.0)
            .map(|_| ())
    ));
    // A failed declaration leaves the space unchanged.
    assert_eq!(space.var_names(), &["a_0", "a_1"]);
    assert_eq!(space.dim(), 2);
    assert!(space.constraints().is_empty());
}

#[test]
fn log_product_constraints_are_linear_in_exponents() {
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    let g = space.add_split_group(&mut arena, "s", 11008, 2).unwrap();
    let vw = space.add_choice(&mut arena, "vec", &[1, 2, 4]).unwrap();
    let f1 = space.vars()[1];
    // s_1 * vec ≤ 64   and   quotient ≤ 100.
    space
        .add_log_product_constraint(
            "threads",
            &[(LogTerm::Var(f1), 1.0), (LogTerm::Var(vw), 1.0)],
            64.0,
        )
        .unwrap();
    space
        .add_log_product_constraint("blocks", &[(LogTerm::Quotient(g), 1.0)], 100.0)
        .unwrap();
    let c = &space.constraints()[0];
    let ln2 = 2f64.ln();
    assert_eq!(c.terms(), &[(2, ln2), (3, 43f64.ln()), (4, 1.0)]);
    assert!((c.rhs() - 64f64.ln()).abs() < 1e-12);
    let q = &space.constraints()[1];
    assert!((q.rhs() - (100f64.ln() - 11008f64.ln())).abs() < 1e-12);
    assert_eq!(q.terms().len(), 4);
    assert!(q.terms().iter().all(|&(_, a)| a < 0.0));
    let ok = space.parse_assignment("s_0=16,s_1=16,vec=4").unwrap(); // q = 43
    assert!(space.is_legal(&ok));
    let too_many_threads = space.parse_assignment("s_0=8,s_1=32,vec=4").unwrap();
    let err = space.check(&too_many_threads).unwrap_err();
    assert!(matches!(&err, SymbolicError::ConstraintViolated { name, .. } if name == "threads"));
    let too_many_blocks = space.parse_assignment("s_0=1,s_1=1,vec=1").unwrap();
    let err = space.check(&too_many_blocks).unwrap_err();
    assert!(matches!(&err, SymbolicError::ConstraintViolated { name, .. } if name == "blocks"));
}

#[test]
fn factorize_is_exact_for_large_extents() {
    for n in [
        999_999_937u64,
        1 << 40,
        2 * 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23,
        4_294_967_291 * 3,
    ] {
        let f = factorize(n);
        assert_eq!(f.iter().map(|&(p, e)| p.pow(e)).product::<u64>(), n);
    }
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space
        .add_split_group(&mut arena, "big", 999_999_937, 2)
        .unwrap();
    assert_eq!(space.size(), 3.0);
}

#[test]
fn spaces_serialize_and_reload_identically() {
    use rand::SeedableRng;
    let mut arena = ExprArena::new();
    arena.var("i");
    let mut space = Space::new();
    let g0 = space.add_split_group(&mut arena, "sp_0", 11008, 3).unwrap();
    space
        .add_choice(&mut arena, "unroll", &[1, 16, 64])
        .unwrap();
    let g1 = space.add_split_group(&mut arena, "sp_1", 49, 0).unwrap();
    space.add_split_group(&mut arena, "sp_2", 1, 2).unwrap();
    space.add_choice(&mut arena, "vec", &[4, 1, 2]).unwrap();
    let v = space.vars();
    let terms = [(LogTerm::Var(v[1]), 1.0), (LogTerm::Quotient(g0), 1.0)];
    space
        .add_log_product_constraint("c", &terms, 300.0)
        .unwrap();
    let json = serde_json::to_string(&space).unwrap();
    let back: Space = serde_json::from_str(&json).unwrap();
    assert_eq!(back.vars(), space.vars());
    assert_eq!(back.var_names(), space.var_names());
    assert_eq!(back.coordinate_names(), space.coordinate_names());
    assert_eq!(back.bounds(), space.bounds());
    assert_eq!(back.groups(), space.groups());
    assert_eq!(back.choices(), space.choices());
    assert_eq!(back.constraints(), space.constraints());
    assert_eq!(back.group(g1).unwrap().name(), "sp_1");
    let mut r1 = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut r2 = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..20 {
        assert_eq!(
            space.sample(&mut r1).unwrap(),
            back.sample(&mut r2).unwrap()
        );
    }
    // A tampered file (a variable declared twice) is rejected on load.
    let bad = json.replacen("\"vec\"", "\"unroll\"", 1);
    assert_ne!(bad, json);
    let err = serde_json::from_str::<Space>(&bad).unwrap_err();
    assert!(err.to_string().contains("declared twice"), "{err}");
}
