//! `tilegrad::tune`: tunes into a log and a database that `Database::best` then answers from;
//! resuming measures nothing twice. Uses a synthetic measurer (time from the assignment), so
//! it needs no compiler and is deterministic.

use tilegrad::measure::{MeasureInput, MeasureResult, Measurement, Measurer, Timing};
use tilegrad::search::{PolicyKind, TunerConfig};
use tilegrad::symbolic::Target;
use tilegrad::templates::Workload;
use tilegrad::{tune, Database, LookupKind, TuneOptions};

/// Time = 1 ms × (1 + Σ |log2(value) - 2|) over the assignment; counts measurements.
struct Synthetic {
    target: Target,
    measured: Vec<String>,
}

impl Measurer for Synthetic {
    fn target(&self) -> &Target {
        &self.target
    }

    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        batch
            .iter()
            .map(|m| {
                self.measured
                    .push(format!("{}|{}", m.sketch.id, m.assignment));
                let cost: f64 = m
                    .assignment
                    .values()
                    .iter()
                    .map(|&v| ((v.max(1) as f64).log2() - 2.0).abs())
                    .sum();
                let t = 1e-3 * (1.0 + cost);
                Ok(Measurement {
                    timing: Timing::from_samples(vec![t, t, t])?,
                    build_s: 0.0,
                })
            })
            .collect()
    }
}

#[test]
fn tune_fills_log_and_database_and_resume_measures_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let w: Workload = "matmul(M=32,N=32,K=16)".parse().unwrap();
    let target = tilegrad::measure::host_cpu(Some(1));
    let mut m = Synthetic {
        target: target.clone(),
        measured: Vec::new(),
    };
    let mut options = TuneOptions {
        config: TunerConfig {
            max_trials: 8,
            per_round: 4,
            seed: 3,
            policy: PolicyKind::Random,
            ..TunerConfig::default()
        },
        log: dir.path().join("log.jsonl"),
        resume: false,
        db: Some(dir.path().join("t.db")),
    };
    let run = tune(&[(w.clone(), 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    assert_eq!(run.outcome.trials, 8);
    assert_eq!(run.committed, Some(8));
    let k = Database::open(dir.path().join("t.db"))
        .unwrap()
        .best(&w, &target)
        .unwrap();
    assert_eq!(k.lookup, LookupKind::Exact);
    let best = run.outcome.best[0].as_ref().unwrap();
    assert_eq!(
        (k.sketch.as_str(), k.assignment.as_str()),
        (best.sketch.as_str(), best.assignment.as_str())
    );
    assert_eq!(k.median_s, best.median_s);

    // The 8 resumed trials count toward a budget of 12: 4 more are measured.
    options.resume = true;
    options.config.max_trials = 12;
    let again = tune(&[(w, 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    assert_eq!(again.resumed.unwrap().used, 8);
    assert_eq!(again.outcome.trials, 4);
    let mut seen = m.measured.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        m.measured.len(),
        "a candidate was measured twice"
    );
    // The earlier 8 are committed again (stored once), then the run's 4.
    assert_eq!(again.committed, Some(12));
}

/// The CLI and the library set a run up the same way (`tilegrad::prepare`): the same log
/// resumed under the same budget leaves both the same trials to measure. The log holds a
/// record of a sketch the task does not have, which the CLI once counted and the library did
/// not.
#[test]
fn cli_and_library_count_resumed_trials_alike() {
    let dir = tempfile::tempdir().unwrap();
    let w: Workload = "matmul(M=32,N=32,K=16)".parse().unwrap();
    let target = tilegrad::measure::host_cpu(Some(1));
    let mut m = Synthetic {
        target: target.clone(),
        measured: Vec::new(),
    };
    let log = dir.path().join("log.jsonl");
    let mut options = TuneOptions {
        config: TunerConfig {
            max_trials: 6,
            per_round: 3,
            seed: 3,
            policy: PolicyKind::Random,
            ..TunerConfig::default()
        },
        log: log.clone(),
        resume: false,
        db: None,
    };
    tune(&[(w.clone(), 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    let mut records = tilegrad::datasets::TuningLog::read(&log).unwrap().records;
    let mut foreign = records[0].clone();
    foreign.sketch = "no-such-sketch".into();
    records.push(foreign);
    let cli_log = dir.path().join("cli.jsonl");
    tilegrad::datasets::TuningLog::open(&cli_log)
        .unwrap()
        .append(&records)
        .unwrap();
    std::fs::copy(&cli_log, &log).unwrap();

    options.resume = true;
    options.config.max_trials = 8;
    let lib = tune(&[(w.clone(), 1.0)], &mut m, &options, &mut |_| {}).unwrap();
    assert_eq!(lib.resumed.unwrap().used, 6);
    assert_eq!(lib.outcome.trials, 2);

    let d = dir.path();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tilegrad"))
        .arg("tune")
        .arg(w.to_string())
        .args(["--target", "cpu", "--threads", "1", "--trials", "8"])
        .args(["--per-round", "3", "--policy", "random", "--resume", "-q"])
        .arg("--log")
        .arg(&cli_log)
        .arg("--db")
        .arg(d.join("cli.db"))
        .arg("--report")
        .arg(d.join("cli.report.json"))
        .current_dir(d)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("after 2 trial(s)") && stdout.contains("(6 resumed from the log)"),
        "{stdout}"
    );
}
