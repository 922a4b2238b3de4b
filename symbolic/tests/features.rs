//! Features and constraints of the hand-built example trees: hand-computed values, symbolic
//! == direct, and planted constraint violations (2,048 threads per block; 100 KiB of
//! shared memory on a 48 KiB target).

use ndarray::Array2;
use tilegrad_symbolic::features::names::is_boolean;
use tilegrad_symbolic::looptree::examples::{matmul_cpu_tiled, matmul_gpu_tiled, matmul_naive};
use tilegrad_symbolic::{
    direct_features, direct_violations, is_legal, CpuSpec, FeatureSet, LoopTree, Mode, Space,
    Target, TargetSpec, FEATURE_NAMES, FEATURE_VERSION, N_FEATURES,
};

fn cpu() -> Target {
    Target {
        name: "cpu".into(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores: 4,
            simd_bytes: 32,
            l1_bytes: 49152,
            l2_bytes: 1 << 20,
            l3_bytes: 1 << 25,
            mem_bandwidth: 5e10,
            peak_fp32: 1e12,
        }),
    }
}

/// The raw (untransformed) value of column `name` of `row`.
fn raw(row: &[f64], name: &str) -> f64 {
    let k = FEATURE_NAMES.iter().position(|n| *n == name).unwrap();
    if is_boolean(name) {
        row[k]
    } else {
        row[k].exp_m1()
    }
}

fn check(row: &[f64], expect: &[(&str, f64)]) {
    for &(name, want) in expect {
        let got = raw(row, name);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "`{name}`: got {got}, want {want}"
        );
    }
}

#[test]
fn layout_is_fixed() {
    assert_eq!(FEATURE_NAMES.len(), N_FEATURES);
    assert_eq!(FEATURE_VERSION, "tg-feat-1");
    let mut names = FEATURE_NAMES.to_vec();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N_FEATURES);
}

#[test]
fn naive_matmul_by_hand() {
    let tree = matmul_naive(4, 5, 6);
    let rows = direct_features(&tree, &cpu()).unwrap();
    assert_eq!(rows.len(), 2);
    // C[i, j] = 0 over i < 4, j < 5.
    check(
        &rows[0],
        &[
            ("float_ops", 0.0),
            ("int_ops", 80.0),
            ("loop_product", 20.0),
            ("is_init", 1.0),
            ("b0.is_write", 1.0),
            ("b0.is_read", 0.0),
            ("b0.bytes", 80.0),
            ("b0.unique_bytes", 80.0),
            ("b0.stride", 1.0),
            ("b0.lines", 20.0 * 4.0 / 128.0),
            ("b0.unique_lines", 4.0),
            ("b0.reuse", 0.0),
            ("b1.bytes", 0.0),
        ],
    );
    // C[i, j] += A[i, k] * B[k, j] over k < 6.
    check(
        &rows[1],
        &[
            ("float_ops", 240.0),
            ("float_addsub", 120.0),
            ("float_mul", 120.0),
            ("float_div", 0.0),
            ("n_loops", 3.0),
            ("loop_product", 120.0),
            ("is_reduction", 1.0),
            ("b0.is_read", 1.0),
            ("b0.is_write", 1.0),
            ("b0.bytes", 960.0),
            ("b0.unique_bytes", 80.0),
            ("b0.reuse", 1.0),
            ("b0.reuse_count", 6.0),
            ("b0.reuse_dist_iter", 1.0),
            ("b0.reuse_dist_bytes", 4.0),
            ("b1.unique_bytes", 96.0),
            ("b1.stride", 1.0),
            ("b1.reuse_count", 5.0),
            ("b1.reuse_dist_iter", 6.0),
            ("b1.reuse_dist_bytes", 24.0),
            ("b2.unique_bytes", 120.0),
            ("b2.stride", 5.0),
            ("b2.lines", 120.0 * 20.0 / 128.0),
            ("b2.reuse_count", 4.0),
            ("b2.reuse_dist_iter", 30.0),
            ("b2.reuse_dist_bytes", 120.0),
            ("ws_l1", (80.0 + 96.0 + 120.0) / 49152.0),
            ("waves", 0.0),
            ("b3.is_read", 0.0),
        ],
    );
    // The symbolic path of a tree without schedule variables gives the same rows.
    let fs = FeatureSet::build(&tree, &Space::new(), &cpu()).unwrap();
    let ev = fs.eval(Array2::zeros((1, 0)).view(), Mode::Exact).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            assert!((ev.features[[0, r, k]] - v).abs() <= 1e-12 * v.abs().max(1.0));
        }
    }
}

