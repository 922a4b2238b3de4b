//! `tilegrad networks`: the shipped networks and their tuning tasks, or an ONNX model's.

use clap::Args;
use tilegrad_datasets::networks;

use std::path::Path;

use super::util::{bad_input, BadInput};

/// Arguments of `tilegrad networks`.
#[derive(Debug, Args)]
pub struct NetworksArgs {
    /// A network to list the tasks of, or an ONNX model (`model.onnx`); omit to list the
    /// networks.
    pub name: Option<String>,
    /// Batch size.
    #[arg(long, value_name = "B", default_value_t = 1)]
    pub batch: u32,
    /// The shape of an ONNX model's input, where the model leaves a dimension symbolic
    /// (`--input data=1x3x224x224`; repeat for several inputs).
    #[arg(long, value_name = "NAME=SHAPE")]
    pub input: Vec<String>,
}

/// Runs the command.
pub fn run(args: &NetworksArgs) -> anyhow::Result<()> {
    match &args.name {
        None => list(args.batch),
        Some(path) if super::onnx::is_model_path(path) => model(Path::new(path), &args.input),
        Some(_) if !args.input.is_empty() => Err(bad_input("--input is for ONNX models")),
        Some(name) => tasks(name, args.batch),
    }
}

fn load(name: &str, batch: u32) -> anyhow::Result<Vec<networks::Task>> {
    networks::load(name, batch).map_err(|e| {
        anyhow::Error::new(e).context(BadInput(format!(
            "no shipped network `{name}` at batch {batch}"
        )))
    })
}

fn list(batch: u32) -> anyhow::Result<()> {
    let batches: Vec<String> = networks::batches().iter().map(|b| b.to_string()).collect();
    println!(
        "shipped networks (batch sizes {}); figures at batch {batch}:",
        batches.join(", ")
    );
    println!(
        "{:<14} {:>6} {:>12} {:>10}",
        "name", "tasks", "kernels", "GFLOP"
    );
    for name in networks::list() {
        let tasks = load(name, batch)?;
        let kernels: u32 = tasks.iter().map(|t| t.weight).sum();
        let gflop: f64 = tasks
            .iter()
            .map(|t| f64::from(t.weight) * t.workload.flops())
            .sum::<f64>()
            / 1e9;
        println!("{name:<14} {:>6} {kernels:>12} {gflop:>10.3}", tasks.len());
    }
    Ok(())
}

fn tasks(name: &str, batch: u32) -> anyhow::Result<()> {
    let tasks = load(name, batch)?;
    let total: f64 = tasks
        .iter()
        .map(|t| f64::from(t.weight) * t.workload.flops())
        .sum::<f64>()
        / 1e9;
    println!(
        "{name} batch {batch}: {} tasks, {total:.3} GFLOP per forward pass",
        tasks.len()
    );
    table(&tasks);
    Ok(())
}

/// An ONNX model's tasks, then what they leave out.
fn model(path: &Path, inputs: &[String]) -> anyhow::Result<()> {
    let m = super::onnx::import(path, inputs)?;
    println!(
        "{}: {} nodes, opset {}: {} tasks, {:.3} GFLOP per forward pass in tuned tasks",
        path.display(),
        m.nodes,
        m.opset,
        m.tasks.len(),
        m.tuned_flops / 1e9
    );
    table(&m.tasks);
    super::onnx::print_untuned(&m);
    Ok(())
}

fn table(tasks: &[networks::Task]) {
    println!(
        "{:>4} {:>6} {:>10}  {:<16}  workload",
        "#", "weight", "GFLOP", "key"
    );
    for (i, t) in tasks.iter().enumerate() {
        println!(
            "{:>4} {:>6} {:>10.4}  {:<16}  {}",
            i + 1,
            t.weight,
            t.workload.flops() / 1e9,
            t.workload.key().to_string(),
            t.workload
        );
    }
}
