//! Head-to-head confirmation of new bests (`TunerConfig::confirm_best`) against a measurer
//! whose first timing of some candidates is lucky (a twentieth of their true time, so that one
//! beats every true time whatever was sampled), as a busy shared
//! machine gives: with confirmation the tuner, its report, the database and a resumed run all
//! end on the truly fastest candidate measured, at its true time; without it, on a lucky one.

use std::collections::HashMap;

use tilegrad_cost_model::{EnsembleModel, MlpConfig};
use tilegrad_datasets::{Record, ScheduleDb, TuningLog};
use tilegrad_measure::record::target_info;
use tilegrad_measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
use tilegrad_search::{
    feature_spec, PolicyKind, TuneOutcome, TuneTask, Tuner, TunerConfig, TunerModel,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::Workload;

const WORKLOAD: &str = "matmul(M=64,N=64,K=64)";

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The true latency of a candidate (deterministic, spread over a factor of ~10).
fn true_latency(sketch: &str, assignment: &str) -> f64 {
    let h = hash(&format!("{sketch}|{assignment}"));
    1e-4 * (1.0 + (h % 1000) as f64 / 100.0)
}

/// Answers every candidate with its true latency, except the first measurement of every
/// third candidate (by hash), which is lucky: a twentieth of the true latency (the true
/// latencies spread over a factor of ~10).
struct Lucky {
    target: Target,
    measured: HashMap<String, usize>,
    calls: usize,
}

impl Measurer for Lucky {
    fn target(&self) -> &Target {
        &self.target
    }
    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        self.calls += batch.len();
        batch
            .iter()
            .map(|m| {
                let a = m.assignment.to_string();
                let key = format!("{}|{a}", m.sketch.id);
                let n = self.measured.entry(key.clone()).or_default();
                *n += 1;
                let t = true_latency(&m.sketch.id, &a);
                let lucky = *n == 1 && hash(&key).is_multiple_of(3);
                Ok(Measurement {
                    timing: Timing::from_samples(vec![if lucky { t / 20.0 } else { t }])?,
                    build_s: 0.0,
                })
            })
            .collect()
    }
}

fn task() -> TuneTask {
    let w: Workload = WORKLOAD.parse().unwrap();
    TuneTask::new(w, 1.0, &Target::example_cpu()).unwrap()
}

fn model() -> TunerModel {
    let cfg = MlpConfig {
        hidden: 16,
        seed: 2,
        ..MlpConfig::default()
    };
    TunerModel::Ensemble(EnsembleModel::new(&feature_spec(), "test cpu", cfg, 2).unwrap())
}

fn config(confirm_best: usize, trials: usize) -> TunerConfig {
    TunerConfig {
        max_trials: trials,
        per_round: 8,
        seed: 4,
        policy: PolicyKind::Random,
        confirm_best,
        ..TunerConfig::default()
    }
}

/// A run of `trials` (after resuming `resume`), logging to `log`.
fn tune(
    confirm_best: usize,
    trials: usize,
    log: &std::path::Path,
    resume: &[Record],
) -> (TuneOutcome, Lucky) {
    let mut m = Lucky {
        target: Target::example_cpu(),
        measured: HashMap::new(),
        calls: 0,
    };
    let mut tuner = Tuner::new(
        Target::example_cpu(),
        vec![task()],
        model(),
        config(confirm_best, trials),
    )
    .unwrap()
    .with_log(TuningLog::open(log).unwrap());
    if !resume.is_empty() {
        let st = tuner.resume(resume).unwrap();
        assert_eq!(st.duplicates, 0, "confirmation records are not duplicates");
    }
    let out = tuner.run(&mut m, &mut |_| {}).unwrap();
    (out, m)
}

fn is_confirm(r: &Record) -> bool {
    r.provenance.policy == "confirm"
}

/// The report's best-so-far curve never rises in latency (nor falls in GFLOP/s), in trial
/// order and in time, and neither does its network estimate.
fn assert_curve_non_increasing(report: &tilegrad_search::Report) {
    for t in &report.tasks {
        for w in t.curve.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!(a.elapsed_s <= b.elapsed_s, "{a:?} then {b:?}");
            if let Some(la) = a.best_latency_s {
                assert!(
                    b.best_latency_s.is_some_and(|lb| lb <= la),
                    "{a:?} then {b:?}"
                );
                assert!(b.best_gflops >= a.best_gflops, "{a:?} then {b:?}");
            }
        }
    }
    for w in report.network.windows(2) {
        if let Some(la) = w[0].latency_s {
            assert!(w[1].latency_s.is_some_and(|lb| lb <= la), "{w:?}");
        }
    }
}

