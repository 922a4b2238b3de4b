//! ReportBuilder on synthetic rounds: curves, bests, time split, failures, network latency,
//! calibration, JSON round trip.

use tilegrad_search::report::RoundCalibration;
use tilegrad_search::report_builder::round_calibration;
use tilegrad_search::{
    Report, ReportBuilder, RoundStats, RunMeta, TaskInfo, TimeSplit, Trial, TrialResult,
    REPORT_VERSION,
};

fn ok(assignment: &str, predicted: f64, median_s: f64) -> Trial {
    Trial {
        sketch: "cpu-tiling".into(),
        assignment: assignment.into(),
        predicted: Some(predicted),
        elapsed_s: None,
        result: TrialResult::Ok { median_s },
        interference: None,
    }
}

fn failed(assignment: &str, kind: &str) -> Trial {
    Trial {
        sketch: "cpu-tiling".into(),
        assignment: assignment.into(),
        predicted: Some(0.0),
        elapsed_s: None,
        result: TrialResult::Failed { kind: kind.into() },
        interference: None,
    }
}

fn time(search_s: f64, build_s: f64, measure_s: f64, train_s: f64) -> TimeSplit {
    TimeSplit {
        search_s,
        build_s,
        measure_s,
        train_s,
    }
}

fn meta() -> RunMeta {
    RunMeta {
        tilegrad_version: "0.1.0".into(),
        target: "cpu".into(),
        policy: "gradient".into(),
        seed: 3,
        max_trials: Some(6),
        per_round: 2,
        ..RunMeta::default()
    }
}

/// Two tasks (latencies are powers of two so GFLOP/s are exact): A (weight 2, 2 GFLOP) and B (weight 1, 1 GFLOP); three rounds A, B, A.
fn built() -> Report {
    let tasks = vec![
        TaskInfo {
            workload: "matmul(M=512,N=512,K=512)".into(),
            key: "00000000000000aa".into(),
            weight: 2.0,
            flops: 2e9,
        },
        TaskInfo {
            workload: "matmul(M=256,N=256,K=256)".into(),
            key: "00000000000000bb".into(),
            weight: 1.0,
            flops: 1e9,
        },
    ];
    let mut b = ReportBuilder::new(meta(), tasks).unwrap();
    let r0 = RoundStats {
        elapsed_s: 1.0,
        time: time(0.1, 0.3, 0.5, 0.0),
        trials: vec![ok("a=1", 1.0, 0.03125), failed("a=2", "build_error")],
        best: None,
    };
    let mut calm = ok("b=2", 2.0, 0.02);
    calm.interference = Some(0.1); // below tilegrad_measure::DISTURBED
    let r1 = RoundStats {
        elapsed_s: 2.0,
        time: time(0.1, 0.2, 0.4, 0.1),
        trials: vec![ok("b=1", 1.0, 0.01), calm],
        best: None,
    };
    let mut late = ok("a=4", 3.0, 0.015625);
    late.elapsed_s = Some(2.5);
    late.interference = Some(0.5); // timed while another process ran: disturbed
    let r2 = RoundStats {
        elapsed_s: 3.0,
        time: time(0.2, 0.2, 0.3, 0.1),
        trials: vec![late, failed("a=3", "wrong_answer")],
        best: None,
    };
    b.round(0, r0).unwrap();
    assert_eq!(b.snapshot(1.5).meta.stop_reason, None);
    b.round(1, r1).unwrap();
    b.round(0, r2).unwrap();
    b.finish("trial_budget", 3.2)
}

#[test]
fn curves_bests_and_totals() {
    let r = built();
    assert_eq!(r.report_version, REPORT_VERSION);
    assert_eq!((r.total_trials, r.rounds), (6, 3));
    assert_eq!(r.meta.stop_reason.as_deref(), Some("trial_budget"));
    assert_eq!(r.meta.wall_s, 3.2);
    let a = &r.tasks[0];
    // (trial, global_trial, elapsed_s, best_latency_s, best_gflops)
    let curve: Vec<_> = a
        .curve
        .iter()
        .map(|p| {
            (
                p.trial,
                p.global_trial,
                p.elapsed_s,
                p.best_latency_s,
                p.best_gflops,
            )
        })
        .collect();
    let expect = vec![
        (1, 1, 1.0, Some(0.03125), Some(64.0)),
        (2, 2, 1.0, Some(0.03125), Some(64.0)),
        (3, 5, 2.5, Some(0.015625), Some(128.0)),
        (4, 6, 3.0, Some(0.015625), Some(128.0)),
    ];
    assert_eq!(curve, expect);
    let best = a.best.as_ref().unwrap();
    assert_eq!(
        (
            best.assignment.as_str(),
            best.median_s,
            best.trial,
            best.elapsed_s
        ),
        ("a=4", 0.015625, 3, 2.5)
    );
    assert_eq!(a.first_reaching(100.0).map(|p| p.trial), Some(3));
    assert_eq!(a.first_reaching(129.0), None);
    assert_eq!((a.trials, a.rounds, r.tasks[1].rounds), (4, 2, 1));
    assert_eq!(a.failures.get("build_error"), Some(&1));
    assert_eq!(r.failures.len(), 2);
    assert_eq!(
        a.round_log
            .iter()
            .map(|s| (s.round, s.task_round, s.successes, s.disturbed))
            .collect::<Vec<_>>(),
        vec![(0, 0, 1, 0), (2, 1, 1, 1)]
    );
    assert_eq!((a.disturbed, r.tasks[1].disturbed), (1, 0));
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    assert!(close(a.time.measure_s, 0.8) && close(r.time.total_s(), 2.5));
    // Overhead: 1 - (build 0.7 + measure 1.2) / 3.2.
    assert!(close(r.search_overhead_share().unwrap(), 1.0 - 1.9 / 3.2));
}

