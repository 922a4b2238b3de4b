//! C code generation: byte-stable goldens, and for every small workload and every CPU sketch,
//! compiled C == interpreter (on the same inputs) and interpreter == reference.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::Arc;
use tilegrad_measure::codegen::c::{emit, emit_with, prepared_lens, COptions};
use tilegrad_measure::{
    build_cpu, input_data, BuiltCpuKernel, CpuKernel, CpuRunner, KernelIo, MeasureError, Problem,
    TimingConfig, Tolerance,
};
use tilegrad_symbolic::looptree::examples::{matmul_cpu_tiled, matmul_naive};
use tilegrad_symbolic::{interpret, CpuSpec, LoopTree, Target, TargetSpec};
use tilegrad_templates::reference::reference;
use tilegrad_templates::testing::{compare, small_workloads};
use tilegrad_templates::{sketches, Sketch, Workload};

fn cpu_target() -> Target {
    Target {
        name: "test-cpu".into(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores: 2,
            simd_bytes: 32,
            l1_bytes: 32 << 10,
            l2_bytes: 512 << 10,
            l3_bytes: 16 << 20,
            mem_bandwidth: 20e9,
            peak_fp32: 200e9,
        }),
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A concrete tree of `s` at the first assignment sampled with `seed`.
fn sampled(s: &Sketch, seed: u64) -> LoopTree {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = s.sample(&mut rng).unwrap();
    s.instantiate(&a)
        .unwrap_or_else(|e| panic!("{} {}: {e}", s.workload, s.id))
}

const GOLDEN_WORKLOADS: &[&str] = &[
    "matmul(M=12,N=7,K=9)",
    "matmul(M=64,N=48,K=32)+bias+relu",
    "matmul(M=16,N=24,K=32,trans_b=1)+bias",
    "matmul(M=19,N=23,K=257)+bias",
    "conv2d(N=2,H=7,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1)+bias+relu",
    "conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6",
    "softmax(M=3,N=7)",
    "layer_norm(M=3,N=8)",
    "elemwise(M=7,N=12)+clip(-0.5,0.25)+sigmoid+tanh",
    "add(B=2,M=16,N=40,bcast_m=1)+relu",
];

#[test]
fn goldens_are_byte_stable() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/c");
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for text in GOLDEN_WORKLOADS {
        let w: Workload = text.parse().unwrap();
        for s in sketches(&w, &cpu_target()).unwrap() {
            let tree = sampled(&s, 7);
            let src = emit(&tree, "kernel").unwrap();
            assert_eq!(src, emit(&tree, "kernel").unwrap(), "not deterministic");
            let path = dir.join(format!("{}__{}.c", slug(text), slug(&s.id)));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &src).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(src.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "goldens differ (rerun with BLESS=1 to rewrite): {stale:?}"
    );
}

/// One kernel of the sweep: a tree, its inputs' seed, the interpreter's output.
struct Case {
    label: String,
    tree: LoopTree,
    problem: Problem,
}

fn case(label: String, w: &Workload, tree: LoopTree, seed: u64) -> Case {
    let lens: Vec<usize> = w
        .input_shapes()
        .iter()
        .map(|s| s.iter().product())
        .collect();
    let inputs = input_data(seed, &lens);
    let want = reference(w, &inputs).unwrap();
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let got = interpret(&tree, &refs).unwrap_or_else(|e| panic!("{label}: interpreter: {e}"));
    compare(&want, &got).unwrap_or_else(|e| panic!("{label}: interpreter vs reference: {e}"));
    let problem = Problem {
        io: KernelIo {
            input_lens: lens,
            output_len: got.len(),
        },
        seed,
        expected: Arc::new(got),
        tolerance: Tolerance {
            rtol: 1e-4,
            atol: 1e-5,
        },
    };
    Case {
        label,
        tree,
        problem,
    }
}

/// Emits every case into a few translation units (one prelude each, entries `k<n>`), builds
/// them in parallel and runs every entry once in the worker against the interpreter's output.
fn run_cases(cases: &[Case], opts: &COptions) -> Vec<(String, Result<(), MeasureError>)> {
    let mut cfg = common::test_config();
    cfg.timing = TimingConfig {
        warmup: 1,
        min_repeat: 1,
        max_repeat: 1,
        min_time_s: 0.0,
        run_timeout_s: 5.0,
        ..TimingConfig::default()
    };
    // Correctness only: -O1 builds the many kernels of the sweep several times faster than
    // -O3 (the CpuMeasurer tests use the default flags).
    cfg.build.flags = ["-O1", "-march=native", "-fopenmp"]
        .map(String::from)
        .to_vec();
    cfg.build.timeout_s = 300.0;
    let mut runner = CpuRunner::new(cfg).unwrap();
    const UNITS: usize = 6;
    let mut units: Vec<(String, String)> = vec![Default::default(); UNITS];
    for (n, c) in cases.iter().enumerate() {
        let src = emit_with(&c.tree, &format!("k{n}"), opts)
            .unwrap_or_else(|e| panic!("{}: {e}", c.label));
        let at = src.find("\nvoid ").expect("function");
        let (head, func) = units.get_mut(n % UNITS).unwrap();
        if head.is_empty() {
            let prelude = &src[src.find("#include <math.h>").unwrap()..at];
            *head = format!("#include <omp.h>\n{prelude}");
        }
        func.push_str(&src[at..]);
    }
    let kernels: Vec<CpuKernel> = units
        .into_iter()
        .filter(|(h, _)| !h.is_empty())
        .map(|(h, f)| CpuKernel::new(h + &f, String::new()))
        .collect();
    let built = build_cpu(&kernels, &runner.config().build, runner.build_dir());
    let libs: Vec<BuiltCpuKernel> = built
        .into_iter()
        .map(|b| b.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    cases
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let k = BuiltCpuKernel {
                entry: format!("k{n}"),
                prepared_lens: prepared_lens(&c.tree),
                ..libs[n % UNITS].clone()
            };
            let r = runner.measure_built(&c.problem, &k).map(|_| ());
            (c.label.clone(), r)
        })
        .collect()
}

