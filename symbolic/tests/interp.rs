//! Reference interpreter: matmul schedules against a direct matmul, GPU thread model,
//! errors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_symbolic::interp::interpret;
use tilegrad_symbolic::looptree::examples::{matmul_cpu_tiled, matmul_gpu_tiled, matmul_naive};
use tilegrad_symbolic::looptree::{Axis3, LoopKind, Scope, TreeBuilder, Value, ValueUnOp};
use tilegrad_symbolic::{ExprArena, Space, SymbolicError};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// `C = A · B` summing k in order from 0 (the order every schedule here keeps).
fn matmul(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for kk in 0..k {
                acc += a[i * k + kk] * b[kk * n + j];
            }
            c[i * n + j] = acc;
        }
    }
    c
}

fn inputs(m: usize, n: usize, k: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (a, b) = (random(m * k, 1), random(k * n, 2));
    let c = matmul(&a, &b, m, n, k);
    (a, b, c)
}

#[test]
fn naive_matmul_matches() {
    let (m, n, k) = (7, 5, 9);
    let (a, b, c) = inputs(m, n, k);
    let got = interpret(&matmul_naive(m as u32, n as u32, k as u32), &[&a, &b]).unwrap();
    assert_eq!(got, c);
}

#[test]
fn cpu_tiled_matmul_matches_at_every_assignment() {
    let (m, n, k) = (10, 12, 7);
    let (a, b, c) = inputs(m, n, k);
    let tree = matmul_cpu_tiled(m as u32, n as u32, k as u32);
    for (ti, tj) in [(1, 1), (2, 4), (3, 5), (10, 12), (16, 16), (4, 1)] {
        let t = tree
            .instantiate_named(&[("sp_i", ti), ("sp_j", tj)])
            .unwrap();
        assert_eq!(interpret(&t, &[&a, &b]).unwrap(), c, "sp_i={ti} sp_j={tj}");
    }
}

#[test]
fn space_assignments_instantiate_by_name() {
    let (m, n, k) = (6, 10, 3);
    let (a, b, c) = inputs(m, n, k);
    let tree = matmul_cpu_tiled(m as u32, n as u32, k as u32);
    let mut arena = ExprArena::new();
    let mut space = Space::new();
    space.add_choice(&mut arena, "sp_i", &[1, 2, 4]).unwrap();
    space.add_choice(&mut arena, "sp_j", &[1, 3, 8]).unwrap();
    for values in [[1, 1], [2, 3], [4, 8]] {
        let asg = space.assignment(&values).unwrap();
        let t = tree.instantiate_assignment(&asg).unwrap();
        assert_eq!(interpret(&t, &[&a, &b]).unwrap(), c, "{values:?}");
    }
}

#[test]
fn gpu_tiled_matmul_matches_at_every_assignment() {
    let (m, n, k) = (13, 18, 11);
    let (a, b, c) = inputs(m, n, k);
    let tree = matmul_gpu_tiled(m as u32, n as u32, k as u32);
    for (it, jt, ir, jr, bk) in [
        (1, 1, 1, 1, 1),
        (2, 4, 2, 1, 4),
        (4, 4, 2, 2, 3),
        (3, 2, 5, 3, 11),
        (8, 8, 1, 1, 16),
        (1, 7, 13, 1, 2),
    ] {
        let t = tree
            .instantiate_named(&[
                ("sp_i_t", it),
                ("sp_j_t", jt),
                ("sp_i_r", ir),
                ("sp_j_r", jr),
                ("sp_k", bk),
                ("ur", 8),
            ])
            .unwrap();
        let got = interpret(&t, &[&a, &b]).unwrap_or_else(|e| panic!("{e}\n{t}"));
        assert_eq!(got, c, "assignment {:?}", (it, jt, ir, jr, bk));
    }
}

#[test]
fn a_missing_barrier_is_a_data_race() {
    // Without the barrier after staging, threads read tiles other threads write in the same
    // phase; without the barrier after compute, the next staging overwrites tiles that
    // other threads still read. Both are reported as races.
    let (m, n, k) = (8, 8, 8);
    let (a, b, c) = inputs(m, n, k);
    let t = matmul_gpu_tiled(8, 8, 8)
        .instantiate_named(&[
            ("sp_i_t", 2),
            ("sp_j_t", 2),
            ("sp_i_r", 2),
            ("sp_j_r", 2),
            ("sp_k", 4),
            ("ur", 1),
        ])
        .unwrap();
    assert_eq!(interpret(&t, &[&a, &b]).unwrap(), c);
    for which in [0, 1] {
        let mut broken = t.clone();
        assert!(remove_barrier(&mut broken.body, &mut { which }), "{t}");
        broken.verify().unwrap();
        match interpret(&broken, &[&a, &b]) {
            Err(SymbolicError::Interp(msg)) => {
                assert!(msg.contains("data race on shared"), "{msg}")
            }
            other => panic!("barrier {which} removed: {other:?}"),
        }
    }
}

