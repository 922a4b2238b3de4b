//! `tilegrad networks`: the shipped networks and their tuning tasks.

use clap::Args;
use tilegrad_datasets::networks;

use super::util::BadInput;

/// Arguments of `tilegrad networks`.
#[derive(Debug, Args)]
pub struct NetworksArgs {
    /// A network to list the tasks of (omit to list the networks).
    pub name: Option<String>,
    /// Batch size.
    #[arg(long, value_name = "B", default_value_t = 1)]
    pub batch: u32,
}

/// Runs the command.
pub fn run(args: &NetworksArgs) -> anyhow::Result<()> {
    match &args.name {
        None => list(args.batch),
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
    Ok(())
}
