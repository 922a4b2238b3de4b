//! A CPU emulation of the CUDA thread model that runs generated CUDA *source* without a GPU,
//! so that tests check the numerical results of GPU kernels on any machine.
//!
//! The kernel source (as made by [`crate::codegen::cuda::emit`], or any source in the same
//! dialect) is compiled with the system C++ compiler behind a prelude that defines
//! `__global__`, `__launch_bounds__`, `__shared__` (static storage: the blocks of a launch
//! run one after another, so a block's threads share it), `__syncthreads()`,
//! `threadIdx`/`blockIdx`/`blockDim`/`gridDim`, `float2`/`float4` with `make_*`,
//! `__int_as_float`, integer `min`/`max` and `rsqrtf`. The threads of a block are cooperative
//! fibers (`ucontext`) on one OS thread: each runs until its next `__syncthreads()`, in thread
//! order (x fastest), and the block continues once all of them are there. This is one legal
//! CUDA interleaving, so race-free kernels get their exact result, deterministically.
//! `extern "C"` is dropped so that several kernels can share one program (each in its own
//! namespace); a dynamic `extern __shared__ … tg_dyn_smem[]` becomes a static array of
//! `shared_bytes`.
//!
//! Every launch runs in its own process (a crash or hang kills only it) under
//! [`EmulatorOptions::run_timeout_s`]. Compiler errors come back as
//! [`MeasureError::BuildError`], a wrong launch or a barrier reached by only part of a block
//! as [`MeasureError::Crash`].
//!
//! # Limits
//! Meant for small shapes: a whole grid runs on one core (roughly 10⁷–10⁸ simple statements
//! per second), every block allocates `blockDim` fiber stacks of 256 KiB (so per-thread
//! local arrays must stay well below that), no bounds checking of memory accesses (compare
//! with the interpreter, which has it), no warp-level primitives, atomics or `printf`.

mod prelude;
mod program;

pub use program::{emulate_batch, EmulationJob};

use crate::{CudaKernel, MeasureError};

/// How emulated kernels are built and run.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorOptions {
    /// C++ compiler (default: `$CXX`, else `g++`).
    pub compiler: String,
    /// Compiler flags (default `-O1 -std=c++17 -fno-strict-aliasing -w`).
    pub flags: Vec<String>,
    /// Limit per compiler invocation, in seconds.
    pub build_timeout_s: f64,
    /// Limit per emulated launch, in seconds.
    pub run_timeout_s: f64,
    /// Kernels per program in [`emulate_batch`] (programs are compiled in parallel).
    pub kernels_per_program: usize,
    /// Compilers run at once.
    pub jobs: usize,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            compiler: std::env::var("CXX").unwrap_or_else(|_| "g++".into()),
            flags: ["-O1", "-std=c++17", "-fno-strict-aliasing", "-w"]
                .map(String::from)
                .to_vec(),
            build_timeout_s: 300.0,
            run_timeout_s: 60.0,
            kernels_per_program: 32,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Runs `kernel` on `inputs` (in argument order) with the default options and returns the
/// output buffer of `output_len` elements (see the module docs).
pub fn emulate(
    kernel: &CudaKernel,
    inputs: &[Vec<f32>],
    output_len: usize,
) -> Result<Vec<f32>, MeasureError> {
    let job = EmulationJob {
        kernel,
        inputs,
        output_len,
    };
    emulate_batch(&[job], &EmulatorOptions::default())
        .pop()
        .unwrap_or_else(|| Err(MeasureError::Worker("no emulation result".into())))
}
