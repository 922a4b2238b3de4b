//! `tilegrad bench kernels`: every workload of a suite is tuned with a fixed budget on the
//! CPU, then our best kernel and ONNX Runtime's implementation of the same operator are timed
//! alternately, and the table of throughputs, ratios and tuning speed is printed and written
//! (logs, JSON, README) to an output folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tilegrad_datasets::{Suite, SuiteEntry, Task, TuningLog};
use tilegrad_measure::{CpuMeasurer, CpuMeasurerConfig, MeasureInput, Measurer, DISTURBED};
use tilegrad_search::{TuneTask, Tuner, TunerConfig};
use tilegrad_symbolic::Target;

use super::kernels_table::{self as table, median, Row, Summary};
use super::ort::{self, OrtClient, INSTALL_HINT};
use super::util::{bad_input, BadInput};

/// Arguments of `tilegrad bench kernels`.
#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// The suite file (`<group> <workload>` per line), or `zoo`; default: the shipped
    /// model-zoo suite (`datasets/suites/zoo.txt`, embedded).
    #[arg(long, value_name = "PATH|zoo")]
    pub suite: Option<PathBuf>,
    /// Only workloads whose text contains this substring (repeat: any of them).
    #[arg(long, value_name = "TEXT")]
    pub only: Vec<String>,
    /// Only workloads of this suite group (repeat: any of them).
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,
    /// Only the first N workloads (after the filters).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Where to measure: only `cpu` (ONNX Runtime runs on the CPU).
    #[arg(long, default_value = "cpu")]
    pub target: String,
    /// Threads for our kernels and ONNX Runtime's intra-op pool (default: all cores).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Tuning trials per workload.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub trials: usize,
    /// Seed of the search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Round settings.
    #[command(flatten)]
    pub round: super::rounds::RoundArgs,
    /// The cost model the search starts from (as `tune --model`).
    #[arg(long, value_name = "MODEL", default_value = "auto", value_parser = super::model::parse_choice)]
    pub model: tilegrad_search::ModelChoice,
    /// Head-to-head rounds of [ours, ORT] (alternating which goes first); medians reported.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Least summed run time of each side's timing in every round, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.1)]
    pub min_time: f64,
    /// Idle pause before each side's timing, seconds: ONNX Runtime's intra-op threads and
    /// OpenMP's keep spinning for tens of milliseconds after a run, and a side timed at once
    /// after the other shares the cores with them (see [`head_to_head`]).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.25)]
    pub pause: f64,
    /// Python with onnxruntime, onnx and numpy (default: $TILEGRAD_PYTHON, else
    /// `.cache/ort/bin/python` from `scripts/setup-ort`, else `python3`).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// The output folder: logs, JSON, README (default
    /// `results/zoo/<YYYY-MM-DD>-<cpu-model>/`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write the table as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command.
