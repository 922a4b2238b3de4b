//! Shared helpers for the integration tests: a small matmul problem and its kernels.
#![allow(dead_code)]

use std::sync::Arc;
use tilegrad_measure::{
    input_data, CpuKernel, KernelIo, Problem, RunnerConfig, TimingConfig, Tolerance, WorkerConfig,
};

pub const M: usize = 24;
pub const N: usize = 20;
pub const K: usize = 16;

/// C[M,N] = A[M,K] * B[K,N] on the inputs the worker generates from `seed`.
pub fn matmul_problem(seed: u64) -> Problem {
    let io = KernelIo {
        input_lens: vec![M * K, K * N],
        output_len: M * N,
    };
    let x = input_data(seed, &io.input_lens);
    let (a, b) = (&x[0], &x[1]);
    let mut c = vec![0.0f32; M * N];
    for i in 0..M {
        for j in 0..N {
            c[i * N + j] = (0..K).map(|k| a[i * K + k] * b[k * N + j]).sum();
        }
    }
    Problem {
        io,
        seed,
        expected: Arc::new(c),
        tolerance: Tolerance::F32,
    }
}

/// A matmul kernel with `body_tail` inserted after the loops (a fault to plant).
pub fn matmul_with(name: &str, row_limit: &str, body_tail: &str) -> CpuKernel {
    let source = format!(
        r#"
void {name}(float *const *args) {{
    const float *a = args[0], *b = args[1];
    float *c = args[2];
    #pragma omp parallel for
    for (int i = 0; i < {row_limit}; ++i)
        for (int j = 0; j < {N}; ++j) {{
            float s = 0.0f;
            for (int k = 0; k < {K}; ++k) s += a[i * {K} + k] * b[k * {N} + j];
            c[i * {N} + j] = s;
        }}
    {body_tail}
}}
"#
    );
    CpuKernel::new(source, name.into())
}

pub fn good(name: &str) -> CpuKernel {
    matmul_with(name, &M.to_string(), "")
}

/// A config with the test-built worker and small timeouts, so faults resolve in well under
/// a second each.
pub fn test_config() -> RunnerConfig {
    RunnerConfig {
        worker: WorkerConfig::with_exe(env!("CARGO_BIN_EXE_tilegrad-measure-worker")),
        timing: TimingConfig {
            warmup: 2,
            min_repeat: 5,
            max_repeat: 20,
            min_time_s: 0.0,
            run_timeout_s: 0.5,
            ..TimingConfig::default()
        },
        threads: 2,
        ..RunnerConfig::default()
    }
}