/// Removes the `n`-th barrier (pre-order); `n` counts down the barriers passed.
fn remove_barrier(body: &mut Vec<tilegrad_symbolic::Stmt>, n: &mut usize) -> bool {
    use tilegrad_symbolic::Stmt;
    let mut i = 0;
    while i < body.len() {
        let found = match &mut body[i] {
            Stmt::Barrier if *n == 0 => {
                body.remove(i);
                return true;
            }
            Stmt::Barrier => {
                *n -= 1;
                false
            }
            Stmt::Loop(l) => remove_barrier(&mut l.body, n),
            Stmt::If { then, .. } => remove_barrier(then, n),
            Stmt::Store(_) => false,
        };
        if found {
            return true;
        }
        i += 1;
    }
    false
}

#[test]
fn barriers_order_shared_memory_between_threads() {
    // Y[t] = X[(t + 1) mod n] staged through shared memory: correct only if every thread
    // has written its element before any thread reads its neighbour's.
    let n = 16usize;
    let mut b = TreeBuilder::new("rotate");
    let en = b.c(n as f64);
    let one = b.c(1.0);
    let x = b.input("X", &[en]);
    let y = b.output("Y", &[en]);
    let s = b.buffer("S", Scope::Shared, &[en]);
    b.loop_("blk", one, LoopKind::BlockIdx(Axis3::X), |b, _| {
        b.loop_("t", en, LoopKind::ThreadIdx(Axis3::X), |b, t| {
            let v = b.load(x, &[t]);
            b.store(s, &[t], v);
            b.barrier();
            let next = b.parse("(mod (+ t 1) 16)").unwrap();
            let v = b.load(s, &[next]);
            b.store(y, &[t], v);
        });
    });
    let tree = b.finish();
    let xs = random(n, 3);
    let want: Vec<f32> = (0..n).map(|i| xs[(i + 1) % n]).collect();
    assert_eq!(interpret(&tree, &[&xs]).unwrap(), want);
}

#[test]
fn vthread_and_parallel_loops_own_their_locals() {
    // Each vthread iteration gets a fresh local accumulator; results match a direct sum.
    let (rows, cols) = (6usize, 5usize);
    let mut b = TreeBuilder::new("rowsum");
    let (er, ec, one) = (b.c(rows as f64), b.c(cols as f64), b.c(1.0));
    let x = b.input("X", &[er, ec]);
    let y = b.output("Y", &[er]);
    let acc = b.buffer("acc", Scope::Local, &[one]);
    let zero = b.c(0.0);
    b.loop_("i", er, LoopKind::Parallel, |b, i| {
        b.loop_("v", one, LoopKind::VThread, |b, _| {
            b.init(acc, &[zero], Value::Const(0.0));
            b.loop_("j", ec, LoopKind::Unrolled, |b, j| {
                let v = b.load(x, &[i, j]).unary(ValueUnOp::Relu);
                b.accumulate(acc, &[zero], v);
            });
            let v = b.load(acc, &[zero]);
            b.store(y, &[i], v);
        });
    });
    let tree = b.finish();
    let xs = random(rows * cols, 4);
    let want: Vec<f32> = (0..rows)
        .map(|i| (0..cols).fold(0.0f32, |s, j| s + xs[i * cols + j].max(0.0)))
        .collect();
    assert_eq!(interpret(&tree, &[&xs]).unwrap(), want);
}

