//! TaskScheduler on synthetic histories: warm-up order, gradient picks, weights, dead tasks.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::{SchedulerConfig, TaskScheduler};

/// A round: (trials measured, best latency of the round).
type Round = (usize, Option<f64>);

fn greedy() -> SchedulerConfig {
    SchedulerConfig {
        epsilon: 0.0,
        ..SchedulerConfig::default()
    }
}

/// A scheduler fed `history[i]` for task `i` (rounds in order).
fn fed(weights: &[f64], config: SchedulerConfig, history: &[&[Round]]) -> TaskScheduler {
    let mut s = TaskScheduler::new(weights, config).unwrap();
    for (task, rounds) in history.iter().enumerate() {
        for &(n, best) in rounds.iter() {
            s.observe(task, n, best).unwrap();
        }
    }
    s
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

#[test]
fn warm_up_goes_through_every_task_in_order() {
    let mut s = TaskScheduler::new(&[1.0, 50.0, 3.0], greedy()).unwrap();
    let mut r = rng();
    let mut picks = Vec::new();
    for lat in [1e-3, 2e-3, 3e-3] {
        let t = s.next_task(&mut r).unwrap();
        picks.push(t);
        s.observe(t, 8, Some(lat)).unwrap();
    }
    assert_eq!(picks, vec![0, 1, 2]);
    // Warm-up consumed no randomness: the next draw equals a fresh generator's.
    use rand::Rng;
    assert_eq!(r.random::<u64>(), rng().random::<u64>());
}

/// (weights, histories, expected pick).
fn check(weights: &[f64], history: &[&[Round]], expect: Option<usize>) {
    let mut s = fed(weights, greedy(), history);
    let got = s.next_task(&mut rng());
    assert_eq!(
        got,
        expect,
        "weights {weights:?} history {history:?} gains {:?}",
        s.expected_gains()
    );
}

#[test]
fn gradient_picks() {
    // After one round each, the forward gradient is −best: the slower task gains most.
    check(
        &[1.0, 1.0],
        &[&[(8, Some(1e-3))], &[(8, Some(4e-3))]],
        Some(1),
    );
    check(
        &[1.0, 1.0],
        &[&[(8, Some(4e-3))], &[(8, Some(1e-3))]],
        Some(0),
    );
    // Weights: 10 x 1 ms outweighs 1 x 4 ms.
    check(
        &[10.0, 1.0],
        &[&[(8, Some(1e-3))], &[(8, Some(4e-3))]],
        Some(0),
    );
    // More rounds make the optimistic forward guess smaller (best/r): task 0 with 4 flat rounds
    // expects 1/4 of 2 ms = 0.5 ms, task 1 after one round expects all of 1 ms.
    let flat: &[Round] = &[(8, Some(2e-3)); 4];
    check(&[1.0, 1.0], &[flat, &[(8, Some(1e-3))]], Some(1));
    // The backward window: same best and rounds, but task 1 improved fast recently.
    let steady: &[Round] = &[(8, Some(2e-3)); 5];
    let falling: &[Round] = &[
        (8, Some(8e-3)),
        (8, Some(6e-3)),
        (8, Some(4e-3)),
        (8, Some(3e-3)),
        (8, Some(2e-3)),
    ];
    check(&[1.0, 1.0], &[steady, falling], Some(1));
    check(&[1.0, 1.0], &[falling, steady], Some(0));
    // Failed rounds in between keep the best: no gradient from a None.
    check(
        &[1.0, 1.0],
        &[&[(8, Some(3e-3)), (8, None)], &[(8, Some(1e-3))]],
        Some(0),
    );
}

#[test]
fn expected_gains_match_the_formula() {
    // Task 0: 4 rounds 8,6,4,2 ms (W = 3): backward (2-8)/3 = -2 ms, forward 2/4 = -0.5 ms.
    let s = fed(
        &[3.0],
        greedy(),
        &[&[
            (8, Some(8e-3)),
            (8, Some(6e-3)),
            (8, Some(4e-3)),
            (8, Some(2e-3)),
        ]],
    );
    let gain = s.expected_gains()[0].unwrap();
    let expect = 3.0 * (0.2 * 2e-3 + 0.8 * 0.5e-3);
    assert!((gain - expect).abs() < 1e-15, "{gain} vs {expect}");
}

#[test]
fn similar_task_term_raises_the_gain_of_a_lagging_task() {
    // Two tasks with equal flops and the same group; task 1 is 10x slower than task 0.
    // After 10 rounds each the optimistic guess is small (best/10), but task 1 could reach
    // beta=2 x task 0's latency: 2 ms instead of 10 ms, a gain of 8 ms x 0.8.
    let a: &[Round] = &[(8, Some(1e-3)); 10];
    let b: &[Round] = &[(8, Some(10e-3)); 10];
    let mut s = fed(&[1.0, 1.0], greedy(), &[a, b]);
    let before = s.expected_gains()[1].unwrap();
    s.set_similarity(&[Some("conv2d".into()), Some("conv2d".into())], &[1e9, 1e9])
        .unwrap();
    let after = s.expected_gains()[1].unwrap();
    assert!((before - 0.8 * 1e-3).abs() < 1e-12, "{before}");
    assert!((after - 0.8 * 8e-3).abs() < 1e-12, "{after}");
    // Task 0 is the group's best: its own guess (beta x itself) is worse than the optimistic one.
    assert!((s.expected_gains()[0].unwrap() - 0.8 * 1e-4).abs() < 1e-15);
}

#[test]
fn dead_tasks_are_skipped() {
    // Exhausted (a round that measured nothing): never picked, though it is the slowest.
    check(
        &[1.0, 1.0],
        &[&[(8, Some(9e-3)), (0, None)], &[(8, Some(1e-3))]],
        Some(1),
    );
    // Failed every round (max_failed_rounds = 2): dead.
    check(
        &[1.0, 1.0],
        &[&[(8, None), (8, None)], &[(8, Some(1e-3))]],
        Some(1),
    );
    // Failed only its warm-up: retried before anything else.
    check(&[1.0, 1.0], &[&[(8, Some(1e-3))], &[(8, None)]], Some(1));
    // Everything dead: None.
    check(&[1.0, 1.0], &[&[(0, None)], &[(8, None), (4, None)]], None);
    // mark_exhausted.
    let mut s = fed(
        &[1.0, 1.0],
        greedy(),
        &[&[(8, Some(9e-3))], &[(8, Some(1e-3))]],
    );
    s.mark_exhausted(0);
    assert!(s.is_dead(0));
    assert_eq!(s.next_task(&mut rng()), Some(1));
}

#[test]
fn patience_kills_stale_tasks() {
    let config = SchedulerConfig {
        patience_rounds: Some(2),
        ..greedy()
    };
    let s = fed(
        &[1.0, 1.0],
        config,
        &[
            &[(8, Some(5e-3)), (8, Some(5e-3)), (8, Some(6e-3))],
            &[(8, Some(2e-3)), (8, Some(1e-3))],
        ],
    );
    assert!(s.is_dead(0));
    assert!(!s.is_dead(1));
}

#[test]
fn estimated_latency_is_the_weighted_sum_of_bests() {
    let mut s = TaskScheduler::new(&[2.0, 3.0], greedy()).unwrap();
    assert_eq!(s.estimated_latency_s(), None);
    s.observe(0, 4, Some(1e-3)).unwrap();
    assert_eq!(s.estimated_latency_s(), None);
    s.observe(1, 4, Some(2e-3)).unwrap();
    s.observe(1, 4, Some(3e-3)).unwrap(); // a worse round keeps the best
    assert!((s.estimated_latency_s().unwrap() - 8e-3).abs() < 1e-15);
    assert_eq!((s.rounds(1), s.trials(1)), (2, 8));
}

#[test]
fn epsilon_greedy_is_seeded_and_explores() {
    let config = SchedulerConfig {
        epsilon: 0.5,
        ..SchedulerConfig::default()
    };
    let run = |seed: u64| {
        let mut s = fed(
            &[1.0, 1.0, 1.0],
            config.clone(),
            &[&[(8, Some(9e-3))], &[(8, Some(1e-3))], &[(8, Some(1e-3))]],
        );
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..40)
            .map(|_| {
                let t = s.next_task(&mut r).unwrap();
                s.observe(t, 8, s.best_latency_s(t)).unwrap();
                t
            })
            .collect::<Vec<_>>()
    };
    let a = run(3);
    assert_eq!(a, run(3));
    assert!(a.contains(&1) && a.contains(&2), "{a:?}");
    assert!(a.iter().filter(|&&t| t == 0).count() > 10, "{a:?}");
}

