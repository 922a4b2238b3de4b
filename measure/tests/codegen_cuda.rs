//! Golden CUDA sources (byte for byte; `BLESS=1` rewrites them), NVRTC compiles every golden
//! (skipped without libnvrtc), and the generator's error cases.

use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_measure::codegen::cuda::emit;
use tilegrad_measure::{
    compile_cuda, compile_cuda_batch, nvrtc_available, CudaImageKind, MeasureError, NvrtcOptions,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

/// (file label, workload): one per operator family of the goldens.
const GOLDEN_WORKLOADS: &[(&str, &str)] = &[
    ("matmul", "matmul(M=64,N=48,K=32)+bias+relu"),
    (
        "conv2d",
        "conv2d(N=1,H=14,W=14,C=16,K=32,R=3,S=3,stride=1,pad=1)+bias+relu",
    ),
    (
        "depthwise_conv2d",
        "conv2d(N=1,H=14,W=14,C=32,K=32,R=3,S=3,stride=2,pad=1,groups=32)+bias+relu6",
    ),
    (
        "conv2d_transpose",
        "conv2d_transpose(N=1,H=4,W=3,C=3,K=2,R=4,S=4,stride=2,pad=1)+bias+relu",
    ),
    (
        "batch_matmul",
        "batch_matmul(B=4,M=32,N=32,K=16,trans_b=1)+scale(0.125)",
    ),
    ("softmax", "softmax(M=16,N=100)"),
    ("layer_norm", "layer_norm(M=8,N=256)"),
    (
        "max_pool2d",
        "max_pool2d(N=1,H=15,W=15,C=8,R=3,S=3,stride=2,pad=1)",
    ),
    ("elemwise", "elemwise(M=32,N=64)+gelu"),
];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cuda")
}

fn h100() -> Target {
    Target::preset("h100-sxm").unwrap()
}

/// Every golden file name and its text, in a fixed order.
fn goldens() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (label, text) in GOLDEN_WORKLOADS {
        let w: Workload = text.parse().unwrap();
        for s in sketches(&w, &h100())
            .unwrap()
            .iter()
            .filter(|s| s.tree.is_gpu())
        {
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            let a = s.sample(&mut rng).unwrap();
            let tree = s.instantiate(&a).unwrap();
            let k = emit(&tree, "kernel").unwrap_or_else(|e| panic!("{w} {}: {e}", s.id));
            let file = format!("{label}__{}.cu", s.id.replace('/', "_"));
            let head = format!(
                "// workload: {w}\n// sketch: {}\n// assignment: {a}\n",
                s.id
            );
            out.push((file, head + &k.source));
        }
    }
    out
}

#[test]
fn golden_cuda_sources() {
    let dir = golden_dir();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let gs = goldens();
    assert!(gs.len() >= GOLDEN_WORKLOADS.len());
    let mut bad = Vec::new();
    for (file, text) in &gs {
        let path = dir.join(file);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(old) if old == *text => {}
            Ok(_) => bad.push(format!("{file} differs")),
            Err(e) => bad.push(format!("{file}: {e}")),
        }
    }
    assert!(
        bad.is_empty(),
        "golden CUDA files out of date (rerun with BLESS=1):\n{}",
        bad.join("\n")
    );
    // The goldens exercise the generator's features.
    let all: String = gs.iter().map(|g| g.1.as_str()).collect();
    for feature in [
        "__shared__",
        "__syncthreads();",
        "#pragma unroll",
        "__launch_bounds__",
        "reinterpret_cast<",
    ] {
        assert!(all.contains(feature), "no golden uses `{feature}`");
    }
}

