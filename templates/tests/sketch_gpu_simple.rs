//! Tests of the GPU element-wise (`gpu-elementwise`) and reduction (`gpu-reduce/*`) rules.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::looptree::Axis3;
use tilegrad_symbolic::{interpret, CpuSpec, LoopKind, LoopTree, Scope, Stmt, Target, TargetSpec};
use tilegrad_templates::reference::reference;
use tilegrad_templates::rules::gpu_reduce::{self, GpuReduce, CROSS_THREAD, THREAD_PER_OUTPUT};
use tilegrad_templates::rules::gpu_simple::{self, GpuElementwise};
use tilegrad_templates::testing::{check_sketch, compare, small_workloads};
use tilegrad_templates::{sketches, Sketch, SketchRule, Workload};

fn h100() -> Target {
    Target::preset("h100-sxm").unwrap()
}

/// The H100 preset with a smaller block and vector width.
fn small_gpu() -> Target {
    let mut t = h100();
    if let TargetSpec::Cuda(g) = &mut t.spec {
        g.max_threads_per_block = 128;
        g.max_vector_bytes = 8;
    }
    t
}

fn cpu() -> Target {
    Target {
        name: "test cpu".into(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores: 4,
            simd_bytes: 32,
            l1_bytes: 32 << 10,
            l2_bytes: 1 << 20,
            l3_bytes: 8 << 20,
            mem_bandwidth: 50e9,
            peak_fp32: 1e12,
        }),
    }
}

/// The sketches of both rules of this file for `w` on `target`.
fn mine(w: &Workload, target: &Target) -> Vec<Sketch> {
    let def = w.compute();
    let mut out = GpuElementwise.generate(w, &def, target).unwrap();
    out.extend(GpuReduce.generate(w, &def, target).unwrap());
    out
}