/// A space of one choice variable per schedule variable of `tree` (named by `choices`).
fn choice_space(tree: &mut LoopTree, choices: &[(&str, &[u64])]) -> Space {
    let mut space = Space::new();
    for (name, vals) in choices {
        space.add_choice(&mut tree.exprs, name, vals).unwrap();
    }
    space
}

/// Symbolic features and constraints at `values` (space order) equal the direct ones.
fn agree(tree: &LoopTree, space: &Space, t: &Target, values: &[i64]) -> Vec<(String, f64)> {
    let fs = FeatureSet::build(tree, space, t).unwrap();
    let pts = Array2::from_shape_vec(
        (1, values.len()),
        values.iter().map(|&v| v as f64).collect(),
    )
    .unwrap();
    let ev = fs.eval(pts.view(), Mode::Exact).unwrap();
    let named: Vec<(&str, i64)> = space
        .var_names()
        .iter()
        .map(|s| s.as_str())
        .zip(values.iter().copied())
        .collect();
    let concrete = tree.instantiate_named(&named).unwrap();
    let rows = direct_features(&concrete, t).unwrap();
    assert_eq!(rows.len(), fs.n_rows());
    for (r, row) in rows.iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            let u = ev.features[[0, r, k]];
            assert!(
                (u - v).abs() <= 1e-9 * v.abs().max(1.0),
                "row {r} `{}`: {u} vs {v}",
                FEATURE_NAMES[k]
            );
        }
    }
    let dv = direct_violations(&concrete, t).unwrap();
    for (k, (name, v)) in dv.iter().enumerate() {
        assert_eq!(name, &fs.constraint_names()[k]);
        let u = ev.constraints[[0, k]];
        assert!(
            (u - v).abs() <= 1e-9 * v.abs().max(1.0),
            "constraint `{name}`: {u} vs {v}"
        );
    }
    dv
}