#[test]
fn emission_is_byte_stable() {
    for (_, text) in goldens().into_iter().take(4) {
        assert_eq!(text, text.clone());
    }
    let w: Workload = GOLDEN_WORKLOADS[0].1.parse().unwrap();
    let s = &sketches(&w, &h100()).unwrap()[0];
    let a = s.sample(&mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    let (t1, t2) = (s.instantiate(&a).unwrap(), s.instantiate(&a).unwrap());
    assert_eq!(emit(&t1, "k").unwrap(), emit(&t2, "k").unwrap());
}

#[test]
fn nvrtc_compiles_every_golden() {
    if let Err(e) = nvrtc_available() {
        println!("skipped: {e}");
        return;
    }
    let opts = NvrtcOptions {
        arch: (9, 0),
        output: CudaImageKind::Ptx,
        ..NvrtcOptions::default()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        if let Err(e) = compile_cuda(&src, &opts) {
            panic!("{}: {e}", f.display());
        }
    }
    println!("NVRTC compiled {} golden files", files.len());
}

#[test]
fn launch_configuration_follows_the_tree() {
    let w: Workload = "elemwise(M=32,N=64)+gelu".parse().unwrap();
    for s in sketches(&w, &h100())
        .unwrap()
        .iter()
        .filter(|s| s.tree.is_gpu())
    {
        let a = s.sample(&mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let tree = s.instantiate(&a).unwrap();
        let k = emit(&tree, "ew").unwrap();
        let threads: u32 = k.block.iter().product();
        assert!(k.source.contains(&format!("__launch_bounds__({threads})")));
        assert!(k.source.contains("ew(const float* __restrict__"));
        let total = k.grid.iter().product::<u32>() as usize * threads as usize;
        assert!(total >= 1 && threads <= 1024);
    }
}

#[test]
fn errors_are_typed() {
    let w: Workload = "matmul(M=8,N=8,K=8)".parse().unwrap();
    let cpu = Target::example_cpu();
    let s = &sketches(&w, &h100()).unwrap()[0];
    let a = s.sample(&mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let tree = s.instantiate(&a).unwrap();
    assert!(matches!(emit(&tree, "1bad"), Err(MeasureError::Codegen(_))));
    assert!(matches!(emit(&tree, "a-b"), Err(MeasureError::Codegen(_))));
    // The symbolic tree is not concrete.
    assert!(matches!(emit(&s.tree, "k"), Err(MeasureError::Codegen(_))));
    let cpu_sketches = sketches(&w, &cpu).unwrap();
    assert!(!cpu_sketches.is_empty());
    for s in cpu_sketches {
        let a = s.sample(&mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let tree = s.instantiate(&a).unwrap();
        assert!(
            matches!(emit(&tree, "k"), Err(MeasureError::Codegen(_))),
            "{}",
            s.id
        );
    }
}

/// Realistic shapes: every sampled assignment emits; NVRTC compiles the first two kernels with
/// dynamic shared memory (above 48 KiB). (Compiling them all takes minutes: NVRTC needs up to
/// ~20 s for a kernel with a large, fully unrolled register tile.)
#[test]
fn large_workloads_emit_and_compile() {
    let workloads = [
        "matmul(M=1024,N=1024,K=1024)+bias+gelu",
        "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu",
        "conv2d(N=1,H=112,W=112,C=32,K=32,R=3,S=3,stride=2,pad=1,groups=32)+bias+relu6",
        "conv2d_transpose(N=1,H=16,W=16,C=64,K=32,R=4,S=4,stride=2,pad=1)",
        "batch_matmul(B=12,M=128,N=128,K=64,trans_b=1)+scale(0.125)+causal",
        "softmax(M=512,N=1000)",
        "layer_norm(M=256,N=768)+res",
        "max_pool2d(N=1,H=112,W=112,C=64,R=3,S=3,stride=2,pad=1)",
    ];
    let mut to_compile = Vec::new();
    let mut emitted = 0;
    let mut dynamic = 0;
    for text in workloads {
        let w: Workload = text.parse().unwrap();
        for s in sketches(&w, &h100())
            .unwrap()
            .iter()
            .filter(|s| s.tree.is_gpu())
        {
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            for _ in 0..20 {
                let a = s.sample(&mut rng).unwrap();
                let tree = s.instantiate(&a).unwrap();
                let k = emit(&tree, "kernel").unwrap_or_else(|e| panic!("{w} {} {a}: {e}", s.id));
                emitted += 1;
                if k.shared_bytes > 0 {
                    assert!(k.shared_bytes > 48 * 1024 && k.source.contains("tg_dyn_smem"));
                    dynamic += 1;
                }
                if k.shared_bytes > 0 && dynamic <= 2 {
                    to_compile.push((format!("{w} {} {a}", s.id), k));
                }
            }
        }
    }
    assert!(dynamic > 0, "no sample needs dynamic shared memory");
    println!("{emitted} large kernels emitted, {dynamic} with dynamic shared memory");
    if let Err(e) = nvrtc_available() {
        println!("NVRTC skipped: {e}");
        return;
    }
    let opts = NvrtcOptions {
        arch: (9, 0),
        output: CudaImageKind::Ptx,
        ..NvrtcOptions::default()
    };
    let kernels: Vec<_> = to_compile.iter().map(|(_, k)| k.clone()).collect();
    for ((label, k), r) in to_compile.iter().zip(compile_cuda_batch(&kernels, &opts)) {
        match r {
            Err(e) => panic!("{label}: {e}\n{}", k.source),
            Ok(img) => println!(
                "{:.2} s {label} ({} lines)",
                img.build_s,
                k.source.lines().count()
            ),
        }
    }
    println!(
        "NVRTC compiled {} kernels with dynamic shared memory",
        kernels.len()
    );
}
