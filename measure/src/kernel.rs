//! What a caller hands in: kernel sources, the buffer shapes, the reference output.
//!
//! # Kernel ABI (generated code must follow it)
//!
//! All buffers are `f32`, row-major, contiguous, 64-byte aligned, never overlapping.
//!
//! **C (CPU):** one exported function
//! ```c
//! void <entry>(float *const *args);
//! ```
//! where `args[0 .. n_inputs]` are the inputs (read only) and `args[n_inputs]` the output.
//! The kernel must write every output element (unwritten elements keep a NaN poison pattern and
//! fail verification) and nothing outside it (guard zones around the output catch that).
//! It may use OpenMP (`#pragma omp parallel for`); the worker sets the thread count.
//! A kernel with *prepared buffers* (a weight packed into the schedule's layout, see
//! [`CpuKernel::prepared_lens`]) takes them as `args[n_inputs + 1 ..]` and exports a second
//! function, `void <entry>_prepare(float *const *args)` with the same arguments, that fills
//! them from the inputs. The caller runs it once per set of layer parameters (the constant
//! inputs), before the calls of `<entry>`; the worker runs it once, untimed, before timing.
//! It is compiled with `cc -O3 -march=native -fopenmp -shared -fPIC` (see [`crate::BuildOptions`]).
//!
//! **CUDA:** one `extern "C" __global__` function taking the buffers as separate pointers,
//! inputs first, output last:
//! ```c
//! extern "C" __global__ void <entry>(const float* in0, ..., const float* inN, float* out);
//! ```
//! launched with the [`CudaKernel`]'s `grid`, `block` and dynamic `shared_bytes`.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A C kernel to build and measure on the CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuKernel {
    /// Complete C translation unit.
    pub source: String,
    /// Name of the exported function, `void entry(float *const *args)`.
    pub entry: String,
    /// Length in `f32`s of each prepared buffer, in argument order (empty: no prepare
    /// function).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prepared_lens: Vec<usize>,
}

impl CpuKernel {
    /// A kernel without prepared buffers.
    pub fn new(source: String, entry: String) -> CpuKernel {
        CpuKernel {
            source,
            entry,
            prepared_lens: Vec::new(),
        }
    }
}

/// A CUDA kernel to build with NVRTC and measure on the GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CudaKernel {
    /// Complete CUDA C++ source (the entry must be `extern "C" __global__`).
    pub source: String,
    /// Name of the kernel function.
    pub entry: String,
    /// Grid dimensions (blocks).
    pub grid: [u32; 3],
    /// Block dimensions (threads).
    pub block: [u32; 3],
    /// Dynamic shared memory per block, in bytes.
    pub shared_bytes: u32,
}

/// Buffer sizes of one operator instance, in `f32` elements.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KernelIo {
    /// Length of each input buffer, in argument order.
    pub input_lens: Vec<usize>,
    /// Length of the output buffer.
    pub output_len: usize,
}

/// Verification tolerance: an element passes when `|out - exp| <= atol + rtol * |exp|`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Relative tolerance.
    pub rtol: f32,
    /// Absolute tolerance.
    pub atol: f32,
}

impl Tolerance {
    /// Default for `f32` outputs of reductions over up to a few thousand terms with inputs in
    /// [-1, 1]: different summation orders and FMA contraction stay well inside it, while a
    /// wrong index or a missing term does not.
    pub const F32: Tolerance = Tolerance {
        rtol: 1e-3,
        atol: 1e-3,
    };
}

impl Default for Tolerance {
    fn default() -> Self {
        Self::F32
    }
}

/// One operator instance to measure candidates against: shapes, input seed, reference output.
///
/// Inputs are not passed: both sides regenerate them with [`crate::input_data`]`(seed, ..)`,
/// so the caller computes `expected` from exactly the inputs the kernels see.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Buffer sizes.
    pub io: KernelIo,
    /// Seed of the input generator.
    pub seed: u64,
    /// Reference output on the inputs `input_data(seed, &io.input_lens)`.
    pub expected: Arc<Vec<f32>>,
    /// Verification tolerance.
    pub tolerance: Tolerance,
}

impl Problem {
    /// Checks that the reference output matches the declared output length.
    pub fn validate(&self) -> Result<(), crate::MeasureError> {
        if self.expected.len() != self.io.output_len {
            return Err(crate::MeasureError::Invalid(format!(
                "expected output has {} elements, io.output_len is {}",
                self.expected.len(),
                self.io.output_len
            )));
        }
        if self.io.output_len == 0 {
            return Err(crate::MeasureError::Invalid("empty output".into()));
        }
        Ok(())
    }
}
