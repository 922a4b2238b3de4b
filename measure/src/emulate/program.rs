//! Building emulator programs (prelude + kernels + `main`) and running launches.

use std::fmt::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::prelude::PRELUDE;
use super::EmulatorOptions;
use crate::{BuildDir, CudaKernel, MeasureError};

/// One launch to emulate.
#[derive(Debug, Clone, Copy)]
pub struct EmulationJob<'a> {
    /// The kernel (source in the dialect of [`crate::codegen::cuda`], launch configuration).
    pub kernel: &'a CudaKernel,
    /// Input buffers in argument order.
    pub inputs: &'a [Vec<f32>],
    /// Length of the output buffer.
    pub output_len: usize,
}

const DYN_SMEM: &str = "extern __shared__ __align__(16) float tg_dyn_smem[];";

/// The kernel's source made fit for a shared host program (namespace `tg_k<i>`).
fn adapt(k: &CudaKernel, i: usize) -> Result<String, MeasureError> {
    let mut src = k.source.replace("extern \"C\"", "");
    if src.contains(DYN_SMEM) {
        let n = (k.shared_bytes as usize).div_ceil(4).max(1);
        src = src.replace(
            DYN_SMEM,
            &format!("__shared__ __align__(16) float tg_dyn_smem[{n}];"),
        );
    }
    if src.contains("extern __shared__") {
        return Err(MeasureError::Invalid(format!(
            "emulator: only `{DYN_SMEM}` is supported as dynamic shared memory"
        )));
    }
    let threads: u64 = k.block.iter().map(|&d| u64::from(d)).product();
    if threads == 0 || threads > 1024 || k.grid.contains(&0) {
        return Err(MeasureError::LaunchError(format!(
            "grid {:?} / block {:?} is not a valid launch",
            k.grid, k.block
        )));
    }
    Ok(format!(
        "namespace tg_k{i} {{\n{src}}}  // namespace tg_k{i}\n"
    ))
}

/// The translation unit for `kernels` (indices into `jobs`).
fn program(jobs: &[EmulationJob], kernels: &[usize]) -> Result<String, MeasureError> {
    let mut src = String::from(PRELUDE);
    let mut cases = String::new();
    for &i in kernels {
        let j = &jobs[i];
        src.push_str(&adapt(j.kernel, i)?);
        let args: Vec<String> = (0..j.inputs.len())
            .map(|a| format!("in[{a}]"))
            .chain(["out".to_string()])
            .collect();
        let (g, b) = (j.kernel.grid, j.kernel.block);
        let _ = writeln!(
            cases,
            "    case {i}: tg_launch(dim3{{{}u, {}u, {}u}}, dim3{{{}u, {}u, {}u}}, [&] {{ tg_k{i}::{}({}); }}); break;",
            g[0], g[1], g[2], b[0], b[1], b[2], j.kernel.entry, args.join(", ")
        );
    }
    let _ = write!(
        src,
        r#"
int main(int argc, char** argv) {{
  if (argc != 5) return 2;
  int k = std::atoi(argv[1]);
  std::string dir = argv[2];
  int nin = std::atoi(argv[3]);
  long nout = std::atol(argv[4]);
  std::vector<float*> in(nin);
  for (int i = 0; i < nin; ++i) {{
    long n;
    in[i] = tg_read((dir + "/in" + std::to_string(i) + ".bin").c_str(), &n);
  }}
  float* out = static_cast<float*>(std::aligned_alloc(64, (size_t)(nout / 16 + 1) * 64));
  for (long i = 0; i < nout; ++i) out[i] = __int_as_float(0x7fc00000);
  switch (k) {{
{cases}    default: return 2;
  }}
  FILE* f = std::fopen((dir + "/out.bin").c_str(), "wb");
  if (!f || std::fwrite(out, 4, nout, f) != (size_t)nout) return 2;
  std::fclose(f);
  return 0;
}}
"#
    );
    Ok(src)
}

fn compile(src: &str, dir: &BuildDir, opts: &EmulatorOptions) -> Result<PathBuf, MeasureError> {
    let path = dir.fresh_path("emu", "cpp");
    let exe = path.with_extension("bin");
    let log = path.with_extension("log");
    std::fs::write(&path, src)?;
    let log_file = std::fs::File::create(&log)?;
    let mut child = Command::new(&opts.compiler)
        .args(&opts.flags)
        .arg("-o")
        .arg(&exe)
        .arg(&path)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| MeasureError::Unavailable(format!("cannot run `{}`: {e}", opts.compiler)))?;
    let limit = Duration::from_secs_f64(opts.build_timeout_s.max(0.0));
    match crate::process::wait_with_timeout(&mut child, limit)? {
        None => Err(MeasureError::BuildTimeout {
            limit_s: opts.build_timeout_s,
        }),
        Some(st) if st.success() => Ok(exe),
        Some(st) => Err(MeasureError::BuildError {
            log: format!(
                "{}[compiler exit: {st}]",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }),
    }
}

