//! `tilegrad tune`: tune a workload, a network, an ONNX model or a file of workloads on a target, logging
//! every measurement, committing each round to the schedule database, and writing a report.

pub mod progress;
pub mod summary;
pub mod tasks;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use tilegrad::TuneOptions;
use tilegrad_datasets::Task;
use tilegrad_search::{GradientConfig, PolicyKind, Report, TuneTask, TunerConfig};
use tilegrad_symbolic::Target;

use super::db::DEFAULT_DB;
use super::util::{bad_input, parse_duration, BadInput};
use progress::Progress;
use tasks::TaskSource;

/// Where outputs go by default.
pub const OUT_DIR: &str = "tilegrad-out";

/// The search policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// Gradient descent through the features and the cost model (the core).
    Gradient,
    /// Ansor-style evolutionary search (baseline).
    Evolutionary,
    /// Uniform random legal schedules (baseline).
    Random,
}

impl Policy {
    /// The search crate's kind.
    pub fn kind(self) -> PolicyKind {
        match self {
            Policy::Gradient => PolicyKind::Gradient,
            Policy::Evolutionary => PolicyKind::Evolutionary,
            Policy::Random => PolicyKind::Random,
        }
    }
}

/// Arguments of `tilegrad tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// What to tune.
    #[command(flatten)]
    pub what: tasks::TaskArgs,
    /// Where to measure.
    #[command(flatten)]
    pub on: super::target::MeasureArgs,
    /// Measurement budget of the run over all tasks (default: 32 per task). With --resume the
    /// logged records count toward it.
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// Wall-time budget (`90`, `90s`, `5m`, `1h`), checked between rounds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_limit: Option<f64>,
    /// Round settings.
    #[command(flatten)]
    pub round: super::rounds::RoundArgs,
    /// Stop after this many rounds in a row without a new best in any task.
    #[arg(long, value_name = "ROUNDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub early_stop: Option<u64>,
    /// Search only these sketches (`--sketch A --sketch B` or `A,B`; see `tilegrad
    /// sketches`); default: every sketch of each workload.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub sketch: Vec<String>,
    /// Search policy.
    #[arg(long, value_enum, default_value_t = Policy::Gradient)]
    pub policy: Policy,
    /// Seed of the search (the run is deterministic for a seed, apart from measured times).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Settings of the gradient policy as `key=value,...` (e.g. `kappa=0,screen=1024`; keys:
    /// the fields of `GradientConfig`); unset keys keep their defaults.
    #[arg(long, value_name = "SETTINGS", value_parser = parse_gradient)]
    pub gradient: Option<GradientConfig>,
    /// The cost model the search starts from: `auto` (the shipped pre-trained model of the
    /// target kind, else untrained), `none` (untrained: random picks until 8 successes) or
    /// a saved model's path (`tilegrad model train`).
    #[arg(long, value_name = "MODEL", default_value = "auto", value_parser = super::model::parse_choice)]
    pub model: tilegrad_search::ModelChoice,
    /// The tuning log (JSON Lines; default `tilegrad-out/<tasks>-<target>.jsonl`).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// The schedule database every round is committed to.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_DB)]
    pub db: PathBuf,
    /// Continue the log: its records are taken over and never measured again.
    #[arg(long)]
    pub resume: bool,
    /// The JSON report (default `tilegrad-out/<tasks>-<target>.report.json`).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses `--gradient` settings on top of the defaults.
pub fn parse_gradient(text: &str) -> Result<GradientConfig, String> {
    let mut c = GradientConfig::default();
    c.apply(text).map_err(|e| e.to_string())?;
    Ok(c)
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    Ok(())
}

/// A short workload text for the progress line.
fn short(w: &str) -> String {
    if w.chars().count() <= 40 {
        w.to_string()
    } else {
        format!("{}...", w.chars().take(37).collect::<String>())
    }
}

/// The tuner's tasks; a workload with no sketch on the target is [`BadInput`].
pub fn tune_tasks(tasks: &[Task], target: &Target) -> anyhow::Result<Vec<TuneTask>> {
    tasks
        .iter()
        .map(|t| {
            TuneTask::new(t.workload.clone(), f64::from(t.weight), target)
                .map_err(anyhow::Error::new)
                .with_context(|| {
                    BadInput(format!(
                        "cannot schedule `{}` on {}",
                        t.workload, target.name
                    ))
                })
        })
        .collect()
}

