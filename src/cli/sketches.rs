//! `tilegrad sketches`: the sketches of a workload, their spaces, trees and samples.

use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_templates::sketches;

use super::util::{count, parse_workload, resolve_target};

/// Arguments of `tilegrad sketches`.
#[derive(Debug, Args)]
pub struct SketchesArgs {
    /// The workload, in canonical text form, e.g. `matmul(M=64,N=64,K=64)`.
    pub workload: String,
    /// Target: `cpu` (the host CPU), `cuda` (device 0) or a GPU preset such as `h100-sxm`.
    #[arg(long, default_value = "cpu")]
    pub target: String,
    /// Print each sketch's symbolic loop tree.
    #[arg(long)]
    pub tree: bool,
    /// Print this many random legal assignments of each sketch (canonical text).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub sample: usize,
    /// Seed of the random assignments.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

/// Runs the command.
pub fn run(args: &SketchesArgs) -> anyhow::Result<()> {
    let workload = parse_workload(&args.workload)?;
    let target = resolve_target(&args.target, None)?;
    let all = sketches(&workload, &target)?;
    println!("workload: {workload}");
    println!("key:      {}", workload.key());
    println!("target:   {} ({})", target.name, target.kind());
    println!("{} sketch(es)", all.len());
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for s in &all {
        let names: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
        println!();
        println!("{}", s.id);
        println!("  variables:   {}", s.space.num_vars());
        println!("  space size:  {}", count(s.space.size()));
        println!(
            "  constraints: {}",
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        );
        for seed in tilegrad_templates::seeds(s, &target) {
            println!("  seed:        {seed}");
        }
        if args.tree {
            println!("  tree:");
            for line in s.tree.to_string().lines() {
                println!("    {line}");
            }
        }
        if args.sample > 0 {
            println!("  samples:");
            for _ in 0..args.sample {
                println!("    {}", s.sample(&mut rng)?);
            }
        }
    }
    Ok(())
}
