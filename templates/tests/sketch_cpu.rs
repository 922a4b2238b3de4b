//! Tests of the CPU sketch rules: `cpu-tiling`, `cpu-tiling/no-cache`,
//! `cpu-simple/elementwise` and `cpu-simple/rows`.

use std::collections::{BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use tilegrad_symbolic::looptree::AllocSite;
use tilegrad_symbolic::{
    interpret, substitute, substitute_many, BufferId, ExprArena, ExprId, LoopKind, LoopTree, Scope,
    Stmt, StoreKind, Target, TreeBuilder, Var,
};
use tilegrad_templates::reference::reference;
use tilegrad_templates::rules::cpu_simple::CpuSimple;
use tilegrad_templates::rules::cpu_tiling::{CpuTiling, UNROLL_VALUES};
use tilegrad_templates::testing::{check_sketch, compare, small_workloads};
use tilegrad_templates::{sketches, Sketch, SketchRule, Workload};

fn cpu() -> Target {
    Target::example_cpu()
}

fn cpu_sketches(text: &str) -> Vec<Sketch> {
    let w: Workload = text.parse().unwrap();
    sketches(&w, &cpu()).unwrap()
}

fn ids(sk: &[Sketch]) -> Vec<&str> {
    sk.iter().map(|s| s.id.as_str()).collect()
}

fn by_id<'a>(sk: &'a [Sketch], id: &str) -> &'a Sketch {
    sk.iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no sketch {id}"))
}

fn name(t: &LoopTree, l: &tilegrad_symbolic::Loop) -> String {
    t.exprs.var_name(l.var).to_string()
}

fn loops_of(t: &LoopTree, kind: LoopKind) -> Vec<String> {
    t.loops()
        .iter()
        .filter(|l| l.lp.kind == kind)
        .map(|l| name(t, l.lp))
        .collect()
}

/// Loop names enclosing each store of `kind` to the buffer called `buf`.
fn store_paths(t: &LoopTree, buf: &str, kind: StoreKind) -> Vec<Vec<String>> {
    t.stores()
        .iter()
        .filter(|s| s.store.kind == kind && t.buffer(s.store.buffer).name == buf)
        .map(|s| s.path.iter().map(|l| name(t, l)).collect())
        .collect()
}

// ------------------------------------------------------------------ coverage and ids

#[test]
fn every_small_workload_gets_cpu_sketches_with_the_expected_ids() {
    let tiled = [
        "matmul",
        "batch_matmul",
        "conv2d",
        "conv2d_transpose",
        "conv3d",
    ];
    for w in small_workloads() {
        let sk = sketches(&w, &cpu()).unwrap_or_else(|e| panic!("{w}: {e}"));
        let def = w.compute();
        let text = w.to_string();
        let expect: Vec<&str> =
            if tiled.contains(&w.op().name()) && def.stages[0].spatial_size() > 1.0 {
                // A `trans_b` matmul's B is a transposed vector operand: only the packed sketch
                // reads it contiguously; when K is whole vectors, the dot sketch streams it.
                if text.contains("trans_b=1") {
                    let dot = ["K=32,trans_b=1", "K=16,trans_b=1"];
                    let mut e = vec!["cpu-tiling/packed"];
                    e.extend(
                        dot.iter()
                            .any(|d| text.contains(d))
                            .then_some("cpu-tiling/dot"),
                    );
                    e
                } else {
                    let mut e = vec!["cpu-tiling", "cpu-tiling/no-cache", "cpu-tiling/packed"];
                    // Extents with few divisors get the padded sketch.
                    let awkward = [
                        "matmul(M=19,N=23,K=257)",
                        "conv2d(N=1,H=17,W=17",
                        "matmul(M=1,N=49,K=7)",
                    ];
                    if awkward.iter().any(|a| text.starts_with(a)) {
                        e.push("cpu-tiling/padded");
                    }
                    // A zero-padded conv input is staged, unless an index divides (a
                    // transposed conv with stride > 1 outside the sub-pixel form: stride 3,
                    // pad 1).
                    let padded_input = text.starts_with("conv2d(") && !text.contains("pad=0")
                        || text.starts_with("conv3d(") && text.contains("pad=1")
                        || text.starts_with("conv2d_transpose(") && !text.contains("stride=3");
                    if padded_input {
                        e.push("cpu-tiling/staged");
                    }
                    e
                }
            } else if def.stages.len() == 1 && def.stages[0].reduce.is_empty() {
                vec!["cpu-simple/elementwise", "cpu-simple/rows"]
            } else {
                vec!["cpu-simple/rows"]
            };
        assert_eq!(ids(&sk), expect, "{w}");
    }
}

