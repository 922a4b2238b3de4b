//! Shared lowering from a [`ComputeDef`] to loop-tree pieces, used by every sketch rule.
//!
//! * [`declare_tensors`]: the kernel arguments (global inputs in input order, then the
//!   output); intermediates are left to the rule (`None`).
//! * [`index_expr`] / [`in_bounds`] / [`guard_cond`]: an [`IndexExpr`] or [`Guard`] as an
//!   integer expression of the tree's arena, given one [`ExprId`] per stage axis (the
//!   *global* coordinate of that axis, however the rule tiles it).
//! * [`lower_value`]: a [`ValueExpr`] as a loop-tree [`Value`]. A load with a `pad` becomes
//!   `Select(in-bounds ∧ divisible, Load, Const(pad))`. Only the chosen branch of a
//!   [`Value::Select`] is evaluated (the interpreter does so, and generated C/CUDA uses
//!   `?:`), so the out-of-range load is never executed and needs no clamping.
//!   [`lower_value_with`] lets a rule redirect loads (e.g. to a shared-memory copy).
//! * [`init_value`] / [`update`]: the combiner's initial value and accumulator update.
//! * [`naive_tree`]: the unscheduled serial nest of every stage (intermediates as global
//!   temporaries), a baseline and a test of this module against the references.
//! * Folding builders ([`add`], [`mul`], [`sum`], [`product`], …) that skip `+ 0`, `· 1`
//!   and fold constants, so that symbolic trees stay small and readable.
//! * [`region_extent`] / [`negative_shift`]: the region an index reads over one block of a
//!   tiled nest (staged or packed copies).
//!
//! Bounds checks of padded loads: a dimension whose index is a bare axis (coefficient 1,
//! offset 0, no divisor) is assumed in bounds (every `ComputeDef` of
//! [`crate::Workload::compute`] sizes such axes to the tensor's dimension; a test checks
//! it); every other dimension of a padded load is checked (`0 ≤ index < dim`, plus
//! `numerator mod div == 0` when `div > 1`).

use tilegrad_symbolic::looptree::{ValueBinOp, ValueUnOp};
use tilegrad_symbolic::{BufferId, ExprArena, ExprId, StoreKind, TreeBuilder, Value};

use crate::compute::{
    Combiner, ComputeDef, Guard, IndexExpr, TensorId, TensorRole, UnaryFn, ValueExpr,
};
use crate::op::BinaryFn;
use crate::{Result, TemplateError};

mod fold;
mod naive;
mod region;
mod tileable;

pub use fold::*;
pub use naive::{loop_nest, naive_tree, serial_nest, LoopSpec};
pub use region::{block_index, block_origin, negative_shift, region_extent};
pub use tileable::{is_tileable, MAX_INNERMOST};

/// Largest magnitude an index constant may have (the interpreter's integer limit); guard
/// bounds beyond it are treated as unbounded.
const INDEX_LIMIT: i64 = 1 << 52;

fn schedule_err(msg: String) -> TemplateError {
    TemplateError::Schedule(msg)
}

/// Declares the kernel arguments of `def`: every input as a global input buffer (in input
/// order, named after the tensor, with its logical shape), then the output. Returns one entry
/// per tensor of `def`: `Some(buffer)` for inputs and the output, `None` for intermediates
/// (rules that need them declare their own).
pub fn declare_tensors(b: &mut TreeBuilder, def: &ComputeDef) -> Vec<Option<BufferId>> {
    let shape =
        |b: &mut TreeBuilder, s: &[usize]| s.iter().map(|&d| b.c(d as f64)).collect::<Vec<_>>();
    let mut out = vec![None; def.tensors.len()];
    for id in def.inputs() {
        let sh = shape(b, &def.tensors[id].shape);
        out[id] = Some(b.input(&def.tensors[id].name, &sh));
    }
    let o = def.output();
    if let Some(t) = def.tensors.get(o).filter(|t| t.role == TensorRole::Output) {
        let sh = shape(b, &t.shape);
        out[o] = Some(b.output(&t.name, &sh));
    }
    out
}

/// The numerator `Σ coef·axes[axis] + offset` of `idx`.
pub fn affine_expr(e: &mut ExprArena, idx: &IndexExpr, axes: &[ExprId]) -> Result<ExprId> {
    let mut acc = e.constant(idx.offset as f64);
    for t in &idx.terms {
        let a = *axes.get(t.axis).ok_or_else(|| {
            schedule_err(format!(
                "index uses axis {} but only {} axes are given",
                t.axis,
                axes.len()
            ))
        })?;
        acc = if t.coef < 0 {
            let s = mul_const(e, a, -t.coef);
            sub(e, acc, s)
        } else {
            let s = mul_const(e, a, t.coef);
            add(e, acc, s)
        };
    }
    Ok(acc)
}

