//! Policy comparison: the statistics on hand-checked synthetic curves, and the harness
//! driving the real Tuner against a deterministic synthetic measurer.

use tilegrad_search::compare::{CurveSample, Reach};
use tilegrad_search::confirm::Pick;
use tilegrad_search::{summarize, Comparison, RunCurve};

/// A run whose trial `j` (1-based) finished at `j · dt` seconds with best `best[j-1]`.
fn run(policy: &str, task: &str, seed: u64, dt: f64, best: &[Option<f64>]) -> RunCurve {
    RunCurve {
        policy: policy.into(),
        task: task.into(),
        seed,
        samples: best
            .iter()
            .enumerate()
            .map(|(j, &b)| CurveSample {
                trial: j + 1,
                elapsed_s: (j + 1) as f64 * dt,
                best_gflops: b,
            })
            .collect(),
        trials: best.len(),
        wall_s: 10.0,
        build_measure_s: 8.0 + seed as f64,
        picks: Vec::new(),
        disturbed: 0,
    }
}

/// Task A, reference 100 (gradient seed 0). Random seed 1 never succeeds.
fn runs() -> Vec<RunCurve> {
    let s = Some;
    vec![
        run(
            "gradient",
            "A",
            0,
            1.0,
            &[s(50.0), s(92.0), s(96.0), s(100.0)],
        ),
        run("gradient", "A", 1, 2.0, &[None, s(95.0), s(95.0), s(95.0)]),
        run("random", "A", 0, 0.5, &[s(10.0), s(20.0), s(30.0), s(91.0)]),
        run("random", "A", 1, 0.5, &[None, None, None, None]),
    ]
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-12,
        (x, y) => x == y,
    }
}

/// (policy, threshold) -> (reached, runs, trials geomean, seconds geomean, censored).
fn check(
    c: &Comparison,
    policy: &str,
    q: f64,
    expect: (usize, usize, Option<f64>, Option<f64>, f64),
) {
    let row = c.row(policy).unwrap();
    let r: &Reach = row.reach.iter().find(|r| r.threshold == q).unwrap();
    let ok = (r.reached, r.runs) == (expect.0, expect.1)
        && close(r.trials_geomean, expect.2)
        && close(r.seconds_geomean, expect.3)
        && close(r.trials_geomean_censored, Some(expect.4));
    assert!(ok, "{policy} at {q}: {r:?}, expected {expect:?}");
}

#[test]
fn thresholds_hand_checked() {
    let c = summarize(&runs(), &[0.90, 0.95, 0.99]).unwrap();
    assert_eq!(c.tasks.len(), 1);
    assert_eq!(c.tasks[0].best_gflops, 100.0);
    assert_eq!(c.tasks[0].best_policy.as_deref(), Some("gradient"));
    let sqrt = f64::sqrt;
    // 90%: gradient at trials 2 (2 s) and 2 (4 s); random at 4 (2 s), seed 1 never.
    check(
        &c,
        "gradient",
        0.90,
        (2, 2, Some(2.0), Some(sqrt(8.0)), 2.0),
    );
    check(&c, "random", 0.90, (1, 2, Some(4.0), Some(2.0), 4.0));
    // 95%: gradient at 3 (3 s) and 2 (4 s); random never (censored at its 4 trials).
    check(
        &c,
        "gradient",
        0.95,
        (2, 2, Some(sqrt(6.0)), Some(sqrt(12.0)), sqrt(6.0)),
    );
    check(&c, "random", 0.95, (0, 2, None, None, 4.0));
    // 99%: only gradient seed 0, at 4.
    check(&c, "gradient", 0.99, (1, 2, Some(4.0), Some(4.0), 4.0));
    let g = c.row("gradient").unwrap();
    let r = c.row("random").unwrap();
    assert_eq!(
        (g.final_best[0].mean_gflops, g.final_best[0].max_gflops),
        (97.5, 100.0)
    );
    assert_eq!(
        (r.final_best[0].mean_gflops, r.final_best[0].max_gflops),
        (45.5, 91.0)
    );
    assert!(close(g.final_ratio_geomean, Some(sqrt(0.95))));
    assert!(close(r.final_ratio_geomean, Some(0.91)));
    // Mean final over the top mean (gradient's 97.5).
    assert!(close(g.mean_final_vs_top, Some(1.0)));
    assert!(close(r.mean_final_vs_top, Some(45.5 / 97.5)));
    // Overhead: 1 − (8 + 9) / 20.
    assert!(close(g.search_overhead_share, Some(0.15)));
}

