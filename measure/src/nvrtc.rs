//! Compiling CUDA kernels with NVRTC (through cudarc, loaded at run time).
//!
//! NVRTC needs no GPU. On machines without a CUDA toolkit it comes from the PyPI wheel
//! `nvidia-cuda-nvrtc-cu12` (put `.../nvidia/cuda_nvrtc/lib` on `LD_LIBRARY_PATH`), or from any
//! `libnvrtc.so.12` named by the environment variable [`NVRTC_LIB_ENV`].

use crate::{CudaKernel, MeasureError};
use cudarc::nvrtc::{result, sys};
use serde::{Deserialize, Serialize};
use std::ffi::{CStr, CString};
use std::sync::OnceLock;
use std::time::Instant;

/// Environment variable naming an absolute path to `libnvrtc.so.12`.
pub const NVRTC_LIB_ENV: &str = "TILEGRAD_NVRTC_LIB";

/// What NVRTC produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CudaImageKind {
    /// PTX for `compute_XY` (JIT-compiled by the driver at load; needs a driver at least as
    /// new as NVRTC: 12.9 emits PTX ISA 8.8).
    Ptx,
    /// SASS for exactly `sm_XY` (no JIT; avoids the driver-version constraint).
    Cubin,
}

/// NVRTC options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvrtcOptions {
    /// Target compute capability, e.g. (9, 0).
    pub arch: (u32, u32),
    /// PTX or cubin.
    pub output: CudaImageKind,
    /// Extra NVRTC options (e.g. `--use_fast_math`); must not contain NUL bytes.
    pub extra: Vec<String>,
    /// Compilations run at once in [`compile_cuda_batch`].
    pub jobs: usize,
}

impl Default for NvrtcOptions {
    fn default() -> Self {
        Self {
            arch: (8, 0),
            output: CudaImageKind::Ptx,
            extra: Vec::new(),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// A compiled CUDA module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CudaImage {
    /// PTX text (without the trailing NUL) or cubin ELF bytes.
    pub bytes: Vec<u8>,
    /// Which of the two.
    pub kind: CudaImageKind,
    /// Compile wall time, seconds.
    pub build_s: f64,
}

/// Opens `$TILEGRAD_NVRTC_LIB` once and keeps it loaded, so cudarc's later `dlopen` by soname
/// finds it. Returns an error text when the variable is set but the library cannot be opened.
fn preload_from_env() -> Result<(), String> {
    static LIB: OnceLock<Result<Option<libloading::Library>, String>> = OnceLock::new();
    let r = LIB.get_or_init(|| match std::env::var_os(NVRTC_LIB_ENV) {
        None => Ok(None),
        // SAFETY: loading libnvrtc runs only its own initializers.
        Some(p) => unsafe { libloading::Library::new(&p) }
            .map(Some)
            .map_err(|e| format!("{NVRTC_LIB_ENV}={}: {e}", p.to_string_lossy())),
    });
    r.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// `Ok` when NVRTC can be used; `Unavailable` (never a panic) otherwise.
pub fn nvrtc_available() -> Result<(), MeasureError> {
    preload_from_env().map_err(MeasureError::Unavailable)?;
    // SAFETY: only tries to dlopen the library.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(MeasureError::Unavailable(format!(
            "libnvrtc.so.12 not found: install the wheel nvidia-cuda-nvrtc-cu12 and add its \
             nvidia/cuda_nvrtc/lib to LD_LIBRARY_PATH, or set {NVRTC_LIB_ENV}"
        )))
    }
}

/// NVRTC's version (major, minor).
pub fn nvrtc_version() -> Result<(u32, u32), MeasureError> {
    nvrtc_available()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: writes two ints.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| MeasureError::Unavailable(format!("nvrtcVersion: {e:?}")))?;
    Ok((major as u32, minor as u32))
}

struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by `create_program`, destroyed once.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

fn build_err(what: &str, e: impl std::fmt::Debug) -> MeasureError {
    MeasureError::BuildError {
        log: format!("{what}: {e:?}"),
    }
}

/// Compiles one CUDA source. A compile error gives `BuildError` with NVRTC's log.
pub fn compile_cuda(source: &str, opts: &NvrtcOptions) -> Result<CudaImage, MeasureError> {
    nvrtc_available()?;
    let start = Instant::now();
    let src = CString::new(source).map_err(|e| build_err("source", e))?;
    let prog = Program(result::create_program(&src, None).map_err(|e| build_err("create", e))?);
    let (prefix, (ma, mi)) = match opts.output {
        CudaImageKind::Ptx => ("compute", opts.arch),
        CudaImageKind::Cubin => ("sm", opts.arch),
    };
    let mut options = vec![format!("--gpu-architecture={prefix}_{ma}{mi}")];
    for o in &opts.extra {
        if o.contains('\0') {
            return Err(MeasureError::Invalid(format!(
                "NVRTC option {o:?} contains NUL"
            )));
        }
        options.push(o.clone());
    }
    // SAFETY: `prog` is live; options are NUL-free.
    if let Err(e) = unsafe { result::compile_program(prog.0, &options) } {
        // SAFETY: `prog` is live.
        let log = unsafe { result::get_program_log(prog.0) }
            .map(|raw| {
                // SAFETY: NVRTC returns a NUL-terminated log.
                unsafe { CStr::from_ptr(raw.as_ptr()) }
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        return Err(MeasureError::BuildError {
            log: format!("{log}[nvrtc: {e:?}]"),
        });
    }
    let bytes = match opts.output {
        CudaImageKind::Ptx => {
            // SAFETY: compiled program.
            let raw = unsafe { result::get_ptx(prog.0) }.map_err(|e| build_err("get ptx", e))?;
            let mut b: Vec<u8> = raw.iter().map(|&c| c as u8).collect();
            while b.last() == Some(&0) {
                b.pop();
            }
            b
        }
        CudaImageKind::Cubin => {
            let mut size = 0usize;
            // SAFETY: compiled program; the buffer has the reported size.
            unsafe { sys::nvrtcGetCUBINSize(prog.0, &mut size) }
                .result()
                .map_err(|e| build_err("cubin size", e))?;
            let mut b = vec![0u8; size];
            // SAFETY: as above.
            unsafe { sys::nvrtcGetCUBIN(prog.0, b.as_mut_ptr().cast()) }
                .result()
                .map_err(|e| build_err("get cubin", e))?;
            b
        }
    };
    Ok(CudaImage {
        bytes,
        kind: opts.output,
        build_s: start.elapsed().as_secs_f64(),
    })
}

/// Compiles kernels in parallel (`opts.jobs` at a time); results in input order.
pub fn compile_cuda_batch(
    kernels: &[CudaKernel],
    opts: &NvrtcOptions,
) -> Vec<Result<CudaImage, MeasureError>> {
    crate::parallel::par_map(
        kernels,
        opts.jobs,
        |k| compile_cuda(&k.source, opts),
        || Err(build_err("nvrtc", "panicked")),
    )
}