/// `idx` as an expression of the given axis coordinates: `(index, condition)` where the
/// condition (`numerator mod div == 0`) is present only when `div > 1`.
///
/// Panics never; an axis id beyond `axes` is treated as coordinate 0 (use
/// [`affine_expr`] for a checked version).
pub fn index_expr(
    b: &mut TreeBuilder,
    idx: &IndexExpr,
    axes: &[ExprId],
) -> (ExprId, Option<ExprId>) {
    let e = b.e();
    let zero = e.constant(0.0);
    let padded: Vec<ExprId> = (0..idx.terms.iter().map(|t| t.axis + 1).max().unwrap_or(0))
        .map(|a| axes.get(a).copied().unwrap_or(zero))
        .collect();
    let num = affine_expr(e, idx, &padded).unwrap_or(zero);
    if idx.div <= 1 {
        return (num, None);
    }
    let d = e.constant(idx.div as f64);
    let q = floordiv(e, num, d);
    let r = modulo(e, num, d);
    let ok = e.eq(r, zero);
    (q, Some(ok))
}

/// `0 ≤ index ∧ index < extent`.
pub fn in_bounds(b: &mut TreeBuilder, index: ExprId, extent: ExprId) -> ExprId {
    let e = b.e();
    let zero = e.constant(0.0);
    let lo = e.le(zero, index);
    let hi = e.lt(index, extent);
    e.and(lo, hi)
}

/// The condition of a [`Guard`] (`lo ≤ index < hi`; a bound beyond ±2⁵² is dropped), or
/// `None` when it is always true.
pub fn guard_cond(b: &mut TreeBuilder, g: &Guard, axes: &[ExprId]) -> Option<ExprId> {
    let (idx, div) = index_expr(b, &g.index, axes);
    let e = b.e();
    let lo = (g.lo > -INDEX_LIMIT).then(|| {
        let l = e.constant(g.lo as f64);
        e.le(l, idx)
    });
    let hi = (g.hi < INDEX_LIMIT).then(|| {
        let h = e.constant(g.hi as f64);
        e.lt(idx, h)
    });
    let c = and(e, lo, hi);
    and(e, div, c)
}

/// Whether dimension index `idx` is a bare axis (assumed in bounds, see the module docs).
pub fn is_bare_axis(idx: &IndexExpr) -> bool {
    idx.div == 1 && idx.offset == 0 && idx.terms.len() == 1 && idx.terms[0].coef == 1
}

/// The load `tensor[index]` of `def` from global buffer `buf`, with the padding select when
/// `pad` is set (see the module docs).
pub fn lower_load(
    b: &mut TreeBuilder,
    def: &ComputeDef,
    buf: BufferId,
    tensor: TensorId,
    index: &[IndexExpr],
    pad: Option<f64>,
    axes: &[ExprId],
) -> Result<Value> {
    let decl = def
        .tensors
        .get(tensor)
        .ok_or_else(|| schedule_err(format!("bad tensor id {tensor}")))?;
    if decl.shape.len() != index.len() {
        return Err(schedule_err(format!(
            "load of `{}` with {} indices, rank {}",
            decl.name,
            index.len(),
            decl.shape.len()
        )));
    }
    let mut idx = Vec::with_capacity(index.len());
    let mut cond = None;
    for (ix, &dim) in index.iter().zip(&decl.shape) {
        let (i, div) = index_expr(b, ix, axes);
        idx.push(i);
        if pad.is_some() && !is_bare_axis(ix) {
            let ext = b.c(dim as f64);
            let ok = in_bounds(b, i, ext);
            let both = and(b.e(), div, Some(ok));
            cond = and(b.e(), cond, both);
        } else if div.is_some() {
            return Err(schedule_err(format!(
                "load of `{}` with a divisor but no pad value",
                decl.name
            )));
        }
    }
    let load = Value::load(buf, &idx);
    Ok(match (pad, cond) {
        (Some(p), Some(c)) => Value::select(c, load, Value::Const(p as f32)),
        _ => load,
    })
}