#[test]
fn references_are_per_task() {
    let mut all = runs();
    all.push(run("random", "B", 0, 1.0, &[Some(5.0)]));
    all.push(run("gradient", "B", 0, 1.0, &[Some(4.0)]));
    let c = summarize(&all, &[0.9]).unwrap();
    assert_eq!(c.tasks[1].task, "B");
    assert_eq!(c.tasks[1].best_policy.as_deref(), Some("random"));
    // Gradient on B (4 < 4.5) does not reach 90%: 2 of its 3 runs do.
    let (sqrt8, cbrt4) = (8f64.sqrt(), 4f64.cbrt());
    check(&c, "gradient", 0.90, (2, 3, Some(2.0), Some(sqrt8), cbrt4));
    // Mean final over the top mean, per task then geomean: gradient 1 on A, 4/5 on B;
    // random 45.5/97.5 on A, 1 on B.
    let g = c.row("gradient").unwrap().mean_final_vs_top;
    let r = c.row("random").unwrap().mean_final_vs_top;
    assert!(close(g, Some(0.8f64.sqrt())), "{g:?}");
    assert!(close(r, Some((45.5f64 / 97.5).sqrt())), "{r:?}");
}

#[test]
fn text_and_json() {
    let c = summarize(&runs(), &[0.90, 0.95]).unwrap();
    let text = c.to_text();
    for needle in [
        "reach 95%",
        "gradient",
        "random",
        "0/2",
        "2/2",
        "final best",
        "mean/top",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    // Equal up to the last bit of floats (serde_json parses without `float_roundtrip`).
    let back = Comparison::from_json(&c.to_json().unwrap()).unwrap();
    assert_eq!(back.to_text(), text);
    assert_eq!(
        (back.tasks, back.thresholds),
        (c.tasks.clone(), c.thresholds.clone())
    );
    assert!(summarize(&runs(), &[1.5]).is_err());
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn disturbed_measurements_are_counted_and_flagged() {
    let mut all = runs();
    all[0].disturbed = 2;
    all[2] = confirmed(all[2].clone(), &[(1, 60.0, 58.0), (2, 70.0, 66.0)]);
    all[2].picks[1].disturbed = 1;
    let c = summarize(&all, &[0.9]).unwrap();
    let total: usize = all.iter().map(|r| r.trials).sum();
    assert_eq!(
        c.disturbed,
        tilegrad_search::Disturbed {
            trials: 2,
            of_trials: total,
            picks: 1
        }
    );
    let text = c.to_text();
    let want = format!("warning: 2 of {total} trials, and the confirmation of 1 picks");
    assert!(text.contains(&want), "{text}");
}

/// `curve` with confirmed picks `(trial, measured, confirmed)`.
fn confirmed(mut curve: RunCurve, picks: &[(usize, f64, f64)]) -> RunCurve {
    curve.picks = picks
        .iter()
        .map(|&(trial, measured, confirmed)| Pick {
            trial,
            elapsed_s: trial as f64,
            sketch: "s".into(),
            assignment: format!("a={trial}"),
            measured_gflops: measured,
            confirmed_gflops: Some(confirmed),
            disturbed: 0,
        })
        .collect();
    curve
}

#[test]
fn confirmed_picks_decide_a_confirmed_task() {
    let s = Some;
    // Measured, gradient's lucky 120 at trial 4 is the reference and random never gets near
    // it; re-measured, that pick is 80 and random's trial-3 pick (90) is the best.
    let all = vec![
        confirmed(
            run(
                "gradient",
                "A",
                0,
                1.0,
                &[s(50.0), s(70.0), s(70.0), s(120.0)],
            ),
            &[(1, 50.0, 55.0), (2, 70.0, 86.0), (4, 120.0, 80.0)],
        ),
        confirmed(
            run("random", "A", 0, 1.0, &[s(60.0), s(60.0), s(88.0), s(88.0)]),
            &[(1, 60.0, 60.0), (3, 88.0, 90.0)],
        ),
    ];
    let c = summarize(&all, &[0.95]).unwrap();
    assert!(c.tasks[0].confirmed);
    assert_eq!(c.tasks[0].best_gflops, 90.0);
    assert_eq!(c.tasks[0].best_policy.as_deref(), Some("random"));
    // 95% of 90 = 85.5: gradient's trial-2 pick (86), random's trial 3.
    check(&c, "gradient", 0.95, (1, 1, Some(2.0), Some(2.0), 2.0));
    check(&c, "random", 0.95, (1, 1, Some(3.0), Some(3.0), 3.0));
    // Final: the last pick, whatever an earlier one was worth.
    let g = c.row("gradient").unwrap();
    assert_eq!(g.final_best[0].mean_gflops, 80.0);
    assert!(close(g.final_ratio_geomean, Some(80.0 / 90.0)));
    assert!(c.to_text().contains("confirmed"));
    // Picks measured/confirmed: 50/55, 70/86, 120/80, 60/60, 88/90; gradient's second change
    // (86 -> 80) was slower when confirmed, so it ends below its own best; median ratio 88/90.
    let n = c.noise.as_ref().unwrap();
    assert_eq!((n.picks, n.runs, n.changes, n.slower_changes), (5, 2, 3, 1));
    assert_eq!(n.runs_ending_below_own_best, 1);
    assert!(close(Some(n.measured_over_confirmed), Some(88.0 / 90.0)));
    assert!(
        c.to_text().contains("1 of 3 pick changes were slower"),
        "{}",
        c.to_text()
    );
    // One unconfirmed run: the whole task is judged as measured.
    let mut mixed = all.clone();
    mixed[1].picks[0].confirmed_gflops = None;
    let c = summarize(&mixed, &[0.95]).unwrap();
    assert!(!c.tasks[0].confirmed);
    assert_eq!(c.noise.as_ref().map(|n| n.runs), Some(1));
    assert_eq!(c.tasks[0].best_gflops, 120.0);
}

mod harness {
    //! The harness on the real Tuner with a synthetic measurer.

    use tilegrad_cost_model::{AnalyticConfig, AnalyticModel};
    use tilegrad_measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
    use tilegrad_search::{
        compare_policies, feature_spec, BenchConfig, BenchOutcome, ColdStart, PolicyKind, TuneTask,
        TunerConfig, TunerModel,
    };
    use tilegrad_symbolic::features::FEATURE_NAMES;
    use tilegrad_symbolic::Target;
    use tilegrad_templates::Workload;

    fn cpu() -> Target {
        Target::example_cpu()
    }

    /// Latency from the assignment text (FNV-1a): deterministic, any candidate answered.
    struct Synthetic {
        target: Target,
        asked: usize,
    }

    impl Measurer for Synthetic {
        fn target(&self) -> &Target {
            &self.target
        }
        fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
            self.asked += batch.len();
            batch
                .iter()
                .map(|m| {
                    let text = format!("{}|{}", m.sketch.id, m.assignment);
                    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    });
                    let lat = 1e-4 * (1.0 + (h % 1000) as f64 / 100.0);
                    Ok(Measurement {
                        timing: Timing::from_samples(vec![lat])?,
                        build_s: 0.0,
                    })
                })
                .collect()
        }
    }

    fn analytic() -> TunerModel {
        let col = |n: &str| FEATURE_NAMES.iter().position(|&x| x == n).unwrap();
        let m = AnalyticModel::new(
            &feature_spec(),
            AnalyticConfig {
                flops_col: col("float_ops"),
                bytes_col: col("b1.unique_bytes"),
                peak_flops: 1e12,
                bandwidth: 1e10,
                overhead_s: 1e-6,
                sharpness: 4.0,
            },
        )
        .unwrap();
        TunerModel::Single(Box::new(m))
    }

    /// The harness on matmul 64^3 with the synthetic measurer: the outcome, each run's
    /// (policy, seed, trials) in run order, and how many candidates were measured.
    fn bench(config: &BenchConfig) -> (BenchOutcome, Vec<(PolicyKind, u64, usize)>, usize) {
        let target = cpu();
        let w: Workload = "matmul(M=64,N=64,K=64)".parse().unwrap();
        let tasks = vec![TuneTask::new(w, 1.0, &target).unwrap()];
        let mut m = Synthetic {
            target: target.clone(),
            asked: 0,
        };
        let mut reports = Vec::new();
        let out = compare_policies(
            &target,
            &tasks,
            config,
            &mut |_| Ok(analytic()),
            &mut m,
            &mut |_, _| {},
            &mut |id, r| reports.push((id.policy, id.seed, r.total_trials)),
        )
        .unwrap();
        (out, reports, m.asked)
    }

    #[test]
    fn runs_every_policy_seed_and_task_within_budget() {
        let gradient = tilegrad_search::GradientConfig {
            n_starts: 8,
            n_steps: 10,
            ..Default::default()
        };
        let config = BenchConfig {
            seeds: vec![1, 2],
            thresholds: vec![0.9, 0.95],
            tuner: TunerConfig {
                max_trials: 12,
                per_round: 4,
                cold_start: ColdStart::Model,
                gradient,
                ..TunerConfig::default()
            },
            ..BenchConfig::default()
        };
        let go = || bench(&config);
        let (out, reports, asked) = go();
        assert_eq!(out.curves.len(), 6);
        let order: Vec<(PolicyKind, u64)> = reports.iter().map(|r| (r.0, r.1)).collect();
        use PolicyKind::*;
        let expect = [(Gradient, 1), (Evolutionary, 1), (Random, 1)];
        assert_eq!(&order[..3], &expect);
        assert!(reports.iter().all(|r| r.2 <= 12), "{reports:?}");
        assert_eq!(asked, reports.iter().map(|r| r.2).sum::<usize>());
        let best = out.comparison.tasks[0].best_gflops;
        let finals = out.curves.iter().filter_map(|c| c.final_gflops(false));
        assert_eq!(finals.fold(0.0, f64::max), best);
        assert_eq!(out.comparison.policies.len(), 3);
        // Deterministic apart from times: the same trials and bests again.
        let (again, _, _) = go();
        let strip = |o: &BenchOutcome| {
            o.curves
                .iter()
                .map(|c| (c.policy.clone(), c.seed, c.trials, c.final_gflops(false)))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&out), strip(&again));
    }

    #[test]
    fn confirmation_remeasures_every_runs_picks() {
        let config = BenchConfig {
            policies: vec![PolicyKind::Random, PolicyKind::Evolutionary],
            seeds: vec![3],
            thresholds: vec![0.95],
            tuner: TunerConfig {
                max_trials: 12,
                per_round: 4,
                ..TunerConfig::default()
            },
            confirm: 3,
        };
        let (out, reports, asked) = bench(&config);
        let trials: usize = reports.iter().map(|r| r.2).sum();
        let mut distinct: Vec<(String, String)> = out
            .curves
            .iter()
            .flat_map(|c| {
                c.picks
                    .iter()
                    .map(|p| (p.sketch.clone(), p.assignment.clone()))
            })
            .collect();
        distinct.sort();
        distinct.dedup();
        assert!(!distinct.is_empty());
        assert_eq!(asked, trials + 3 * distinct.len());
        for c in &out.curves {
            // One pick per improving round, the last one the run's best.
            assert!(!c.picks.is_empty() && c.picks.len() <= 3, "{:?}", c.picks);
            assert_eq!(
                c.picks.last().map(|p| p.measured_gflops),
                c.measured_final()
            );
            // The synthetic measurer answers the same again.
            for p in &c.picks {
                assert_eq!(p.confirmed_gflops, Some(p.measured_gflops), "{p:?}");
            }
        }
        assert!(out.comparison.tasks[0].confirmed);
    }
}
