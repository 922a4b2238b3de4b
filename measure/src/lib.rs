//! tilegrad-measure: building, running, verifying and timing candidate kernels.
//!
//! Pipeline for a batch of candidates of one [`Problem`]:
//! 1. **Build** in parallel: C with the system compiler ([`build_cpu`]), CUDA with NVRTC
//!    ([`compile_cuda_batch`]; loaded at run time, so the crate builds without CUDA).
//!    Compiler diagnostics are kept in [`MeasureError::BuildError`].
//! 2. **Run** each candidate in an isolated worker process ([`worker_main`], binary
//!    `tilegrad-measure-worker`): a segfault, illegal memory access or hang kills only the worker,
//!    which the parent restarts for the next candidate. Runs are limited by a watchdog
//!    ([`TimingConfig::run_timeout_s`]), builds by [`BuildOptions::timeout_s`].
//! 3. **Verify** the first and last run against the caller's reference on the inputs
//!    [`input_data`]`(seed, ..)`: poisoned output, NaN/Inf check, guard zones around the output,
//!    inputs unchanged ([`verify`]).
//! 4. **Time** with warm-up, repeats until a minimum count and time, optional cache flush
//!    ([`TimingConfig`]); all samples are kept ([`Timing`]).
//!
//! Front ends: [`CpuRunner`] and [`CudaRunner`]. The kernel ABI is documented in [`kernel`].

mod aligned_buf;
pub mod build_dir;
pub mod cc;
pub mod codegen;
mod cpu_exec;
pub mod cpu_measurer;
mod cuda_exec;
pub mod cuda_measurer;
pub mod device;
pub mod error;
pub mod gpu_target;
pub mod inputs;
mod interference;
pub mod kernel;
pub mod measurer;
pub mod nvrtc;
mod parallel;
mod process;
mod protocol;
pub mod record;
pub mod replay;
pub mod runner;
mod session;
pub mod timing;
pub mod verify;
mod watchdog;
pub mod worker;
mod worker_data;
mod worker_main;

pub use build_dir::BuildDir;
pub use cc::{build_cpu, build_one, BuildOptions, BuiltCpuKernel};
pub use cpu_measurer::{CpuMeasurer, CpuMeasurerConfig};
pub use cuda_measurer::{CudaMeasurer, CudaMeasurerConfig};
pub use device::{cuda_device_count, query_device, DeviceInfo, CUDA_BINDINGS_VERSION};
pub use error::{MeasureError, WrongKind};
pub use gpu_target::target_from_device;
pub use inputs::input_data;
pub use kernel::{CpuKernel, CudaKernel, KernelIo, Problem, Tolerance};
pub use measurer::{MeasureInput, MeasureResult, Measurer};
pub use nvrtc::{
    compile_cuda, compile_cuda_batch, nvrtc_available, nvrtc_version, CudaImage, CudaImageKind,
    NvrtcOptions, NVRTC_LIB_ENV,
};
pub use replay::ReplayMeasurer;
pub use runner::{CpuRunner, CudaRunner, Measurement, RunnerConfig};
pub use timing::{Timing, TimingConfig, DISTURBED, SLOW_MIN_REPEAT};
pub use worker::{WorkerConfig, WORKER_EXE_NAME};
pub use worker_main::worker_main;
pub mod emulate;
pub mod host;
pub use host::host_cpu;