pub fn run(a: &KernelsArgs) -> anyhow::Result<()> {
    let entries = select(a)?;
    if !(a.min_time.is_finite() && a.min_time > 0.0) {
        return Err(bad_input("--min-time must be a positive number of seconds"));
    }
    if !(a.pause.is_finite() && (0.0..=60.0).contains(&a.pause)) {
        return Err(bad_input(
            "--pause must be a number of seconds from 0 to 60",
        ));
    }
    let resolved = super::target::measurable(&a.target, a.threads)?;
    if resolved.device.is_some() {
        return Err(bad_input(
            "bench kernels compares with ONNX Runtime on the CPU: use --target cpu",
        ));
    }
    let target = resolved.target.clone();
    let threads = target.cpu().map_or(1, |c| c.cores);
    let cpu = table::cpu_model();
    let out = a.out.clone().unwrap_or_else(|| {
        Path::new("results/zoo").join(format!("{}-{}", table::today(), table::slug(&cpu)))
    });
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)
        .with_context(|| format!("cannot create the folder {}", logs.display()))?;

    let python = ort::python(a.python.as_deref());
    let start =
        |why: &mut Option<String>| match OrtClient::start(&python, &logs.join("ort.stderr.log")) {
            Ok(c) => Some(c),
            Err(e) => {
                *why = Some(format!("{e:#}"));
                None
            }
        };
    let mut ort_missing = None;
    let mut ort = start(&mut ort_missing);
    let versions = ort.as_ref().map(|c| c.versions.clone());
    println!(
        "cpu:     {cpu} ({} cores available, {threads} thread(s) used)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "suite:   {} workload(s), {} trial(s) each, seed {}, {} head-to-head round(s)",
        entries.len(),
        a.trials,
        a.seed,
        a.rounds
    );
    match (&versions, &ort_missing) {
        (Some(v), _) => println!("ort:     {v} via {}", python.display()),
        (None, why) => println!(
            "ONNX Runtime is not available ({}): {INSTALL_HINT}; showing tilegrad's column only",
            why.as_deref().unwrap_or("?").lines().next().unwrap_or("?")
        ),
    }
    println!("out:     {}", out.display());

    let mut tune_m = super::hardware::measurer(&resolved, a.threads)?;
    let mut runner = super::hardware::runner_config(a.threads)?;
    runner.timing.min_time_s = a.min_time;
    let mut cfg = CpuMeasurerConfig::new(target.clone());
    cfg.runner = runner;
    let mut time_m = CpuMeasurer::new(cfg).context("cannot set up the CPU measurer")?;

    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let text = e.workload.to_string();
        if !a.quiet {
            eprintln!("[{}/{}] {text}", i + 1, entries.len());
        }
        let log = logs.join(format!("{:03}-{}.jsonl", i + 1, e.workload.key()));
        let mut row = Row {
            group: e.group.clone(),
            workload: text.clone(),
            flops: e.workload.flops(),
            log: log.display().to_string(),
            ..Row::default()
        };
        let best = tune_one(a, &target, e, &log, tune_m.as_mut(), &mut row).unwrap_or_else(|err| {
            row.error = Some(format!("{err:#}"));
            None
        });
        if ort.is_none() && versions.is_some() {
            ort = start(&mut None); // it died on an earlier workload: try once more
        }
        head_to_head(a, threads, best.as_ref(), &mut time_m, &mut ort, &mut row);
        if versions.is_none() {
            row.ort_error = Some("ONNX Runtime not available".into());
        }
        if !a.quiet {
            eprintln!(
                "        ours {} GFLOP/s, ORT {} GFLOP/s{}",
                row.ours_gflops.map_or("n/a".into(), |g| format!("{g:.2}")),
                row.ort_gflops.map_or("n/a".into(), |g| format!("{g:.2}")),
                row.ort_error
                    .as_deref()
                    .filter(|_| versions.is_some())
                    .map_or(String::new(), |e| format!(" ({e})"))
            );
        }
        rows.push(row);
    }

    let with_ort = versions.is_some();
    let summary = Summary::of(&rows);
    println!();
    print!("{}", table::to_text(&rows, with_ort));
    if with_ort {
        println!();
        for l in table::summary_lines(&summary) {
            println!("{l}");
        }
    }
    let disturbed: usize = rows.iter().map(|r| r.disturbed_rounds).sum();
    if disturbed > 0 {
        println!(
            "warning: {disturbed} of {} timing(s) of our kernels were disturbed (other \
             processes took over {:.0} % of the CPUs): the machine was not idle",
            rows.iter().map(|r| r.ours_rounds_s.len()).sum::<usize>(),
            DISTURBED * 100.0
        );
    }
    let command = table::shell_command();
    let doc = json!({
        "date": table::today(), "cpu": cpu, "threads": threads,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "command": command, "onnxruntime": versions, "ort_unavailable": ort_missing,
        "settings": {"trials": a.trials, "seed": a.seed, "per_round": a.round.per_round,
                     "confirm_best": a.round.confirm_best, "seed_schedules": !a.round.no_seed_schedules, "rounds": a.rounds,
                     "min_time_s": a.min_time, "pause_s": a.pause,
                     "suite": a.suite.as_ref().map(|p| p.display().to_string())},
        "rows": rows, "summary": summary,
    });
    let text = serde_json::to_string_pretty(&doc)?;
    for p in [Some(out.join("kernels.json")), a.json.clone()]
        .iter()
        .flatten()
    {
        std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let readme = table::readme(
        &cpu,
        threads,
        &command,
        versions.as_deref(),
        &rows,
        &summary,
    );
    std::fs::write(out.join("README.md"), readme)
        .with_context(|| format!("cannot write {}", out.join("README.md").display()))?;
    println!("\nwrote {}", out.display());
    Ok(())
}

/// The suite's entries after `--only`, `--group` and `--limit`.
fn select(a: &KernelsArgs) -> anyhow::Result<Vec<SuiteEntry>> {
    let suite = match &a.suite {
        Some(p) => Suite::named(p),
        None => Suite::zoo(),
    }
    .map_err(|e| anyhow::Error::new(e).context(BadInput("cannot read the suite".into())))?;
    let mut entries: Vec<SuiteEntry> = suite
        .entries
        .into_iter()
        .filter(|e| {
            let t = e.workload.to_string();
            (a.only.is_empty() || a.only.iter().any(|o| t.contains(o.as_str())))
                && (a.group.is_empty() || a.group.contains(&e.group))
        })
        .collect();
    if let Some(n) = a.limit {
        entries.truncate(n as usize);
    }
    if entries.is_empty() {
        return Err(bad_input("no workload of the suite matches the filters"));
    }
    Ok(entries)
}