fn value(dv: &[(String, f64)], name: &str) -> f64 {
    dv.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn gpu_planted_violations() {
    let mut tree = matmul_gpu_tiled(64, 128, 200);
    let p2: &[u64] = &[1, 2, 4, 8, 16, 32, 64];
    let space = choice_space(
        &mut tree,
        &[
            ("sp_i_t", p2),
            ("sp_j_t", p2),
            ("sp_i_r", p2),
            ("sp_j_r", p2),
            ("sp_k", &[4, 8, 200]),
            ("ur", &[1, 16]),
        ],
    );
    let t = Target::preset("h100-sxm").unwrap();
    // A legal configuration: 8 × 16 threads, 4 × 4 registers, 8-wide k tile.
    let ok = agree(&tree, &space, &t, &[8, 16, 4, 4, 8, 16]);
    assert!(
        is_legal(&ok.iter().map(|c| c.1).collect::<Vec<_>>()),
        "{ok:?}"
    );
    // 32 × 64 = 2,048 threads per block.
    let threads = agree(&tree, &space, &t, &[32, 64, 1, 1, 8, 16]);
    assert!((value(&threads, "threads_per_block") - 2f64.ln()).abs() < 1e-12);
    assert!(!is_legal(&threads.iter().map(|c| c.1).collect::<Vec<_>>()));
    // (64·200 + 200·64)·4 bytes = 100 KiB of shared memory on a 48 KiB limit.
    let smem = agree(&tree, &space, &t, &[8, 8, 8, 8, 200, 16]);
    let v = value(&smem, "shared_mem_per_block");
    assert!((v - (102400.0f64 / 49152.0).ln()).abs() < 1e-12, "{v}");
    assert!(value(&smem, "threads_per_block") < 0.0);
    assert!(!is_legal(&smem.iter().map(|c| c.1).collect::<Vec<_>>()));
    // 1,024 threads is exactly at the limit: legal.
    let edge = agree(&tree, &space, &t, &[32, 32, 1, 1, 4, 1]);
    assert!(
        is_legal(&edge.iter().map(|c| c.1).collect::<Vec<_>>()),
        "{edge:?}"
    );
}

#[test]
fn cpu_tiled_matches_direct() {
    let mut tree = matmul_cpu_tiled(12, 20, 7);
    let space = choice_space(
        &mut tree,
        &[("sp_i", &[1, 3, 4, 12]), ("sp_j", &[1, 4, 5, 20, 128])],
    );
    let t = cpu();
    for vals in [[1, 1], [3, 4], [4, 5], [12, 20]] {
        let dv = agree(&tree, &space, &t, &vals);
        assert!(
            is_legal(&dv.iter().map(|c| c.1).collect::<Vec<_>>()),
            "{vals:?}: {dv:?}"
        );
    }
    // A 128-wide vector loop exceeds the innermost factor limit (that 20 mod 128 ≠ 0 is no
    // constraint on the CPU, whose vectors need no alignment).
    let dv = agree(&tree, &space, &t, &[4, 128]);
    assert!(value(&dv, "innermost_factor") > 0.0);
    assert!(dv.iter().all(|(n, _)| n != "vector_align"), "{dv:?}");
    assert!(!is_legal(&dv.iter().map(|c| c.1).collect::<Vec<_>>()));
}

#[test]
fn direct_rejects_symbolic_trees() {
    let tree = matmul_cpu_tiled(12, 20, 7);
    assert!(direct_features(&tree, &cpu()).is_err());
    assert!(direct_violations(&tree, &cpu()).is_err());
    // A space that lacks the tree's variables cannot compile.
    assert!(FeatureSet::build(&tree, &Space::new(), &cpu()).is_err());
}

/// A store under a guard on schedule variables only: its symbolic row is multiplied by the
/// guard, and instantiation drops it when the guard is false (no direct row).
#[test]
fn schedule_guard_gates_the_row() {
    use tilegrad_symbolic::{LoopKind, TreeBuilder, Value};
    let mut b = TreeBuilder::new("gated");
    let t = b.sched_var("t");
    let n = b.c(8.0);
    let x = b.input("X", &[n]);
    let y = b.output("Y", &[n]);
    b.loop_("i", n, LoopKind::Serial, |b, i| {
        let v = b.load(x, &[i]);
        b.store(y, &[i], v);
        let one = b.c(1.0);
        let cond = b.e().lt(one, t);
        b.if_(cond, |b| {
            let v = b.load(x, &[i]) * Value::Const(2.0);
            b.store(y, &[i], v);
        });
    });
    let mut tree = b.finish();
    let space = choice_space(&mut tree, &[("t", &[1, 2])]);
    let fs = FeatureSet::build(&tree, &space, &cpu()).unwrap();
    assert_eq!(fs.n_rows(), 2);
    let pts = Array2::from_shape_vec((2, 1), vec![1.0, 2.0]).unwrap();
    let ev = fs.eval(pts.view(), Mode::Exact).unwrap();
    for (p, t_val) in [(0usize, 1i64), (1, 2)] {
        let concrete = tree.instantiate_named(&[("t", t_val)]).unwrap();
        let rows = direct_features(&concrete, &cpu()).unwrap();
        assert_eq!(rows.len(), if t_val > 1 { 2 } else { 1 });
        let gated: Vec<f64> = ev.features.slice(ndarray::s![p, 1, ..]).to_vec();
        if t_val == 1 {
            assert!(gated.iter().all(|&v| v == 0.0));
        } else {
            for (u, v) in gated.iter().zip(&rows[1]) {
                assert!((u - v).abs() <= 1e-12 * v.abs().max(1.0));
            }
            check(&rows[1], &[("float_mul", 8.0), ("loop_product", 8.0)]);
        }
        for (u, v) in ev
            .features
            .slice(ndarray::s![p, 0, ..])
            .iter()
            .zip(&rows[0])
        {
            assert!((u - v).abs() <= 1e-12 * v.abs().max(1.0));
        }
    }
}