fn assert_all_ok(results: Vec<(String, Result<(), MeasureError>)>) {
    let bad: Vec<String> = results
        .iter()
        .filter_map(|(l, r)| r.as_ref().err().map(|e| format!("{l}: {e}")))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} failed:\n{}",
        bad.len(),
        results.len(),
        bad.join("\n")
    );
}

#[test]
fn every_cpu_sketch_of_every_small_workload_compiles_to_the_interpreters_answer() {
    let mut cases = Vec::new();
    for (wi, w) in small_workloads().iter().enumerate() {
        let all = sketches(w, &cpu_target()).unwrap_or_else(|e| panic!("{w}: {e}"));
        assert!(!all.is_empty(), "{w}: no CPU sketch");
        for s in all {
            for k in 0..2u64 {
                let seed = 1000 * wi as u64 + k;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let a = s.sample(&mut rng).unwrap();
                let tree = s.instantiate(&a).unwrap();
                let label = format!("{w} / {} / {a}", s.id);
                cases.push(case(label, w, tree, seed));
            }
        }
    }
    assert_all_ok(run_cases(&cases, &COptions::default()));
}

/// Every operand layout of the GEMM family, at extents that are not multiples of the vector
/// width: compiled C of every CPU sketch at several random legal assignments equals the
/// reference (through the interpreter, checked against the reference in `case`).
#[test]
fn every_matmul_layout_compiles_to_the_reference() {
    let layouts = [
        "matmul(M=13,N=24,K=40,trans_b=1)+bias",
        "matmul(M=1,N=40,K=96,trans_b=1)+bias",
        "matmul(M=12,N=20,K=36,trans_a=1)",
        "matmul(M=7,N=16,K=30,trans_a=1,trans_b=1)+relu",
        "batch_matmul(B=3,M=5,N=16,K=24,trans_b=1)",
        "batch_matmul(B=2,M=6,N=12,K=20,trans_a=1)",
    ];
    let mut cases = Vec::new();
    for (wi, text) in layouts.iter().enumerate() {
        let w: Workload = text.parse().unwrap();
        let all = sketches(&w, &cpu_target()).unwrap();
        assert!(
            all.iter().any(|s| s.id == "cpu-tiling/packed"),
            "{w}: no packed sketch"
        );
        for s in all {
            for k in 0..4u64 {
                let seed = 7000 + 10 * wi as u64 + k;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let a = s.sample(&mut rng).unwrap();
                let tree = s.instantiate(&a).unwrap();
                cases.push(case(format!("{w} / {} / {a}", s.id), &w, tree, seed));
            }
        }
    }
    assert_all_ok(run_cases(&cases, &COptions::default()));
}