fn write_f32(path: &Path, data: &[f32]) -> Result<(), MeasureError> {
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(std::fs::write(path, bytes)?)
}

fn run(
    exe: &Path,
    i: usize,
    job: &EmulationJob,
    dir: &BuildDir,
    opts: &EmulatorOptions,
) -> Result<Vec<f32>, MeasureError> {
    let work = dir.fresh_path("run", "d");
    std::fs::create_dir_all(&work)?;
    for (k, data) in job.inputs.iter().enumerate() {
        write_f32(&work.join(format!("in{k}.bin")), data)?;
    }
    let err_path = work.join("stderr.txt");
    let mut child = Command::new(exe)
        .arg(i.to_string())
        .arg(&work)
        .arg(job.inputs.len().to_string())
        .arg(job.output_len.to_string())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()
        .map_err(|e| MeasureError::Worker(format!("cannot start the emulator: {e}")))?;
    let limit = Duration::from_secs_f64(opts.run_timeout_s.max(0.0));
    let status =
        crate::process::wait_with_timeout(&mut child, limit)?.ok_or(MeasureError::RunTimeout {
            limit_s: opts.run_timeout_s,
        })?;
    if !status.success() {
        return Err(MeasureError::Crash {
            signal: status.signal(),
            exit_code: status.code(),
            detail: std::fs::read_to_string(&err_path).unwrap_or_default(),
        });
    }
    let bytes = std::fs::read(work.join("out.bin"))?;
    if bytes.len() != job.output_len * 4 {
        return Err(MeasureError::Worker(format!(
            "emulator wrote {} bytes",
            bytes.len()
        )));
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Emulates every job (see the module docs of [`super`]); results in job order. Kernels are
/// compiled `opts.kernels_per_program` to a program (when a program fails to build, its
/// kernels are rebuilt one by one so that each gets its own diagnostic).
pub fn emulate_batch(
    jobs: &[EmulationJob],
    opts: &EmulatorOptions,
) -> Vec<Result<Vec<f32>, MeasureError>> {
    let dir = match BuildDir::new() {
        Ok(d) => d,
        Err(e) => return jobs.iter().map(|_| Err(e.clone())).collect(),
    };
    let mut results: Vec<Option<Result<Vec<f32>, MeasureError>>> = vec![None; jobs.len()];
    let mut ok = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        match adapt(j.kernel, i) {
            Ok(_) => ok.push(i),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let chunks: Vec<Vec<usize>> = ok
        .chunks(opts.kernels_per_program.max(1))
        .map(<[usize]>::to_vec)
        .collect();
    let build = |ks: &Vec<usize>| program(jobs, ks).and_then(|src| compile(&src, &dir, opts));
    let panicked = || Err(MeasureError::Worker("emulator build job panicked".into()));
    let built = crate::parallel::par_map(&chunks, opts.jobs, build, panicked);
    // (program, kernel index) for every kernel that built.
    let mut runs: Vec<(PathBuf, usize)> = Vec::new();
    let mut retry: Vec<Vec<usize>> = Vec::new();
    for (ks, b) in chunks.iter().zip(built) {
        match b {
            Ok(exe) => runs.extend(ks.iter().map(|&i| (exe.clone(), i))),
            Err(e) if ks.len() == 1 || !matches!(e, MeasureError::BuildError { .. }) => {
                ks.iter().for_each(|&i| results[i] = Some(Err(e.clone())));
            }
            Err(_) => retry.extend(ks.iter().map(|&i| vec![i])),
        }
    }
    let rebuilt = crate::parallel::par_map(&retry, opts.jobs, build, panicked);
    for (ks, b) in retry.iter().zip(rebuilt) {
        match b {
            Ok(exe) => runs.push((exe, ks[0])),
            Err(e) => results[ks[0]] = Some(Err(e)),
        }
    }
    let ran = crate::parallel::par_map(
        &runs,
        opts.jobs,
        |(exe, i)| run(exe, *i, &jobs[*i], &dir, opts),
        || Err(MeasureError::Worker("emulator run job panicked".into())),
    );
    for ((_, i), r) in runs.iter().zip(ran) {
        results[*i] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(MeasureError::Worker("job not run".into()))))
        .collect()
}
