//! Lowering of fused epilogue steps into the last stage's `post`.

use crate::compute::{AxisId, Guard, IndexExpr, Term, UnaryFn, ValueExpr};
use crate::epilogue::EpilogueOp;
use crate::lower::{c, load, Builder};
use crate::op::BinaryFn;

/// For each dim of the workload's output shape, the logical output axes that
/// make it up (logical dims refine workload dims; see `compute` docs).
fn dim_groups(wshape: &[usize], lshape: &[usize]) -> Vec<Vec<AxisId>> {
    let mut groups = Vec::with_capacity(wshape.len());
    let mut li = 0;
    for &w in wshape {
        let mut g = Vec::new();
        let mut prod = 1;
        while li < lshape.len() && (g.is_empty() || prod < w) {
            prod *= lshape[li];
            g.push(li);
            li += 1;
        }
        groups.push(g);
    }
    groups
}

/// The affine expression of a workload dim's index from its logical axes.
fn group_index(group: &[AxisId], lshape: &[usize]) -> IndexExpr {
    let mut stride = 1i64;
    let mut terms = Vec::new();
    for &a in group.iter().rev() {
        terms.push((a, stride));
        stride *= lshape[a] as i64;
    }
    terms.reverse();
    IndexExpr::affine(&terms, 0)
}

pub(crate) fn apply_epilogue(b: &mut Builder, wshape: &[usize], epilogue: &[EpilogueOp]) {
    let Some(last) = b.stages.len().checked_sub(1) else {
        return;
    };
    let lshape: Vec<usize> = b.stages[last].spatial.iter().map(|a| a.extent).collect();
    let groups = dim_groups(wshape, &lshape);
    let all: Vec<AxisId> = (0..lshape.len()).collect();
    let mut post = std::mem::replace(&mut b.stages[last].post, ValueExpr::Acc);
    for step in epilogue {
        post = match *step {
            EpilogueOp::Bias => {
                let chan = groups.last().cloned().unwrap_or_default();
                let t = b.weight("bias", chan.iter().map(|&a| lshape[a]).collect());
                post.binary(BinaryFn::Add, load(t, &chan))
            }
            EpilogueOp::Residual => {
                let t = b.input("res", lshape.clone());
                post.binary(BinaryFn::Add, load(t, &all))
            }
            EpilogueOp::Mul => {
                let t = b.input("mul", lshape.clone());
                post.binary(BinaryFn::Mul, load(t, &all))
            }
            EpilogueOp::Relu => post.unary(UnaryFn::Relu),
            EpilogueOp::Relu6 => post
                .binary(BinaryFn::Max, c(0.0))
                .binary(BinaryFn::Min, c(6.0)),
            EpilogueOp::Clip { lo, hi } => post
                .binary(BinaryFn::Max, c(lo))
                .binary(BinaryFn::Min, c(hi)),
            EpilogueOp::Gelu => {
                let erf = post
                    .clone()
                    .binary(BinaryFn::Mul, c(std::f64::consts::FRAC_1_SQRT_2))
                    .unary(UnaryFn::Erf);
                post.binary(BinaryFn::Mul, c(0.5))
                    .binary(BinaryFn::Mul, erf.binary(BinaryFn::Add, c(1.0)))
            }
            EpilogueOp::Silu => post
                .clone()
                .binary(BinaryFn::Mul, post.unary(UnaryFn::Sigmoid)),
            EpilogueOp::Sigmoid => post.unary(UnaryFn::Sigmoid),
            EpilogueOp::Tanh => post.unary(UnaryFn::Tanh),
            EpilogueOp::LeakyRelu(a) => {
                let neg = post
                    .clone()
                    .binary(BinaryFn::Min, c(0.0))
                    .binary(BinaryFn::Mul, c(a));
                post.binary(BinaryFn::Max, c(0.0))
                    .binary(BinaryFn::Add, neg)
            }
            EpilogueOp::Scale(s) => post.binary(BinaryFn::Mul, c(s)),
            EpilogueOp::Causal => {
                let n = groups.len();
                let i = group_index(&groups[n - 2], &lshape);
                let j = group_index(&groups[n - 1], &lshape);
                let mut diff = i;
                diff.terms.extend(j.terms.iter().map(|t| Term {
                    axis: t.axis,
                    coef: -t.coef,
                }));
                ValueExpr::Select {
                    guard: Guard {
                        index: diff,
                        lo: 0,
                        hi: i64::MAX,
                    },
                    then: Box::new(post),
                    otherwise: Box::new(c(f64::NEG_INFINITY)),
                }
            }
        };
    }
    b.stages[last].post = post;
}
