//! The CUDA emulator against the reference and the interpreter: for every GPU sketch of every
//! small workload, two seeded legal assignments (the ones with the fewest and the median
//! thread count of a seeded sample) are emitted as CUDA, emulated on the CPU and compared with
//! the reference and with the interpreter.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::codegen::cuda::emit;
use tilegrad_measure::emulate::{emulate, emulate_batch, EmulationJob, EmulatorOptions};
use tilegrad_measure::{
    compile_cuda_batch, input_data, nvrtc_available, CudaImageKind, CudaKernel, MeasureError,
    NvrtcOptions,
};
use tilegrad_symbolic::{interpret, LoopTree, Target};
use tilegrad_templates::reference::reference;
use tilegrad_templates::sketches;
use tilegrad_templates::testing::{compare, small_workloads};

/// Assignments sampled per sketch to choose the emulated ones from.
const SAMPLE: usize = 8;

struct Case {
    label: String,
    /// The first case of its sketch.
    first: bool,
    tree: LoopTree,
    kernel: CudaKernel,
    inputs: Vec<Vec<f32>>,
    want: Vec<f32>,
}

fn input_lens(tree: &LoopTree) -> Vec<usize> {
    tree.inputs()
        .iter()
        .map(|&b| tree.const_shape(b).unwrap().iter().product::<i64>() as usize)
        .collect()
}

fn cases(failures: &mut Vec<String>) -> (Vec<Case>, usize) {
    let target = Target::preset("h100-sxm").unwrap();
    let mut out = Vec::new();
    let mut sketch_count = 0;
    for (wi, w) in small_workloads().iter().enumerate() {
        let Ok(all) = sketches(w, &target) else {
            println!("no GPU sketch for `{w}`");
            continue;
        };
        for s in all.iter().filter(|s| s.tree.is_gpu()) {
            sketch_count += 1;
            let mut rng = ChaCha8Rng::seed_from_u64(7 + wi as u64);
            let mut picked: Vec<(u32, String, LoopTree, CudaKernel)> = Vec::new();
            for _ in 0..SAMPLE {
                let a = s.sample(&mut rng).unwrap();
                let tree = s.instantiate(&a).unwrap();
                let k = match emit(&tree, "kernel") {
                    Ok(k) => k,
                    Err(e) => {
                        failures.push(format!("`{w}` sketch `{}` [{a}]: {e}\n{tree}", s.id));
                        continue;
                    }
                };
                let threads = k.block.iter().product::<u32>();
                if !picked.iter().any(|p| p.1 == a.to_string()) {
                    picked.push((threads, a.to_string(), tree, k));
                }
            }
            // The fewest threads and the median thread count of the sample.
            picked.sort_by_key(|p| p.0);
            let median = picked.len() / 2;
            let chosen = picked
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i == 0 || *i == median)
                .map(|(_, p)| p);
            for (n, (_, a, tree, kernel)) in chosen.enumerate() {
                let inputs = input_data(1000 + wi as u64, &input_lens(&tree));
                let want = reference(w, &inputs).unwrap();
                let label = format!("`{w}` sketch `{}` [{a}]", s.id);
                out.push(Case {
                    label,
                    first: n == 0,
                    tree,
                    kernel,
                    inputs,
                    want,
                });
            }
        }
    }
    (out, sketch_count)
}

