//! Lowering of an operator (plus epilogue) to a [`ComputeDef`].

use crate::compute::{
    Axis, AxisId, Combiner, ComputeDef, Guard, IndexExpr, Stage, TensorDecl, TensorId, TensorRole,
    UnaryFn, ValueExpr,
};
use crate::epilogue::EpilogueOp;
use crate::op::{BinaryFn, Op, PoolKind};
use crate::shapes::window_out;

/// Collects tensors and stages; `finish` orders tensors by role.
#[derive(Default)]
pub(crate) struct Builder {
    pub tensors: Vec<TensorDecl>,
    pub stages: Vec<Stage>,
}

pub(crate) fn axes(list: &[(&str, usize)]) -> Vec<Axis> {
    list.iter()
        .map(|&(name, extent)| Axis {
            name: name.into(),
            extent,
        })
        .collect()
}

pub(crate) fn ax(a: AxisId) -> IndexExpr {
    IndexExpr::axis(a)
}

pub(crate) fn load(t: TensorId, idx: &[AxisId]) -> ValueExpr {
    ValueExpr::load(t, idx.iter().map(|&a| ax(a)).collect())
}

pub(crate) fn c(v: f64) -> ValueExpr {
    ValueExpr::Const(v)
}

impl Builder {
    pub fn tensor(&mut self, name: &str, shape: Vec<usize>, role: TensorRole) -> TensorId {
        let mut unique = name.to_string();
        let mut k = 1;
        while self.tensors.iter().any(|t| t.name == unique) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        self.tensors.push(TensorDecl {
            name: unique,
            shape,
            role,
            constant: false,
        });
        self.tensors.len() - 1
    }

    /// An input that changes from call to call (activations).
    pub fn input(&mut self, name: &str, shape: Vec<usize>) -> TensorId {
        self.tensor(name, shape, TensorRole::Input)
    }

    /// A constant input: a layer parameter (see [`crate::compute::TensorDecl::constant`]).
    pub fn weight(&mut self, name: &str, shape: Vec<usize>) -> TensorId {
        let t = self.tensor(name, shape, TensorRole::Input);
        self.tensors[t].constant = true;
        t
    }

    /// Adds a stage writing a new tensor (intermediate unless `output`).
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &mut self,
        name: &str,
        output: bool,
        spatial: Vec<Axis>,
        reduce: Vec<Axis>,
        combiner: Combiner,
        body: ValueExpr,
        post: ValueExpr,
    ) -> TensorId {
        let role = if output {
            TensorRole::Output
        } else {
            TensorRole::Intermediate
        };
        let shape = spatial.iter().map(|a| a.extent).collect();
        let out = self.tensor(name, shape, role);
        self.stages.push(Stage {
            name: name.into(),
            output: out,
            spatial,
            reduce,
            combiner,
            body,
            post,
        });
        out
    }

    /// A reduction/elementwise stage with `post = Acc`.
    pub fn simple(
        &mut self,
        name: &str,
        output: bool,
        spatial: Vec<Axis>,
        reduce: Vec<Axis>,
        combiner: Combiner,
        body: ValueExpr,
    ) -> TensorId {
        self.stage(
            name,
            output,
            spatial,
            reduce,
            combiner,
            body,
            ValueExpr::Acc,
        )
    }

    /// The output stage `name` over `[m, n]` (axes `i`, `j`), elementwise: `body` at each
    /// point.
    pub fn rows_output(&mut self, name: &str, m: usize, n: usize, body: ValueExpr) -> TensorId {
        let spatial = axes(&[("i", m), ("j", n)]);
        self.simple(name, true, spatial, vec![], Combiner::None, body)
    }

    fn finish(mut self) -> ComputeDef {
        let rank = |r: TensorRole| match r {
            TensorRole::Input => 0,
            TensorRole::Intermediate => 1,
            TensorRole::Output => 2,
        };
        let mut order: Vec<TensorId> = (0..self.tensors.len()).collect();
        order.sort_by_key(|&i| rank(self.tensors[i].role));
        let mut new_id = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new;
        }
        let tensors = order.iter().map(|&i| self.tensors[i].clone()).collect();
        for s in &mut self.stages {
            s.output = new_id[s.output];
            s.body.map_tensors(&|t| new_id[t]);
            s.post.map_tensors(&|t| new_id[t]);
        }
        ComputeDef {
            tensors,
            stages: self.stages,
        }
    }
}

/// Lowers `op` with `epilogue` (validated by the caller).
pub(crate) fn lower(op: &Op, epilogue: &[EpilogueOp]) -> ComputeDef {
    let mut b = Builder::default();
    lower_op(op, &mut b);
    crate::lower_epilogue::apply_epilogue(&mut b, &op.output_shape(), epilogue);
    b.finish()
}

