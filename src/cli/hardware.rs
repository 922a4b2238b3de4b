//! The measurer of a resolved target: the host CPU or a CUDA device, both measuring in this
//! executable's hidden worker subcommand.

use anyhow::Context;
use tilegrad_measure::cuda_measurer::{CudaMeasurer, CudaMeasurerConfig};
use tilegrad_measure::{CpuMeasurer, CpuMeasurerConfig, Measurer, RunnerConfig, WorkerConfig};

use super::target::Resolved;
use super::WORKER_ARG;

/// Runner settings with the self-hosted worker and `threads` CPU threads (`None`: all).
pub fn runner_config(threads: Option<u32>) -> anyhow::Result<RunnerConfig> {
    let mut cfg = RunnerConfig {
        worker: WorkerConfig::self_hosted(&[WORKER_ARG])
            .context("cannot locate this executable to start the measurement worker")?,
        ..RunnerConfig::default()
    };
    cfg.threads = threads.map_or(0, |t| t as usize);
    Ok(cfg)
}

/// A measurer for `r`: the CPU measurer, or the CUDA measurer of its device.
pub fn measurer(r: &Resolved, threads: Option<u32>) -> anyhow::Result<Box<dyn Measurer>> {
    let runner = runner_config(threads)?;
    match r.device {
        None => {
            let mut cfg = CpuMeasurerConfig::new(r.target.clone());
            cfg.runner = runner;
            Ok(Box::new(
                CpuMeasurer::new(cfg).context("cannot set up the CPU measurer")?,
            ))
        }
        Some(ordinal) => {
            let cfg = CudaMeasurerConfig {
                runner,
                ordinal,
                target: Some(r.target.clone()),
                ..CudaMeasurerConfig::default()
            };
            Ok(Box::new(CudaMeasurer::new(cfg).with_context(|| {
                format!("cannot set up the CUDA measurer on device {ordinal}")
            })?))
        }
    }
}
