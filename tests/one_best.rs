//! One truth for "the best" (issue 20): a run resumed from a log whose best re-measures
//! slower than its first timing ends with the tuner's summary, its report, `Database::best`,
//! `tilegrad export` and the C ABI's `tg_db_best` naming the same candidate at the same time,
//! and with a best-so-far curve that never rises. Synthetic measurers, so no compiler runs.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::process::Command;

use tilegrad::measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
use tilegrad::search::{ModelChoice, PolicyKind, Report, TunerConfig, BEST_RULE};
use tilegrad::symbolic::Target;
use tilegrad::templates::Workload;
use tilegrad::tune::tune_with_model;
use tilegrad::{Database, TuneOptions};

const WORKLOAD: &str = "matmul(M=64,N=64,K=64)";

/// Times by script: `fixed` candidates (`sketch|assignment`) always as given; the `order`-th
/// new candidate first measured gets `order[i]` if there is one; any other times `first`
/// on its first measurement and `again` on every later one.
struct Scripted {
    target: Target,
    fixed: HashMap<String, f64>,
    order: Vec<f64>,
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
                let new = self.measured.len();
                let n = self.measured.entry(key.clone()).or_default();
                *n += 1;
                let t = match self.fixed.get(&key) {
                    Some(&t) => t,
                    None if *n == 1 => self.order.get(new).copied().unwrap_or(self.first),
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

fn options(dir: &std::path::Path, trials: usize, confirm_best: usize) -> TuneOptions {
    TuneOptions {
        config: TunerConfig {
            max_trials: trials,
            per_round: 8,
            seed: 4,
            policy: PolicyKind::Random,
            confirm_best,
            // No model fit (random picks throughout): the test is about the records.
            min_train_successes: 1_000,
            ..TunerConfig::default()
        },
        log: dir.join("log.jsonl"),
        resume: trials > 8,
        db: Some(dir.join("tilegrad.db")),
    }
}

fn assert_curve_non_increasing(report: &Report) {
    for t in &report.tasks {
        for w in t.curve.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            assert!(a.elapsed_s <= b.elapsed_s, "{a:?} then {b:?}");
            if let Some(la) = a.best_latency_s {
                assert!(
                    b.best_latency_s.is_some_and(|lb| lb <= la),
                    "{a:?} then {b:?}"
                );
            }
        }
    }
}

/// `tg_db_best` on `db` for the workload on `target`: the kernel's source and time.
fn c_abi_best(db: &std::path::Path, target: &str) -> (String, f64) {
    let path = CString::new(db.to_str().unwrap()).unwrap();
    let workload = CString::new(WORKLOAD).unwrap();
    let target = CString::new(target).unwrap();
    // SAFETY: valid NUL-terminated strings; every handle is freed once, after its last use.
    unsafe {
        let h = tilegrad_capi::tg_db_open(path.as_ptr());
        assert!(!h.is_null());
        let mut k = std::ptr::null_mut();
        let rc = tilegrad_capi::tg_db_best(h, workload.as_ptr(), target.as_ptr(), &mut k);
        let error = CStr::from_ptr(tilegrad_capi::tg_last_error()).to_string_lossy();
        assert_eq!(rc, tilegrad_capi::TG_OK, "{error}");
        let source = CStr::from_ptr(tilegrad_capi::tg_kernel_source(k))
            .to_string_lossy()
            .into_owned();
        let time = tilegrad_capi::tg_kernel_time_s(k);
        tilegrad_capi::tg_kernel_free(k);
        tilegrad_capi::tg_db_close(h);
        (source, time)
    }
}

#[test]
fn summary_report_database_export_and_c_abi_name_one_best() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w: Workload = WORKLOAD.parse().unwrap();
    let target = tilegrad::measure::host_cpu(Some(1));
    let work = [(w.clone(), 1.0)];

    // A first run: its first candidate A times 0.2 ms (the best), its second B 0.3 ms (never
    // re-measured: slower than A), the rest 10 ms.
    let mut first = Scripted {
        target: target.clone(),
        fixed: HashMap::new(),
        order: vec![2e-4, 3e-4],
        first: 1e-2,
        again: 1e-2,
        measured: HashMap::new(),
    };
    tune_with_model(
        &work,
        &mut first,
        &options(d, 8, 0),
        &ModelChoice::None,
        &mut |_| {},
    )
    .unwrap();
    let logged = tilegrad::datasets::TuningLog::read(d.join("log.jsonl"))
        .unwrap()
        .records;
    let key = |r: &tilegrad::datasets::Record| format!("{}|{}", r.sketch, r.assignment);
    let (a, b) = (key(&logged[0]), key(&logged[1]));

    // Resumed with head-to-head confirmation: A re-measures at 0.6 ms, B at 0.3 ms; every new
    // candidate times 0.15 ms once, then 1.5 ms: each challenges A, loses, and leaves A slower
    // than B, which becomes the best.
    let mut again = Scripted {
        target: target.clone(),
        fixed: HashMap::from([(a.clone(), 6e-4), (b.clone(), 3e-4)]),
        order: Vec::new(),
        first: 1.5e-4,
        again: 1.5e-3,
        measured: HashMap::new(),
    };
    let opts = options(d, 24, 2);
    let run = tune_with_model(&work, &mut again, &opts, &ModelChoice::None, &mut |_| {}).unwrap();
    assert!(again.measured[&a] >= 2, "A was not re-measured");

    // The tuner's summary: B at 0.3 ms.
    let best = run.outcome.best[0].clone().unwrap();
    assert_eq!(format!("{}|{}", best.sketch, best.assignment), b);
    assert!((best.median_s / 3e-4 - 1.0).abs() < 1e-12, "{best:?}");
    // The report: the same best, by the recorded rule; a curve that stayed at A's 0.2 ms.
    let report = &run.outcome.report;
    assert_eq!(report.tasks[0].best.as_ref(), Some(&best));
    assert_eq!(report.meta.best_rule, BEST_RULE);
    assert_curve_non_increasing(report);
    assert!(!report.tasks[0].remeasurements.is_empty());

    // The database (fed by the tuner's sink, not from the log file).
    let served = Database::open(d.join("tilegrad.db"))
        .unwrap()
        .best(&w, &target)
        .unwrap();
    assert_eq!(
        (served.sketch.as_str(), served.assignment.as_str()),
        (best.sketch.as_str(), best.assignment.as_str())
    );
    assert!((served.median_s / best.median_s - 1.0).abs() < 1e-12);

    // `tilegrad export`.
    let out = Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .args(["export", WORKLOAD, "--target", "cpu", "--threads", "1"])
        .arg("--db")
        .arg(d.join("tilegrad.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["sketch"], best.sketch.as_str());
    assert_eq!(exported["assignment"], best.assignment.as_str());
    let exported_s = exported["median_s"].as_f64().unwrap();
    assert!((exported_s / best.median_s - 1.0).abs() < 1e-12);

    // The C ABI: the same kernel (its source is generated from sketch and assignment) and time.
    let (source, time_s) = c_abi_best(&d.join("tilegrad.db"), "cpu:1");
    assert_eq!(source, served.source);
    assert!((time_s / best.median_s - 1.0).abs() < 1e-12, "{time_s}");
}
