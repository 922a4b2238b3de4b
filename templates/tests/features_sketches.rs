//! Features and constraints of every sketch of every small workload, on a GPU preset and a
//! CPU target: the symbolic [`FeatureSet`] evaluated exactly equals the direct computation
//! on the instantiated tree (1e-9 relative), relaxed values converge to it as τ → 0, the
//! VJP matches finite differences, and constraint legality agrees with the direct check.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::features::ndarray::{self, Array2, Array3};
use tilegrad_symbolic::{
    direct_features, direct_violations, is_legal, CpuSpec, FeatureSet, Mode, Target, TargetSpec,
};
use tilegrad_templates::{sketches, testing::small_workloads, Sketch};

fn cpu_target() -> Target {
    Target {
        name: "test-cpu".into(),
        spec: TargetSpec::Cpu(CpuSpec {
            cores: 8,
            simd_bytes: 32,
            l1_bytes: 48 * 1024,
            l2_bytes: 1024 * 1024,
            l3_bytes: 32 * 1024 * 1024,
            mem_bandwidth: 50e9,
            peak_fp32: 1e12,
        }),
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Checks exact symbolic == direct at `n` random legal assignments; returns the points.
fn check_exact(
    s: &Sketch,
    fs: &FeatureSet,
    t: &Target,
    rng: &mut ChaCha8Rng,
    n: usize,
) -> Array2<f64> {
    let nv = s.space.num_vars();
    let mut pts = Array2::zeros((n, nv));
    let mut trees = Vec::new();
    for i in 0..n {
        let a = s.sample(rng).unwrap();
        for (j, &x) in a.values().iter().enumerate() {
            pts[[i, j]] = x as f64;
        }
        trees.push((a.to_string(), s.instantiate(&a).unwrap()));
    }
    let ev = fs.eval(pts.view(), Mode::Exact).unwrap();
    for (i, (a, tree)) in trees.iter().enumerate() {
        assert!(ev.status[i].is_ok(), "{} at {a}: {:?}", s.id, ev.status[i]);
        let direct = direct_features(tree, t).unwrap();
        // Symbolic rows of stores that instantiation removed are all zero.
        let sym: Vec<Vec<f64>> = (0..fs.n_rows())
            .map(|r| ev.features.slice(ndarray::s![i, r, ..]).to_vec())
            .filter(|row| direct.len() == fs.n_rows() || row.iter().any(|&x| x != 0.0))
            .collect();
        assert_eq!(sym.len(), direct.len(), "{} at {a}: row count", s.id);
        for (r, (x, y)) in sym.iter().zip(&direct).enumerate() {
            for (k, (&u, &v)) in x.iter().zip(y).enumerate() {
                assert!(
                    close(u, v, 1e-9),
                    "{} at {a}: row {r} `{}`: symbolic {u} direct {v}",
                    s.id,
                    tilegrad_symbolic::FEATURE_NAMES[k]
                );
            }
        }
        let dv = direct_violations(tree, t).unwrap();
        let names: Vec<&str> = dv.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            fs.constraint_names()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
        );
        let sc = ev.constraints.row(i).to_vec();
        let dvals: Vec<f64> = dv.iter().map(|(_, v)| *v).collect();
        for (k, (&u, &v)) in sc.iter().zip(&dvals).enumerate() {
            assert!(
                close(u, v, 1e-9),
                "{} at {a}: constraint `{}` {u} vs {v}",
                s.id,
                names[k]
            );
        }
        assert_eq!(is_legal(&sc), is_legal(&dvals), "{} at {a}", s.id);
    }
    pts
}

/// Relaxed values approach the exact ones as τ shrinks.
fn check_relaxed(s: &Sketch, fs: &FeatureSet, pts: &Array2<f64>) {
    let exact = fs.eval(pts.view(), Mode::Exact).unwrap();
    let err = |tau: f64| {
        let ev = fs.eval(pts.view(), Mode::Relaxed { tau }).unwrap();
        let mut m: f64 = 0.0;
        for (a, b) in ev.features.iter().zip(exact.features.iter()) {
            m = m.max((a - b).abs());
        }
        for (a, b) in ev.constraints.iter().zip(exact.constraints.iter()) {
            m = m.max((a - b).abs());
        }
        assert!(
            ev.status.iter().all(|st| st.is_ok()),
            "{}: relaxed τ={tau}: {:?}",
            s.id,
            ev.status
        );
        m
    };
    let (e3, e6) = (err(1e-3), err(1e-6));
    assert!(
        e6 <= e3 + 1e-12 && e6 < 1e-3,
        "{}: relaxed error {e3} at τ=1e-3, {e6} at τ=1e-6",
        s.id
    );
}

/// All outputs of row `r` of an evaluation, features then constraints.
fn flat_row(ev: &tilegrad_symbolic::FeatureEval, r: usize) -> Vec<f64> {
    let mut v: Vec<f64> = ev
        .features
        .slice(ndarray::s![r, .., ..])
        .iter()
        .copied()
        .collect();
    v.extend(ev.constraints.row(r).iter().copied());
    v
}

/// VJP against central finite differences at non-integer points (relaxed, τ = 0.3), per
/// column. An (output, column) pair is checked only where the relaxed output looks smooth
/// at every scale from `h` down to `h/1024`: the central quotients at steps `h·4^−k`
/// (k = 0..=5) and the forward and backward one-sided quotients at `h/4` and `h/1024` must
/// all agree to 1e-5 (tighter than the 1e-4 VJP check, so a small jump cannot hide in the
/// agreement tolerance). Otherwise a step straddles a discontinuity of the relaxation (snapping
/// windows, branch switches, the staircase of `floor_τ`) and the pair is left out.
/// Central quotients at two nearby steps are not enough: near a pole such as
/// `floordiv(−1, ε)`, with `ε` a product of relaxed floors of values whose exact floor is
/// 0 (`ε ≈ 1e-8`, masked by a `max` in exact mode), `floor_τ(−1/ε)` jumps by `r ≈ 0.96`
/// many times per step, so every quotient above the jump spacing measures the staircase's
/// average slope instead of its a.e. derivative (`1 − r` times smaller, what the VJP
/// returns); only steps below the spacing expose the jumps.
/// Returns (pairs checked, pairs left out).
fn check_vjp(
    s: &Sketch,
    fs: &FeatureSet,
    pts: &Array2<f64>,
    rng: &mut ChaCha8Rng,
) -> (usize, usize) {
    let mode = Mode::Relaxed { tau: 0.3 };
    let mut x = pts.row(0).to_owned().insert_axis(ndarray::Axis(0));
    for v in x.iter_mut() {
        *v *= rng.random_range(1.05..1.25);
    }
    let (nr, nf, nc) = (fs.n_rows(), fs.n_features(), fs.constraint_names().len());
    let w: Vec<f64> = (0..nr * nf + nc)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let (mut done, mut skipped) = (0, 0);
    for j in 0..x.ncols() {
        let h = 1e-6 * x[[0, j]].abs().max(1.0);
        // Rows 2k and 2k + 1: x ± h·4^−k; the last row: x.
        let steps: Vec<f64> = (0..6).map(|k| h / 4f64.powi(k)).collect();
        let mut p = Array2::zeros((2 * steps.len() + 1, x.ncols()));
        for (r, mut row) in p.rows_mut().into_iter().enumerate() {
            row.assign(&x.row(0));
            if let Some(&st) = steps.get(r / 2) {
                row[j] += if r % 2 == 0 { st } else { -st };
            }
        }
        let ev = fs.eval(p.view(), mode).unwrap();
        let rows: Vec<Vec<f64>> = (0..p.nrows()).map(|r| flat_row(&ev, r)).collect();
        let mid = 2 * steps.len();
        let mut weights = vec![0.0; w.len()];
        let mut fd = 0.0;
        for i in 0..w.len() {
            let central = |k: usize| (rows[2 * k][i] - rows[2 * k + 1][i]) / (2.0 * steps[k]);
            let d2 = central(1);
            let mut quotients: Vec<f64> = (0..steps.len()).map(central).collect();
            for k in [1, steps.len() - 1] {
                quotients.push((rows[2 * k][i] - rows[mid][i]) / steps[k]);
                quotients.push((rows[mid][i] - rows[2 * k + 1][i]) / steps[k]);
            }
            if quotients
                .iter()
                .all(|&d| d.is_finite() && close(d, d2, 1e-5))
            {
                weights[i] = w[i];
                fd += w[i] * d2;
                done += 1;
            } else {
                skipped += 1;
            }
        }
        let df = Array3::from_shape_vec((1, nr, nf), weights[..nr * nf].to_vec()).unwrap();
        let dc = Array2::from_shape_vec((1, nc), weights[nr * nf..].to_vec()).unwrap();
        let (_, grad) = fs.vjp(x.view(), mode, df.view(), dc.view()).unwrap();
        let g = grad[[0, j]];
        assert!(
            close(g, fd, 1e-4),
            "{}: d/d{} vjp {g} fd {fd}",
            s.id,
            s.space.var_names()[j]
        );
    }
    (done, skipped)
}

#[test]
fn every_sketch_symbolic_equals_direct() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let targets = [Target::preset("h100-sxm").unwrap(), cpu_target()];
    let (mut n_sketches, mut done, mut skipped) = (0, 0, 0);
    let mut ids = std::collections::BTreeSet::new();
    for w in small_workloads() {
        for t in &targets {
            for s in sketches(&w, t).unwrap() {
                let fs = FeatureSet::build(&s.tree, &s.space, t).unwrap();
                assert_eq!(fs.version(), tilegrad_symbolic::FEATURE_VERSION);
                let pts = check_exact(&s, &fs, t, &mut rng, 4);
                check_relaxed(&s, &fs, &pts);
                let (d, k) = check_vjp(&s, &fs, &pts, &mut rng);
                done += d;
                skipped += k;
                n_sketches += 1;
                ids.insert(s.id.clone());
            }
        }
    }
    eprintln!("{n_sketches} sketches ({ids:?}); {done} (output, column) derivative pairs checked, {skipped} left out at jumps");
    assert!(n_sketches > 20, "only {n_sketches} sketches");
    assert!(
        done > 100 * skipped,
        "{done} gradient checks, {skipped} skipped"
    );
}

