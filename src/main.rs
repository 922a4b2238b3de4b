//! The `tilegrad` command-line tool.

use clap::Parser;

/// tilegrad: differentiable auto-scheduler and autotuner for tensor kernels.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    println!("tilegrad {}: the tuning commands are not built yet", env!("CARGO_PKG_VERSION"));
    Ok(())
}