#[test]
fn unary_and_binary_ops_follow_f32() {
    let n = 9usize;
    let ops = [
        ValueUnOp::Neg,
        ValueUnOp::Exp,
        ValueUnOp::Tanh,
        ValueUnOp::Erf,
        ValueUnOp::Sigmoid,
        ValueUnOp::Abs,
        ValueUnOp::Relu,
    ];
    let f = |op: ValueUnOp, x: f32| -> f64 {
        let x = f64::from(x);
        match op {
            ValueUnOp::Neg => -x,
            ValueUnOp::Exp => x.exp(),
            ValueUnOp::Tanh => x.tanh(),
            ValueUnOp::Erf => {
                // erf(x) for |x| <= 1 from its Taylor series.
                (0..30)
                    .map(|k| {
                        (-1f64).powi(k) * x.powi(2 * k + 1)
                            / ((1..=k).map(f64::from).product::<f64>() * f64::from(2 * k + 1))
                    })
                    .sum::<f64>()
                    * std::f64::consts::FRAC_2_SQRT_PI
            }
            ValueUnOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            ValueUnOp::Abs => x.abs(),
            ValueUnOp::Relu => x.max(0.0),
            _ => unreachable!(),
        }
    };
    let xs = random(n, 5);
    for op in ops {
        let mut b = TreeBuilder::new("ew");
        let en = b.c(n as f64);
        let x = b.input("X", &[en]);
        let y = b.output("Y", &[en]);
        b.loop_("i", en, LoopKind::Vectorized, |b, i| {
            let v = b.load(x, &[i]).unary(op);
            b.store(y, &[i], v);
        });
        let got = interpret(&b.finish(), &[&xs]).unwrap();
        for (g, &x) in got.iter().zip(&xs) {
            assert!(
                (f64::from(*g) - f(op, x)).abs() < 1e-6,
                "{op:?}({x}) = {g}, want {}",
                f(op, x)
            );
        }
    }
    // sqrt / rsqrt / log / div / min on positive values, Index and Select.
    let mut b = TreeBuilder::new("mix");
    let en = b.c(n as f64);
    let x = b.input("X", &[en]);
    let y = b.output("Y", &[en]);
    b.loop_("i", en, LoopKind::Serial, |b, i| {
        let xi = b.load(x, &[i]).unary(ValueUnOp::Abs) + Value::Const(0.5);
        let v = xi.clone().unary(ValueUnOp::Sqrt) * xi.clone().unary(ValueUnOp::Rsqrt)
            + xi.clone().unary(ValueUnOp::Log) / xi.clone();
        let odd = b.parse("(== (mod i 2) 1)").unwrap();
        let v = Value::select(odd, v.min(Value::Index(i)), Value::Const(-1.0));
        b.store(y, &[i], v);
    });
    let got = interpret(&b.finish(), &[&xs]).unwrap();
    for (i, (g, &x)) in got.iter().zip(&xs).enumerate() {
        let xi = x.abs() + 0.5;
        let v = (xi.sqrt() * (1.0 / xi.sqrt()) + xi.ln() / xi).min(i as f32);
        let want = if i % 2 == 1 { v } else { -1.0 };
        assert_eq!(*g, want, "i={i}");
    }
}

#[test]
fn errors_are_values() {
    // Out of bounds: X[i + 1] at the last i.
    let mut b = TreeBuilder::new("shift");
    let en = b.c(4.0);
    let x = b.input("X", &[en]);
    let y = b.output("Y", &[en]);
    b.loop_("i", en, LoopKind::Serial, |b, i| {
        let next = b.parse("(+ i 1)").unwrap();
        let v = b.load(x, &[next]);
        b.store(y, &[i], v);
    });
    let tree = b.finish();
    let xs = [1.0f32, 2.0, 3.0, 4.0];
    match interpret(&tree, &[&xs]) {
        Err(SymbolicError::OutOfBounds {
            buffer,
            index,
            shape,
        }) => {
            assert_eq!((buffer.as_str(), index, shape), ("X", vec![4], vec![4]));
        }
        other => panic!("{other:?}"),
    }
    // Wrong input count and size.
    assert!(matches!(
        interpret(&tree, &[]),
        Err(SymbolicError::Interp(_))
    ));
    assert!(matches!(
        interpret(&tree, &[&xs[..3]]),
        Err(SymbolicError::Interp(_))
    ));
    // Output partly written.
    let mut b = TreeBuilder::new("half");
    let (en, two) = (b.c(4.0), b.c(2.0));
    let x = b.input("X", &[en]);
    let y = b.output("Y", &[en]);
    b.loop_("i", two, LoopKind::Serial, |b, i| {
        let v = b.load(x, &[i]);
        b.store(y, &[i], v);
    });
    match interpret(&b.finish(), &[&xs]) {
        Err(SymbolicError::Interp(msg)) => assert!(msg.contains("Y[2]"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Symbolic trees must be instantiated first.
    let (a, bm) = (random(4, 1), random(4, 2));
    assert!(matches!(
        interpret(&matmul_cpu_tiled(2, 2, 2), &[&a, &bm]),
        Err(SymbolicError::NotConcrete(_))
    ));
    // Integer division by zero inside an index.
    let mut b = TreeBuilder::new("div0");
    let en = b.c(4.0);
    let x = b.input("X", &[en]);
    let y = b.output("Y", &[en]);
    b.loop_("i", en, LoopKind::Serial, |b, i| {
        let bad = b.parse("(mod i (- i i))").unwrap();
        let v = b.load(x, &[bad]);
        b.store(y, &[i], v);
    });
    assert!(matches!(
        interpret(&b.finish(), &[&xs]),
        Err(SymbolicError::DivisionByZero { .. })
    ));
}

#[test]
fn medium_gpu_matmul_runs() {
    // 64^3 = 262k multiply-adds through the GPU thread model (speed is in the report, not
    // asserted here).
    let (m, n, k) = (64, 64, 64);
    let (a, b, c) = inputs(m, n, k);
    let t = matmul_gpu_tiled(64, 64, 64)
        .instantiate_named(&[
            ("sp_i_t", 8),
            ("sp_j_t", 8),
            ("sp_i_r", 2),
            ("sp_j_r", 4),
            ("sp_k", 8),
            ("ur", 16),
        ])
        .unwrap();
    assert_eq!(interpret(&t, &[&a, &b]).unwrap(), c);
}
