//! Tests of the shared lowering (`rules::lower`) and of the GPU multi-level tiling rule.

use tilegrad_symbolic::interpret;
use tilegrad_templates::reference::reference;
use tilegrad_templates::rules::lower::{is_bare_axis, naive_tree};
use tilegrad_templates::testing::{compare, small_workloads};
use tilegrad_templates::ValueExpr;

#[test]
fn naive_tree_matches_reference_for_every_small_workload() {
    for (i, w) in small_workloads().iter().enumerate() {
        let def = w.compute();
        let tree = naive_tree(&def, "naive").unwrap_or_else(|e| panic!("{w}: {e}"));
        let inputs = w.random_inputs(100 + i as u64);
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let got = interpret(&tree, &refs).unwrap_or_else(|e| panic!("{w}: {e}"));
        let want = reference(w, &inputs).unwrap();
        compare(&want, &got).unwrap_or_else(|e| panic!("{w}: {e}"));
    }
}

/// The assumption of `lower_load`: a bare-axis index of a padded load never leaves the tensor.
#[test]
fn bare_axis_indices_of_padded_loads_fit_their_tensor() {
    for w in small_workloads() {
        let def = w.compute();
        for stage in &def.stages {
            let extents: Vec<usize> = stage.axes().map(|a| a.extent).collect();
            let mut check = |e: &ValueExpr| {
                if let ValueExpr::Load {
                    tensor,
                    index,
                    pad: Some(_),
                } = e
                {
                    for (ix, &dim) in index.iter().zip(&def.tensors[*tensor].shape) {
                        if is_bare_axis(ix) {
                            assert!(
                                extents[ix.terms[0].axis] <= dim,
                                "{w}: stage {}",
                                stage.name
                            );
                        }
                    }
                }
            };
            stage.body.visit(&mut check);
            stage.post.visit(&mut check);
        }
    }
}

// ---------------------------------------------------------------- gpu-tiling

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::looptree::{Axis3, ValueUnOp};
use tilegrad_symbolic::{
    CpuSpec, LoopKind, LoopTree, Scope, Stmt, StoreKind, Target, TargetSpec, Value,
};
use tilegrad_templates::rules::gpu_tiling::GpuTiling;
use tilegrad_templates::testing::check_sketch;
use tilegrad_templates::{Sketch, SketchRule, Workload};

fn h100() -> Target {
    Target::preset("h100-sxm").unwrap()
}

fn gpu_sketches(text: &str) -> Vec<Sketch> {
    let w: Workload = text.parse().unwrap();
    GpuTiling.generate(&w, &w.compute(), &h100()).unwrap()
}

