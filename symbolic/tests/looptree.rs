//! Loop-tree IR: printer, verifier, instantiation and walkers.

use tilegrad_symbolic::looptree::examples::{matmul_cpu_tiled, matmul_gpu_tiled, matmul_naive};
use tilegrad_symbolic::looptree::{
    AllocSite, Axis3, BufferId, LoopKind, LoopTree, Scope, Stmt, StoreKind, TreeBuilder, Value,
};
use tilegrad_symbolic::SymbolicError;

#[test]
fn printer_is_stable() {
    let expect = "\
kernel matmul()
buffer A: f32 global [4, 3] input 0
buffer B: f32 global [3, 2] input 1
buffer C: f32 global [4, 2] output
for i in 0..4 {
  for j in 0..2 {
    C[i, j] = 0  // init
    for k in 0..3 {
      C[i, j] = C[i, j] + A[i, k] * B[k, j]  // update
    }
  }
}
";
    assert_eq!(matmul_naive(4, 2, 3).to_string(), expect);
}

#[test]
fn printer_shows_kinds_scopes_guards_and_barriers() {
    let mut b = TreeBuilder::new("k");
    let t = b.sched_var("sp_t");
    let n = b.c(64.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    let s = b.buffer("X.shared", Scope::Shared, &[t]);
    let blocks = b.e().ceildiv(n, t);
    let u = b.c(16.0);
    b.loop_("i.0", blocks, LoopKind::BlockIdx(Axis3::X), |b, i0| {
        b.loop_unroll("i.1", t, LoopKind::ThreadIdx(Axis3::X), Some(u), |b, i1| {
            let base = b.e().mul(i0, t);
            let g = b.e().add(base, i1);
            let ok = b.e().lt(g, n);
            b.if_(ok, |b| {
                let v = Value::select(ok, b.load(x, &[g]), Value::Const(-1.5));
                b.store(s, &[i1], v);
            });
            b.barrier();
            b.if_(ok, |b| {
                let v = (b.load(s, &[i1]) - Value::Const(1.0)) * Value::Const(2.0);
                let v = v
                    .unary(tilegrad_symbolic::looptree::ValueUnOp::Exp)
                    .max(Value::Index(g));
                b.store(y, &[g], v);
            });
        });
    });
    let tree = b.finish();
    tree.verify().unwrap();
    let expect = "\
kernel k(sp_t)
buffer X: f32 global [64] input 0
buffer Y: f32 global [64] output
buffer X.shared: f32 shared [sp_t]
for i.0 in 0..(ceildiv 64 sp_t) @blockIdx.x {
  for i.1 in 0..sp_t @threadIdx.x unroll_max_step=16 {
    if (< (+ (* i.0 sp_t) i.1) 64) {
      X.shared[i.1] = select((< (+ (* i.0 sp_t) i.1) 64), X[(+ (* i.0 sp_t) i.1)], -1.5)
    }
    barrier
    if (< (+ (* i.0 sp_t) i.1) 64) {
      Y[(+ (* i.0 sp_t) i.1)] = max(exp((X.shared[i.1] - 1) * 2), float((+ (* i.0 sp_t) i.1)))
    }
  }
}
";
    assert_eq!(tree.to_string(), expect);
}

#[test]
fn examples_verify_and_instantiate() {
    for tree in [
        matmul_naive(5, 6, 7),
        matmul_cpu_tiled(5, 6, 7),
        matmul_gpu_tiled(5, 6, 7),
    ] {
        tree.verify()
            .unwrap_or_else(|e| panic!("{}: {e}\n{tree}", tree.name));
    }
    assert!(matmul_naive(2, 2, 2).is_concrete());
    assert!(!matmul_cpu_tiled(5, 6, 7).is_concrete());
    let t = matmul_cpu_tiled(5, 6, 7)
        .instantiate_named(&[("sp_i", 2), ("sp_j", 4)])
        .unwrap();
    assert!(t.is_concrete());
    t.verify().unwrap();
    let text = t.to_string();
    assert!(text.contains("for i.0 in 0..3 @parallel {"), "{text}");
    assert!(text.contains("for j.1 in 0..4 @vectorized {"), "{text}");
    assert!(text.contains("buffer C.local: f32 local [2, 4]"), "{text}");
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    assert!(!body.contains("sp_"), "{text}");
}

#[test]
fn instantiate_errors_name_the_problem() {
    let tree = matmul_cpu_tiled(5, 6, 7);
    // A missing value leaves the extent symbolic.
    match tree.instantiate_named(&[("sp_i", 2)]) {
        Err(SymbolicError::NotConcrete(msg)) => assert!(msg.contains("sp_j"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // A loop variable is not a schedule variable.
    assert!(matches!(
        tree.instantiate_named(&[("sp_i", 2), ("sp_j", 2), ("k", 1)]),
        Err(SymbolicError::InvalidRef(_))
    ));
    assert!(matches!(
        tree.instantiate_named(&[("nope", 2)]),
        Err(SymbolicError::InvalidRef(_))
    ));
    // Zero tile size: ceildiv by zero.
    assert!(matches!(
        tree.instantiate_named(&[("sp_i", 0), ("sp_j", 2)]),
        Err(SymbolicError::DivisionByZero { .. })
    ));
    // A non-integer extent names the loop.
    let mut b = TreeBuilder::new("half");
    let s = b.sched_var("s");
    let n = b.c(4.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    let two = b.c(2.0);
    let ext = b.e().div(s, two);
    b.loop_("i", ext, LoopKind::Serial, |b, i| {
        let v = b.load(x, &[i]);
        b.store(y, &[i], v);
    });
    let tree = b.finish();
    match tree.instantiate_named(&[("s", 3)]) {
        Err(SymbolicError::NotConcrete(msg)) => {
            assert!(msg.contains("loop `i`") && msg.contains("1.5"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    assert!(tree.instantiate_named(&[("s", 8)]).unwrap().is_concrete());
}

#[test]
fn instantiate_folds_constant_guards() {
    let t = matmul_gpu_tiled(8, 8, 8)
        .instantiate_named(&[
            ("sp_i_t", 2),
            ("sp_j_t", 2),
            ("sp_i_r", 2),
            ("sp_j_r", 2),
            ("sp_k", 4),
            ("ur", 4),
        ])
        .unwrap();
    t.verify().unwrap();
    let text = t.to_string();
    assert!(
        text.contains("for k.1 in 0..4 unroll_max_step=4 {"),
        "{text}"
    );
    assert!(
        text.contains("buffer A.shared: f32 shared [4, 4]"),
        "{text}"
    );
    // `if (<= sp 8)` disappears (its body kept or dropped), `select` on sp picks a branch.
    let mut b = TreeBuilder::new("fold");
    let sp = b.sched_var("sp");
    let n = b.c(4.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    let eight = b.c(8.0);
    let small = b.e().le(sp, eight);
    b.loop_("i", n, LoopKind::Serial, |b, i| {
        b.if_(small, |b| {
            let v = Value::select(small, b.load(x, &[i]), Value::Const(2.0));
            b.store(y, &[i], v);
        });
    });
    let tree = b.finish();
    let kept = tree.instantiate_named(&[("sp", 4)]).unwrap();
    assert_eq!(kept.to_string(), "kernel fold(sp)\nbuffer X: f32 global [4] input 0\nbuffer Y: f32 global [4] output\nfor i in 0..4 {\n  Y[i] = X[i]\n}\n");
    let dropped = tree.instantiate_named(&[("sp", 16)]).unwrap();
    assert!(
        matches!(&dropped.body[0], Stmt::Loop(l) if l.body.is_empty()),
        "{dropped}"
    );
}

/// A one-block, one-thread-loop tree with `body` inside the thread loop.
fn gpu_tree(
    body: impl FnOnce(&mut TreeBuilder, BufferId, BufferId, BufferId, tilegrad_symbolic::ExprId),
) -> LoopTree {
    let mut b = TreeBuilder::new("g");
    let n = b.c(8.0);
    let one = b.c(1.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    let s = b.buffer("S", Scope::Shared, &[n]);
    b.loop_("b", one, LoopKind::BlockIdx(Axis3::X), |b, _| {
        b.loop_("t", n, LoopKind::ThreadIdx(Axis3::X), |b, t| {
            body(b, x, y, s, t)
        });
    });
    b.finish()
}

fn verify_err(tree: &LoopTree) -> String {
    match tree.verify() {
        Err(SymbolicError::Verify(msg)) => msg,
        other => panic!("expected a verifier error, got {other:?}\n{tree}"),
    }
}

#[test]
fn verifier_accepts_a_well_formed_gpu_tree() {
    let tree = gpu_tree(|b, x, y, s, t| {
        let v = b.load(x, &[t]);
        b.store(s, &[t], v);
        b.barrier();
        let v = b.load(s, &[t]);
        b.store(y, &[t], v);
    });
    tree.verify().unwrap();
}

#[test]
fn verifier_rejects_barrier_misuse() {
    let tree = gpu_tree(|b, x, y, s, t| {
        let v = b.load(x, &[t]);
        b.store(s, &[t], v);
        let c4 = b.c(4.0);
        let cond = b.e().lt(t, c4);
        b.if_(cond, |b| b.barrier());
        let v = b.load(s, &[t]);
        b.store(y, &[t], v);
    });
    assert!(verify_err(&tree).contains("thread index `t`"));

    let mut b = TreeBuilder::new("cpu");
    let n = b.c(8.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    b.loop_("i", n, LoopKind::Parallel, |b, i| {
        b.barrier();
        let v = b.load(x, &[i]);
        b.store(y, &[i], v);
    });
    assert!(verify_err(&b.finish()).contains("barrier outside a thread loop"));
}

#[test]
fn verifier_rejects_missing_buffers_and_bad_indices() {
    let tree = gpu_tree(|b, x, _, _, t| {
        let v = b.load(x, &[t]);
        b.store(BufferId(42), &[t], v);
    });
    assert!(verify_err(&tree).contains("missing buffer #42"));
    let tree = gpu_tree(|b, x, y, _, t| {
        let v = b.load(BufferId(7), &[t]);
        b.store(y, &[t], v);
        let _ = x;
    });
    assert!(verify_err(&tree).contains("missing buffer #7"));
    let tree = gpu_tree(|b, x, y, _, t| {
        let v = b.load(x, &[t, t]);
        b.store(y, &[t], v);
    });
    assert!(verify_err(&tree).contains("rank 1"));
    let tree = gpu_tree(|b, x, y, _, t| {
        let free = b.parse("(+ t q)").unwrap();
        let v = b.load(x, &[free]);
        b.store(y, &[t], v);
    });
    assert!(verify_err(&tree).contains("`q`"));
}

#[test]
fn verifier_checks_nesting_scopes_and_roles() {
    // Loop variable bound twice on a path.
    let tree = gpu_tree(|b, x, y, _, t| {
        let two = b.c(2.0);
        b.loop_("t", two, LoopKind::Serial, |b, _| {
            let v = b.load(x, &[t]);
            b.store(y, &[t], v);
        });
    });
    assert!(verify_err(&tree).contains("bound twice"));
    // Output never written.
    let tree = gpu_tree(|b, x, _, s, t| {
        let v = b.load(x, &[t]);
        b.store(s, &[t], v);
    });
    assert!(verify_err(&tree).contains("never written"));
    // Input written.
    let tree = gpu_tree(|b, x, y, _, t| {
        b.store(x, &[t], Value::Const(1.0));
        b.store(y, &[t], Value::Const(1.0));
    });
    assert!(verify_err(&tree).contains("input `X` is written"));
    // Thread loop outside a block loop; shared buffer outside a block.
    let mut b = TreeBuilder::new("bad");
    let n = b.c(8.0);
    let y = b.output("Y", &[n]);
    b.loop_("t", n, LoopKind::ThreadIdx(Axis3::X), |b, t| {
        b.store(y, &[t], Value::Const(0.0))
    });
    assert!(verify_err(&b.finish()).contains("not inside a block loop"));
    let mut b = TreeBuilder::new("bad");
    let n = b.c(8.0);
    let y = b.output("Y", &[n]);
    let s = b.buffer("S", Scope::Shared, &[n]);
    b.loop_("i", n, LoopKind::Serial, |b, i| {
        b.store(s, &[i], Value::Const(0.0));
        let v = b.load(s, &[i]);
        b.store(y, &[i], v);
    });
    assert!(verify_err(&b.finish()).contains("shared buffer `S`"));
    // Block loop inside a thread loop.
    let tree = gpu_tree(|b, _, y, _, t| {
        let one = b.c(1.0);
        b.loop_("bb", one, LoopKind::BlockIdx(Axis3::Y), |b, _| {
            b.store(y, &[t], Value::Const(0.0))
        });
    });
    assert!(verify_err(&tree).contains("block loop `bb`"));
    // Extents may only use schedule variables.
    let tree = gpu_tree(|b, _, y, _, t| {
        b.loop_("r", t, LoopKind::Serial, |b, _| {
            b.store(y, &[t], Value::Const(0.0))
        });
    });
    assert!(verify_err(&tree).contains("extent of loop `r`"));
    // A local buffer used by two kernels is not private to a thread.
    let mut b = TreeBuilder::new("bad");
    let n = b.c(8.0);
    let one = b.c(1.0);
    let y = b.output("Y", &[n]);
    let l = b.buffer("L", Scope::Local, &[n]);
    b.loop_("b", one, LoopKind::BlockIdx(Axis3::X), |b, _| {
        b.loop_("t", n, LoopKind::ThreadIdx(Axis3::X), |b, t| {
            b.store(l, &[t], Value::Const(0.0))
        });
    });
    b.loop_("b", one, LoopKind::BlockIdx(Axis3::X), |b, _| {
        b.loop_("t", n, LoopKind::ThreadIdx(Axis3::X), |b, t| {
            let v = b.load(l, &[t]);
            b.store(y, &[t], v);
        });
    });
    assert!(verify_err(&b.finish()).contains("local buffer `L`"));
}

#[test]
fn walkers_report_context_and_alloc_sites() {
    let tree = matmul_naive(2, 3, 4);
    let stores = tree.stores();
    assert_eq!(stores.len(), 2);
    assert_eq!(stores[0].store.kind, StoreKind::Init);
    assert_eq!(stores[1].store.kind, StoreKind::Update);
    let names: Vec<&str> = stores[1]
        .path
        .iter()
        .map(|l| tree.exprs.var_name(l.var))
        .collect();
    assert_eq!(names, ["i", "j", "k"]);
    assert_eq!(stores[1].store.value.loads().len(), 3);

    let tree = matmul_gpu_tiled(8, 8, 8);
    let loops = tree.loops();
    let name_of = |site: AllocSite| match site {
        AllocSite::Loop(id) => tree.exprs.var_name(loops[id.0].lp.var).to_string(),
        other => format!("{other:?}"),
    };
    let sites: Vec<String> = tree.alloc_sites().into_iter().map(name_of).collect();
    assert_eq!(
        sites,
        ["Program", "Program", "Program", "j.0", "j.0", "j.1"]
    );
    let guarded = tree
        .stores()
        .into_iter()
        .filter(|s| !s.guards.is_empty())
        .count();
    assert_eq!(
        guarded, 3,
        "two staging stores and the output write are guarded"
    );
    assert!(tree.is_gpu());
    assert!(matches!(tree.body[0], Stmt::Loop(ref l) if l.kind == LoopKind::BlockIdx(Axis3::Y)));
}