#[test]
fn a_lucky_timing_never_becomes_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let (out, m) = tune(2, 40, &path, &[]);
    let records = TuningLog::read(&path).unwrap().records;
    let trials: Vec<&Record> = records.iter().filter(|r| !is_confirm(r)).collect();
    let confirms: Vec<&Record> = records.iter().filter(|r| is_confirm(r)).collect();
    assert_eq!((out.trials, trials.len()), (40, 40));
    assert!(!confirms.is_empty(), "no head-to-head happened");
    // Two re-measurements of two candidates per head-to-head, one record each.
    assert_eq!(m.calls, 40 + 2 * confirms.len());
    // Every confirmed time is the candidate's true time (median of lucky, true, true).
    for r in &confirms {
        let t = true_latency(&r.sketch, &r.assignment);
        assert!((r.median_s().unwrap() / t - 1.0).abs() < 1e-12, "{r:?}");
    }
    // The best is the truly fastest candidate measured, at its true time.
    let fastest = trials
        .iter()
        .map(|r| true_latency(&r.sketch, &r.assignment))
        .fold(f64::INFINITY, f64::min);
    let best = out.best[0].clone().unwrap();
    assert_eq!(best.median_s, fastest);
    assert_eq!(true_latency(&best.sketch, &best.assignment), fastest);
    let reported = out.report.tasks[0].best.clone().unwrap();
    assert_eq!(reported, best);
    let curve_end = out.report.tasks[0].curve.last().unwrap().best_latency_s;
    assert_eq!(curve_end, Some(fastest));
    assert_curve_non_increasing(&out.report);
    assert_eq!(out.report.meta.best_rule, tilegrad_search::BEST_RULE);
    // The re-measurements are beside the curve, one per confirmation record.
    assert_eq!(out.report.tasks[0].remeasurements.len(), confirms.len());

    // The database serves the confirmed candidate at its confirmed time.
    let mut db = ScheduleDb::open(dir.path().join("db.sqlite")).unwrap();
    db.commit_all(&records).unwrap();
    let served = db
        .best(&task().key(), &target_info(&Target::example_cpu()))
        .unwrap();
    let served = served.record().unwrap().clone();
    assert_eq!(
        (served.sketch.as_str(), served.assignment.as_str()),
        (best.sketch.as_str(), best.assignment.as_str())
    );
    // (The database's median is recomputed from the stored samples: equal up to rounding.)
    let served_s = served.median_s().unwrap();
    assert!(
        (served_s / fastest - 1.0).abs() < 1e-12,
        "{served_s} vs {fastest}"
    );

    // A resumed run takes the confirmed times over and counts only the 40 trials (toward
    // its budget of 48).
    let resumed_log = dir.path().join("resumed.jsonl");
    let (again, _) = tune(2, 48, &resumed_log, &records);
    assert_eq!(again.trials, 8);
    let resumed_best = again.best[0].clone().unwrap();
    assert!(resumed_best.median_s <= fastest);
    assert_eq!(
        resumed_best.median_s,
        true_latency(&resumed_best.sketch, &resumed_best.assignment)
    );
    assert_eq!(again.report.tasks[0].trials, 48);
}

#[test]
fn without_confirmation_a_lucky_timing_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let (out, m) = tune(0, 40, &path, &[]);
    assert_eq!(m.calls, 40);
    let best = out.best[0].clone().unwrap();
    // A twentieth of its true time: the lucky first timing decided.
    let t = true_latency(&best.sketch, &best.assignment);
    assert!(
        (best.median_s / t - 0.05).abs() < 1e-12,
        "{best:?}, true {t}"
    );
    let records = TuningLog::read(&path).unwrap().records;
    assert!(!records.iter().any(is_confirm));
}

/// Fixed answers: `fixed` candidates (by `sketch|assignment`) always time as given; any
/// other one times `first` on its first measurement and `again` on every later one.
struct Scripted {
    target: Target,
    fixed: HashMap<String, f64>,
    first: f64,
    again: f64,
    measured: HashMap<String, usize>,
}

