//! `tilegrad measure`: build, verify and time candidates of a workload on the host CPU or a
//! CUDA device.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::{MeasureInput, MeasureResult, Measurer};
use tilegrad_templates::{sketches, Sketch, Workload};

use super::util::{bad_input, parse_workload, BadInput};

/// Arguments of `tilegrad measure`.
#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The workload, in canonical text form, e.g. `matmul(M=64,N=64,K=64)`.
    pub workload: String,
    /// Only this sketch (see `tilegrad sketches`); default: every sketch.
    #[arg(long, value_name = "ID")]
    pub sketch: Option<String>,
    /// Measure this assignment (`name=value,...`, as printed by `tilegrad sketches --sample`).
    #[arg(long, value_name = "TEXT", conflicts_with = "random")]
    pub assignment: Option<String>,
    /// Measure N random legal assignments, spread round-robin over the sketches
    /// (default: one per sketch).
    #[arg(long, value_name = "N")]
    pub random: Option<usize>,
    /// Seed of the random assignments.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// CPU threads for the kernels (default: all cores).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Where to measure: `cpu` (the host CPU; `cpu:N`: N threads), `cuda`, `cuda:N`, `auto`
    /// (the first GPU, else the CPU) or a GPU preset (the attached GPU must match it).
    #[arg(long, default_value = "cpu")]
    pub target: String,
}

/// Runs the command.
pub fn run(args: &MeasureArgs) -> anyhow::Result<()> {
    let workload = parse_workload(&args.workload)?;
    let resolved = super::target::measurable(&args.target, args.threads)?;
    let target = resolved.target.clone();
    let all = sketches(&workload, &target)
        .with_context(|| BadInput(format!("cannot schedule `{workload}`")))?;
    let chosen = select_sketches(all, args.sketch.as_deref())?;
    let inputs = candidates(&chosen, args)?;
    if inputs.is_empty() {
        return Err(bad_input("nothing to measure (--random 0)"));
    }
    let mut measurer = super::hardware::measurer(&resolved, args.threads)?;
    println!("workload: {workload}");
    match target.cpu() {
        Some(c) => println!("target:   {} (cpu, {} threads)", target.name, c.cores),
        None => println!("target:   {} (cuda)", target.name),
    }
    println!("{} candidate(s)\n", inputs.len());
    let results = measure_all(measurer.as_mut(), &inputs);
    print_table(&workload, &inputs, &results);
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed == results.len() {
        anyhow::bail!("all {failed} candidate(s) failed");
    }
    Ok(())
}

fn select_sketches(all: Vec<Sketch>, id: Option<&str>) -> anyhow::Result<Vec<Arc<Sketch>>> {
    let all: Vec<Arc<Sketch>> = all.into_iter().map(Arc::new).collect();
    let Some(id) = id else { return Ok(all) };
    let known: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
    let found: Vec<Arc<Sketch>> = all.iter().filter(|s| s.id == id).cloned().collect();
    if found.is_empty() {
        return Err(bad_input(format!(
            "no sketch `{id}`; this workload has: {}",
            known.join(", ")
        )));
    }
    Ok(found)
}

/// The candidates: the parsed `--assignment` (on every chosen sketch that accepts it), or
/// random legal assignments round-robin over the sketches.
fn candidates(chosen: &[Arc<Sketch>], args: &MeasureArgs) -> anyhow::Result<Vec<MeasureInput>> {
    if let Some(text) = &args.assignment {
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for s in chosen {
            match s.space.parse_assignment(text).and_then(|a| {
                s.space.check(&a)?;
                Ok(a)
            }) {
                Ok(a) => out.push(MeasureInput {
                    sketch: s.clone(),
                    assignment: a,
                }),
                Err(e) => errors.push(format!("{}: {e}", s.id)),
            }
        }
        if out.is_empty() {
            return Err(bad_input(format!(
                "assignment `{text}` fits no sketch:\n  {}",
                errors.join("\n  ")
            )));
        }
        return Ok(out);
    }
    let n = args.random.unwrap_or(chosen.len());
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    (0..n)
        .map(|i| {
            let s = &chosen[i % chosen.len()];
            Ok(MeasureInput {
                sketch: s.clone(),
                assignment: s.sample(&mut rng)?,
            })
        })
        .collect()
}

/// Measures in chunks (the measurer builds a chunk in parallel), with a progress bar on
/// stderr when there is more than one candidate.
fn measure_all(m: &mut dyn Measurer, inputs: &[MeasureInput]) -> Vec<MeasureResult> {
    let chunk = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let bar = if inputs.len() > 1 {
        let b = ProgressBar::new(inputs.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} measuring [{bar:30}] {pos}/{len} {elapsed}")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let mut out = Vec::with_capacity(inputs.len());
    for part in inputs.chunks(chunk) {
        out.extend(m.measure(part));
        bar.inc(part.len() as u64);
    }
    bar.finish_and_clear();
    out
}

fn print_table(w: &Workload, inputs: &[MeasureInput], results: &[MeasureResult]) {
    let flops = w.flops();
    let width = inputs
        .iter()
        .map(|i| i.sketch.id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:>3}  {:<width$}  {:>10}  {:>9}  {:>7}  {:>10}  {:>6}  assignment",
        "#", "sketch", "median ms", "GFLOP/s", "spread", "min ms", "others"
    );
    for (i, (inp, r)) in inputs.iter().zip(results).enumerate() {
        match r {
            Ok(m) => println!(
                "{:>3}  {:<width$}  {:>10.4}  {:>9.2}  {:>6.1}%  {:>10.4}  {:>6}  {}",
                i + 1,
                inp.sketch.id,
                m.timing.median_s * 1e3,
                flops / m.timing.median_s / 1e9,
                m.timing.spread * 100.0,
                m.timing.min_s * 1e3,
                m.timing
                    .interference
                    .map_or("-".to_string(), |s| format!("{:.0}%", s * 100.0)),
                inp.assignment
            ),
            Err(e) => println!(
                "{:>3}  {:<width$}  {:>10}  {:>9}  {:>7}  {:>10}  {:>6}  {}\n     error: {}",
                i + 1,
                inp.sketch.id,
                "-",
                "-",
                "-",
                "-",
                "-",
                inp.assignment,
                first_lines(&e.to_string(), 6)
            ),
        }
    }
    let ok: Vec<(usize, f64)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|m| (i, m.timing.median_s)))
        .collect();
    println!();
    match ok.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        Some(&(i, s)) => println!(
            "{}/{} succeeded; best #{}: {:.4} ms, {:.2} GFLOP/s",
            ok.len(),
            results.len(),
            i + 1,
            s * 1e3,
            flops / s / 1e9
        ),
        None => println!("0/{} succeeded", results.len()),
    }
}

/// At most `n` lines of `text`, noting how many were cut.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return lines.join("\n            ");
    }
    format!(
        "{}\n            ... ({} more lines)",
        lines[..n].join("\n            "),
        lines.len() - n
    )
}