#[test]
fn vector_widths_and_scalar_fallback_agree() {
    // Wide tiles so that vector bodies and scalar tails both run.
    let mut cases = Vec::new();
    for (m, n, k) in [(19, 37, 5), (16, 64, 8)] {
        let w: Workload = format!("matmul(M={m},N={n},K={k})").parse().unwrap();
        let tiled = matmul_cpu_tiled(m, n, k);
        for (ti, tj) in [(3, 20), (4, 16), (1, 64)] {
            let tree = tiled
                .instantiate_named(&[("sp_i", ti), ("sp_j", tj)])
                .unwrap();
            cases.push(case(format!("{w} tiled {ti}x{tj}"), &w, tree, 5));
        }
        cases.push(case(format!("{w} naive"), &w, matmul_naive(m, n, k), 5));
    }
    for bytes in [0, 16, 32, 64] {
        let r = run_cases(&cases, &COptions { simd_bytes: bytes });
        let r = r
            .into_iter()
            .map(|(l, r)| (format!("{bytes} bytes: {l}"), r))
            .collect();
        assert_all_ok(r);
    }
}

#[test]
fn rejects_what_it_cannot_print() {
    let symbolic = matmul_cpu_tiled(8, 8, 8);
    assert!(matches!(
        emit(&symbolic, "k"),
        Err(MeasureError::Invalid(_))
    ));
    let tree = symbolic
        .instantiate_named(&[("sp_i", 2), ("sp_j", 4)])
        .unwrap();
    assert!(emit(&tree, "k").is_ok());
    for bad in ["", "1k", "k-1", "a b"] {
        assert!(
            matches!(emit(&tree, bad), Err(MeasureError::Invalid(_))),
            "{bad}"
        );
    }
    let gpu = tilegrad_symbolic::looptree::examples::matmul_gpu_tiled(8, 8, 8);
    let names = ["sp_i_t", "sp_j_t", "sp_i_r", "sp_j_r", "sp_k", "ur"];
    let vals: Vec<(&str, i64)> = names.iter().map(|&n| (n, 2)).collect();
    let gpu = gpu.instantiate_named(&vals).unwrap();
    assert!(matches!(emit(&gpu, "k"), Err(MeasureError::Invalid(_))));
}

