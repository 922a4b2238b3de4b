//! NVRTC builds (need only libnvrtc) and the GPU runner (needs a GPU; here: `Unavailable`).

mod common;

use std::sync::Arc;
use tilegrad_measure::{
    compile_cuda, cuda_device_count, input_data, nvrtc_available, nvrtc_version, query_device,
    CudaImageKind, CudaKernel, CudaRunner, KernelIo, MeasureError, NvrtcOptions, Problem,
    Tolerance, WrongKind,
};

const VADD: &str = r#"
extern "C" __global__ void vadd(const float* a, const float* b, float* out) {
    __shared__ float tile[256];
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    tile[threadIdx.x] = a[i] + b[i];
    __syncthreads();
    out[i] = tile[threadIdx.x];
}
"#;

fn nvrtc_or_skip() -> bool {
    match nvrtc_available() {
        Ok(()) => true,
        Err(e) => {
            assert!(matches!(e, MeasureError::Unavailable(_)), "{e:?}");
            println!("skipped: {e}");
            false
        }
    }
}

#[test]
fn nvrtc_compiles_ptx_and_cubin() {
    if !nvrtc_or_skip() {
        return;
    }
    assert!(nvrtc_version().unwrap().0 >= 12);
    let opts = NvrtcOptions {
        arch: (9, 0),
        ..NvrtcOptions::default()
    };
    let ptx = compile_cuda(VADD, &opts).unwrap();
    let text = String::from_utf8(ptx.bytes).unwrap();
    assert!(text.contains(".entry vadd"), "{text}");
    assert!(text.contains(".target sm_90"), "{text}");
    let cubin = compile_cuda(
        VADD,
        &NvrtcOptions {
            output: CudaImageKind::Cubin,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(&cubin.bytes[..4], b"\x7fELF");
}

#[test]
fn nvrtc_syntax_error_is_a_build_error_with_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let bad = VADD.replace("a[i] + b[i]", "a[i] + undefined_var");
    match compile_cuda(&bad, &NvrtcOptions::default()) {
        Err(MeasureError::BuildError { log }) => {
            assert!(
                log.contains("undefined_var") && log.contains("error"),
                "{log}"
            )
        }
        other => panic!("{other:?}"),
    }
}

fn vadd_problem(n: usize) -> Problem {
    let io = KernelIo {
        input_lens: vec![n, n],
        output_len: n,
    };
    let x = input_data(11, &io.input_lens);
    Problem {
        expected: Arc::new(x[0].iter().zip(&x[1]).map(|(a, b)| a + b).collect()),
        io,
        seed: 11,
        tolerance: Tolerance::F32,
    }
}

fn kernel(src: &str, n: u32) -> CudaKernel {
    CudaKernel {
        source: src.into(),
        entry: "vadd".into(),
        grid: [n / 256, 1, 1],
        block: [256, 1, 1],
        shared_bytes: 0,
    }
}

#[test]
fn cuda_runner_is_unavailable_without_gpu_or_measures_with_one() {
    let cfg = common::test_config();
    if let Err(e) = cuda_device_count() {
        assert!(matches!(e, MeasureError::Unavailable(_)), "{e:?}");
        assert!(matches!(query_device(0), Err(MeasureError::Unavailable(_))));
        assert!(matches!(
            CudaRunner::new(cfg, 0),
            Err(MeasureError::Unavailable(_))
        ));
        println!("skipped GPU measurement: {e}");
        return;
    }
    // With a GPU (not exercised on the development machine).
    if !nvrtc_or_skip() {
        return;
    }
    let info = query_device(0).unwrap();
    assert!(info.sm_count > 0 && info.l2_bytes > 0, "{info:?}");
    let mut runner = CudaRunner::new(cfg, 0).unwrap();
    let n = 1u32 << 16;
    let p = vadd_problem(n as usize);
    let ks = [
        kernel(VADD, n),
        kernel(&VADD.replace("out[i] =", "out[i + 1] ="), n),
        // A store 1 TiB past the output: unmapped, so an illegal address (a store through a
        // null pointer would not do: NVRTC deletes it as undefined behaviour, seen on an H100).
        kernel(
            &VADD.replace(
                "out[i] =",
                "((float*)((unsigned long long)out + (1ull << 40)))[i] =",
            ),
            n,
        ),
        kernel(VADD, n),
        kernel(
            &VADD.replace(
                "__syncthreads();",
                "__syncthreads(); while (a[0] < 2.0f) {}",
            ),
            n,
        ),
        kernel(&VADD.replace("a[i] + b[i]", "a[i] - b[i]"), n),
        kernel(VADD, n),
    ];
    let r = runner.measure(&p, &ks);
    for i in [0, 3, 6] {
        assert!(r[i].is_ok(), "{i}: {:?}", r[i]);
    }
    assert!(
        matches!(
            &r[1],
            Err(MeasureError::WrongAnswer {
                kind: WrongKind::OutOfBounds,
                ..
            })
        ),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(&r[2], Err(MeasureError::Crash { .. })),
        "{:?}",
        r[2]
    );
    assert!(
        matches!(&r[4], Err(MeasureError::RunTimeout { .. })),
        "{:?}",
        r[4]
    );
    assert!(
        matches!(
            &r[5],
            Err(MeasureError::WrongAnswer {
                kind: WrongKind::Mismatch,
                ..
            })
        ),
        "{:?}",
        r[5]
    );
}
