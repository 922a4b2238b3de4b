//! The text form of assignments, parse errors and value access.

use tilegrad_symbolic::{ExprArena, Space, SymbolicError};

fn space() -> (ExprArena, Space) {
    let mut arena = ExprArena::new();
    arena.var("k"); // a loop variable, not part of the space
    let mut space = Space::new();
    space.add_split_group(&mut arena, "sp_0", 8, 2).unwrap();
    space
        .add_choice(&mut arena, "unroll", &[1, 16, 64])
        .unwrap();
    (arena, space)
}

#[test]
fn text_form_round_trips() {
    let (arena, space) = space();
    let a = space.assignment(&[4, 2, 64]).unwrap();
    assert_eq!(a.to_string(), "sp_0_0=4,sp_0_1=2,unroll=64");
    assert_eq!(space.parse_assignment(&a.to_string()).unwrap(), a);
    // Any order and surrounding whitespace are accepted.
    assert_eq!(
        space
            .parse_assignment(" unroll = 64, sp_0_1=2 ,sp_0_0=4 ")
            .unwrap(),
        a
    );
    assert!(space.is_legal(&a));
    let u = arena.lookup_var("unroll").unwrap();
    assert_eq!(a.value(u), Some(64));
    assert_eq!(a.value(arena.lookup_var("k").unwrap()), None);
    assert_eq!(a.value_of("sp_0_1"), Some(2));
    assert_eq!(a.value_of("nope"), None);
    assert_eq!(a.values_vec(&arena).unwrap(), vec![0.0, 4.0, 2.0, 64.0]);
    assert_eq!(a.names(), space.var_names());
    assert_eq!(a.vars(), &space.vars()[..]);
    assert_eq!(a.len(), 3);
    // A values vector too short for the assignment's variables is an error.
    assert!(a.write_values(&mut [0.0; 2]).is_err());
    // Every sampled assignment round-trips through text.
    let all = space.enumerate(1000).unwrap();
    assert_eq!(all.len(), 30);
    for a in all {
        assert_eq!(space.parse_assignment(&a.to_string()).unwrap(), a);
    }
}

#[test]
fn empty_space_has_the_empty_assignment() {
    let space = Space::new();
    let a = space.parse_assignment("").unwrap();
    assert!(a.is_empty());
    assert_eq!(a.to_string(), "");
    assert!(space.is_legal(&a));
    assert_eq!(space.size(), 1.0);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    assert_eq!(space.sample(&mut rng).unwrap(), a);
}

/// `check(text, expect)`: parsing `text` fails with an error whose message contains `expect`.
fn check_parse_error(space: &Space, text: &str, expect: &str) {
    match space.parse_assignment(text) {
        Ok(a) => panic!("`{text}` parsed as {a}"),
        Err(e) => assert!(
            e.to_string().contains(expect),
            "`{text}`: error `{e}` lacks `{expect}`"
        ),
    }
}

#[test]
fn parse_errors_name_the_problem() {
    let (_, space) = space();
    let cases = [
        (
            "sp_0_0=4,sp_0_1",
            "parse error at byte 9: expected `name=value`, found `sp_0_1`",
        ),
        (
            "sp_0_0=x,sp_0_1=2,unroll=1",
            "parse error at byte 7: value of `sp_0_0` must be a non-negative integer",
        ),
        ("sp_0_0=-1,sp_0_1=2,unroll=1", "byte 7"),
        ("sp_0_0=,sp_0_1=2,unroll=1", "found ``"),
        ("sp_0_0=4,,unroll=1", "byte 9: expected `name=value`"),
        ("=4", "bad variable name"),
        ("a b=4", "bad variable name"),
        (
            "sp_0_0=99999999999999999999999,sp_0_1=2,unroll=1",
            "overflows u64",
        ),
        ("sp_0_0=4,sp_0_1=2,unroll=1,vec=4", "unknown variable `vec`"),
        (
            "sp_0_0=4,sp_0_1=2,sp_0_0=1,unroll=1",
            "variable `sp_0_0` given twice",
        ),
        ("sp_0_0=4,unroll=1", "missing variable(s) sp_0_1"),
        ("", "missing variable(s) sp_0_0, sp_0_1, unroll"),
    ];
    for (text, expect) in cases {
        check_parse_error(&space, text, expect);
    }
    assert!(matches!(
        space.parse_assignment("x"),
        Err(SymbolicError::Parse { pos: 0, .. })
    ));
    assert!(matches!(
        space.parse_assignment("x=1"),
        Err(SymbolicError::AssignmentMismatch(_))
    ));
    // Parsing does not check legality; check does.
    let a = space
        .parse_assignment("sp_0_0=4,sp_0_1=4,unroll=3")
        .unwrap();
    assert!(matches!(
        space.check(&a),
        Err(SymbolicError::NotDivisible { .. })
    ));
}

#[test]
fn pairs_parse_without_a_space() {
    let pairs = tilegrad_symbolic::Assignment::parse_pairs("a=1, b = 22").unwrap();
    assert_eq!(pairs, vec![("a".to_string(), 1), ("b".to_string(), 22)]);
    assert!(tilegrad_symbolic::Assignment::parse_pairs("   ")
        .unwrap()
        .is_empty());
}

#[test]
fn serde_round_trips_and_rejects_repeated_variables() {
    let (_, space) = space();
    let a = space.assignment(&[2, 4, 16]).unwrap();
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        json,
        r#"[{"var":1,"name":"sp_0_0","value":2},{"var":2,"name":"sp_0_1","value":4},{"var":3,"name":"unroll","value":16}]"#
    );
    let back: tilegrad_symbolic::Assignment = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    assert!(space.is_legal(&back));
    let dup = r#"[{"var":1,"name":"a","value":2},{"var":1,"name":"b","value":4}]"#;
    let err = serde_json::from_str::<tilegrad_symbolic::Assignment>(dup).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}