/// Keeps only the sketches named in `ids`; a task left with none is [`BadInput`].
fn only_sketches(tasks: &mut [TuneTask], ids: &[String]) -> anyhow::Result<()> {
    for t in tasks {
        let all: Vec<String> = t.sketches.iter().map(|s| s.id.clone()).collect();
        t.sketches.retain(|s| ids.contains(&s.id));
        if t.sketches.is_empty() {
            return Err(BadInput(format!(
                "`{}` has no sketch {} (its sketches: {})",
                t.workload,
                ids.join(" or "),
                all.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: &TuneArgs) -> anyhow::Result<()> {
    let src = args.what.source();
    let tasks = args.what.load()?;
    let resolved = super::target::measurable(&args.on.target, args.on.threads)?;
    let target = resolved.target.clone();
    let slug = resolved
        .device
        .map_or("cpu".to_string(), |n| format!("cuda{n}"));
    let label = format!("{}-{slug}", tasks::label(&src, &tasks));
    let log_path = args
        .log
        .clone()
        .unwrap_or_else(|| Path::new(OUT_DIR).join(format!("{label}.jsonl")));
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| Path::new(OUT_DIR).join(format!("{label}.report.json")));
    let budget = args.trials.unwrap_or(32 * tasks.len());

    let nonempty = std::fs::metadata(&log_path).is_ok_and(|m| m.len() > 0);
    if nonempty && !args.resume {
        return Err(bad_input(format!(
            "the log {} already has records: pass --resume to continue it, or --log for a new one",
            log_path.display()
        )));
    }
    create_parent(&log_path)?;
    create_parent(&report_path)?;
    create_parent(&args.db)?;

    let mut tune = tune_tasks(&tasks, &target)?;
    if !args.sketch.is_empty() {
        only_sketches(&mut tune, &args.sketch)?;
    }
    let config = TunerConfig {
        max_trials: budget,
        time_limit_s: args.time_limit,
        early_stop_rounds: args.early_stop.map(|n| n as usize),
        seed: args.seed,
        policy: args.policy.kind(),
        gradient: args.gradient.unwrap_or_default(),
        ..args.round.config()
    };
    let model = super::model::resolve(&args.model, &target, args.seed)?;
    let model_source = model.source.clone();
    // The set-up `tilegrad::tune` shares: the log and the database become the tuner's
    // record sinks, and the log's earlier records are taken over (and committed).
    let options = TuneOptions {
        config,
        log: log_path.clone(),
        resume: args.resume && nonempty,
        db: Some(args.db.clone()),
    };
    let prepared =
        tilegrad::prepare(target.clone(), tune, model.model, &options).with_context(|| {
            format!(
                "cannot set up the run (log {}, database {})",
                log_path.display(),
                args.db.display()
            )
        })?;
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    let mut tuner = prepared.tuner;
    let resumed = prepared.resumed.map_or(0, |r| r.used);
    let remaining = tuner.remaining_trials();

    println!("target:  {} ({})", target.name, target.kind());
    println!(
        "tasks:   {} ({}), budget {budget} trial(s){}, policy {}, seed {}",
        tasks.len(),
        tasks::label(&src, &tasks),
        args.time_limit
            .map_or(String::new(), |t| format!(", {t:.0} s")),
        args.policy.kind(),
        args.seed
    );
    println!("model:   {model_source}");
    println!("log:     {}", log_path.display());
    println!("db:      {}", args.db.display());
    let mut measurer = super::hardware::measurer(&resolved, args.on.threads)?;
    let names = tasks
        .iter()
        .map(|t| short(&t.workload.to_string()))
        .collect();
    let weights = tasks.iter().map(|t| f64::from(t.weight)).collect();
    let mut progress =
        (!args.quiet).then(|| Progress::new(remaining, names, weights, args.time_limit));
    let outcome = tuner.run(measurer.as_mut(), &mut |e| {
        if let Some(p) = progress.as_mut() {
            p.on_event(e);
        }
    });
    if let Some(p) = &progress {
        p.finish();
    }
    let outcome = outcome.context("tuning failed")?;
    let committed = outcome.records;

    let mut report = outcome.report;
    label_report(&mut report, &log_path, &args.db, &src);
    let json = report.to_json().context("cannot serialise the report")?;
    std::fs::write(&report_path, json)
        .with_context(|| format!("cannot write the report {}", report_path.display()))?;

    println!();
    super::tune::summary::print_table(&report);
    println!();
    println!(
        "stopped: {} after {} trial(s) in {} round(s), {:.1} s{}",
        outcome.stop,
        outcome.trials,
        outcome.rounds,
        report.meta.wall_s,
        if resumed > 0 {
            format!(" ({resumed} resumed from the log)")
        } else {
            String::new()
        }
    );
    // An ONNX model cut short by --tasks: the sum covers only the tuned tasks.
    let model = match src.onnx {
        Some(path) => Some(super::onnx::import(path, src.inputs)?),
        None => None,
    };
    let left_out = model
        .as_ref()
        .map_or(0, |m| m.tasks.len().saturating_sub(tasks.len()));
    if tasks.len() > 1 || model.is_some() {
        match report.network_latency_s() {
            Some(l) if left_out > 0 => println!(
                "network: {:.4} ms over the {} tuned tasks only, not end to end ({left_out} of \
                 the model's {} tasks were not tuned)",
                l * 1e3,
                tasks.len(),
                tasks.len() + left_out
            ),
            Some(l) => println!(
                "network: estimated {:.4} ms end to end (sum of weight x best over the tuned tasks)",
                l * 1e3
            ),
            None => println!("network: no estimate (some task has no successful candidate)"),
        }
    }
    if let Some(m) = &model {
        super::onnx::print_untuned(m);
        if !m.untuned.is_empty() {
            println!("         the estimate leaves the untuned operators out");
        }
    }
    println!("report:  {}", report_path.display());
    println!(
        "db:      {} ({committed} record(s) committed)",
        args.db.display()
    );
    if outcome.best.iter().all(Option::is_none) {
        anyhow::bail!(
            "no candidate succeeded (see the failures in {})",
            log_path.display()
        );
    }
    Ok(())
}

fn label_report(r: &mut Report, log: &Path, db: &Path, src: &TaskSource<'_>) {
    let labels = &mut r.meta.labels;
    labels.insert("log".into(), log.display().to_string());
    labels.insert("db".into(), db.display().to_string());
    if let Some((n, b)) = src.network {
        labels.insert("network".into(), format!("{n}_b{b}"));
    }
    if let Some(f) = src.file {
        labels.insert("file".into(), f.display().to_string());
    }
    if let Some(f) = src.onnx {
        labels.insert("onnx".into(), f.display().to_string());
    }
}
