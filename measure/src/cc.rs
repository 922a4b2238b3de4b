//! Building C kernels into shared objects with the system C compiler, in parallel.

use crate::{BuildDir, CpuKernel, MeasureError};
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How C kernels are compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// Compiler executable (default: `$CC`, else `cc`).
    pub compiler: String,
    /// Flags before `-shared -fPIC -o out src` (default `-O3 -march=native -fopenmp`; no
    /// `-ffast-math`, so results stay IEEE and comparable with the reference).
    pub flags: Vec<String>,
    /// Limit per compiler invocation, in seconds; beyond it the compiler is killed.
    pub timeout_s: f64,
    /// Compiler processes run at once (default: twice the available cores, at least 2;
    /// compiles wait on disk and process start-up, so oversubscribing helps a little).
    pub jobs: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            compiler: std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            flags: ["-O3", "-march=native", "-fopenmp"]
                .map(String::from)
                .to_vec(),
            timeout_s: 30.0,
            jobs: (2 * cores).max(2),
        }
    }
}

/// A successfully compiled C kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltCpuKernel {
    /// The shared object (inside the [`BuildDir`]).
    pub lib_path: PathBuf,
    /// Exported entry symbol.
    pub entry: String,
    /// Lengths of the prepared buffers ([`CpuKernel::prepared_lens`]).
    #[serde(default)]
    pub prepared_lens: Vec<usize>,
    /// Wall time of the compiler invocation, in seconds.
    pub build_s: f64,
}

/// Compiles every kernel into its own shared object in `dir`, `opts.jobs` at a time.
/// Results are in input order; a failure (with the compiler's stderr) does not affect others.
pub fn build_cpu(
    kernels: &[CpuKernel],
    opts: &BuildOptions,
    dir: &BuildDir,
) -> Vec<Result<BuiltCpuKernel, MeasureError>> {
    crate::parallel::par_map(
        kernels,
        opts.jobs,
        |k| build_one(k, opts, dir),
        || Err(MeasureError::Worker("build job panicked".into())),
    )
}

/// Compiles one kernel.
pub fn build_one(
    kernel: &CpuKernel,
    opts: &BuildOptions,
    dir: &BuildDir,
) -> Result<BuiltCpuKernel, MeasureError> {
    let src = dir.fresh_path("k", "c");
    let lib = src.with_extension("so");
    let log = src.with_extension("log");
    std::fs::write(&src, &kernel.source)?;
    let log_file = std::fs::File::create(&log)?;
    let start = Instant::now();
    let mut child = Command::new(&opts.compiler)
        .args(&opts.flags)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        // Libraries after the source: `--as-needed` linkers drop a `-lm` placed before it,
        // and generated kernels call sqrtf, ….
        .arg("-lm")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| {
            MeasureError::Unavailable(format!("cannot run C compiler `{}`: {e}", opts.compiler))
        })?;
    let limit = Duration::from_secs_f64(opts.timeout_s.max(0.0));
    let status = crate::process::wait_with_timeout(&mut child, limit)?;
    let build_s = start.elapsed().as_secs_f64();
    match status {
        None => Err(MeasureError::BuildTimeout {
            limit_s: opts.timeout_s,
        }),
        Some(st) if st.success() => Ok(BuiltCpuKernel {
            lib_path: lib,
            entry: kernel.entry.clone(),
            prepared_lens: kernel.prepared_lens.clone(),
            build_s,
        }),
        Some(st) => {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            Err(MeasureError::BuildError {
                log: format!("{text}[compiler exit: {st}]"),
            })
        }
    }
}
