//! `tilegrad bench search`: the policies side by side (same tasks, target, trial budget and
//! measurer, several seeds), printed as the comparison table of `tilegrad_search::compare`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tilegrad_search::compare;
use tilegrad_search::compare_run::{compare_policies, BenchConfig, BenchOutcome};
use tilegrad_search::TunerConfig;

use super::tune::tasks;
use super::tune::{tune_tasks, Policy};
use super::util::{bad_input, parse_duration};

/// Arguments of `tilegrad bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The benchmark.
    #[command(subcommand)]
    pub what: BenchWhat,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Compare the search policies: trials and seconds to reach 90/95/99% of the best any
    /// policy found, and the final best per policy.
    Search(Box<SearchArgs>),
    /// The model-zoo kernel benchmark: tune every workload of a suite with a fixed budget,
    /// then time our best kernel and ONNX Runtime's implementation alternately.
    Kernels(Box<super::bench_kernels::KernelsArgs>),
    /// Merge the `--json` outputs of several `bench search` runs (e.g. one per task) into one
    /// table: the references, reach geomeans and final ratios over all their runs.
    Summarize(SummarizeArgs),
}

/// Arguments of `tilegrad bench summarize`.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// `bench search --json` files.
    #[arg(required = true, value_name = "JSON")]
    pub files: Vec<PathBuf>,
    /// Also write the merged table and curves as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

/// Arguments of `tilegrad bench search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The tasks compared on.
    #[command(flatten)]
    pub what: tasks::TaskArgs,
    /// Where to measure.
    #[command(flatten)]
    pub on: super::target::MeasureArgs,
    /// Trial budget of every (policy, task, seed) run.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub trials: usize,
    /// Wall-time budget of every run (`90`, `5m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_limit: Option<f64>,
    /// Round settings.
    #[command(flatten)]
    pub round: super::rounds::RoundArgs,
    /// Policies to compare (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gradient,evolutionary,random"
    )]
    pub policies: Vec<Policy>,
    /// Settings of the gradient policy as `key=value,...` (as `tune --gradient`).
    #[arg(long, value_name = "SETTINGS", value_parser = super::tune::parse_gradient)]
    pub gradient: Option<tilegrad_search::GradientConfig>,
    /// Seeds (comma-separated); every policy runs every task once per seed.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub seeds: Vec<u64>,
    /// The cost model every gradient and evolutionary run starts from (the same for both;
    /// random search uses none): `auto` (the shipped model of the target kind, else
    /// untrained), `none` (untrained, seeded per run) or a saved model's path.
    #[arg(long, value_name = "MODEL", default_value = "auto", value_parser = super::model::parse_choice)]
    pub model: tilegrad_search::ModelChoice,
    /// After each task, measure every schedule some run delivered as its best in N more
    /// passes (each pass times every pick once, back to back, alternating direction) and
    /// judge the task on each pick's median throughput relative to its passes; 0 judges on
    /// the runs' own single measurements.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub confirm: usize,
    /// Also write the table and every run's curve as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    match &args.what {
        BenchWhat::Search(a) => search(a),
        BenchWhat::Summarize(a) => summarize(a),
        BenchWhat::Kernels(a) => super::bench_kernels::run(a),
    }
}

fn summarize(a: &SummarizeArgs) -> anyhow::Result<()> {
    let mut curves = Vec::new();
    for f in &a.files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let outcome: BenchOutcome = serde_json::from_str(&text).map_err(|e| {
            bad_input(format!(
                "{} is not a `bench search --json` file: {e}",
                f.display()
            ))
        })?;
        curves.extend(outcome.curves);
    }
    let comparison = compare::summarize(&curves, &BenchConfig::default().thresholds)?;
    println!("{} run(s) from {} file(s)\n", curves.len(), a.files.len());
    print!("{}", comparison.to_text());
    if let Some(p) = &a.json {
        let merged = BenchOutcome { comparison, curves };
        std::fs::write(p, merged.to_json()?)
            .with_context(|| format!("cannot write {}", p.display()))?;
        println!("\nwrote {}", p.display());
    }
    Ok(())
}

