//! Benchmarks: parallel C build throughput, and per-candidate measurement overhead.
//!
//! `cargo bench -p tilegrad-measure --bench measure`
//! * `build/8_tiled_matmuls`: 8 distinct tiled 256^3 matmul kernels (~25 lines each) built in
//!   parallel; criterion's elem/s is kernels per second.
//! * `overhead/*`: wall time of `measure_built` minus the summed timed kernel runs, i.e. IPC,
//!   dlopen, verification, poisoning, warm-up and bookkeeping per candidate.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tilegrad_measure::{
    build_cpu, input_data, BuildDir, BuildOptions, CpuKernel, CpuRunner, KernelIo, Problem,
    RunnerConfig, Tolerance, WorkerConfig,
};

const S: usize = 256;

fn tiled_matmul(name: &str, ti: usize, tj: usize, tk: usize) -> CpuKernel {
    let source = format!(
        r#"
void {name}(float *const *args) {{
    const float *restrict A = args[0], *restrict B = args[1];
    float *restrict C = args[2];
    #pragma omp parallel for
    for (int i0 = 0; i0 < {S}; i0 += {ti}) {{
        int ie = i0 + {ti} < {S} ? i0 + {ti} : {S};
        for (int j0 = 0; j0 < {S}; j0 += {tj}) {{
            int je = j0 + {tj} < {S} ? j0 + {tj} : {S};
            for (int i = i0; i < ie; ++i)
                for (int j = j0; j < je; ++j) C[i * {S} + j] = 0.0f;
            for (int k0 = 0; k0 < {S}; k0 += {tk}) {{
                int ke = k0 + {tk} < {S} ? k0 + {tk} : {S};
                for (int i = i0; i < ie; ++i)
                    for (int k = k0; k < ke; ++k) {{
                        float a = A[i * {S} + k];
                        for (int j = j0; j < je; ++j) C[i * {S} + j] += a * B[k * {S} + j];
                    }}
            }}
        }}
    }}
}}
"#
    );
    CpuKernel::new(source, name.into())
}

fn batch(round: usize) -> Vec<CpuKernel> {
    (0..8)
        .map(|i| {
            let t = [8, 16, 32, 64][i % 4];
            tiled_matmul(
                &format!("mm_{round}_{i}"),
                t,
                64 / (1 + i / 4),
                8 * (1 + round % 4),
            )
        })
        .collect()
}

fn bench_build(c: &mut Criterion) {
    let dir = BuildDir::new().unwrap();
    let opts = BuildOptions::default();
    let mut g = c.benchmark_group("build");
    g.sample_size(10).throughput(Throughput::Elements(8));
    let mut round = 0;
    g.bench_function("8_tiled_matmuls", |b| {
        b.iter(|| {
            round += 1;
            let r = build_cpu(&batch(round), &opts, &dir);
            assert!(r.iter().all(Result::is_ok));
        })
    });
    g.finish();
}

fn problem(n: usize, expected: Vec<f32>, inputs: usize) -> Problem {
    Problem {
        io: KernelIo {
            input_lens: vec![n; inputs],
            output_len: n,
        },
        seed: 5,
        expected: Arc::new(expected),
        tolerance: Tolerance::F32,
    }
}

fn bench_overhead(c: &mut Criterion) {
    let cfg = RunnerConfig {
        worker: WorkerConfig::with_exe(env!("CARGO_BIN_EXE_tilegrad-measure-worker")),
        threads: 1,
        ..RunnerConfig::default()
    };
    let mut runner = CpuRunner::new(cfg).unwrap();
    // A trivially short kernel: copy 1024 floats.
    let n = 1024;
    let x = input_data(5, &[n]);
    let copy = problem(n, x[0].clone(), 1);
    let k = CpuKernel::new(
        format!("void cp(float *const *a) {{ for (int i = 0; i < {n}; ++i) a[1][i] = a[0][i]; }}"),
        "cp".into(),
    );
    // A real one: 256^3 matmul (one of the build batch).
    let x = input_data(5, &[S * S, S * S]);
    let mut mm = vec![0.0f32; S * S];
    for i in 0..S {
        for kk in 0..S {
            let a = x[0][i * S + kk];
            for j in 0..S {
                mm[i * S + j] += a * x[1][kk * S + j];
            }
        }
    }
    let mm_problem = problem(S * S, mm, 2);
    let dir = BuildDir::new().unwrap();
    let opts = BuildOptions::default();
    let built = build_cpu(&[k, tiled_matmul("mm", 32, 64, 64)], &opts, &dir);
    let (cp, mmk) = (built[0].clone().unwrap(), built[1].clone().unwrap());
    let mut g = c.benchmark_group("overhead");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for (name, p, kern) in [("copy_1k", &copy, &cp), ("matmul_256", &mm_problem, &mmk)] {
        runner.measure_built(p, kern).unwrap();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut overhead = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let m = runner.measure_built(p, kern).unwrap();
                    let wall = t0.elapsed();
                    let kernel: f64 = m.timing.samples_s.iter().sum();
                    overhead += wall.saturating_sub(Duration::from_secs_f64(kernel));
                }
                overhead
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_build, bench_overhead);
criterion_main!(benches);