fn ids(sketches: &[Sketch]) -> Vec<&str> {
    sketches.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn applies_to_matmul_and_conv_like_operators_only() {
    let tiled = [
        "matmul",
        "batch_matmul",
        "conv2d",
        "conv2d_transpose",
        "conv3d",
    ];
    for w in small_workloads() {
        let sk = GpuTiling.generate(&w, &w.compute(), &h100()).unwrap();
        // A conv whose output is a single element has no reuse: left to reduction rules.
        let expect = tiled.contains(&w.op().name()) && w.compute().stages[0].spatial_size() > 1.0;
        assert_eq!(!sk.is_empty(), expect, "{w}: {:?}", ids(&sk));
        if expect {
            assert_eq!(ids(&sk), ["gpu-tiling", "gpu-tiling/no-shared"], "{w}");
        }
    }
}

#[test]
fn no_sketch_on_a_cpu_target() {
    let cpu = Target {
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
    };
    let w: Workload = "matmul(M=8,N=8,K=8)".parse().unwrap();
    assert!(GpuTiling
        .generate(&w, &w.compute(), &cpu)
        .unwrap()
        .is_empty());
}

#[test]
fn random_assignments_match_the_reference_for_every_applicable_workload() {
    let mut checked = 0;
    for (i, w) in small_workloads().iter().enumerate() {
        for s in GpuTiling.generate(w, &w.compute(), &h100()).unwrap() {
            check_sketch(&s, 7 + i as u64, 3).unwrap_or_else(|e| panic!("{e}"));
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} sketches checked");
}

/// Every 997th legal assignment of the whole space (starting with all factors 1), on two
/// workloads: a spread of structures beyond random sampling.
#[test]
fn enumerated_assignments_match_the_reference() {
    for text in [
        "matmul(M=12,N=7,K=9)+bias",
        "conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6",
    ] {
        let w: Workload = text.parse().unwrap();
        let inputs = w.random_inputs(3);
        let want = reference(&w, &inputs).unwrap();
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        for s in gpu_sketches(text) {
            for a in s
                .space
                .enumerate(200_000)
                .unwrap()
                .into_iter()
                .step_by(997)
                .filter(|a| s.space.is_legal(a))
            {
                let tree = s.instantiate(&a).unwrap();
                let got = interpret(&tree, &refs).unwrap_or_else(|e| panic!("{text} {a}: {e}"));
                compare(&want, &got).unwrap_or_else(|e| panic!("{text} {} {a}: {e}", s.id));
            }
        }
    }
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

#[test]
fn staged_matmul_structure() {
    let sk = gpu_sketches("matmul(M=64,N=48,K=32)+bias+relu");
    let s = &sk[0];
    assert_eq!(s.id, "gpu-tiling");
    let t = &s.tree;
    // Bindings: one fused block loop, one fused thread loop, vthread loops.
    assert_eq!(loops_of(t, LoopKind::BlockIdx(Axis3::X)), ["bx"]);
    assert_eq!(loops_of(t, LoopKind::ThreadIdx(Axis3::X)), ["tx"]);
    assert_eq!(loops_of(t, LoopKind::VThread), ["vt", "vt", "vt"]);
    // Levels: 5 per spatial axis (block, vthread, thread, .3, .4) and 3 per reduction axis.
    let names: Vec<String> = t
        .loops()
        .iter()
        .map(|l| t.exprs.var_name(l.lp.var).to_string())
        .collect();
    for n in ["i.3", "i.4", "j.3", "j.4", "k.0", "k.1", "k.2"] {
        assert!(names.iter().any(|x| x == n), "missing loop {n}: {names:?}");
    }
    let groups: Vec<(&str, usize)> = s
        .space
        .groups()
        .iter()
        .map(|g| (g.name(), g.factors().len()))
        .collect();
    assert_eq!(groups, [("sp_i", 4), ("sp_j", 4), ("rd_k", 2)]);
    // Variables: every schedule variable of the tree has a domain in the space and back.
    let mut tv: Vec<_> = t.schedule_vars.clone();
    let mut sv = s.space.vars();
    tv.sort();
    sv.sort();
    assert_eq!(tv, sv);
    let names = s.space.var_names();
    for n in [
        "sp_i_0", "sp_i_3", "sp_j_1", "rd_k_0", "rd_k_1", "unroll", "vec_A", "vec_B",
    ] {
        assert!(
            names.iter().any(|x| x == n),
            "missing variable {n}: {names:?}"
        );
    }
    let unroll = s
        .space
        .choices()
        .iter()
        .find(|c| t.exprs.var_name(c.var()) == "unroll")
        .unwrap();
    assert_eq!(unroll.values(), [1, 16, 64, 512, 1024]);
    let cons: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
    assert_eq!(
        cons,
        [
            "threads",
            "vthreads",
            "innermost_i",
            "innermost_j",
            "innermost_k"
        ]
    );
    // Staging: A and B in shared memory, barriers around the compute, accumulator local.
    let scope = |n: &str| t.buffers.iter().find(|b| b.name == n).map(|b| b.scope);
    assert_eq!(scope("A.shared"), Some(Scope::Shared));
    assert_eq!(scope("B.shared"), Some(Scope::Shared));
    assert_eq!(scope("matmul.local"), Some(Scope::Local));
    assert_eq!(count_barriers(&t.body), 2);
    // Compute updates the local accumulator from shared copies only; unroll pragma on k.1.
    let stores = t.stores();
    let updates: Vec<_> = stores
        .iter()
        .filter(|s| s.store.kind == StoreKind::Update)
        .collect();
    assert_eq!(updates.len(), 1);
    let upd = updates[0];
    assert_eq!(t.buffer(upd.store.buffer).scope, Scope::Local);
    for (buf, _) in upd.store.value.loads() {
        assert_ne!(
            t.buffer(buf).scope,
            Scope::Global,
            "compute reads global memory"
        );
    }
    let k1 = upd
        .path
        .iter()
        .find(|l| t.exprs.var_name(l.var) == "k.1")
        .unwrap();
    assert!(k1.unroll_max_step.is_some());
    // Epilogue fused at the output write: relu(acc + bias[j]).
    let out = t.output().unwrap();
    let writes: Vec<_> = stores.iter().filter(|s| s.store.buffer == out).collect();
    assert_eq!(writes.len(), 1);
    let v = &writes[0].store.value;
    assert!(
        matches!(v, Value::Unary(ValueUnOp::Relu, _)),
        "{}",
        t.value_text(v)
    );
    let loaded: Vec<&str> = v
        .loads()
        .iter()
        .map(|(b, _)| t.buffer(*b).name.as_str())
        .collect();
    assert_eq!(loaded, ["matmul.local", "bias"]);
    assert!(
        writes[0]
            .path
            .iter()
            .all(|l| t.exprs.var_name(l.var) != "k.0"),
        "write-back inside the reduction"
    );
}

#[test]
fn no_shared_variant_reads_global_memory_without_barriers() {
    let sk = gpu_sketches("conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6");
    let s = sk.iter().find(|s| s.id == "gpu-tiling/no-shared").unwrap();
    assert!(s.tree.buffers.iter().all(|b| b.scope != Scope::Shared));
    assert_eq!(count_barriers(&s.tree.body), 0);
    assert!(s.space.var_names().iter().all(|n| !n.starts_with("vec_")));
}

#[test]
fn transposed_conv_input_is_staged_only_without_a_divided_index() {
    let shared = |w: &str| -> Vec<String> {
        gpu_sketches(w)[0]
            .tree
            .buffers
            .iter()
            .filter(|b| b.scope == Scope::Shared)
            .map(|b| b.name.clone())
            .collect()
    };
    // Stride 3, pad 1: gathered over every tap, the input row `(p + pad − r) / 3` divides.
    let gathered = "conv2d_transpose(N=1,H=3,W=3,C=2,K=2,R=3,S=3,stride=3,pad=1)";
    assert_eq!(shared(gathered), ["weight.shared"]);
    // Stride 2: the sub-pixel form reads both operands at affine indices.
    let sub_pixel = "conv2d_transpose(N=1,H=4,W=3,C=3,K=2,R=4,S=4,stride=2,pad=1)+bias+relu";
    assert_eq!(shared(sub_pixel), ["data.shared", "weight.shared"]);
}

/// Sampled assignments never exceed the thread, vthread and innermost limits.
#[test]
fn sampled_assignments_respect_the_limits() {
    let sk = gpu_sketches("conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for s in &sk {
        let names = s.space.var_names().to_vec();
        for _ in 0..300 {
            let a = s.sample(&mut rng).unwrap();
            assert!(s.space.is_legal(&a));
            let prod = |suffix: &str| -> u64 {
                names
                    .iter()
                    .filter(|n| n.starts_with("sp_") && n.ends_with(suffix))
                    .map(|n| a.value_of(n).unwrap())
                    .product()
            };
            assert!(prod("_1") <= 1024, "{a}");
            assert!(prod("_0") <= 8, "{a}");
            for n in names.iter().filter(|n| {
                (n.starts_with("sp_") && n.ends_with("_3"))
                    || (n.starts_with("rd_") && n.ends_with("_1"))
            }) {
                assert!(a.value_of(n).unwrap() <= 64, "{n} in {a}");
            }
        }
    }
}

/// A ResNet-50 3x3 conv: builds, verifies, instantiates (no interpretation: too large).
#[test]
fn resnet50_conv_sketch_builds_and_instantiates() {
    let sk = gpu_sketches("conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu");
    assert_eq!(sk.len(), 2);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for s in &sk {
        s.tree.verify().unwrap();
        // N = 1 is untiled: groups for p, q, k and rc, r, s only.
        let groups: Vec<&str> = s.space.groups().iter().map(|g| g.name()).collect();
        assert_eq!(groups, ["sp_p", "sp_q", "sp_k", "rd_rc", "rd_r", "rd_s"]);
        for _ in 0..5 {
            let a = s.sample(&mut rng).unwrap();
            s.instantiate(&a).unwrap().verify().unwrap();
        }
    }
}
