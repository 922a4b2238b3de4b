//! `tilegrad model`: pre-train the cost model on tuning logs (`train`), score a model on
//! logs (`eval`), and describe the shipped models (`info`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use tilegrad_cost_model::{evaluate, Calibration, EnsembleModel};
use tilegrad_datasets::{Record, Split, TuningLog};
use tilegrad_search::pretrain::{pretrain, training_set, PretrainConfig, TrainingSet};
use tilegrad_search::{ModelChoice, ResolvedModel, TunerModel};
use tilegrad_symbolic::Target;

use super::target::{parse, Selector};
use super::util::{bad_input, BadInput};

/// Arguments of `tilegrad model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: ModelWhat,
}

/// The `model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelWhat {
    /// Pre-train a cost-model ensemble on tuning logs; prints held-out metrics per workload
    /// (workloads left out by k-fold).
    Train(TrainArgs),
    /// Score a model on tuning logs: Spearman, pairwise accuracy, top-1/top-5 per workload.
    Eval(EvalArgs),
    /// Describe the shipped pre-trained models (or a saved one).
    Info(InfoArgs),
}

/// Arguments of `tilegrad model train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Tuning logs (JSON Lines) to train on; any workloads.
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub log: Vec<PathBuf>,
    /// The target the features are computed for: `cpu`, `cuda` (the logged GPU's preset) or
    /// a GPU preset. Records of the other kind are skipped.
    #[arg(long)]
    pub target: String,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Ensemble members.
    #[arg(long, value_name = "N", default_value_t = tilegrad_search::tuner::DEFAULT_MEMBERS)]
    pub members: usize,
    /// Seed of the weights, folds and fits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden width (default 128).
    #[arg(long, value_name = "H")]
    pub hidden: Option<usize>,
    /// Maximum epochs per fit (default 200, early-stopped).
    #[arg(long, value_name = "E")]
    pub epochs: Option<usize>,
    /// Weight of the within-workload ranking loss (RankNet) next to the regression loss.
    #[arg(long, value_name = "W")]
    pub rank_weight: Option<f64>,
    /// Weight of the regression loss (MSE on normalised log-throughput).
    #[arg(long, value_name = "W")]
    pub reg_weight: Option<f64>,
    /// Folds over the workloads for the held-out metrics (0: none).
    #[arg(long, value_name = "K", default_value_t = 4)]
    pub folds: usize,
    /// Also write the training report (sample counts, metrics, fit) as JSON here.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Leave out the records of the workloads in fold H of an N-way split by workload key
    /// (`H/N`), and record the split in the model, for `bench search --held-out H/N`.
    #[arg(long, value_name = "H/N", value_parser = parse_split)]
    pub held_out: Option<Split>,
}

/// Parses `H/N` (for clap).
pub fn parse_split(text: &str) -> Result<Split, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// Arguments of `tilegrad model eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// `builtin` (the shipped model of the target kind) or a saved model's path.
    #[arg(long, default_value = "builtin")]
    pub model: String,
    /// Tuning logs to score the model on.
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub log: Vec<PathBuf>,
    /// The target: `cpu`, `cuda` (the logged GPU's preset) or a GPU preset.
    #[arg(long)]
    pub target: String,
}

/// Arguments of `tilegrad model info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A saved model to describe (default: every shipped one).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

/// Parses `--model auto|none|<PATH>` (for clap).
pub fn parse_choice(text: &str) -> Result<ModelChoice, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// The model a run starts from; a warning (fallback to untrained, another target kind) goes
/// to stderr. A file that does not load is [`BadInput`].
pub fn resolve(choice: &ModelChoice, target: &Target, seed: u64) -> anyhow::Result<ResolvedModel> {
    let r = choice
        .resolve(target, seed)
        .with_context(|| BadInput(format!("cannot load the model `{choice}`")))?;
    if let Some(w) = &r.warning {
        eprintln!("warning: {w}");
    }
    Ok(r)
}

/// Runs the command.
pub fn run(args: &ModelArgs) -> anyhow::Result<()> {
    match &args.what {
        ModelWhat::Train(a) => train(a),
        ModelWhat::Eval(a) => eval(a),
        ModelWhat::Info(a) => info(a),
    }
}

fn read_logs(paths: &[PathBuf]) -> anyhow::Result<Vec<Record>> {
    let mut out = Vec::new();
    for p in paths {
        let c = TuningLog::read(p)
            .with_context(|| BadInput(format!("cannot read the log {}", p.display())))?;
        for w in &c.warnings {
            eprintln!("warning: {w}");
        }
        out.extend(c.records);
    }
    Ok(out)
}

