//! `tilegrad replay`: re-run a search from a tuning log through the [`ReplayMeasurer`]: the
//! log answers every candidate, so no hardware is touched. With the logged run's policy,
//! seed, trials and round size the replay asks for exactly the logged candidates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tilegrad_datasets::{Record, TargetInfo, Task, TuningLog};
use tilegrad_measure::ReplayMeasurer;
use tilegrad_search::{PolicyKind, Tuner, TunerConfig};
use tilegrad_symbolic::target::PRESETS;
use tilegrad_symbolic::Target;

use super::tune::{summary, tune_tasks, Policy};
use super::util::{bad_input, BadInput};

/// Arguments of `tilegrad replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The tuning log to replay.
    pub log: PathBuf,
    /// Search policy (default: the logged run's).
    #[arg(long, value_enum)]
    pub policy: Option<Policy>,
    /// Seed (default: the logged run's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Trial budget (default: the number of distinct logged candidates).
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// Candidates per round (default: the logged run's largest round).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub per_round: Option<u64>,
    /// The target the log was measured on, when it cannot be derived (`cpu` or a GPU preset).
    #[arg(long)]
    pub target: Option<String>,
    /// The cost model the search starts from: `auto` (the shipped model of the target kind),
    /// `none` (untrained: the random cold start) or a saved model's path.
    #[arg(long, value_name = "MODEL", default_value = "auto", value_parser = super::model::parse_choice)]
    pub model: tilegrad_search::ModelChoice,
    /// Write the replay's JSON report here.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

/// The logged device as a [`Target`]: the host CPU with the logged core count, or the GPU
/// preset of the same architecture and SM count.
pub(super) fn derive_target(info: &TargetInfo) -> anyhow::Result<Target> {
    if info.kind == "cpu" {
        return Ok(tilegrad_measure::host_cpu(Some(info.units)));
    }
    for key in PRESETS {
        let t = Target::preset(key)?;
        if t.gpu()
            .is_some_and(|g| g.arch == info.arch && g.sm_count == info.units)
        {
            return Ok(t);
        }
    }
    Err(bad_input(format!(
        "no preset matches the logged GPU `{}` ({}, {} SMs); pass --target",
        info.name, info.arch, info.units
    )))
}

/// The most frequent value, else `fallback`.
fn largest_round(records: &[Record]) -> usize {
    let mut per_round: BTreeMap<u32, usize> = BTreeMap::new();
    for r in records {
        *per_round.entry(r.provenance.round).or_default() += 1;
    }
    per_round.values().copied().max().unwrap_or(1)
}

/// Runs the command.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let contents = TuningLog::read(&args.log)
        .with_context(|| BadInput(format!("cannot read the log {}", args.log.display())))?;
    for w in &contents.warnings {
        eprintln!("warning: {w}");
    }
    // The tuner's head-to-head re-measurements are not trials and the search never saw
    // them: the replay answers each candidate with its own measurement.
    let records: Vec<Record> = contents
        .records
        .into_iter()
        .filter(|r| r.provenance.policy != tilegrad_search::CONFIRM_POLICY)
        .collect();
    let first = records
        .first()
        .ok_or_else(|| bad_input(format!("{} has no records", args.log.display())))?;
    let keys: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.target.key.as_str()).collect();
    if keys.len() > 1 {
        return Err(bad_input(format!(
            "the log mixes {} targets ({}); replay one target's log at a time",
            keys.len(),
            keys.into_iter().collect::<Vec<_>>().join("; ")
        )));
    }
    let target = match &args.target {
        Some(t) => super::target::describe(t, Some(first.target.units))?,
        None => derive_target(&first.target)?,
    };
    let mut tasks: Vec<Task> = Vec::new();
    for r in &records {
        if tasks
            .iter()
            .all(|t| t.workload.key().to_string() != r.workload_key)
        {
            let workload = super::util::parse_workload(&r.workload)?;
            tasks.push(Task {
                workload,
                weight: 1,
            });
        }
    }
    let distinct: std::collections::HashSet<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r.workload_key.as_str(),
                r.sketch.as_str(),
                r.assignment.as_str(),
            )
        })
        .collect();
    let policy = match args.policy {
        Some(p) => p.kind(),
        None => first
            .provenance
            .policy
            .parse::<PolicyKind>()
            .unwrap_or(PolicyKind::Gradient),
    };
    let seed = args.seed.unwrap_or(first.provenance.seed);
    // Logs of runs that measured seed schedules hold them (older logs do not): replay with
    // seeds only where the first task's seeds were measured.
    let first_task = tilegrad_search::TuneTask::new(tasks[0].workload.clone(), 1.0, &target)?;
    let key = tasks[0].workload.key().to_string();
    let seeds = first_task.sketches.iter().any(|s| {
        tilegrad_templates::seeds(s, &target)
            .iter()
            .any(|a| distinct.contains(&(key.as_str(), s.id.as_str(), a.to_string().as_str())))
    });
    let config = TunerConfig {
        max_trials: args.trials.unwrap_or(distinct.len()),
        per_round: args
            .per_round
            .map_or_else(|| largest_round(&records), |k| k as usize),
        seed,
        policy,
        seed_schedules: seeds,
        ..TunerConfig::default()
    };
    println!(
        "replaying {} ({} record(s), {} task(s)) on {} with {policy}, seed {seed}, {} trial(s), {} per round",
        args.log.display(),
        records.len(),
        tasks.len(),
        target.name,
        config.max_trials,
        config.per_round
    );
    let model = super::model::resolve(&args.model, &target, seed)?;
    println!("model:  {}", model.source);
    let model = model.model;
    let mut tuner = Tuner::new(target.clone(), tune_tasks(&tasks, &target)?, model, config)
        .context("cannot set up the tuner")?;
    let mut measurer = ReplayMeasurer::new(target, records.iter().cloned());
    let outcome = tuner
        .run(&mut measurer, &mut |_| {})
        .context("the replay failed")?;
    let report = outcome.report;
    println!();
    summary::print_table(&report);
    let missing = report.failures.get("not_in_log").copied().unwrap_or(0);
    println!();
    println!(
        "asked {} candidate(s) ({} distinct, at most {} time(s) each): {} answered from the log, {missing} not in it",
        measurer.total_asked(),
        measurer.distinct_asked(),
        measurer.max_asked(),
        measurer.distinct_asked() - missing
    );
    if missing > 0 {
        println!(
            "the replayed search left the logged path (another policy, seed, budget or version)"
        );
    }
    if let Some(p) = &args.report {
        std::fs::write(p, report.to_json()?)
            .with_context(|| format!("cannot write the report {}", p.display()))?;
        println!("report: {}", p.display());
    }
    Ok(())
}
