//! Tunes one workload on this machine's CPU with the [`Tuner`] and real measurements
//! ([`CpuMeasurer`]); prints the best-so-far per round and the time split.
//!
//! ```text
//! cargo run --release -p tilegrad-search --example tune_cpu
//! ```
//! Environment: `WORKLOAD` (default `matmul(M=512,N=512,K=512)`), `TRIALS` (64),
//! `PER_ROUND` (16), `TIME` (wall-time limit in s, 60; 0 = none), `POLICY`
//! (`gradient` | `evolutionary` | `random`), `SEED` (1), `SKETCH` (only the sketch with this
//! id; default all), `LOG` (a tuning-log path: resumed if it exists, appended to),
//! `MIN_TIME` (timing: minimum seconds of runs per candidate, 0.05).
//!
//! The example is its own measurement worker (`--tilegrad-measure-worker`).

use std::time::Instant;

use tilegrad_datasets::TuningLog;
use tilegrad_measure::{
    host_cpu, worker_main, CpuMeasurer, CpuMeasurerConfig, TimingConfig, WorkerConfig,
};
use tilegrad_search::{PolicyKind, TuneEvent, TuneTask, Tuner, TunerConfig, TunerModel};
use tilegrad_templates::Workload;

const WORKER_ARG: &str = "--tilegrad-measure-worker";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
        std::process::exit(worker_main());
    }
    let wall = Instant::now();
    let text = std::env::var("WORKLOAD").unwrap_or_else(|_| "matmul(M=512,N=512,K=512)".into());
    let workload: Workload = text.parse()?;
    let target = host_cpu(None);
    let policy: PolicyKind = env_or("POLICY", PolicyKind::Gradient);
    let time: f64 = env_or("TIME", 60.0);
    let config = TunerConfig {
        max_trials: env_or("TRIALS", 64),
        per_round: env_or("PER_ROUND", 16),
        time_limit_s: (time > 0.0).then_some(time),
        seed: env_or("SEED", 1),
        policy,
        ..TunerConfig::default()
    };
    let mut task = TuneTask::new(workload.clone(), 1.0, &target)?;
    if let Ok(id) = std::env::var("SKETCH") {
        task.sketches.retain(|s| s.id == id);
    }
    let ids: Vec<&str> = task.sketches.iter().map(|s| s.id.as_str()).collect();
    println!(
        "{text} on {} ({} threads), policy {policy}, sketches {ids:?}",
        target.name,
        target.cpu().map_or(0, |c| c.cores)
    );
    let mut mcfg = CpuMeasurerConfig::new(target.clone());
    mcfg.runner.worker = WorkerConfig::self_hosted(&[WORKER_ARG])?;
    mcfg.runner.timing = TimingConfig {
        warmup: 2,
        min_repeat: 5,
        min_time_s: env_or("MIN_TIME", 0.05),
        ..TimingConfig::default()
    };
    let mut measurer = CpuMeasurer::new(mcfg)?;
    let model = TunerModel::default_for(&target, config.seed)?;
    let mut tuner = Tuner::new(target, vec![task], model, config)?;
    if let Ok(path) = std::env::var("LOG") {
        let old = if std::path::Path::new(&path).exists() {
            TuningLog::read(&path)?.records
        } else {
            Vec::new()
        };
        tuner = tuner.with_log(TuningLog::open(&path)?);
        if !old.is_empty() {
            let st = tuner.resume(&old)?;
            println!("resumed {} records ({} successes)", st.used, st.successes);
        }
    }
    let flops = workload.flops();
    let setup_s = wall.elapsed().as_secs_f64();
    let out = tuner.run(&mut measurer, &mut |e| match e {
        TuneEvent::RoundDone {
            round,
            measured,
            successes,
            cold,
            trials,
            elapsed_s,
            time,
            best,
            ..
        } => println!(
            "round {round:2} {:>6} trials {trials:3} ok {successes:2}/{measured:2}  best {:6.1} GFLOP/s  at {elapsed_s:5.1} s  search {:.2} s build {:.2} s measure {:.2} s train {:.2} s",
            if *cold { "random" } else { "model" },
            best.map_or(0.0, |b| b.gflops),
            time.search_s,
            time.build_s,
            time.measure_s,
            time.train_s
        ),
        TuneEvent::NewBest { best, .. } => println!(
            "  new best {:.1} GFLOP/s ({:.3} ms) {} {}",
            flops / best.median_s / 1e9,
            best.median_s * 1e3,
            best.sketch,
            best.assignment
        ),
        TuneEvent::ModelFitted { samples, epochs, .. } => {
            println!("  model fitted on {samples} samples ({epochs} epochs)")
        }
        TuneEvent::Resumed { .. } | TuneEvent::Stopped { .. } => {}
    })?;
    let t = out.time;
    let run_s = out.report.meta.wall_s;
    let overhead = t.search_s + t.train_s;
    println!(
        "stopped: {} after {} trials, {} rounds, {:.1} s (+{:.1} s setup)",
        out.stop, out.trials, out.rounds, run_s, setup_s
    );
    println!(
        "time: search {:.2} s, build {:.2} s, measure {:.2} s, train {:.2} s; overhead (search+train) {:.1} % of the run",
        t.search_s,
        t.build_s,
        t.measure_s,
        t.train_s,
        100.0 * overhead / run_s.max(1e-9)
    );
    if let Some(b) = &out.best[0] {
        println!(
            "best: {:.1} GFLOP/s ({:.3} ms) at trial {} ({:.1} s): {} {}",
            b.gflops,
            b.median_s * 1e3,
            b.trial,
            b.elapsed_s,
            b.sketch,
            b.assignment
        );
    }
    Ok(())
}