/// Floored integer arithmetic on negative operands, selects and `Index` values (scalar loop),
/// and every unary/binary float operation on vectors with a scalar tail.
fn arithmetic_tree() -> LoopTree {
    use tilegrad_symbolic::looptree::{LoopKind, TreeBuilder, Value, ValueUnOp};
    let mut b = TreeBuilder::new("arith");
    let (n, two) = (b.c(29.0), b.c(2.0));
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[two, n]);
    b.loop_("i", n, LoopKind::Serial, |b, i| {
        let e = b.e();
        let (c7, c3, c5, c4, c9, c12, c28) = (
            e.constant(7.0),
            e.constant(3.0),
            e.constant(5.0),
            e.constant(4.0),
            e.constant(9.0),
            e.constant(12.0),
            e.constant(28.0),
        );
        let im7 = e.sub(i, c7);
        let fd = e.floordiv(im7, c3);
        let md = e.modulo(im7, c5);
        let cd = e.ceildiv(im7, c4);
        let mn = e.min(i, c9);
        let lo = e.le(c3, i);
        let hi = e.lt(i, c12);
        let inside = e.and(lo, hi);
        let rev = e.sub(c28, i);
        let zero = e.constant(0.0);
        let row0 = zero;
        let v = Value::Index(fd)
            + Value::Index(md) * Value::Const(10.0)
            + Value::Index(cd) * Value::Const(100.0)
            + Value::Index(mn) * Value::Const(-0.5)
            + Value::select(inside, b.load(x, &[i]), -b.load(x, &[rev]));
        b.store(y, &[row0, i], v);
    });
    b.loop_("j", n, LoopKind::Vectorized, |b, j| {
        let one = b.c(1.0);
        let xj = b.load(x, &[j]);
        let pos = xj.clone().unary(ValueUnOp::Abs) + Value::Const(0.5);
        let v = xj.clone().unary(ValueUnOp::Exp)
            + pos.clone().unary(ValueUnOp::Log)
            + pos.clone().unary(ValueUnOp::Sqrt)
            + pos.unary(ValueUnOp::Rsqrt)
            + xj.clone().unary(ValueUnOp::Tanh)
            + xj.clone().unary(ValueUnOp::Erf)
            + xj.clone().unary(ValueUnOp::Sigmoid)
            + xj.clone().unary(ValueUnOp::Relu)
            + (-xj.clone())
                .max(Value::Const(0.25))
                .min(Value::Const(0.75))
            + xj / Value::Const(3.0);
        b.store(y, &[one, j], v);
    });
    b.finish()
}

#[test]
fn index_arithmetic_and_math_match_the_interpreter() {
    let w: Workload = "elemwise(M=1,N=29)".parse().unwrap();
    let tree = arithmetic_tree();
    let lens = vec![29];
    let inputs = input_data(3, &lens);
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let got = interpret(&tree, &refs).unwrap();
    let problem = Problem {
        io: KernelIo {
            input_lens: lens,
            output_len: got.len(),
        },
        seed: 3,
        expected: Arc::new(got),
        tolerance: Tolerance {
            rtol: 1e-5,
            atol: 1e-5,
        },
    };
    let c = Case {
        label: format!("arith ({w})"),
        tree,
        problem,
    };
    let src = emit(&c.tree, "k").unwrap();
    assert!(src.contains("tg_floordiv(") && src.contains("tg_mod(") && src.contains("tg_vexp("));
    for bytes in [0, 32] {
        assert_all_ok(run_cases(
            std::slice::from_ref(&c),
            &COptions { simd_bytes: bytes },
        ));
    }
}