fn lower_op(op: &Op, b: &mut Builder) {
    match *op {
        Op::Matmul(m) => {
            let a_sh = if m.trans_a {
                vec![m.k, m.m]
            } else {
                vec![m.m, m.k]
            };
            let b_sh = if m.trans_b {
                vec![m.n, m.k]
            } else {
                vec![m.k, m.n]
            };
            let ta = b.input("A", a_sh);
            let tb = b.weight("B", b_sh);
            let (i, j, k) = (0, 1, 2);
            let lhs = load(ta, &if m.trans_a { [k, i] } else { [i, k] });
            let rhs = load(tb, &if m.trans_b { [j, k] } else { [k, j] });
            let body = lhs.binary(BinaryFn::Mul, rhs);
            b.simple(
                "matmul",
                true,
                axes(&[("i", m.m), ("j", m.n)]),
                axes(&[("k", m.k)]),
                Combiner::Sum,
                body,
            );
        }
        Op::BatchMatmul(m) => {
            let a_sh = if m.trans_a {
                vec![m.b, m.k, m.m]
            } else {
                vec![m.b, m.m, m.k]
            };
            let b_sh = if m.trans_b {
                vec![m.b, m.n, m.k]
            } else {
                vec![m.b, m.k, m.n]
            };
            let ta = b.input("A", a_sh);
            let tb = b.input("B", b_sh);
            let (bb, i, j, k) = (0, 1, 2, 3);
            let lhs = load(ta, &if m.trans_a { [bb, k, i] } else { [bb, i, k] });
            let rhs = load(tb, &if m.trans_b { [bb, j, k] } else { [bb, k, j] });
            let sp = axes(&[("b", m.b), ("i", m.m), ("j", m.n)]);
            b.simple(
                "batch_matmul",
                true,
                sp,
                axes(&[("k", m.k)]),
                Combiner::Sum,
                lhs.binary(BinaryFn::Mul, rhs),
            );
        }
        Op::Conv2d(_) | Op::Conv3d(_) | Op::Conv2dTranspose(_) => {
            crate::lower_conv::lower_conv(op, b)
        }
        Op::Pool2d(p) => {
            let (pp, q) = (
                window_out(p.h, p.r, p.stride, p.pad, 1),
                window_out(p.w, p.s, p.stride, p.pad, 1),
            );
            let (pp, q) = (pp.unwrap_or(1), q.unwrap_or(1));
            let data = b.input("data", vec![p.n, p.h, p.w, p.c]);
            let (n, ph, qw, ch, r, s) = (0, 1, 2, 3, 4, 5);
            let (st, pad) = (p.stride as i64, p.pad as i64);
            let index = vec![
                ax(n),
                IndexExpr::affine(&[(ph, st), (r, 1)], -pad),
                IndexExpr::affine(&[(qw, st), (s, 1)], -pad),
                ax(ch),
            ];
            let (pad_v, comb) = match p.kind {
                PoolKind::Max => (f64::NEG_INFINITY, Combiner::Max),
                PoolKind::Avg => (0.0, Combiner::Sum),
            };
            let body = ValueExpr::Load {
                tensor: data,
                index,
                pad: (p.pad > 0).then_some(pad_v),
            };
            let post = match p.kind {
                PoolKind::Max => ValueExpr::Acc,
                PoolKind::Avg => ValueExpr::Acc.binary(BinaryFn::Mul, c(1.0 / (p.r * p.s) as f64)),
            };
            let sp = axes(&[("n", p.n), ("p", pp), ("q", q), ("c", p.c)]);
            b.stage(
                op.name(),
                true,
                sp,
                axes(&[("r", p.r), ("s", p.s)]),
                comb,
                body,
                post,
            );
        }
        Op::GlobalAvgPool(g) => {
            let count = (g.d * g.h * g.w) as f64;
            let post = ValueExpr::Acc.binary(BinaryFn::Mul, c(1.0 / count));
            let sp = axes(&[("n", g.n), ("c", g.c)]);
            if g.three_d {
                let data = b.input("data", vec![g.n, g.d, g.h, g.w, g.c]);
                let body = load(data, &[0, 2, 3, 4, 1]);
                let red = axes(&[("rd", g.d), ("rh", g.h), ("rw", g.w)]);
                b.stage(op.name(), true, sp, red, Combiner::Sum, body, post);
            } else {
                let data = b.input("data", vec![g.n, g.h, g.w, g.c]);
                let body = load(data, &[0, 2, 3, 1]);
                b.stage(
                    op.name(),
                    true,
                    sp,
                    axes(&[("rh", g.h), ("rw", g.w)]),
                    Combiner::Sum,
                    body,
                    post,
                );
            }
        }
        Op::Softmax(r) => {
            let x = b.input("data", vec![r.m, r.n]);
            let (row, red) = (axes(&[("i", r.m)]), axes(&[("j", r.n)]));
            let both = axes(&[("i", r.m), ("j", r.n)]);
            let mx = b.simple(
                "softmax_max",
                false,
                row.clone(),
                red.clone(),
                Combiner::Max,
                load(x, &[0, 1]),
            );
            let e = load(x, &[0, 1])
                .binary(BinaryFn::Sub, load(mx, &[0]))
                .unary(UnaryFn::Exp);
            let sum = b.simple("softmax_sum", false, row, red, Combiner::Sum, e.clone());
            let body = e.binary(BinaryFn::Div, load(sum, &[0]));
            b.simple("softmax_norm", true, both, vec![], Combiner::None, body);
        }
        Op::LayerNorm(r) => {
            let x = b.input("data", vec![r.m, r.n]);
            let gamma = b.weight("gamma", vec![r.n]);
            let beta = b.weight("beta", vec![r.n]);
            let (row, red) = (axes(&[("i", r.m)]), axes(&[("j", r.n)]));
            let inv_n = 1.0 / r.n as f64;
            let mean_post = ValueExpr::Acc.binary(BinaryFn::Mul, c(inv_n));
            let mean = b.stage(
                "ln_mean",
                false,
                row.clone(),
                red.clone(),
                Combiner::Sum,
                load(x, &[0, 1]),
                mean_post.clone(),
            );
            let centered = load(x, &[0, 1]).binary(BinaryFn::Sub, load(mean, &[0]));
            let sq = centered.clone().binary(BinaryFn::Mul, centered.clone());
            // The row's 1 / std, once per row (not once per element).
            let inv_std_post = mean_post
                .binary(BinaryFn::Add, c(LAYER_NORM_EPS))
                .unary(UnaryFn::Rsqrt);
            let var = b.stage(
                "ln_inv_std",
                false,
                row,
                red,
                Combiner::Sum,
                sq,
                inv_std_post,
            );
            let inv_std = load(var, &[0]);
            let body = centered
                .binary(BinaryFn::Mul, inv_std)
                .binary(BinaryFn::Mul, load(gamma, &[1]))
                .binary(BinaryFn::Add, load(beta, &[1]));
            b.rows_output("ln_norm", r.m, r.n, body);
        }
        Op::RmsNorm(r) => {
            let x = b.input("data", vec![r.m, r.n]);
            let gamma = b.weight("gamma", vec![r.n]);
            let sq = load(x, &[0, 1]).binary(BinaryFn::Mul, load(x, &[0, 1]));
            // The row's 1 / rms, once per row.
            let post = ValueExpr::Acc
                .binary(BinaryFn::Mul, c(1.0 / r.n as f64))
                .binary(BinaryFn::Add, c(RMS_NORM_EPS))
                .unary(UnaryFn::Rsqrt);
            let ms = b.stage(
                "rms_inv",
                false,
                axes(&[("i", r.m)]),
                axes(&[("j", r.n)]),
                Combiner::Sum,
                sq,
                post,
            );
            let inv = load(ms, &[0]);
            let body = load(x, &[0, 1])
                .binary(BinaryFn::Mul, inv)
                .binary(BinaryFn::Mul, load(gamma, &[1]));
            b.rows_output("rms_norm", r.m, r.n, body);
        }
        Op::Elemwise(r) => {
            let x = b.input("data", vec![r.m, r.n]);
            b.rows_output("elemwise", r.m, r.n, load(x, &[0, 1]));
        }
        Op::Binary(bin) => {
            let shapes = op.input_shapes();
            let lhs = b.input("lhs", shapes[0].clone());
            let rhs = b.input("rhs", shapes[1].clone());
            let flags = [bin.bcast_b, bin.bcast_m, bin.bcast_n];
            let rhs_idx = (0..3)
                .map(|d| {
                    if flags[d] {
                        IndexExpr::constant(0)
                    } else {
                        ax(d)
                    }
                })
                .collect();
            let body = load(lhs, &[0, 1, 2]).binary(bin.func, ValueExpr::load(rhs, rhs_idx));
            let sp = axes(&[("b", bin.b), ("i", bin.m), ("j", bin.n)]);
            b.simple(op.name(), true, sp, vec![], Combiner::None, body);
        }
        Op::Rope(r) => {
            let x = b.input("data", vec![r.b, r.m, r.n]);
            let cos = b.weight("cos", vec![r.m, r.n]);
            let sin = b.weight("sin", vec![r.m, r.n]);
            let half = (r.n / 2) as i64;
            let (bb, i, j) = (0, 1, 2);
            let shifted = |off: i64| {
                ValueExpr::load(x, vec![ax(bb), ax(i), IndexExpr::affine(&[(j, 1)], off)])
            };
            let rot = ValueExpr::Select {
                guard: Guard {
                    index: ax(j),
                    lo: 0,
                    hi: half,
                },
                then: Box::new(shifted(half).unary(UnaryFn::Neg)),
                otherwise: Box::new(shifted(-half)),
            };
            let body = load(x, &[bb, i, j])
                .binary(BinaryFn::Mul, load(cos, &[i, j]))
                .binary(BinaryFn::Add, rot.binary(BinaryFn::Mul, load(sin, &[i, j])));
            let sp = axes(&[("b", r.b), ("i", r.m), ("j", r.n)]);
            b.simple("rope", true, sp, vec![], Combiner::None, body);
        }
    }
}

/// Epsilon of `layer_norm`.
pub const LAYER_NORM_EPS: f64 = 1e-5;
/// Epsilon of `rms_norm`.
pub const RMS_NORM_EPS: f64 = 1e-6;