impl Measurer for Scripted {
    fn target(&self) -> &Target {
        &self.target
    }
    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        batch
            .iter()
            .map(|m| {
                let key = format!("{}|{}", m.sketch.id, m.assignment);
                let n = self.measured.entry(key.clone()).or_default();
                *n += 1;
                let t = match self.fixed.get(&key) {
                    Some(&t) => t,
                    None if *n == 1 => self.first,
                    None => self.again,
                };
                Ok(Measurement {
                    timing: Timing::from_samples(vec![t])?,
                    build_s: 0.0,
                })
            })
            .collect()
    }
}

/// `r` with its timing replaced by one sample of `t` seconds.
fn retimed(r: &Record, t: f64) -> Record {
    let mut v = serde_json::to_value(r).unwrap();
    v["outcome"]["ok"]["samples_s"] = serde_json::json!([t]);
    v["outcome"]["ok"]["median_s"] = serde_json::json!(t);
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_best_that_re_measures_slower_brings_earlier_timings_back_into_play() {
    // A log of 8 candidates: A at 0.2 ms (the best), B at 0.3 ms (never confirmed: it was
    // slower than A), the rest at 10 ms.
    let dir = tempfile::tempdir().unwrap();
    let first_log = dir.path().join("first.jsonl");
    tune(0, 8, &first_log, &[]);
    let logged = TuningLog::read(&first_log).unwrap().records;
    let key = |r: &Record| format!("{}|{}", r.sketch, r.assignment);
    let resume: Vec<Record> = logged
        .iter()
        .enumerate()
        .map(|(i, r)| retimed(r, [2e-4, 3e-4].get(i).copied().unwrap_or(1e-2)))
        .collect();
    let (a, b) = (key(&resume[0]), key(&resume[1]));
    // Re-measured, A takes 0.6 ms and B its 0.3 ms; every new candidate times 0.15 ms once,
    // then 1.5 ms: each challenges A, loses, and leaves A slower than B.
    let mut m = Scripted {
        target: Target::example_cpu(),
        fixed: HashMap::from([(a.clone(), 6e-4), (b.clone(), 3e-4)]),
        first: 1.5e-4,
        again: 1.5e-3,
        measured: HashMap::new(),
    };
    let path = dir.path().join("log.jsonl");
    let mut tuner = Tuner::new(Target::example_cpu(), vec![task()], model(), config(2, 16))
        .unwrap()
        .with_log(TuningLog::open(&path).unwrap());
    tuner.resume(&resume).unwrap();
    let out = tuner.run(&mut m, &mut |_| {}).unwrap();

    // The tuner, its report and the database name B at 0.3 ms.
    let best = out.best[0].clone().unwrap();
    assert_eq!(format!("{}|{}", best.sketch, best.assignment), b);
    assert!((best.median_s / 3e-4 - 1.0).abs() < 1e-12, "{best:?}");
    assert_eq!(out.report.tasks[0].best.as_ref(), Some(&best));
    // The curve did not follow A's slower re-measurements up: it stays at A's 0.2 ms, and
    // the re-measurements that demoted A are listed beside it.
    assert_curve_non_increasing(&out.report);
    let reported = &out.report.tasks[0];
    assert_eq!(reported.curve.last().unwrap().best_latency_s, Some(2e-4));
    let a_again: Vec<_> = reported
        .remeasurements
        .iter()
        .filter(|r| format!("{}|{}", r.sketch, r.assignment) == a)
        .collect();
    assert!(!a_again.is_empty(), "{:?}", reported.remeasurements);
    assert!(a_again.iter().all(|r| r.median_s > Some(2e-4)));
    let mut records = resume.clone();
    records.extend(TuningLog::read(&path).unwrap().records);
    let mut db = ScheduleDb::open(dir.path().join("db.sqlite")).unwrap();
    db.commit_all(&records).unwrap();
    let lookup = db
        .best(&task().key(), &target_info(&Target::example_cpu()))
        .unwrap();
    let served = lookup.record().unwrap();
    assert_eq!(key(served), b);
    assert!((served.median_s().unwrap() / best.median_s - 1.0).abs() < 1e-12);
    assert!(
        m.measured[&a] >= 2,
        "A was not re-measured: {:?}",
        m.measured
    );
}