#[test]
fn register_tiles_are_unrolled_and_jammed_correctly() {
    let w: Workload = "matmul(M=16,N=32,K=24)+bias".parse().unwrap();
    let mut cases = Vec::new();
    for s in sketches(&w, &cpu_target()).unwrap() {
        for text in [
            "sp_i_0=1,sp_i_1=2,sp_i_2=4,sp_j_0=1,sp_j_1=1,sp_j_2=16,rd_k_0=8,unroll=512",
            "sp_i_0=1,sp_i_1=1,sp_i_2=8,sp_j_0=2,sp_j_1=1,sp_j_2=8,rd_k_0=24,unroll=1",
        ] {
            let a = s.space.parse_assignment(text).unwrap();
            let tree = s.instantiate(&a).unwrap();
            let src = emit(&tree, "k").unwrap();
            // Input loads named once per unrolled block; packed, the micro-kernel reads the
            // weight packed ahead of the calls (the compiler names those loads).
            let want = if s.id.ends_with("packed") {
                "tg_load(&B_packed["
            } else {
                "const v8f tg_r1 = tg_load(&B["
            };
            assert!(src.contains(want), "{}:\n{src}", s.id);
            cases.push(case(format!("{} {text}", s.id), &w, tree, 9));
        }
    }
    // A conv register tile: p.3 and q.3 unrolled around the vectorized k.3 (a chain of two
    // unrolled loops), the padded input broadcast once per (p, q) point.
    let w: Workload = "conv2d(N=1,H=4,W=4,C=3,K=16,R=3,S=3,stride=1,pad=1)+bias+relu"
        .parse()
        .unwrap();
    for s in sketches(&w, &cpu_target()).unwrap() {
        if !s.id.starts_with("cpu-tiling") {
            continue;
        }
        let text = "sp_p_0=1,sp_p_1=1,sp_p_2=2,sp_q_0=1,sp_q_1=1,sp_q_2=2,sp_k_0=1,sp_k_1=1,\
                    sp_k_2=16,rd_rc_0=3,rd_r_0=3,rd_s_0=1,unroll=1";
        let a = s.space.parse_assignment(text).unwrap();
        assert!(s.space.is_legal(&a), "{}", s.id);
        let tree = s.instantiate(&a).unwrap();
        let src = emit(&tree, "k").unwrap();
        // 2 × 2 points × 2 vectors: 8 accumulator updates in one block, no loop over p.3/q.3,
        // the two weight vectors named once.
        let want = if s.id.ends_with("packed") {
            "tg_load(&weight_packed["
        } else {
            "const v8f tg_r1 = tg_load(&weight["
        };
        assert!(src.contains(want), "{}:\n{src}", s.id);
        assert!(!src.contains("for (long p_3"), "{}:\n{src}", s.id);
        if s.id.ends_with("staged") {
            // Staged, the micro-kernel reads the input's block without a bounds test.
            assert!(src.contains("tg_splat(data_stage["), "{}:\n{src}", s.id);
            assert!(!src.contains(" ? tg_splat(data["), "{}:\n{src}", s.id);
            cases.push(case(format!("{} {text}", s.id), &w, tree, 9));
            continue;
        }
        // The padded input load stays under its condition: a named value that reads `data`
        // is the whole select (shared by the tile row's vector chunks), never the bare load.
        assert!(src.contains(" ? tg_splat(data["), "{}:\n{src}", s.id);
        assert!(
            src.lines()
                .filter(|l| l.trim_start().starts_with("const v8f") && l.contains("data["))
                .all(|l| l.contains(" = (") && l.contains(" ? tg_splat(data[")),
            "{}:\n{src}",
            s.id
        );
        cases.push(case(format!("{} {text}", s.id), &w, tree, 9));
    }
    assert_all_ok(run_cases(&cases, &COptions::default()));
}