#[test]
fn emulated_gpu_sketches_match_reference_and_interpreter() {
    let start = std::time::Instant::now();
    let mut failures = Vec::new();
    let (cases, sketch_count) = cases(&mut failures);
    assert!(sketch_count > 0 && !cases.is_empty());
    let jobs: Vec<EmulationJob> = cases
        .iter()
        .map(|c| EmulationJob {
            kernel: &c.kernel,
            inputs: &c.inputs,
            output_len: c.want.len(),
        })
        .collect();
    let results = emulate_batch(&jobs, &EmulatorOptions::default());
    let vectorized = cases
        .iter()
        .filter(|c| c.kernel.source.contains("reinterpret_cast<"))
        .count();
    let barriers = cases
        .iter()
        .filter(|c| c.kernel.source.contains("__syncthreads"))
        .count();
    assert!(
        vectorized > 0 && barriers > 0,
        "{vectorized} vectorized, {barriers} with barriers"
    );
    for (c, r) in cases.iter().zip(results) {
        let got = match r {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{}: {e}\n{}", c.label, c.kernel.source));
                continue;
            }
        };
        if let Err(e) = compare(&c.want, &got) {
            failures.push(format!(
                "{} vs reference: {e}\n{}\n{}",
                c.label, c.tree, c.kernel.source
            ));
            continue;
        }
        let refs: Vec<&[f32]> = c.inputs.iter().map(Vec::as_slice).collect();
        let interp = interpret(&c.tree, &refs).unwrap_or_else(|e| panic!("{}: {e}", c.label));
        if let Err(e) = compare(&interp, &got) {
            failures.push(format!("{} vs interpreter: {e}", c.label));
        }
    }
    // The first emulated kernel of every sketch also compiles with NVRTC when it is installed.
    let nvrtc = nvrtc_available().is_ok();
    if nvrtc {
        let opts = NvrtcOptions {
            arch: (9, 0),
            output: CudaImageKind::Ptx,
            ..NvrtcOptions::default()
        };
        let firsts: Vec<&Case> = cases.iter().filter(|c| c.first).collect();
        let kernels: Vec<CudaKernel> = firsts.iter().map(|c| c.kernel.clone()).collect();
        for (c, r) in firsts.iter().zip(compile_cuda_batch(&kernels, &opts)) {
            if let Err(e) = r {
                failures.push(format!("{}: NVRTC: {e}\n{}", c.label, c.kernel.source));
            }
        }
    }
    println!(
        "{} sketches, {} emulated kernels ({vectorized} with vector copies, {barriers} with barriers, NVRTC {}), {} failures, {:.1} s",
        sketch_count,
        cases.len(),
        if nvrtc { "checked" } else { "skipped" },
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn kernel(source: &str, grid: u32, block: u32) -> CudaKernel {
    CudaKernel {
        source: source.into(),
        entry: "k".into(),
        grid: [grid, 1, 1],
        block: [block, 1, 1],
        shared_bytes: 0,
    }
}

/// Reversal through shared memory: wrong without a working barrier between the phases.
const REVERSE: &str = r#"
extern "C" __global__ void __launch_bounds__(64) k(const float* __restrict__ in, float* __restrict__ out) {
  __shared__ __align__(16) float tile[64];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = in[i];
  __syncthreads();
  out[i] = tile[blockDim.x - 1 - threadIdx.x] + (float)gridDim.x;
}
"#;

#[test]
fn barriers_and_shared_memory_follow_cuda_semantics() {
    let input: Vec<f32> = (0..192).map(|x| x as f32).collect();
    let got = emulate(&kernel(REVERSE, 3, 64), std::slice::from_ref(&input), 192).unwrap();
    let want: Vec<f32> = (0..192)
        .map(|i| ((i / 64) * 64 + 63 - i % 64) as f32 + 3.0)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn dynamic_shared_memory_and_vector_types() {
    let src = r#"
extern "C" __global__ void __launch_bounds__(2) k(const float* __restrict__ in, float* __restrict__ out) {
  extern __shared__ __align__(16) float tg_dyn_smem[];
  float* __restrict__ s = tg_dyn_smem + 0;
  *reinterpret_cast<float4*>(&s[threadIdx.x * 4]) = *reinterpret_cast<const float4*>(&in[threadIdx.x * 4]);
  __syncthreads();
  float2 v = make_float2(s[7 - threadIdx.x], __int_as_float(0x3f800000));
  out[threadIdx.x] = v.x + v.y + (float)min(3, max(1, 2));
}
"#;
    let mut k = kernel(src, 1, 2);
    k.shared_bytes = 64 * 1024;
    let input: Vec<f32> = (0..8).map(|x| x as f32).collect();
    assert_eq!(emulate(&k, &[input], 2).unwrap(), vec![10.0, 9.0]);
}

#[test]
fn failures_are_typed() {
    let divergent = r#"
extern "C" __global__ void k(const float* in, float* out) {
  if (threadIdx.x == 0) { __syncthreads(); }
  out[threadIdx.x] = in[threadIdx.x];
}
"#;
    let hang = r#"
extern "C" __global__ void k(const float* in, float* out) {
  volatile int x = 1;
  while (x) {}
  out[0] = in[0];
}
"#;
    let input = vec![vec![1.0f32; 4]];
    let opts = EmulatorOptions {
        run_timeout_s: 1.0,
        ..EmulatorOptions::default()
    };
    let (k1, k2, k3) = (
        kernel(divergent, 1, 4),
        kernel(hang, 1, 1),
        kernel("syntax error", 1, 1),
    );
    let k4 = kernel(REVERSE, 1, 2048);
    let jobs: Vec<EmulationJob> = [&k1, &k2, &k3, &k4]
        .into_iter()
        .map(|k| EmulationJob {
            kernel: k,
            inputs: &input,
            output_len: 4,
        })
        .collect();
    let r = emulate_batch(&jobs, &opts);
    assert!(
        matches!(
            &r[0],
            Err(MeasureError::Crash {
                exit_code: Some(3),
                ..
            })
        ),
        "{:?}",
        r[0]
    );
    assert!(
        matches!(&r[1], Err(MeasureError::RunTimeout { .. })),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(&r[2], Err(MeasureError::BuildError { .. })),
        "{:?}",
        r[2]
    );
    assert!(
        matches!(&r[3], Err(MeasureError::LaunchError(_))),
        "{:?}",
        r[3]
    );
}
