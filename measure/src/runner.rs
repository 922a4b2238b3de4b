//! The measuring front ends: build a batch in parallel, then run it candidate by candidate in
//! the isolated worker. A `Measurer` implementation wraps these.

use crate::nvrtc::{compile_cuda_batch, CudaImageKind, NvrtcOptions};
use crate::protocol::{CpuTask, CudaTask, Request};
use crate::session::Session;
use crate::{
    build_cpu, query_device, BuildDir, BuildOptions, BuiltCpuKernel, CpuKernel, CudaKernel,
    DeviceInfo, MeasureError, Problem, Timing, TimingConfig, WorkerConfig,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Configuration of a runner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunnerConfig {
    /// How to start the worker.
    pub worker: WorkerConfig,
    /// C compiler settings (CPU).
    pub build: BuildOptions,
    /// Timing protocol.
    pub timing: TimingConfig,
    /// OpenMP threads for CPU kernels (0 = OpenMP's default, i.e. all cores).
    pub threads: usize,
    /// Extra NVRTC options (GPU).
    pub nvrtc_extra: Vec<String>,
    /// Compile CUDA to SASS (cubin) instead of PTX.
    pub cubin: bool,
    /// Parent directory for the build directory (default: the system temp dir).
    pub build_root: Option<PathBuf>,
}

/// A successful measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Run times.
    pub timing: Timing,
    /// Compile time of the candidate, seconds.
    pub build_s: f64,
}

fn build_dir(cfg: &RunnerConfig) -> Result<BuildDir, MeasureError> {
    match &cfg.build_root {
        Some(p) => BuildDir::new_in(p),
        None => BuildDir::new(),
    }
}

/// Measures C kernels on this machine's CPU.
pub struct CpuRunner {
    cfg: RunnerConfig,
    session: Session,
}

impl CpuRunner {
    /// Creates the build directory; the worker starts on the first measurement.
    pub fn new(cfg: RunnerConfig) -> Result<Self, MeasureError> {
        let session = Session::new(cfg.worker.clone(), build_dir(&cfg)?);
        Ok(Self { cfg, session })
    }

    /// The configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.cfg
    }

    /// The build directory (sources, shared objects, data files).
    pub fn build_dir(&self) -> &BuildDir {
        &self.session.dir
    }

    /// Worker processes started so far (1 + restarts after crashes and timeouts).
    pub fn worker_starts(&self) -> u64 {
        self.session.worker.starts()
    }

    /// Builds all kernels in parallel, then verifies and times each in the worker.
    /// One result per kernel, in order; failures never stop the batch. A kernel that occurs
    /// several times in the batch is built once and timed at each of its places, so a batch
    /// can time candidates alternately, back to back (head-to-head, confirmation passes).
    pub fn measure(
        &mut self,
        problem: &Problem,
        kernels: &[CpuKernel],
    ) -> Vec<Result<Measurement, MeasureError>> {
        if let Err(e) = problem.validate() {
            return kernels.iter().map(|_| Err(e.clone())).collect();
        }
        let mut distinct: Vec<CpuKernel> = Vec::new();
        let slot: Vec<usize> = kernels
            .iter()
            .map(|k| match distinct.iter().position(|d| d == k) {
                Some(i) => i,
                None => {
                    distinct.push(k.clone());
                    distinct.len() - 1
                }
            })
            .collect();
        let built = build_cpu(&distinct, &self.cfg.build, &self.session.dir);
        let out = slot
            .iter()
            .map(|&i| match &built[i] {
                Ok(b) => self.measure_built(problem, b),
                Err(e) => Err(e.clone()),
            })
            .collect();
        // The worker has unloaded them; keep the sources and logs, drop the binaries.
        for b in built.iter().flatten() {
            let _ = std::fs::remove_file(&b.lib_path);
        }
        out
    }

    /// Verifies and times one already built kernel.
    pub fn measure_built(
        &mut self,
        problem: &Problem,
        kernel: &BuiltCpuKernel,
    ) -> Result<Measurement, MeasureError> {
        let common = self.session.common(problem, &self.cfg.timing)?;
        let request = Request::RunCpu(CpuTask {
            lib_path: kernel.lib_path.clone(),
            entry: kernel.entry.clone(),
            prepared_lens: kernel.prepared_lens.clone(),
            threads: self.cfg.threads,
            common,
        });
        let timing = self.session.run(request, &self.cfg.timing)?;
        Ok(Measurement {
            timing,
            build_s: kernel.build_s,
        })
    }
}

/// Measures CUDA kernels on one GPU. Construction fails with
/// [`MeasureError::Unavailable`] when there is no driver or device.
pub struct CudaRunner {
    cfg: RunnerConfig,
    info: DeviceInfo,
    nvrtc: NvrtcOptions,
    session: Session,
}

impl CudaRunner {
    /// Queries device `ordinal` (in this process; no context is created here) and prepares
    /// NVRTC options for its compute capability.
    pub fn new(cfg: RunnerConfig, ordinal: usize) -> Result<Self, MeasureError> {
        let info = query_device(ordinal)?;
        crate::nvrtc_available()?;
        let nvrtc = NvrtcOptions {
            arch: info.compute_capability,
            output: if cfg.cubin {
                CudaImageKind::Cubin
            } else {
                CudaImageKind::Ptx
            },
            extra: cfg.nvrtc_extra.clone(),
            ..NvrtcOptions::default()
        };
        let session = Session::new(cfg.worker.clone(), build_dir(&cfg)?);
        Ok(Self {
            cfg,
            info,
            nvrtc,
            session,
        })
    }

    /// The device's properties.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Worker processes started so far.
    pub fn worker_starts(&self) -> u64 {
        self.session.worker.starts()
    }

    /// Compiles all kernels with NVRTC in parallel, then verifies and times each in the worker.
    pub fn measure(
        &mut self,
        problem: &Problem,
        kernels: &[CudaKernel],
    ) -> Vec<Result<Measurement, MeasureError>> {
        if let Err(e) = problem.validate() {
            return kernels.iter().map(|_| Err(e.clone())).collect();
        }
        let images = compile_cuda_batch(kernels, &self.nvrtc);
        kernels
            .iter()
            .zip(images)
            .map(|(k, img)| {
                let img = img?;
                let ext = match img.kind {
                    CudaImageKind::Ptx => "ptx",
                    CudaImageKind::Cubin => "cubin",
                };
                let path = self.session.dir.fresh_path("m", ext);
                std::fs::write(&path, &img.bytes)?;
                let common = self.session.common(problem, &self.cfg.timing)?;
                let request = Request::RunCuda(CudaTask {
                    image_path: path.clone(),
                    entry: k.entry.clone(),
                    grid: k.grid,
                    block: k.block,
                    shared_bytes: k.shared_bytes,
                    device: self.info.ordinal,
                    common,
                });
                let timing = self.session.run(request, &self.cfg.timing);
                let _ = std::fs::remove_file(&path);
                Ok(Measurement {
                    timing: timing?,
                    build_s: img.build_s,
                })
            })
            .collect()
    }
}