#[test]
fn register_tiles_are_promoted_across_the_reduction_and_stay_correct() {
    // Vector-wide output channels so that register tiles form; transposes, strided, padded,
    // dilated, grouped and depthwise convs, transposed convs and epilogues.
    let workloads = [
        "matmul(M=16,N=32,K=24)+bias",
        "matmul(M=8,N=16,K=12,trans_a=1,trans_b=1)+bias+gelu",
        "batch_matmul(B=2,M=8,N=16,K=12,trans_b=1)+scale(0.125)",
        "conv2d(N=1,H=9,W=9,C=8,K=16,R=3,S=3,stride=2,pad=1)+bias+relu",
        "conv2d(N=1,H=9,W=8,C=4,K=16,R=3,S=3,stride=1,pad=2,dilation=2)+bias",
        "conv2d(N=1,H=6,W=6,C=16,K=16,R=3,S=3,stride=1,pad=1,groups=2)+bias+res+relu",
        "conv2d(N=1,H=6,W=6,C=16,K=16,R=3,S=3,stride=2,pad=1,groups=16)+bias+relu6",
        "conv2d_transpose(N=1,H=4,W=3,C=3,K=16,R=4,S=4,stride=2,pad=1)+bias+relu",
    ];
    let mut cases = Vec::new();
    let mut promoted = 0;
    for (wi, text) in workloads.iter().enumerate() {
        let w: Workload = text.parse().unwrap();
        for s in sketches(&w, &cpu_target()).unwrap() {
            if !s.id.starts_with("cpu-tiling") {
                continue;
            }
            for k in 0..4u64 {
                let seed = 7000 + 10 * wi as u64 + k;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let a = s.sample(&mut rng).unwrap();
                let tree = s.instantiate(&a).unwrap();
                let src = emit(&tree, "k").unwrap();
                if src.contains("tg_acc0 += ") {
                    promoted += 1;
                    // Loaded before the reduction loop, stored after it.
                    assert!(src.contains("v8f tg_acc0 = tg_load(&"), "{text}:\n{src}");
                    assert!(src.contains(", tg_acc0);"), "{text}:\n{src}");
                }
                cases.push(case(format!("{text} / {} / {a}", s.id), &w, tree, seed));
            }
        }
    }
    assert!(
        promoted * 2 >= cases.len(),
        "{promoted} of {} promoted",
        cases.len()
    );
    assert_all_ok(run_cases(&cases, &COptions::default()));
    // Narrower vectors promote too (4 lanes), and no vectors print the plain loops.
    let r = run_cases(&cases[..8], &COptions { simd_bytes: 16 });
    assert_all_ok(r);
}

#[test]
fn a_promoted_micro_kernel_keeps_its_accumulators_in_locals() {
    // S2 = 1: the tile is the same for the whole reduction, so the accumulators live across
    // both reduction loops (`k.0` and `k.1`); with S2_i = 2 they live across `k.1` only. The
    // 1 × 64 tile is the vectorized loop alone (no unrolled row loop).
    let mut cases = Vec::new();
    for (wt, text, outer) in [
        (
            "matmul(M=16,N=32,K=24)",
            "sp_i_0=1,sp_i_1=1,sp_i_2=4,sp_j_0=1,sp_j_1=1,sp_j_2=16,rd_k_0=8,unroll=512",
            "k_0",
        ),
        (
            "matmul(M=16,N=32,K=24)",
            "sp_i_0=1,sp_i_1=2,sp_i_2=4,sp_j_0=1,sp_j_1=1,sp_j_2=16,rd_k_0=8,unroll=512",
            "k_1",
        ),
        (
            "matmul(M=4,N=64,K=16)",
            "sp_i_0=1,sp_i_1=1,sp_i_2=1,sp_j_0=1,sp_j_1=1,sp_j_2=64,rd_k_0=4,unroll=1",
            "k_0",
        ),
    ] {
        let w: Workload = wt.parse().unwrap();
        let s = sketches(&w, &cpu_target())
            .unwrap()
            .into_iter()
            .find(|s| s.id == "cpu-tiling")
            .unwrap();
        let a = s.space.parse_assignment(text).unwrap();
        assert!(s.space.is_legal(&a), "{text}");
        let tree = s.instantiate(&a).unwrap();
        let src = emit(&tree, "k").unwrap();
        let acc_load = src.find("v8f tg_acc0 = tg_load(&").expect(&src);
        let lp = src.find(&format!("for (long {outer} = 0;")).expect(&src);
        assert!(acc_load < lp, "{text}: accumulators after the loop:\n{src}");
        // Inside the reduction only FMAs on the locals: no load of the accumulator buffer.
        let end = src[lp..].find("tg_store(&matmul_local").expect(&src) + lp;
        let body = &src[lp..end];
        assert!(!body.contains("matmul_local"), "{text}:\n{body}");
        assert!(body.contains("tg_acc7 += "), "{text}:\n{body}");
        cases.push(case(format!("{wt} {text}"), &w, tree, 3));
    }
    assert_all_ok(run_cases(&cases, &COptions::default()));
}