fn parse(text: &str) -> Workload {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn ids(sketches: &[Sketch]) -> Vec<&str> {
    sketches.iter().map(|s| s.id.as_str()).collect()
}

/// Workloads beyond `small_workloads` that exercise the split launch (`N` or `M` with a
/// divisor in [32, 1024]), thread counts above the row length, and long rows.
const EXTRA: &[&str] = &[
    "add(B=2,M=4,N=8)",
    "elemwise(M=32,N=3)+silu",
    "rope(B=1,M=4,N=16)",
    "softmax(M=64,N=40)",
    "softmax(M=2,N=100)+scale(0.5)",
    "layer_norm(M=3,N=37)+res",
    "rms_norm(M=32,N=3)",
    "global_avg_pool2d(N=1,H=5,W=7,C=3)",
    "max_pool2d(N=2,H=8,W=8,C=4,R=2,S=2,stride=2,pad=0)",
];

fn extra_workloads() -> Vec<Workload> {
    EXTRA.iter().map(|t| parse(t)).collect()
}

#[test]
fn every_small_workload_gets_a_gpu_sketch() {
    for w in small_workloads().iter().chain(&extra_workloads()) {
        let all = sketches(w, &h100()).unwrap_or_else(|e| panic!("{w}: {e}"));
        assert!(
            all.iter().any(|s| s.tree.is_gpu()),
            "{w}: no GPU sketch among {:?}",
            ids(&all)
        );
    }
}

#[test]
fn sketch_ids_per_operator() {
    let tpo = THREAD_PER_OUTPUT;
    let cases: &[(&str, &[&str])] = &[
        ("elemwise(M=3,N=5)+gelu", &["gpu-elementwise"]),
        ("add(M=3,N=4,bcast_b=1,bcast_m=1)", &["gpu-elementwise"]),
        ("rope(B=2,M=3,N=4)", &["gpu-elementwise"]),
        ("max_pool2d(N=1,H=7,W=7,C=3,R=3,S=3,stride=2,pad=1)", &[tpo]),
        (
            "avg_pool2d(N=1,H=6,W=5,C=2,R=3,S=3,stride=1,pad=1)+relu",
            &[tpo],
        ),
        ("global_avg_pool2d(N=2,H=3,W=4,C=5)", &[tpo, CROSS_THREAD]),
        (
            "global_avg_pool3d(N=1,D=2,H=3,W=3,C=4)+bias",
            &[tpo, CROSS_THREAD],
        ),
        ("softmax(M=3,N=7)", &[tpo, CROSS_THREAD]),
        ("layer_norm(M=3,N=8)", &[tpo, CROSS_THREAD]),
        ("rms_norm(M=2,N=49)+mul", &[tpo, CROSS_THREAD]),
        // Left to gpu-tiling.
        ("matmul(M=12,N=7,K=9)", &[]),
        (
            "conv2d(N=2,H=7,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1)+bias+relu",
            &[],
        ),
        // A conv without reuse (K=1, 1x1 output) is a windowed reduction.
        (
            "conv2d(N=1,H=4,W=4,C=2,K=1,R=4,S=4,stride=1,pad=0)+sigmoid",
            &[tpo],
        ),
    ];
    for (text, want) in cases {
        let w = parse(text);
        assert_eq!(ids(&mine(&w, &h100())), *want, "{text}");
        let def = w.compute();
        assert_eq!(
            gpu_simple::applies(&def),
            want.contains(&"gpu-elementwise"),
            "{text}"
        );
        let reduce: Vec<&str> = want
            .iter()
            .copied()
            .filter(|i| *i != "gpu-elementwise")
            .collect();
        assert_eq!(gpu_reduce::variants(&def), reduce, "{text}");
    }
}

#[test]
fn no_sketch_on_a_cpu_target() {
    for text in [
        "softmax(M=3,N=7)",
        "add(B=2,M=3,N=4)",
        "max_pool2d(N=1,H=7,W=7,C=3,R=3,S=3,stride=2,pad=1)",
    ] {
        assert!(mine(&parse(text), &cpu()).is_empty(), "{text}");
    }
}

#[test]
fn random_assignments_match_the_reference() {
    let mut checked = 0;
    for (i, w) in small_workloads()
        .iter()
        .chain(&extra_workloads())
        .enumerate()
    {
        for target in [h100(), small_gpu()] {
            for s in mine(w, &target) {
                check_sketch(&s, 40 + i as u64, 4).unwrap_or_else(|e| panic!("{e}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "only {checked} sketches checked");
}

/// Instantiates `s` at `pairs` and compares its interpretation with the reference.
fn check_at(s: &Sketch, pairs: &[(&str, u64)], seed: u64) -> Result<(), String> {
    let pairs: Vec<(String, u64)> = pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let a = s
        .space
        .assignment_from_pairs(&pairs)
        .map_err(|e| e.to_string())?;
    let tree = s.instantiate(&a).map_err(|e| e.to_string())?;
    let inputs = s.workload.random_inputs(seed);
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let got = interpret(&tree, &refs).map_err(|e| e.to_string())?;
    let want = reference(&s.workload, &inputs).map_err(|e| e.to_string())?;
    compare(&want, &got)
}

fn cross_thread(text: &str) -> Sketch {
    let w = parse(text);
    mine(&w, &h100())
        .into_iter()
        .find(|s| s.id == CROSS_THREAD)
        .unwrap_or_else(|| panic!("{text}: no cross-thread sketch"))
}

/// Every thread count, including ones that do not divide (or exceed) the row length.
#[test]
fn cross_thread_reductions_are_exact_for_every_thread_count() {
    for text in [
        "softmax(M=2,N=100)+scale(0.5)",
        "layer_norm(M=3,N=37)+res",
        "rms_norm(M=2,N=49)+mul",
        "global_avg_pool3d(N=1,D=2,H=3,W=3,C=4)+bias",
    ] {
        let s = cross_thread(text);
        for t in [32, 64, 128, 256, 512, 1024] {
            check_at(&s, &[("threads", t)], t).unwrap_or_else(|e| panic!("{text}, {t}: {e}"));
        }
    }
}

/// Removes the barriers directly inside every loop for which `pick` holds.
fn drop_barriers_in(body: &mut [Stmt], pick: &dyn Fn(&tilegrad_symbolic::Loop) -> bool) {
    for s in body.iter_mut() {
        match s {
            Stmt::Loop(l) if pick(l) => l.body.retain(|s| !matches!(s, Stmt::Barrier)),
            Stmt::Loop(l) => drop_barriers_in(&mut l.body, pick),
            Stmt::If { then, .. } => drop_barriers_in(then, pick),
            _ => {}
        }
    }
}

/// The barriers of the tree reduction are needed: without them the interpreter reports a race.
#[test]
fn missing_tree_reduction_barrier_is_a_race() {
    let s = cross_thread("softmax(M=3,N=70)");
    let a = s
        .space
        .assignment_from_pairs(&[("threads".to_string(), 64)])
        .unwrap();
    let mut tree = s.instantiate(&a).unwrap();
    let inputs = s.workload.random_inputs(3);
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    assert!(interpret(&tree, &refs).is_ok());
    let names = tree.exprs.var_names().to_vec();
    drop_barriers_in(&mut tree.body, &|l| names[l.var.index()] == "step");
    let err = interpret(&tree, &refs).unwrap_err().to_string();
    assert!(err.contains("softmax_max.red"), "{err}");
}

fn loops_of(tree: &LoopTree, kind: LoopKind) -> Vec<String> {
    tree.loops()
        .iter()
        .filter(|l| l.lp.kind == kind)
        .map(|l| tree.exprs.var_name(l.lp.var).to_string())
        .collect()
}

fn count_barriers(body: &[Stmt]) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::Barrier => 1,
            Stmt::Loop(l) => count_barriers(&l.body),
            Stmt::If { then, .. } => count_barriers(then),
            Stmt::Store(_) => 0,
        })
        .sum()
}

fn has_if(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::If { .. } => true,
        Stmt::Loop(l) => has_if(&l.body),
        _ => false,
    })
}

fn buffers_in(tree: &LoopTree, scope: Scope) -> Vec<String> {
    tree.buffers
        .iter()
        .filter(|b| b.scope == scope)
        .map(|b| b.name.clone())
        .collect()
}

fn var_names(s: &Sketch) -> Vec<&str> {
    s.space.var_names().iter().map(String::as_str).collect()
}

#[test]
fn elementwise_structure() {
    // (workload, split launch, variables)
    let cases: &[(&str, bool, &[&str])] = &[
        ("elemwise(M=3,N=5)+gelu", false, &["threads", "vec"]),
        ("add(B=2,M=4,N=8)", true, &["sp_fused_0", "sp_fused_1"]),
    ];
    for &(text, split, vars) in cases {
        let sk = mine(&parse(text), &h100());
        let [s] = sk.as_slice() else {
            panic!("{text}: {:?}", ids(&sk))
        };
        assert_eq!(var_names(s), vars, "{text}");
        let t = &s.tree;
        assert_eq!(loops_of(t, LoopKind::BlockIdx(Axis3::X)), ["bx"]);
        assert_eq!(loops_of(t, LoopKind::ThreadIdx(Axis3::X)), ["tx"]);
        assert_eq!(loops_of(t, LoopKind::Vectorized), ["v"]);
        assert_eq!(t.loops().len(), 3, "{text}: {t}");
        assert_eq!(has_if(&t.body), !split, "{text}: {t}");
        assert!(buffers_in(t, Scope::Shared).is_empty());
        assert!(buffers_in(t, Scope::Local).is_empty());
        assert_eq!(count_barriers(&t.body), 0);
        let names: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
        let want: &[&str] = if split {
            &["threads", "min_threads", "vec"]
        } else {
            &[]
        };
        assert_eq!(names, want, "{text}");
    }
}

#[test]
fn cross_thread_structure() {
    let s = cross_thread("softmax(M=3,N=7)");
    assert_eq!(var_names(&s), ["threads"]);
    let t = &s.tree;
    assert_eq!(loops_of(t, LoopKind::BlockIdx(Axis3::X)), ["bx"]);
    assert_eq!(loops_of(t, LoopKind::ThreadIdx(Axis3::X)), ["tx"]);
    let bx = &t.loops()[0];
    assert_eq!(t.const_int(bx.lp.extent), Some(3), "one block per row");
    // One shared tree buffer of `threads` elements per reduction stage.
    assert_eq!(
        buffers_in(t, Scope::Shared),
        ["softmax_max.red", "softmax_sum.red"]
    );
    for b in t.buffers.iter().filter(|b| b.scope == Scope::Shared) {
        assert_eq!(t.expr_text(b.shape[0]), "threads");
    }
    assert_eq!(
        buffers_in(t, Scope::Local),
        [
            "softmax_max.acc",
            "softmax_max.local",
            "softmax_sum.acc",
            "softmax_sum.local"
        ]
    );
    // Per reduction: a barrier after the partial store and one per tree step.
    assert_eq!(count_barriers(&t.body), 4);
    let steps: Vec<_> = t
        .loops()
        .into_iter()
        .filter(|l| t.exprs.var_name(l.lp.var) == "step")
        .collect();
    assert_eq!(steps.len(), 2);
    // log2(threads) steps after instantiation.
    for threads in [32u64, 256, 1024] {
        let a = s
            .space
            .assignment_from_pairs(&[("threads".to_string(), threads)])
            .unwrap();
        let c = s.instantiate(&a).unwrap();
        for l in c.loops() {
            if c.exprs.var_name(l.lp.var) == "step" {
                assert_eq!(c.const_int(l.lp.extent), Some(threads.ilog2() as i64));
            }
        }
    }
}

#[test]
fn thread_per_output_structure() {
    let w = parse("layer_norm(M=3,N=8)");
    let sk = mine(&w, &h100());
    let s = sk.iter().find(|s| s.id == THREAD_PER_OUTPUT).unwrap();
    assert_eq!(var_names(s), ["threads"]);
    let t = &s.tree;
    assert_eq!(loops_of(t, LoopKind::BlockIdx(Axis3::X)), ["bx"]);
    assert_eq!(loops_of(t, LoopKind::ThreadIdx(Axis3::X)), ["tx"]);
    assert_eq!(loops_of(t, LoopKind::Serial), ["j", "j", "j"]);
    assert!(buffers_in(t, Scope::Shared).is_empty());
    assert_eq!(count_barriers(&t.body), 0);
    assert!(has_if(&t.body), "3 rows need the row guard");
    // 64 rows: split launch, no guard.
    let sk = mine(&parse("softmax(M=64,N=40)"), &h100());
    let s = sk.iter().find(|s| s.id == THREAD_PER_OUTPUT).unwrap();
    assert_eq!(var_names(s), ["sp_fused_0"]);
    assert!(!has_if(&s.tree.body));
}

/// Threads per block (the product of the thread loop extents) and vector widths stay within
/// the target's limits in every sampled assignment.
#[test]
fn sampled_assignments_respect_the_limits() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for target in [h100(), small_gpu()] {
        let gpu = target.gpu().unwrap().clone();
        for text in [
            "add(B=2,M=4,N=8)",
            "elemwise(M=7,N=12)",
            "softmax(M=64,N=40)",
            "layer_norm(M=3,N=37)",
            "max_pool2d(N=2,H=8,W=8,C=4,R=2,S=2,stride=2,pad=0)",
        ] {
            for s in mine(&parse(text), &target) {
                for _ in 0..50 {
                    let a = s.sample(&mut rng).unwrap();
                    let tree = s.instantiate(&a).unwrap();
                    tree.verify().unwrap();
                    let threads: i64 = tree
                        .loops()
                        .iter()
                        .filter(|l| l.lp.kind.is_thread())
                        .map(|l| tree.const_int(l.lp.extent).unwrap())
                        .product();
                    assert!(
                        threads <= i64::from(gpu.max_threads_per_block),
                        "{text}: {a}"
                    );
                    assert!(threads >= i64::from(gpu.warp_size), "{text}: {a}");
                    for l in tree.loops() {
                        if l.lp.kind == LoopKind::Vectorized {
                            let v = tree.const_int(l.lp.extent).unwrap();
                            assert!(v <= i64::from(gpu.max_vector_bytes / 4), "{text}: {a}");
                        }
                    }
                }
            }
        }
    }
}