#[test]
fn no_cpu_sketch_on_a_gpu_target() {
    let gpu = Target::preset("h100-sxm").unwrap();
    for w in small_workloads() {
        let def = w.compute();
        assert!(
            CpuTiling.generate(&w, &def, &gpu).unwrap().is_empty(),
            "{w}"
        );
        assert!(
            CpuSimple.generate(&w, &def, &gpu).unwrap().is_empty(),
            "{w}"
        );
    }
}

// ------------------------------------------------------------------ correctness

/// The packed sketches pack a layer parameter (matmul's `B`, a conv's weights, whatever its
/// transposition or extent) once, in prepare statements ahead of the kernel, and an
/// activation (batch matmul's `B`) per `R0` step inside it; both match the reference.
#[test]
fn packed_sketches_prepare_constant_operands_once_and_pack_activations_in_the_kernel() {
    let prepared = |t: &LoopTree| -> Vec<String> {
        t.prepared()
            .iter()
            .map(|&b| t.buffer(b).name.clone())
            .collect()
    };
    let cases = [
        (
            "matmul(M=19,N=23,K=57)",
            "cpu-tiling/packed",
            Some("B.packed"),
        ),
        (
            "matmul(M=5,N=24,K=32,trans_b=1)+bias",
            "cpu-tiling/packed",
            Some("B.packed"),
        ),
        (
            "matmul(M=19,N=23,K=257,trans_a=1)+bias",
            "cpu-tiling/padded",
            Some("B.packed"),
        ),
        (
            "conv2d(N=1,H=6,W=6,C=4,K=8,R=3,S=3,stride=1,pad=1)+bias+relu",
            "cpu-tiling/packed",
            Some("weight.packed"),
        ),
        ("batch_matmul(B=2,M=5,N=16,K=24)", "cpu-tiling/packed", None),
    ];
    for (w, id, want) in cases {
        let sk = cpu_sketches(w);
        let s = by_id(&sk, id);
        let t = &s.tree;
        assert_eq!(
            prepared(t),
            want.into_iter().map(String::from).collect::<Vec<_>>(),
            "{w}"
        );
        assert_eq!(t.prepare_len(), usize::from(want.is_some()), "{w}");
        let local_pack = t.buffers.iter().any(|b| b.name.ends_with(".pack"));
        assert_eq!(local_pack, want.is_none(), "{w}");
        for seed in [3, 4] {
            check_sketch(s, seed, 3).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn random_assignments_match_the_reference_for_every_workload_and_sketch() {
    let mut checked = 0;
    for (i, w) in small_workloads().iter().enumerate() {
        for s in sketches(w, &cpu()).unwrap() {
            for seed in [11 + i as u64, 5000 + i as u64] {
                check_sketch(&s, seed, 3).unwrap_or_else(|e| panic!("{e}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} sketches checked");
}

/// Every 211th legal assignment (from all factors 1): a spread of structures beyond sampling,
/// including degenerate tiles (a whole axis in one level) and the untiled-reduction case.
#[test]
fn enumerated_assignments_match_the_reference() {
    for text in [
        "matmul(M=12,N=8,K=6)+bias+gelu",
        "matmul(M=4,N=6,K=1)+relu",
        "conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6",
        "softmax(M=4,N=6)",
        "avg_pool2d(N=1,H=6,W=5,C=4,R=3,S=3,stride=1,pad=1)+relu",
        "rope(B=2,M=2,N=6)",
    ] {
        let w: Workload = text.parse().unwrap();
        let inputs = w.random_inputs(3);
        let want = reference(&w, &inputs).unwrap();
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        for s in cpu_sketches(text) {
            let all = s.space.enumerate(200_000).unwrap();
            let legal: Vec<_> = all.into_iter().filter(|a| s.space.is_legal(a)).collect();
            assert!(!legal.is_empty(), "{text} {}", s.id);
            for a in legal.iter().step_by(211).chain(legal.last()) {
                let tree = s.instantiate(a).unwrap();
                tree.verify().unwrap();
                let got = interpret(&tree, &refs).unwrap_or_else(|e| panic!("{text} {a}: {e}"));
                compare(&want, &got).unwrap_or_else(|e| panic!("{text} {} {a}: {e}", s.id));
            }
        }
    }
}

/// `tree` with every parallel and vectorized loop run backwards (`v → extent − 1 − v` in its
/// body). Loops whose iterations are independent, as these kinds promise, give the same
/// result in any order; an iteration reading or overwriting another's elements shows up.
fn reversed(tree: &LoopTree) -> LoopTree {
    fn walk(stmts: &mut [Stmt], e: &mut ExprArena, map: &HashMap<Var, ExprId>) {
        for s in stmts {
            match s {
                Stmt::Loop(l) => {
                    let mut inner = map.clone();
                    if matches!(l.kind, LoopKind::Parallel | LoopKind::Vectorized) {
                        let v = e.var_expr(l.var);
                        let one = e.constant(1.0);
                        let last = e.sub(l.extent, one);
                        inner.insert(l.var, e.sub(last, v));
                    }
                    walk(&mut l.body, e, &inner);
                }
                Stmt::Store(st) => {
                    st.index = substitute_many(e, &st.index, map);
                    st.value = st
                        .value
                        .try_map_exprs::<()>(&mut |x| Ok(substitute(e, x, map)))
                        .unwrap();
                }
                Stmt::If { cond, then } => {
                    *cond = substitute(e, *cond, map);
                    walk(then, e, map);
                }
                Stmt::Barrier => {}
            }
        }
    }
    let mut t = tree.clone();
    walk(&mut t.body, &mut t.exprs, &HashMap::new());
    t
}

#[test]
fn reversal_exposes_an_order_dependent_parallel_loop() {
    let mut b = TreeBuilder::new("racy");
    let (n, one) = (b.c(4.0), b.c(1.0));
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[one]);
    b.loop_("p", n, LoopKind::Parallel, |b, p| {
        let zero = b.c(0.0);
        let v = b.load(x, &[p]);
        b.store(y, &[zero], v);
    });
    let t = b.finish();
    let xs = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(interpret(&t, &[&xs]).unwrap(), [4.0]);
    assert_eq!(interpret(&reversed(&t), &[&xs]).unwrap(), [1.0]);
}

#[test]
fn parallel_and_vectorized_iterations_are_independent() {
    let mut reordered = 0;
    for (i, w) in small_workloads().iter().enumerate() {
        let inputs = w.random_inputs(40 + i as u64);
        let want = reference(w, &inputs).unwrap();
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
        for s in sketches(w, &cpu()).unwrap() {
            for _ in 0..3 {
                let a = s.sample(&mut rng).unwrap();
                let tree = reversed(&s.instantiate(&a).unwrap());
                tree.verify().unwrap();
                let got = interpret(&tree, &refs).unwrap_or_else(|e| panic!("{w} {a}: {e}"));
                compare(&want, &got).unwrap_or_else(|e| panic!("{w} {} {a}: {e}", s.id));
                let par = tree
                    .loops()
                    .iter()
                    .find(|l| l.lp.kind == LoopKind::Parallel)
                    .map(|l| tree.const_int(l.lp.extent));
                reordered += usize::from(par.flatten().is_some_and(|n| n > 1));
            }
        }
    }
    assert!(
        reordered >= 60,
        "only {reordered} trees with a parallel loop of 2+ iterations"
    );
}

// ------------------------------------------------------------------ structure, all sketches

/// Every CPU sketch: one parallel loop, outermost and alone at the top; vectorized loops are
/// innermost; every schedule variable has its domain in the space and vice versa; local
/// buffers are allocated per parallel iteration.
#[test]
fn every_cpu_sketch_is_parallel_outermost_vectorized_innermost_and_fully_declared() {
    for w in small_workloads() {
        for s in sketches(&w, &cpu()).unwrap() {
            let t = &s.tree;
            let ctx = format!("{w} {}", s.id);
            assert!(!t.is_gpu(), "{ctx}");
            // Prepare statements (a packed weight), then one parallel loop.
            let split = t.prepare_len();
            let parallel = |x: &Stmt| matches!(x, Stmt::Loop(l) if l.kind == LoopKind::Parallel);
            assert!(
                matches!(&t.body[split..], [x] if parallel(x)),
                "{ctx}: the body is not one parallel loop"
            );
            assert!(t.body[..split].iter().all(parallel), "{ctx}");
            assert_eq!(loops_of(t, LoopKind::Parallel).len(), 1 + split, "{ctx}");
            let def = w.compute();
            if def.tensors[def.output()].numel() > 1 {
                assert!(!loops_of(t, LoopKind::Vectorized).is_empty(), "{ctx}");
            }
            for l in t.loops() {
                if l.lp.kind == LoopKind::Vectorized {
                    assert!(
                        !l.lp.body.iter().any(|x| matches!(x, Stmt::Loop(_))),
                        "{ctx}: vectorized loop {} has an inner loop",
                        name(t, l.lp)
                    );
                }
            }
            let tree_vars: BTreeSet<&str> = t
                .schedule_vars
                .iter()
                .map(|&v| t.exprs.var_name(v))
                .collect();
            let space_vars: BTreeSet<&str> =
                s.space.var_names().iter().map(|n| n.as_str()).collect();
            assert_eq!(tree_vars, space_vars, "{ctx}");
            let par = t
                .loops()
                .iter()
                .rfind(|l| l.lp.kind == LoopKind::Parallel)
                .map(|l| l.id)
                .unwrap();
            for (b, site) in t.buffers.iter().zip(t.alloc_sites()) {
                if b.scope == Scope::Local {
                    assert_eq!(site, AllocSite::Loop(par), "{ctx}: {}", b.name);
                }
            }
        }
    }
}

/// The vectorized loop of `cpu-tiling` is the `S3` loop of the output's last non-trivial
/// dimension, innermost in the reduction nest.
#[test]
fn tiling_vectorizes_the_contiguous_output_dimension() {
    for w in small_workloads() {
        let def = w.compute();
        let st = &def.stages[0];
        for s in sketches(&w, &cpu()).unwrap() {
            if !s.id.starts_with("cpu-tiling") || s.id == "cpu-tiling/dot" {
                continue;
            }
            // The staged copy of the input runs along its channels: vectorized when they are
            // the output's (a depthwise conv), serial otherwise.
            let staged = s.id == "cpu-tiling/staged";
            let last = st.spatial.iter().rev().find(|a| a.extent > 1).unwrap();
            let want = format!("{}.3", last.name);
            let vec = loops_of(&s.tree, LoopKind::Vectorized);
            // The copy into the pack runs along the same axis, in its own loop `<T>.p3`.
            let packs = s.id.ends_with("packed") || s.id.ends_with("padded");
            let ok = |v: &String| {
                *v == want || (packs && v.ends_with(".p3")) || (staged && v.contains(".stage"))
            };
            assert!(vec.iter().all(ok), "{w} {}: {vec:?}", s.id);
            let out = &def.tensors[st.output].name;
            let (acc, n_vec) = if s.id == "cpu-tiling" {
                (format!("{out}.local"), 3)
            } else if staged {
                let copy = vec.iter().filter(|v| v.contains(".stage")).count();
                assert!(copy <= 1, "{w}: {vec:?}");
                (format!("{out}.local"), 3 + copy)
            } else if packs {
                // Init, the micro-kernel, write-back and the copy into the pack (serial when
                // the copy transposes: it reads along the operand's rows).
                let transposes = w.to_string().contains("trans_b=1");
                (format!("{out}.local"), 4 - usize::from(transposes))
            } else {
                (
                    out.clone(),
                    2 + usize::from(st.post != tilegrad_templates::ValueExpr::Acc),
                )
            };
            assert_eq!(vec.len(), n_vec, "{w} {}", s.id);
            for p in store_paths(&s.tree, &acc, StoreKind::Update) {
                assert_eq!(p.last(), Some(&want), "{w} {}", s.id);
            }
        }
    }
}

// ------------------------------------------------------------------ structure, cpu-tiling

#[test]
fn matmul_tiling_structure_levels_and_space() {
    let sk = cpu_sketches("matmul(M=64,N=48,K=32)+bias+relu");
    let s = by_id(&sk, "cpu-tiling");
    let t = &s.tree;
    assert_eq!(loops_of(t, LoopKind::Parallel), ["i.0_j.0"]);
    // SSRSRS: S0 (fused) S1 R0 S2 R1 S3, j.3 vectorized.
    let upd = store_paths(t, "matmul.local", StoreKind::Update);
    assert_eq!(
        upd,
        [["i.0_j.0", "i.1", "j.1", "k.0", "i.2", "j.2", "k.1", "i.3", "j.3"]]
    );
    // Accumulator: local, the S2·S3 sub-tile, init and write-back inside the S1 loops.
    let acc = t.buffers.iter().find(|b| b.name == "matmul.local").unwrap();
    assert_eq!(acc.scope, Scope::Local);
    let shape: Vec<String> = acc.shape.iter().map(|&e| t.expr_text(e)).collect();
    assert_eq!(shape, ["sp_i_1", "sp_j_1", "sp_i_2", "sp_j_2"]);
    let reg = ["i.0_j.0", "i.1", "j.1", "i.2", "j.2", "i.3", "j.3"];
    assert_eq!(store_paths(t, "matmul.local", StoreKind::Init), [reg]);
    // The epilogue runs once per output element: only the write-back stores the output.
    assert_eq!(store_paths(t, "matmul", StoreKind::Assign), [reg]);
    assert!(store_paths(t, "matmul", StoreKind::Update).is_empty());
    assert!(store_paths(t, "matmul", StoreKind::Init).is_empty());
    // Unroll pragma on the R0 loop, nowhere else.
    let unrolled: Vec<(String, String)> = t
        .loops()
        .iter()
        .filter_map(|l| {
            l.lp.unroll_max_step
                .map(|u| (name(t, l.lp), t.expr_text(u)))
        })
        .collect();
    assert_eq!(unrolled, [("k.0".to_string(), "unroll".to_string())]);
    // Space: 3 free factors per spatial axis, 1 per reduction axis, the unroll choice.
    assert_eq!(
        s.space.var_names(),
        ["sp_i_0", "sp_i_1", "sp_i_2", "sp_j_0", "sp_j_1", "sp_j_2", "rd_k_0", "unroll"]
    );
    let groups: Vec<(&str, u64, usize)> = s
        .space
        .groups()
        .iter()
        .map(|g| (g.name(), g.extent(), g.factors().len()))
        .collect();
    assert_eq!(groups, [("sp_i", 64, 3), ("sp_j", 48, 3), ("rd_k", 32, 1)]);
    assert_eq!(s.space.choices().len(), 1);
    assert_eq!(s.space.choices()[0].values(), UNROLL_VALUES);
    let cons: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
    assert_eq!(
        cons,
        [
            "innermost_i",
            "innermost_j",
            "innermost_k",
            "register_tile",
            "vector_lanes",
            "register_min",
            "parallel",
            "local_tile"
        ]
    );
    // The register tile: S3 of i unrolled around the vectorized S3 of j, everywhere.
    assert_eq!(loops_of(t, LoopKind::Unrolled), ["i.3"; 3]);
    assert_eq!(loops_of(t, LoopKind::Vectorized), ["j.3"; 3]);
}

#[test]
fn tiling_space_limits_the_vector_length_and_the_local_tile() {
    let sk = cpu_sketches("matmul(M=128,N=128,K=128)");
    let parse = |s: &Sketch, text: &str| s.space.parse_assignment(text).unwrap();
    let cached = by_id(&sk, "cpu-tiling");
    let direct = by_id(&sk, "cpu-tiling/no-cache");
    // j.3 = 128 > 64: illegal in both.
    let long = "sp_i_0=1,sp_i_1=1,sp_i_2=1,sp_j_0=1,sp_j_1=1,sp_j_2=128,rd_k_0=4,unroll=16";
    assert!(!cached.space.is_legal(&parse(cached, long)));
    assert!(!direct.space.is_legal(&parse(direct, long)));
    // Register tiles (i.3 × j.3): 8×8 and 2×32 are legal; 4×32 (16 accumulators, more than
    // 12), 4×8 (4, fewer than 8) and 16×4 (j.3 shorter than a vector) are not.
    let reg = |i3: u32, j3: u32| {
        format!(
            "sp_i_0=1,sp_i_1={},sp_i_2={i3},sp_j_0=1,sp_j_1={},sp_j_2={j3},rd_k_0=8,unroll=64",
            16 / i3,
            64 / j3
        )
    };
    for (i3, j3, legal) in [
        (8, 8, true),
        (2, 32, true),
        (4, 32, false),
        (4, 8, false),
        (16, 4, false),
    ] {
        for s in [cached, direct] {
            let a = parse(s, &reg(i3, j3));
            assert_eq!(s.space.is_legal(&a), legal, "{} {i3}x{j3}", s.id);
        }
    }
    // One outer tile for two cores: illegal (`parallel`).
    let serial = "sp_i_0=1,sp_i_1=16,sp_i_2=8,sp_j_0=2,sp_j_1=8,sp_j_2=8,rd_k_0=8,unroll=64";
    assert!(!direct.space.is_legal(&parse(direct, serial)));
    // A 512 × 256 accumulator (512 KiB) exceeds a quarter of L2 (1 MiB): illegal only with
    // the cache; 128 × 256 (128 KiB) fits.
    let sk = cpu_sketches("matmul(M=512,N=512,K=128)");
    let (cached2, direct2) = (by_id(&sk, "cpu-tiling"), by_id(&sk, "cpu-tiling/no-cache"));
    let big = "sp_i_0=1,sp_i_1=128,sp_i_2=4,sp_j_0=1,sp_j_1=16,sp_j_2=16,rd_k_0=4,unroll=16";
    assert!(!cached2.space.is_legal(&parse(cached2, big)));
    assert!(direct2.space.is_legal(&parse(direct2, big)));
    let fits = "sp_i_0=2,sp_i_1=32,sp_i_2=4,sp_j_0=1,sp_j_1=16,sp_j_2=16,rd_k_0=4,unroll=16";
    assert!(cached2.space.is_legal(&parse(cached2, fits)));
    let ok = "sp_i_0=2,sp_i_1=8,sp_i_2=2,sp_j_0=2,sp_j_1=2,sp_j_2=32,rd_k_0=8,unroll=64";
    assert!(cached.space.is_legal(&parse(cached, ok)));
    // The instantiated extents follow the levels.
    let tree = cached.instantiate(&parse(cached, ok)).unwrap();
    let ext: Vec<(String, i64)> = tree
        .loops()
        .iter()
        .take(9)
        .map(|l| (name(&tree, l.lp), tree.const_int(l.lp.extent).unwrap()))
        .collect();
    let want = [
        ("i.0_j.0", 4), // (128 / (2·8·2)) · (128 / (2·2·32))
        ("i.1", 2),
        ("j.1", 2),
        ("i.2", 8),
        ("j.2", 2),
        ("i.3", 2),
        ("j.3", 32),
        ("k.0", 16),
        ("i.2", 8),
    ];
    let want: Vec<(String, i64)> = want.iter().map(|(n, e)| (n.to_string(), *e)).collect();
    assert_eq!(ext, want);
}

/// Small extents: the register and parallel limits apply only where some tile meets them.
#[test]
fn register_limits_apply_only_where_reachable() {
    let cons = |text: &str| -> Vec<String> {
        let sk = cpu_sketches(text);
        let s = by_id(&sk, "cpu-tiling");
        s.space
            .constraints()
            .iter()
            .map(|c| c.name().to_string())
            .filter(|n| !n.starts_with("innermost"))
            .collect()
    };
    // N = 7: no vector bound; 12 × 7 has no tile of 64..=96 elements; 2 cores reachable.
    assert_eq!(
        cons("matmul(M=12,N=7,K=9)"),
        ["register_tile", "parallel", "local_tile"]
    );
    // M = 1, N = 8: one vector is the only tile, and only one outer tile exists.
    assert_eq!(
        cons("matmul(M=1,N=8,K=16)"),
        ["register_tile", "vector_lanes", "local_tile"]
    );
    // Every sampled assignment of a larger matmul meets them all.
    let sk = cpu_sketches("matmul(M=512,N=512,K=512)");
    let s = by_id(&sk, "cpu-tiling");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..64 {
        let a = s.space.sample(&mut rng).unwrap();
        let v = |n: &str| a.value_of(n).unwrap();
        let (i3, j3) = (v("sp_i_2"), v("sp_j_2"));
        assert!(
            (8..=64).contains(&j3) && (64..=96).contains(&(i3 * j3)),
            "{a}"
        );
    }
}

/// The dot sketch vectorizes along the reduction: its vector loops are the lanes `l` of the
/// accumulator (init and micro-kernel), and the lanes are summed by a serial loop before the
/// epilogue stores the output once per point.
#[test]
fn dot_tiling_vectorizes_the_reduction_and_sums_the_lanes_once() {
    for text in [
        "matmul(M=2,N=9,K=32,trans_b=1)+bias+silu",
        "batch_matmul(B=2,M=3,N=5,K=16,trans_b=1)",
    ] {
        let sk = cpu_sketches(text);
        let t = &by_id(&sk, "cpu-tiling/dot").tree;
        assert_eq!(loops_of(t, LoopKind::Vectorized), ["l", "l"], "{text}");
        let out = t
            .buffers
            .iter()
            .find(|b| {
                b.scope == Scope::Global && b.name != "A" && b.name != "B" && b.name != "bias"
            })
            .unwrap()
            .name
            .clone();
        let dot = format!("{out}.dot");
        for p in store_paths(t, &dot, StoreKind::Update) {
            assert_eq!(p.last().map(String::as_str), Some("l"), "{text}");
            assert!(p.iter().any(|l| l == "k.1"), "{text}: {p:?}");
        }
        let stores = store_paths(t, &out, StoreKind::Assign);
        assert_eq!(stores.len(), 1, "{text}");
        assert!(!stores[0].iter().any(|l| l == "l"), "{text}");
    }
    // The vector axis must be whole vectors: K = 12 is not.
    let sk = cpu_sketches("matmul(M=8,N=6,K=12,trans_b=1)+bias");
    assert!(sk.iter().all(|s| s.id != "cpu-tiling/dot"));
}

#[test]
fn no_cache_tiling_accumulates_in_the_output() {
    let sk = cpu_sketches("matmul(M=8,N=6,K=12)+bias");
    let s = by_id(&sk, "cpu-tiling/no-cache");
    let t = &s.tree;
    assert!(t.buffers.iter().all(|b| b.scope == Scope::Global));
    let reg = ["i.0_j.0", "i.1", "j.1", "i.2", "j.2", "i.3", "j.3"];
    assert_eq!(store_paths(t, "matmul", StoreKind::Init), [reg]);
    assert_eq!(store_paths(t, "matmul", StoreKind::Update).len(), 1);
    // The in-place epilogue pass (bias).
    assert_eq!(store_paths(t, "matmul", StoreKind::Assign), [reg]);
    // Without an epilogue there is no extra pass.
    let plain = cpu_sketches("matmul(M=12,N=7,K=9)");
    let t = &by_id(&plain, "cpu-tiling/no-cache").tree;
    assert!(store_paths(t, "matmul", StoreKind::Assign).is_empty());
}

#[test]
fn tiling_without_tiled_reduction_puts_unroll_on_the_s2_nest() {
    let sk = cpu_sketches("matmul(M=4,N=6,K=1)+relu");
    for s in &sk {
        let t = &s.tree;
        assert!(loops_of(t, LoopKind::Serial)
            .iter()
            .all(|n| !n.starts_with('k')));
        let unrolled: Vec<String> = t
            .loops()
            .iter()
            .filter(|l| l.lp.unroll_max_step.is_some())
            .map(|l| name(t, l.lp))
            .collect();
        assert_eq!(unrolled, ["i.2"], "{}", s.id);
    }
}

#[test]
fn conv_tiling_levels() {
    let sk = cpu_sketches("conv2d(N=2,H=7,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1)+bias+relu");
    let s = by_id(&sk, "cpu-tiling");
    assert_eq!(loops_of(&s.tree, LoopKind::Parallel), ["n.0_p.0_q.0_k.0"]);
    let upd = store_paths(&s.tree, "conv2d.local", StoreKind::Update);
    let want = "n.0_p.0_q.0_k.0 n.1 p.1 q.1 k.1 rc.0 r.0 s.0 n.2 p.2 q.2 k.2 rc.1 r.1 s.1 \
                n.3 p.3 q.3 k.3";
    assert_eq!(upd, [want.split(' ').collect::<Vec<_>>()]);
    let groups: Vec<(&str, usize)> = s
        .space
        .groups()
        .iter()
        .map(|g| (g.name(), g.factors().len()))
        .collect();
    assert_eq!(
        groups,
        [
            ("sp_n", 3),
            ("sp_p", 3),
            ("sp_q", 3),
            ("sp_k", 3),
            ("rd_rc", 1),
            ("rd_r", 1),
            ("rd_s", 1)
        ]
    );
}

// ------------------------------------------------------------------ structure, cpu-simple

#[test]
fn softmax_rows_keep_intermediates_local_per_row() {
    let sk = cpu_sketches("softmax(M=3,N=7)");
    let s = by_id(&sk, "cpu-simple/rows");
    let t = &s.tree;
    assert_eq!(loops_of(t, LoopKind::Parallel), ["i.0"]);
    for buf in ["softmax_max.local", "softmax_sum.local"] {
        let id = t.buffers.iter().position(|b| b.name == buf).unwrap();
        assert_eq!(t.buffers[id].scope, Scope::Local);
        assert_eq!(t.const_shape(BufferId(id as u32)), Some(vec![1]));
        assert_eq!(store_paths(t, buf, StoreKind::Assign), [["i.0", "i.1"]]);
    }
    // Both reductions over j in vector lanes (one shared lane count), then combined; the
    // normalisation vectorized over j.
    for stage in ["softmax_max", "softmax_sum"] {
        let acc = format!("{stage}.acc");
        assert_eq!(
            store_paths(t, &acc, StoreKind::Init),
            [["i.0", "i.1", "j.1"]]
        );
        assert_eq!(
            store_paths(t, &acc, StoreKind::Update),
            [vec!["i.0", "i.1", "j.0", "j.1"], vec!["i.0", "i.1", "j.t"]]
        );
        let total = format!("{stage}.total");
        assert_eq!(
            store_paths(t, &total, StoreKind::Update),
            [["i.0", "i.1", "j.l"]]
        );
    }
    assert_eq!(
        store_paths(t, "softmax_norm", StoreKind::Assign),
        [["i.0", "i.1", "j.0", "j.1"]]
    );
    assert_eq!(loops_of(t, LoopKind::Vectorized), ["j.1"; 5]);
    assert_eq!(s.space.var_names(), ["sp_i_0", "rd_j_0", "sp_j_0"]);
    let cons: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
    assert_eq!(cons, ["innermost_j"]);
    // exp(x − max) is computed once: the sum keeps it in a row, the normalisation reads it.
    let row = t.buffers.iter().position(|b| b.name == "softmax_sum.row");
    let row = row.expect("softmax_sum.row");
    assert_eq!(t.buffers[row].scope, Scope::Local);
    assert_eq!(t.const_shape(BufferId(row as u32)), Some(vec![7]));
    assert_eq!(
        store_paths(t, "softmax_sum.row", StoreKind::Assign),
        [vec!["i.0", "i.1", "j.0", "j.1"], vec!["i.0", "i.1", "j.t"]]
    );
    let text = t.to_string();
    let exps: Vec<&str> = text.lines().filter(|l| l.contains("exp(")).collect();
    assert_eq!(exps.len(), 2, "{t}"); // the vector lanes and the tail
    assert!(
        exps.iter()
            .all(|l| l.trim().starts_with("softmax_sum.row[")),
        "{t}"
    );
    let norm = text.lines().find(|l| l.trim().starts_with("softmax_norm["));
    assert!(norm.is_some_and(|l| l.contains("softmax_sum.row[")), "{t}");
    let acc = t
        .buffers
        .iter()
        .find(|b| b.name == "softmax_sum.acc")
        .unwrap();
    assert_eq!(t.expr_text(acc.shape[0]), "rd_j_0");
}

/// Lanes (with a tail where they do not divide the row) and the serial reduction
/// (`rd_j_0 = 1`) give the reference result, for sum and max.
#[test]
fn lane_reductions_match_the_reference_for_every_lane_count() {
    for text in ["softmax(M=2,N=12)+scale(2)", "rms_norm(M=2,N=49)+mul"] {
        let w: Workload = text.parse().unwrap();
        let inputs = w.random_inputs(9);
        let want = reference(&w, &inputs).unwrap();
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let s = by_id(&cpu_sketches(text), "cpu-simple/rows").clone();
        let n = w.compute().stages[0].reduce[0].extent as u64;
        let mut lanes = BTreeSet::new();
        for a in s.space.enumerate(10_000).unwrap() {
            if !s.space.is_legal(&a) {
                continue;
            }
            lanes.insert(a.value_of("rd_j_0").unwrap());
            let got = interpret(&s.instantiate(&a).unwrap(), &refs).unwrap();
            compare(&want, &got).unwrap_or_else(|e| panic!("{text} {a}: {e}"));
        }
        let counts: BTreeSet<u64> = (1..=n.min(64))
            .filter(|&d| n.is_multiple_of(d) || d.is_power_of_two())
            .collect();
        assert_eq!(lanes, counts, "{text}");
    }
}

#[test]
fn pooling_rows_vectorize_channels_inside_the_window_loops() {
    let sk = cpu_sketches("max_pool2d(N=1,H=7,W=7,C=4,R=3,S=3,stride=2,pad=1)");
    let s = by_id(&sk, "cpu-simple/rows");
    let t = &s.tree;
    assert_eq!(
        store_paths(t, "max_pool2d.acc", StoreKind::Update),
        [["p_q.0", "p_q.1", "c.0", "r", "s", "c.1"]]
    );
    assert_eq!(loops_of(t, LoopKind::Vectorized), ["c.1", "c.1", "c.1"]);
    assert_eq!(s.space.var_names(), ["sp_p_q_0", "sp_c_0"]);
    let cons: Vec<&str> = s.space.constraints().iter().map(|c| c.name()).collect();
    assert_eq!(cons, ["innermost_c"]);
}

#[test]
fn elementwise_sketch_fuses_every_axis() {
    let sk = cpu_sketches("mul(B=2,M=3,N=7,bcast_n=1)+relu");
    let s = by_id(&sk, "cpu-simple/elementwise");
    let t = &s.tree;
    assert_eq!(
        store_paths(t, "mul", StoreKind::Assign),
        [["fused.0", "fused.1", "fused.2"]]
    );
    assert_eq!(loops_of(t, LoopKind::Vectorized), ["fused.2"]);
    let g = &s.space.groups()[0];
    assert_eq!(
        (g.name(), g.extent(), g.factors().len()),
        ("sp_fused", 42, 2)
    );
    let rows = by_id(&sk, "cpu-simple/rows");
    assert_eq!(
        store_paths(&rows.tree, "mul", StoreKind::Assign),
        [["b_i.0", "b_i.1", "j.0", "j.1"]]
    );
}