/// The loop-tree op of a unary function.
pub fn unary_op(f: UnaryFn) -> ValueUnOp {
    match f {
        UnaryFn::Neg => ValueUnOp::Neg,
        UnaryFn::Exp => ValueUnOp::Exp,
        UnaryFn::Log => ValueUnOp::Log,
        UnaryFn::Sqrt => ValueUnOp::Sqrt,
        UnaryFn::Rsqrt => ValueUnOp::Rsqrt,
        UnaryFn::Tanh => ValueUnOp::Tanh,
        UnaryFn::Erf => ValueUnOp::Erf,
        UnaryFn::Sigmoid => ValueUnOp::Sigmoid,
        UnaryFn::Relu => ValueUnOp::Relu,
    }
}

/// The loop-tree op of a binary function.
pub fn binary_op(f: BinaryFn) -> ValueBinOp {
    match f {
        BinaryFn::Add => ValueBinOp::Add,
        BinaryFn::Sub => ValueBinOp::Sub,
        BinaryFn::Mul => ValueBinOp::Mul,
        BinaryFn::Div => ValueBinOp::Div,
        BinaryFn::Max => ValueBinOp::Max,
        BinaryFn::Min => ValueBinOp::Min,
    }
}

/// How [`lower_value_with`] lowers a load: `(builder, tensor, index, pad) -> value`.
pub type LoadFn<'a> =
    dyn FnMut(&mut TreeBuilder, TensorId, &[IndexExpr], Option<f64>) -> Result<Value> + 'a;

/// Lowers `e` with every load handled by `load(b, tensor, index, pad)`; `axes` gives the
/// coordinate of each stage axis (for `Select` guards) and `acc` the value of
/// [`ValueExpr::Acc`] (an error if `Acc` occurs and `acc` is `None`).
pub fn lower_value_with(
    b: &mut TreeBuilder,
    e: &ValueExpr,
    axes: &[ExprId],
    acc: Option<&Value>,
    load: &mut LoadFn<'_>,
) -> Result<Value> {
    Ok(match e {
        ValueExpr::Const(v) => Value::Const(*v as f32),
        ValueExpr::Acc => acc
            .cloned()
            .ok_or_else(|| schedule_err("`Acc` outside a post expression".into()))?,
        ValueExpr::Load { tensor, index, pad } => load(b, *tensor, index, *pad)?,
        ValueExpr::Unary(f, a) => lower_value_with(b, a, axes, acc, load)?.unary(unary_op(*f)),
        ValueExpr::Binary(f, x, y) => {
            let x = lower_value_with(b, x, axes, acc, load)?;
            let y = lower_value_with(b, y, axes, acc, load)?;
            x.binary(binary_op(*f), y)
        }
        ValueExpr::Select {
            guard,
            then,
            otherwise,
        } => {
            let t = lower_value_with(b, then, axes, acc, load)?;
            let o = lower_value_with(b, otherwise, axes, acc, load)?;
            match guard_cond(b, guard, axes) {
                Some(c) => Value::select(c, t, o),
                None => t,
            }
        }
    })
}

/// Lowers `e` with loads from the buffers `bufs` (one entry per tensor of `def`, as from
/// [`declare_tensors`]; an error for a load of a tensor without a buffer).
pub fn lower_value(
    b: &mut TreeBuilder,
    def: &ComputeDef,
    bufs: &[Option<BufferId>],
    e: &ValueExpr,
    axes: &[ExprId],
    acc: Option<&Value>,
) -> Result<Value> {
    lower_value_with(b, e, axes, acc, &mut |b, tensor, index, pad| {
        let buf = bufs
            .get(tensor)
            .copied()
            .flatten()
            .ok_or_else(|| schedule_err(format!("tensor {tensor} has no buffer")))?;
        lower_load(b, def, buf, tensor, index, pad, axes)
    })
}

/// The initial value of a combiner's accumulator (0, or −∞ for max).
pub fn init_value(c: Combiner) -> Value {
    Value::Const(c.init() as f32)
}

/// Emits the accumulator update `buf[index] = combine(buf[index], value)` (an
/// [`StoreKind::Update`]; a plain assignment for [`Combiner::None`]).
pub fn update(b: &mut TreeBuilder, c: Combiner, buf: BufferId, index: &[ExprId], value: Value) {
    match c {
        Combiner::None => b.store(buf, index, value),
        Combiner::Sum => b.accumulate(buf, index, value),
        Combiner::Max => {
            let old = Value::load(buf, index);
            b.store_kind(StoreKind::Update, buf, index, old.max(value));
        }
    }
}