/// The target features are computed for: `cpu` is this host with the logged core count,
/// `cuda` the preset of the first logged GPU, a preset itself.
fn training_target(text: &str, records: &[Record]) -> anyhow::Result<Target> {
    let first = |kind: &str| records.iter().find(|r| r.target.kind == kind);
    match parse(text)? {
        Selector::Cpu(n) => Ok(tilegrad_measure::host_cpu(
            n.or(first("cpu").map(|r| r.target.units)),
        )),
        Selector::Cuda(_) => match first("cuda") {
            Some(r) => super::replay::derive_target(&r.target),
            None => Err(bad_input("`--target cuda`: the logs have no CUDA record")),
        },
        Selector::Preset(key) => Ok(Target::preset(&key)?),
        Selector::Auto => Err(bad_input(
            "`--target auto` is ambiguous here: name cpu, cuda or a GPU preset",
        )),
    }
}

fn samples(
    logs: &[PathBuf],
    target_text: &str,
    held_out: Option<Split>,
) -> anyhow::Result<(Target, TrainingSet)> {
    let mut records = read_logs(logs)?;
    if let Some(split) = held_out {
        let before = records.len();
        records.retain(|r| {
            let key = u64::from_str_radix(&r.workload_key, 16).ok().or_else(|| {
                r.workload
                    .parse::<tilegrad_templates::Workload>()
                    .ok()
                    .map(|w| w.key().0)
            });
            !key.is_some_and(|k| split.holds_key(k))
        });
        println!(
            "held out: fold {split}, {} record(s) left out",
            before - records.len()
        );
    }
    let target = training_target(target_text, &records)?;
    let set = training_set(&records, &target).context("cannot build the training samples")?;
    let s = &set.stats;
    println!(
        "records: {} read, {} used ({} successes), {} skipped: {} other kind, {} bad workload, \
         {} unknown sketch, {} bad assignment, {} environment failure, {} duplicate, \
         {} bad features, {} non-finite features",
        s.records,
        s.used,
        s.successes,
        s.skipped(),
        s.other_kind,
        s.bad_workload,
        s.unknown_sketch,
        s.bad_assignment,
        s.environment,
        s.duplicates,
        s.bad_features,
        s.non_finite
    );
    println!(
        "target:  {} ({}), {} workload(s)",
        target.name,
        target.kind(),
        set.workloads.len()
    );
    if s.successes == 0 {
        return Err(bad_input(
            "no successful measurement of this target kind in the logs",
        ));
    }
    Ok((target, set))
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{v:.3}"))
}

/// The per-workload metrics table.
fn print_metrics(c: &Calibration, names: &BTreeMap<String, String>) {
    println!(
        "{:<64} {:>5} {:>8} {:>8} {:>6} {:>6}",
        "workload", "n", "spearman", "pairwise", "top1", "top5"
    );
    for m in &c.per_task {
        let name = names.get(&m.task).map_or(m.task.as_str(), String::as_str);
        let short: String = if name.chars().count() > 64 {
            format!("{}...", name.chars().take(61).collect::<String>())
        } else {
            name.to_string()
        };
        println!(
            "{short:<64} {:>5} {:>8} {:>8} {:>6} {:>6}",
            m.n,
            opt(m.spearman),
            opt(m.pairwise_accuracy),
            opt(m.top1_recall),
            opt(m.top5_recall)
        );
    }
    println!(
        "{:<64} {:>5} {:>8} {:>8} {:>6} {:>6}",
        format!("mean over {} workload(s)", c.per_task.len()),
        c.per_task.iter().map(|m| m.n).sum::<usize>(),
        opt(c.spearman),
        opt(c.pairwise_accuracy),
        opt(c.top1_recall),
        opt(c.top5_recall)
    );
}