/// On a large matmul, random assignments of the GPU tiling sketch include blocks of more
/// than 1,024 threads and shared tiles above 48 KiB; the symbolic constraints reject
/// exactly the assignments the direct check rejects.
#[test]
fn large_gpu_sketch_rejections_agree() {
    let t = Target::preset("h100-sxm").unwrap();
    let w: tilegrad_templates::Workload = "matmul(M=1024,N=1024,K=1024)".parse().unwrap();
    let s = sketches(&w, &t)
        .unwrap()
        .into_iter()
        .find(|s| s.id == "gpu-tiling")
        .unwrap();
    let fs = FeatureSet::build(&s.tree, &s.space, &t).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 300;
    let mut pts = Array2::zeros((n, s.space.num_vars()));
    let mut assignments = Vec::new();
    for i in 0..n {
        let a = s.sample(&mut rng).unwrap();
        for (j, &x) in a.values().iter().enumerate() {
            pts[[i, j]] = x as f64;
        }
        assignments.push(a);
    }
    let ev = fs.eval(pts.view(), Mode::Exact).unwrap();
    let names = fs.constraint_names();
    let (mut threads, mut smem, mut legal) = (0, 0, 0);
    for (i, a) in assignments.iter().enumerate() {
        let dv = direct_violations(&s.instantiate(a).unwrap(), &t).unwrap();
        let dvals: Vec<f64> = dv.iter().map(|c| c.1).collect();
        let sym = ev.constraints.row(i).to_vec();
        assert_eq!(is_legal(&sym), is_legal(&dvals), "{a}");
        for (k, (&u, &v)) in sym.iter().zip(&dvals).enumerate() {
            assert!(close(u, v, 1e-9), "{a}: `{}` {u} vs {v}", names[k]);
        }
        let bad = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .is_some_and(|k| dvals[k] > 1e-9)
        };
        threads += usize::from(bad("threads_per_block"));
        smem += usize::from(bad("shared_mem_per_block"));
        legal += usize::from(is_legal(&dvals));
    }
    // The sketch's space keeps blocks at ≤ 1,024 threads, so sampling plants no thread
    // violation (the count is informative only); plant one by hand: 32 × 64 threads.
    assert!(
        smem > 0 && legal > 0,
        "threads {threads}, smem {smem}, legal {legal}"
    );
    let mut values: Vec<(String, i64)> = s
        .space
        .var_names()
        .iter()
        .zip(assignments[0].values())
        .map(|(n, &v)| (n.clone(), v as i64))
        .collect();
    for (name, v) in values.iter_mut() {
        if name.starts_with("sp_") || name.starts_with("rd_") {
            *v = match name.as_str() {
                "sp_i_1" => 32,
                "sp_j_1" => 64,
                _ => 1,
            };
        }
    }
    let point = Array2::from_shape_vec(
        (1, values.len()),
        values.iter().map(|(_, v)| *v as f64).collect(),
    )
    .unwrap();
    let sym = fs
        .eval(point.view(), Mode::Exact)
        .unwrap()
        .constraints
        .row(0)
        .to_vec();
    let named: Vec<(&str, i64)> = values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let dv = direct_violations(&s.tree.instantiate_named(&named).unwrap(), &t).unwrap();
    let k = names.iter().position(|n| n == "threads_per_block").unwrap();
    assert!(
        close(sym[k], 2f64.ln(), 1e-12) && close(dv[k].1, 2f64.ln(), 1e-12),
        "{} {}",
        sym[k],
        dv[k].1
    );
    assert!(!is_legal(&sym) && !is_legal(&dv.iter().map(|c| c.1).collect::<Vec<_>>()));
}