#[test]
fn network_latency_over_rounds() {
    let r = built();
    let net: Vec<_> = r
        .network
        .iter()
        .map(|p| (p.round, p.task, p.global_trial, p.latency_s))
        .collect();
    // After round 1: 2 x 0.03125 + 1 x 0.01; after round 2: 2 x 0.015625 + 0.01.
    let expect = [
        (0, 0, 2, None),
        (1, 1, 4, Some(0.0725)),
        (2, 0, 6, Some(0.04125)),
    ];
    assert_eq!(net.len(), expect.len());
    for (got, want) in net.iter().zip(expect) {
        assert_eq!((got.0, got.1, got.2), (want.0, want.1, want.2));
        match (got.3, want.3) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{g} vs {w}"),
            (g, w) => assert_eq!(g, w),
        }
    }
    assert!((r.network_latency_s().unwrap() - 0.04125).abs() < 1e-12);
}

#[test]
fn json_round_trip_and_version_check() {
    let r = built();
    let text = r.to_json().unwrap();
    assert_eq!(Report::from_json(&text).unwrap(), r);
    // Stable field names the notebook reads.
    for field in [
        "\"report_version\"",
        "\"best_gflops\"",
        "\"global_trial\"",
        "\"topk_recall\"",
        "\"stop_reason\"",
        "\"latency_s\"",
        "\"round_log\"",
    ] {
        assert!(text.contains(field), "{field}");
    }
    let other = text.replacen("\"report_version\": 1", "\"report_version\": 99", 1);
    assert!(Report::from_json(&other).is_err());
    assert!(Report::from_json("{}").is_err());
    assert!(Report::from_json("not json").is_err());
}

/// Hand-checked: predictions [4, 3, 2, 1] against latencies whose throughputs rank
/// [1st, 3rd, 2nd, 4th]: rank differences d = [0, 1, 1, 0], Spearman = 1 − 6·2/(4·15) = 0.8.
#[test]
fn calibration_hand_checked() {
    let trials = vec![
        ok("a", 4.0, 1.0),
        ok("b", 3.0, 3.0),
        ok("c", 2.0, 2.0),
        failed("x", "timeout"), // failures are not compared
        ok("d", 1.0, 4.0),
    ];
    let c = round_calibration(&trials, Some(2));
    assert_eq!((c.n, c.k), (4, 2));
    assert!((c.spearman.unwrap() - 0.8).abs() < 1e-12);
    // Predicted top-2 {a, b}, true top-2 {a, c}: recall 1/2.
    assert_eq!(c.topk_recall, Some(0.5));
    // Default k = ceil(4/4) = 1: the predicted best is the true best.
    let d = round_calibration(&trials, None);
    assert_eq!((d.k, d.topk_recall), (1, Some(1.0)));
    // Nothing to compare.
    let none = round_calibration(&[failed("x", "timeout")], None);
    let expect = RoundCalibration {
        n: 0,
        spearman: None,
        k: 1,
        topk_recall: None,
    };
    assert_eq!(none, expect);
}

#[test]
fn bad_input_is_an_error() {
    let task = TaskInfo {
        workload: "w".into(),
        key: "0".into(),
        weight: 1.0,
        flops: 1.0,
    };
    let mut b = ReportBuilder::new(meta(), vec![task.clone()]).unwrap();
    assert!(b.round(1, RoundStats::default()).is_err());
    let nan = RoundStats {
        trials: vec![ok("a", 1.0, f64::NAN)],
        ..RoundStats::default()
    };
    assert!(b.round(0, nan).is_err());
    let zero = TaskInfo {
        weight: 0.0,
        ..task
    };
    assert!(ReportBuilder::new(meta(), vec![zero]).is_err());
}