fn train(a: &TrainArgs) -> anyhow::Result<()> {
    if a.members == 0 {
        return Err(bad_input("--members must be at least 1"));
    }
    let (target, set) = samples(&a.log, &a.target, a.held_out)?;
    let config = PretrainConfig {
        members: a.members,
        seed: a.seed,
        hidden: a.hidden,
        epochs: a.epochs,
        folds: a.folds,
        ..PretrainConfig::default()
    };
    let mut config = config;
    if let Some(w) = a.rank_weight {
        if !(w.is_finite() && w >= 0.0) {
            return Err(bad_input("--rank-weight must be finite and not negative"));
        }
        config.fit.rank_weight = w;
    }
    if let Some(w) = a.reg_weight {
        if !(w.is_finite() && w >= 0.0) {
            return Err(bad_input("--reg-weight must be finite and not negative"));
        }
        config.fit.reg_weight = w;
    }
    let tag = format!("{}:{}", target.kind(), target.name);
    let (mut model, report) =
        pretrain(&set.samples, &tag, &config).context("pretraining failed")?;
    model.set_held_out(a.held_out.map(|s| s.to_string()));
    if let Some(c) = &report.holdout {
        println!();
        println!(
            "held-out metrics ({} folds over workloads; each workload scored by a model that did not see it):",
            report.folds
        );
        print_metrics(c, &set.workloads);
    }
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    model
        .save(&a.out)
        .with_context(|| format!("cannot write the model {}", a.out.display()))?;
    println!();
    println!(
        "final fit: {} samples, {} epoch(s), best loss {:.4}",
        report.n_samples, report.fit.epochs, report.fit.best_loss
    );
    println!(
        "model:   {} ({}, {} member(s), hidden {}, hash {})",
        a.out.display(),
        super::util::bytes(std::fs::metadata(&a.out).map_or(0, |m| m.len())),
        report.members,
        report.hidden,
        model.meta().content_hash
    );
    if let Some(p) = &a.report {
        let json = serde_json::json!({
            "target": tag,
            "logs": a.log.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "stats": set.stats,
            "workloads": set.workloads,
            "report": report,
            "hash": model.meta().content_hash,
            "held_out": a.held_out.map(|s| s.to_string()),
        });
        std::fs::write(p, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
        println!("report:  {}", p.display());
    }
    Ok(())
}

/// `builtin`/`auto`: the shipped model of the target kind; otherwise a path.
fn load_model(text: &str, target: &Target) -> anyhow::Result<EnsembleModel> {
    let choice: ModelChoice = text.parse().map_err(|e| bad_input(format!("{e}")))?;
    let model = match choice {
        ModelChoice::Auto => TunerModel::pretrained_for(target)
            .context("the shipped model does not load")?
            .ok_or_else(|| bad_input(format!("no shipped model for {}", target.kind())))?,
        ModelChoice::None => return Err(bad_input("`--model none` has nothing to evaluate")),
        ModelChoice::Path(p) => TunerModel::load(&p)
            .with_context(|| BadInput(format!("cannot load the model {}", p.display())))?,
    };
    match model {
        TunerModel::Ensemble(e) => Ok(e),
        TunerModel::Single(_) => Err(bad_input("not an ensemble")),
    }
}

fn eval(a: &EvalArgs) -> anyhow::Result<()> {
    let (target, set) = samples(&a.log, &a.target, None)?;
    let model = load_model(&a.model, &target)?;
    let c = evaluate(&model, &set.samples).context("cannot score the samples")?;
    println!("model:   {} ({})", a.model, model.meta().content_hash);
    println!();
    print_metrics(&c, &set.workloads);
    Ok(())
}

fn describe(label: &str, bytes: usize, e: &EnsembleModel) {
    let m = e.meta();
    let hidden = e.members().first().map_or(0, |x| x.config().hidden);
    println!("{label}");
    println!("  size:      {}", super::util::bytes(bytes as u64));
    println!("  trained:   {} ({} fit(s))", m.target, m.n_fits);
    println!(
        "  members:   {}, hidden {hidden}; features {} x {}",
        e.members().len(),
        m.feature_version,
        m.n_features
    );
    println!(
        "  samples:   {} over {} task(s)",
        e.members().first().map_or(0, |x| x.meta().n_samples),
        m.n_tasks
    );
    println!("  hash:      {}", m.content_hash);
    if let Some(split) = &m.held_out {
        println!("  held out:  workload fold {split} (bench search --held-out {split})");
    }
}

fn info(a: &InfoArgs) -> anyhow::Result<()> {
    let spec = tilegrad_search::feature_spec();
    if let Some(p) = &a.model {
        let bytes =
            std::fs::read(p).with_context(|| BadInput(format!("cannot read {}", p.display())))?;
        let e = EnsembleModel::from_bytes(&bytes, &spec)
            .with_context(|| BadInput(format!("{} is not a model", p.display())))?;
        describe(&p.display().to_string(), bytes.len(), &e);
        return Ok(());
    }
    for kind in ["cpu", "cuda"] {
        match TunerModel::builtin(kind) {
            None => println!("builtin:{kind}: none shipped"),
            Some(b) => match EnsembleModel::from_bytes(b, &spec) {
                Ok(e) => describe(&format!("builtin:{kind}"), b.len(), &e),
                Err(e) => println!("builtin:{kind}: does not load ({e})"),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_targets() {
        assert_eq!(training_target("cpu", &[]).unwrap().kind(), "cpu");
        assert_eq!(training_target("a100", &[]).unwrap().kind(), "cuda");
        for (text, want) in [
            ("auto", ModelChoice::Auto),
            ("none", ModelChoice::None),
            ("m.json", ModelChoice::Path("m.json".into())),
        ] {
            assert_eq!(parse_choice(text), Ok(want));
        }
        assert!(parse_choice(" ").is_err());
        for bad in ["auto", "cuda", "nosuch"] {
            let e = training_target(bad, &[]).unwrap_err();
            assert!(e.downcast_ref::<BadInput>().is_some(), "{bad}: {e:#}");
        }
    }
}