/// Refuses a held-out comparison whose model-guided policies start from a model that was not
/// trained with fold `split` left out (an untrained model is fine).
fn held_out_model(
    split: tilegrad_datasets::Split,
    model: &tilegrad_search::TunerModel,
    policies: &[tilegrad_search::PolicyKind],
) -> anyhow::Result<()> {
    let guided = policies
        .iter()
        .any(|p| *p != tilegrad_search::PolicyKind::Random);
    let Some(meta) = model.meta().filter(|_| guided && model.is_fitted()) else {
        return Ok(());
    };
    if meta.held_out.as_deref() == Some(split.to_string().as_str()) {
        return Ok(());
    }
    Err(bad_input(format!(
        "--held-out {split}: the model ({}) was not trained with fold {split} left out ({}); \
         train one with `tilegrad model train --held-out {split} ...` and pass it with \
         --model, or use --model none",
        meta.content_hash,
        meta.held_out
            .as_ref()
            .map_or("it records no held-out fold".to_string(), |h| format!(
                "it left out {h}"
            ))
    )))
}

fn search(a: &SearchArgs) -> anyhow::Result<()> {
    let list = a.what.load()?;
    if a.policies.is_empty() || a.seeds.is_empty() {
        return Err(bad_input(
            "bench search needs at least one policy and one seed",
        ));
    }
    let resolved = super::target::measurable(&a.on.target, a.on.threads)?;
    let target = resolved.target.clone();
    let tune = tune_tasks(&list, &target)?;
    let mut policies: Vec<_> = a.policies.iter().map(|p| p.kind()).collect();
    policies.dedup();
    let config = BenchConfig {
        policies,
        seeds: a.seeds.clone(),
        tuner: TunerConfig {
            max_trials: a.trials,
            time_limit_s: a.time_limit,
            gradient: a.gradient.unwrap_or_default(),
            ..a.round.config()
        },
        confirm: a.confirm,
        ..BenchConfig::default()
    };
    let runs = list.len() * config.seeds.len() * config.policies.len();
    println!(
        "target: {} ({}); {} task(s) x {} seed(s) x {} policies = {runs} run(s) of {} trial(s)",
        target.name,
        target.kind(),
        list.len(),
        config.seeds.len(),
        config.policies.len(),
        a.trials
    );
    if a.confirm > 0 {
        println!(
            "confirm: every run's successive bests re-measured {} time(s) after each task",
            a.confirm
        );
    }
    let first = super::model::resolve(&a.model, &target, 0)?;
    println!("model:  {}", first.source);
    if let Some(split) = a.what.held_out {
        held_out_model(split, &first.model, &config.policies)?;
        println!(
            "held out: fold {split} ({} workload(s)), which the model never saw",
            list.len()
        );
    }
    let mut measurer = super::hardware::measurer(&resolved, a.on.threads)?;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new((runs * a.trials) as u64);
        if let Ok(s) = ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} trials, {elapsed}, ETA {eta} {msg}",
        ) {
            b.set_style(s.progress_chars("=> "));
        }
        b.enable_steady_tick(Duration::from_millis(200));
        b
    };
    let per_task = config.seeds.len() * config.policies.len();
    let mut done_before = 0u64;
    let mut last_run = usize::MAX;
    let t = target.clone();
    let outcome = compare_policies(
        &target,
        &tune,
        &config,
        &mut |seed| Ok(a.model.resolve(&t, seed)?.model),
        measurer.as_mut(),
        &mut |id, e| {
            if id.index != last_run {
                done_before = (id.index * a.trials) as u64;
                last_run = id.index;
                bar.set_message(format!(
                    "run {}/{}: {} seed {} task {}",
                    id.index + 1,
                    id.total,
                    id.policy,
                    id.seed,
                    id.task + 1
                ));
            }
            match e {
                tilegrad_search::TuneEvent::RoundDone { trials, .. } => {
                    bar.set_position(done_before + *trials as u64);
                }
                tilegrad_search::TuneEvent::Stopped { .. }
                    if a.confirm > 0 && (id.index + 1) % per_task == 0 =>
                {
                    bar.set_message(format!("task {}: confirming the picks", id.task + 1));
                }
                _ => {}
            }
        },
        &mut |_, _| {},
    );
    bar.finish_and_clear();
    let outcome = outcome.context("the benchmark failed")?;
    println!();
    print!("{}", outcome.comparison.to_text());
    if let Some(p) = &a.json {
        std::fs::write(p, outcome.to_json()?)
            .with_context(|| format!("cannot write {}", p.display()))?;
        println!("\nwrote {}", p.display());
    }
    Ok(())
}
