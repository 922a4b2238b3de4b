//! The `tilegrad` command line: argument definitions and dispatch.
//!
//! Each command lives in its own module and returns `anyhow::Result<()>`; errors that are the
//! user's fault (a malformed workload, an unknown sketch, network or target) carry the
//! [`BadInput`] context so that `main` exits with code 2 instead of 1.

mod bench;
mod bench_kernels;
mod best;
mod db;
mod devices;
mod export;
mod hardware;
mod kernels_table;
mod measure;
mod model;
mod networks;
mod onnx;
mod ort;
mod plot;
mod replay;
mod report;
mod rounds;
mod sketches;
mod target;
mod tune;
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
    /// Tune a workload, a network, an ONNX model or a file of workloads: search, measure,
    /// log, fill the schedule database, write a report.
    Tune(Box<tune::TuneArgs>),
    /// Show the host CPU target, the CUDA devices (or why there are none) and NVRTC.
    Devices(devices::DevicesArgs),
    /// List the sketches (symbolic schedules) of a workload on a target.
    Sketches(sketches::SketchesArgs),
    /// List the shipped networks, or the tuning tasks of one or of an ONNX model.
    Networks(networks::NetworksArgs),
    /// Build, verify and time schedule candidates of a workload (CPU or CUDA).
    Measure(measure::MeasureArgs),
    /// The best tuned schedule of a workload on a target: schedule, time, kernel source.
    Best(best::BestArgs),
    /// Export the best kernel: source + launch configuration as JSON, or a C header.
    Export(export::ExportArgs),
    /// Summarise a tuning report (JSON) and plot its best-so-far curves (SVG).
    Report(report::ReportArgs),
    /// Re-run a search from a tuning log (the log answers every candidate; no hardware).
    Replay(replay::ReplayArgs),
    /// Benchmarks: `bench search` compares the search policies side by side, `bench kernels`
    /// our tuned kernels with ONNX Runtime.
    Bench(bench::BenchArgs),
    /// Maintain a schedule database: import logs, distill, merge, stats.
    Db(db::DbArgs),
    /// The cost model: pre-train on tuning logs, evaluate, describe the shipped models.
    Model(model::ModelArgs),
    /// Internal: run as the isolated measurement worker (reads requests on stdin).
    #[command(name = "__worker", hide = true)]
    Worker,
}

/// Runs the command. `Worker` never gets here (see `main`).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Tune(a) => tune::run(&a),
        Command::Devices(a) => devices::run(&a),
        Command::Sketches(a) => sketches::run(&a),
        Command::Networks(a) => networks::run(&a),
        Command::Measure(a) => measure::run(&a),
        Command::Best(a) => best::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Replay(a) => replay::run(&a),
        Command::Db(a) => db::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Model(a) => model::run(&a),
        Command::Worker => anyhow::bail!("`__worker` is dispatched by main"),
    }
}

/// The argument that starts the hidden worker command; the measurer re-runs this executable
/// with it ([`tilegrad_measure::WorkerConfig::self_hosted`]).
pub const WORKER_ARG: &str = "__worker";