/// Tunes one workload (log and report under the log's name); fills the tuning columns and
/// returns the best schedule as a measurable input.
fn tune_one(
    a: &KernelsArgs,
    target: &Target,
    e: &SuiteEntry,
    log: &Path,
    m: &mut dyn Measurer,
    row: &mut Row,
) -> anyhow::Result<Option<MeasureInput>> {
    let task = Task {
        workload: e.workload.clone(),
        weight: 1,
    };
    let tasks: Vec<TuneTask> = super::tune::tune_tasks(&[task], target)?;
    let sketches = tasks[0].sketches.clone();
    let config = TunerConfig {
        max_trials: a.trials,
        seed: a.seed,
        ..a.round.config()
    };
    let model = super::model::resolve(&a.model, target, a.seed)?.model;
    // A fresh log: a rerun into the same folder replaces the workload's earlier log.
    let _ = std::fs::remove_file(log);
    let tuning_log =
        TuningLog::open(log).with_context(|| format!("cannot open the log {}", log.display()))?;
    let mut tuner = Tuner::new(target.clone(), tasks, model, config)
        .context("cannot set up the tuner")?
        .with_log(tuning_log);
    let outcome = tuner.run(m, &mut |_| {}).context("tuning failed")?;
    let report = &outcome.report;
    std::fs::write(log.with_extension("report.json"), report.to_json()?)
        .with_context(|| format!("cannot write the report of {}", log.display()))?;
    row.trials = outcome.trials;
    row.tuning_s = report.meta.wall_s;
    let t = &report.tasks[0];
    let Some(best) = &t.best else {
        anyhow::bail!("no candidate succeeded in {} trial(s)", outcome.trials);
    };
    if let Some(p) = t.first_reaching(0.95 * best.gflops) {
        row.trials_to_95 = Some(p.trial);
        row.seconds_to_95 = Some(p.elapsed_s);
    }
    row.sketch = Some(best.sketch.clone());
    row.assignment = Some(best.assignment.clone());
    let sketch = sketches
        .iter()
        .find(|s| s.id == best.sketch)
        .with_context(|| format!("the best sketch `{}` is gone", best.sketch))?;
    let assignment = sketch.space.parse_assignment(&best.assignment)?;
    Ok(Some(MeasureInput {
        sketch: sketch.clone(),
        assignment,
    }))
}

/// `a.rounds` rounds of [ours, ORT], alternating which goes first; fills the timing columns.
///
/// Each side is timed after an idle pause of `a.pause` seconds. Both runtimes leave their
/// worker threads spinning after a run (ONNX Runtime's intra-op pool: about 50 ms of CPU
/// time after a run, measured on a 2-core VM); without the pause, the side timed second ran
/// beside them: our 512^3 kernel timed 1.73 ms before the first ONNX Runtime run and
/// 2.36-2.57 ms after every later one (`results/zoo/2026-12-07-amd-epyc-zen3-rows3`).
fn head_to_head(
    a: &KernelsArgs,
    threads: u32,
    ours: Option<&MeasureInput>,
    m: &mut dyn Measurer,
    ort: &mut Option<OrtClient>,
    row: &mut Row,
) {
    for round in 0..a.rounds {
        for side in [round % 2, 1 - round % 2] {
            std::thread::sleep(std::time::Duration::from_secs_f64(a.pause));
            if side == 0 {
                if let Some(input) = ours {
                    match m.measure(std::slice::from_ref(input)).remove(0) {
                        Ok(r) => {
                            row.ours_rounds_s.push(r.timing.median_s);
                            if r.timing.interference.is_some_and(|x| x > DISTURBED) {
                                row.disturbed_rounds += 1;
                            }
                        }
                        Err(e) => row.error = Some(format!("timing our best failed: {e}")),
                    }
                }
                continue;
            }
            let Some(client) = ort.as_mut() else { continue };
            if row.ort_error.is_some() {
                continue;
            }
            match client.time(&row.workload, threads, a.min_time) {
                Ok(Ok(t)) => {
                    row.ort_rounds_s.push(t.median_s);
                    row.ort_graph = Some(t.graph);
                }
                Ok(Err(msg)) => row.ort_error = Some(msg),
                Err(e) => {
                    row.ort_error = Some(format!("{e:#}"));
                    *ort = None;
                }
            }
        }
    }
    let gflops = |s: f64| (s.is_finite() && s > 0.0).then(|| row.flops / s / 1e9);
    if !row.ours_rounds_s.is_empty() {
        row.ours_s = Some(median(&row.ours_rounds_s));
        row.ours_gflops = row.ours_s.and_then(gflops);
    }
    if !row.ort_rounds_s.is_empty() {
        row.ort_s = Some(median(&row.ort_rounds_s));
        row.ort_gflops = row.ort_s.and_then(gflops);
    }
    if let (Some(o), Some(r)) = (row.ours_gflops, row.ort_gflops) {
        row.ratio = Some(o / r);
    }
}
