//! `tilegrad best`: the best tuned schedule of a workload on a target, with its kernel source.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tilegrad::{Database, TunedKernel};

use super::db::{open_existing, DEFAULT_DB};
use super::util::parse_workload;

/// Arguments of `tilegrad best` (shared with `tilegrad export`).
#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The workload, in canonical text form, e.g. `matmul(M=64,N=64,K=64)`.
    pub workload: String,
    /// Target: `auto` (first GPU, else the CPU), `cpu`, `cuda[:N]` or a GPU preset (a preset
    /// needs no GPU here: it only names the device class to look up).
    #[arg(long, default_value = "auto")]
    pub target: String,
    /// CPU threads the schedule was tuned with (part of the CPU target; default all cores).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// The schedule database.
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

/// Arguments of `tilegrad best`.
#[derive(Debug, Args)]
pub struct BestArgs {
    /// What to look up.
    #[command(flatten)]
    pub lookup: LookupArgs,
    /// Do not print the kernel source.
    #[arg(long)]
    pub no_source: bool,
}

/// Looks the workload up; "not tuned" is an error (exit 1) carrying the reason.
pub fn lookup(a: &LookupArgs) -> anyhow::Result<TunedKernel> {
    let workload = parse_workload(&a.workload)?;
    let target = super::target::describe(&a.target, a.threads)?;
    open_existing(&a.db)?; // a clear usage error when the file is missing
    let db = Database::open(&a.db)
        .with_context(|| format!("cannot open the schedule database {}", a.db.display()))?;
    db.best(&workload, &target)
        .with_context(|| format!("no tuned schedule for `{workload}` on {}", target.name))
}

/// Runs the command.
pub fn run(args: &BestArgs) -> anyhow::Result<()> {
    let k = lookup(&args.lookup)?;
    let workload = parse_workload(&k.workload)?;
    println!("workload:  {}", k.workload);
    println!("key:       {}", k.workload_key);
    println!("target:    {}", k.target_key);
    match super::export::warning(&k) {
        None => println!("lookup:    exact"),
        Some(w) => {
            println!("lookup:    compatible target");
            eprintln!("warning: {w}");
        }
    }
    println!("sketch:    {}", k.sketch);
    println!("schedule:  {}", k.assignment);
    println!(
        "measured:  {:.4} ms ({:.2} GFLOP/s)",
        k.median_s * 1e3,
        workload.flops() / k.median_s / 1e9
    );
    println!("entry:     {}", k.entry);
    if let Some(prep) = &k.prepare_entry {
        println!("prepare:   {prep} (once per set of weights, before the kernel)");
    }
    println!("launch:    {}", super::export::launch_text(&k));
    if !args.no_source {
        println!("\n{}", k.source);
    }
    Ok(())
}