#[test]
fn invalid_inputs_are_errors() {
    assert!(TaskScheduler::new(&[1.0, 0.0], greedy()).is_err());
    assert!(TaskScheduler::new(&[f64::NAN], greedy()).is_err());
    let bad = SchedulerConfig {
        backward_window: 0,
        ..greedy()
    };
    assert!(TaskScheduler::new(&[1.0], bad).is_err());
    let mut s = TaskScheduler::new(&[1.0], greedy()).unwrap();
    assert!(s.observe(1, 8, Some(1e-3)).is_err());
    assert!(s.observe(0, 8, Some(-1.0)).is_err());
    assert!(s.set_similarity(&[None, None], &[1.0, 1.0]).is_err());
}

/// Simulated network: task `i`'s best after `r` rounds is `base_i · (1 + k_i / r)`. Over the
/// same number of rounds, the gradient scheduler ends with a lower weighted latency than
/// round robin, because it spends rounds where weight × remaining improvement is large.
#[test]
fn beats_round_robin_on_a_simulated_network() {
    let weights = [1.0, 8.0, 2.0, 1.0];
    let base = [1e-3, 1e-3, 3e-3, 0.5e-3];
    let k = [2.0, 4.0, 1.0, 8.0];
    let latency = |i: usize, r: usize| base[i] * (1.0 + k[i] / r as f64);
    let rounds = 40;
    let simulate = |pick: &mut dyn FnMut(&mut TaskScheduler) -> usize| {
        let mut s = TaskScheduler::new(&weights, greedy()).unwrap();
        for _ in 0..rounds {
            let t = pick(&mut s);
            let r = s.rounds(t) + 1;
            s.observe(t, 8, Some(latency(t, r))).unwrap();
        }
        s.estimated_latency_s().unwrap()
    };
    let mut r = rng();
    let gradient = simulate(&mut |s| s.next_task(&mut r).unwrap());
    let mut next = 0;
    let round_robin = simulate(&mut |_| {
        next += 1;
        (next - 1) % 4
    });
    assert!(
        gradient < 0.97 * round_robin,
        "gradient {gradient} vs round robin {round_robin}"
    );
}
