//! The `tilegrad` command line: argument definitions and dispatch.
//!
//! Each command lives in its own module and returns `anyhow::Result<()>`; errors that are the
//! user's fault (a malformed workload, an unknown sketch, network or target) carry the
//! [`BadInput`] context so that `main` exits with code 2 instead of 1.

mod devices;
mod gpu_target;
mod measure;
mod networks;
mod sketches;
mod util;

use clap::{Parser, Subcommand};

pub use util::BadInput;

/// tilegrad: differentiable auto-scheduler and autotuner for tensor kernels.
///
/// Workloads are written in the canonical text form, e.g. `matmul(M=64,N=64,K=64)` or
/// `conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu`.
#[derive(Debug, Parser)]
#[command(name = "tilegrad", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the host CPU target, the CUDA devices (or why there are none) and NVRTC.
    Devices(devices::DevicesArgs),
    /// List the sketches (symbolic schedules) of a workload on a target.
    Sketches(sketches::SketchesArgs),
    /// List the shipped networks, or the tuning tasks of one.
    Networks(networks::NetworksArgs),
    /// Build, verify and time schedule candidates of a workload on the host CPU.
    Measure(measure::MeasureArgs),
    /// Internal: run as the isolated measurement worker (reads requests on stdin).
    #[command(name = "__worker", hide = true)]
    Worker,
}

/// Runs the command. `Worker` never gets here (see `main`).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Devices(a) => devices::run(&a),
        Command::Sketches(a) => sketches::run(&a),
        Command::Networks(a) => networks::run(&a),
        Command::Measure(a) => measure::run(&a),
        Command::Worker => anyhow::bail!("`__worker` is dispatched by main"),
    }
}

/// The argument that starts the hidden worker command; the measurer re-runs this executable
/// with it ([`tilegrad_measure::WorkerConfig::self_hosted`]).
pub const WORKER_ARG: &str = "__worker";
