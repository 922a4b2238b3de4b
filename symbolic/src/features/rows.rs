//! Generic extraction of the feature rows (one per store), written once over [`Algebra`].
//! The formulas are documented on [`super`].

use super::algebra::Algebra;
use super::context::{Ctx, ELEM_BYTES};
use super::names::{col, is_boolean, FEATURE_NAMES, N_ROW_FEATURES, N_SLOT_FEATURES};
use super::{LINE_BYTES, N_BUFFERS, REG_BASE, SECTOR_BYTES};
use crate::expr::ExprId;
use crate::looptree::{
    BufferId, BufferRole, Loop, LoopKind, Scope, StoreCtx, StoreKind, Value, ValueBinOp, ValueUnOp,
};
use crate::target::Target;

/// One buffer accessed by a statement (the first access gives the region).
struct Access<'a> {
    buffer: BufferId,
    index: &'a [ExprId],
    count: f64,
    read: bool,
    write: bool,
}

/// The accessed buffers of a store: the written buffer first, then loaded buffers in order
/// of first appearance.
fn accesses<'a>(st: &'a StoreCtx<'_>) -> Vec<Access<'a>> {
    let store = st.store;
    let mut out = vec![Access {
        buffer: store.buffer,
        index: &store.index,
        count: 1.0,
        read: false,
        write: true,
    }];
    for (b, ix) in store.value.loads() {
        match out.iter_mut().find(|a| a.buffer == b) {
            Some(a) => {
                a.count += 1.0;
                a.read = true;
            }
            None => out.push(Access {
                buffer: b,
                index: ix,
                count: 1.0,
                read: true,
                write: false,
            }),
        }
    }
    out
}

/// Operation counts of a stored value: `[all, add/sub/neg, mul, div, cmp (min, max, abs,
/// relu, select), math (exp, log, sqrt, rsqrt, tanh, erf, sigmoid)]`.
fn value_ops(v: &Value) -> [f64; 6] {
    let mut n = [0.0; 6];
    v.visit(&mut |x| {
        let class = match x {
            Value::Binary(ValueBinOp::Add | ValueBinOp::Sub, ..)
            | Value::Unary(ValueUnOp::Neg, _) => 1,
            Value::Binary(ValueBinOp::Mul, ..) => 2,
            Value::Binary(ValueBinOp::Div, ..) => 3,
            Value::Binary(ValueBinOp::Max | ValueBinOp::Min, ..)
            | Value::Unary(ValueUnOp::Abs | ValueUnOp::Relu, _)
            | Value::Select { .. } => 4,
            Value::Unary(..) => 5,
            _ => return,
        };
        n[0] += 1.0;
        n[class] += 1.0;
    });
    n
}

/// Every feature row of the tree, already transformed (`log(1 + x)` for numeric columns).
/// Stores into prepared buffers have no row: the prepare statements run once, ahead of the
/// calls that are timed.
pub(crate) fn extract_rows<A: Algebra>(
    alg: &mut A,
    cx: &mut Ctx<'_, A::V>,
    target: &Target,
) -> Vec<Vec<A::V>> {
    let tree = cx.tree;
    let stores: Vec<StoreCtx<'_>> = tree
        .stores()
        .into_iter()
        .filter(|st| tree.buffer(st.store.buffer).role != BufferRole::Prepared)
        .collect();
    let mut rows = Vec::with_capacity(stores.len());
    for st in &stores {
        let raw = row_raw(alg, cx, target, st);
        // Guards on schedule variables only: the statement runs or not (a 0/1 factor).
        let mut gate = None;
        for &g in &st.guards {
            if !cx.rd.depends(g) {
                let v = cx.rd.value(alg, g);
                let (one, zero) = (alg.c(1.0), alg.c(0.0));
                let b = alg.select(v, one, zero);
                gate = Some(match gate {
                    None => b,
                    Some(p) => alg.mul(p, b),
                });
            }
        }
        let row = raw
            .into_iter()
            .zip(FEATURE_NAMES.iter())
            .map(|(x, name)| {
                let y = if is_boolean(name) { x } else { alg.log1p(x) };
                match gate {
                    Some(g) => alg.mul(g, y),
                    None => y,
                }
            })
            .collect();
        rows.push(row);
    }
    rows
}

/// The untransformed values of one row.
fn row_raw<A: Algebra>(
    alg: &mut A,
    cx: &mut Ctx<'_, A::V>,
    target: &Target,
    st: &StoreCtx<'_>,
) -> Vec<A::V> {
    let path: Vec<&Loop> = st.path.clone();
    let acc = accesses(st);
    let zero = alg.c(0.0);
    let mut row = vec![zero; N_ROW_FEATURES];
    let a_all = cx.product_where(alg, &path, |_| true);
    let op_counts = value_ops(&st.store.value);
    let ops = op_counts[0];
    let op_cols = [
        col::FLOAT_OPS,
        col::FLOAT_ADDSUB,
        col::FLOAT_MUL,
        col::FLOAT_DIV,
        col::FLOAT_CMP,
        col::FLOAT_MATH,
    ];
    for (c, n) in op_cols.into_iter().zip(op_counts) {
        row[c] = alg.mulc(a_all, n);
    }
    let dims: usize = acc.iter().map(|a| a.index.len()).sum();
    let loop_guards = st.guards.iter().filter(|&&g| cx.rd.depends(g)).count();
    row[col::INT_OPS] = alg.mulc(a_all, (2 * dims + loop_guards) as f64);
    row[col::N_LOOPS] = alg.c(path.len() as f64);
    row[col::LOOP_PRODUCT] = a_all;
    let block = cx.product_where(alg, &path, |l| l.kind.is_block());
    let thread = cx.product_where(alg, &path, |l| l.kind.is_thread());
    row[col::BLOCK_EXTENT] = block;
    row[col::THREAD_EXTENT] = thread;
    row[col::VTHREAD_EXTENT] = cx.product_where(alg, &path, |l| l.kind == LoopKind::VThread);
    row[col::UNROLLED_PRODUCT] = cx.product_where(alg, &path, |l| l.kind == LoopKind::Unrolled);
    let mut step = zero;
    for lp in &path {
        if let Some(s) = lp.unroll_max_step {
            let s = cx.rd.value(alg, s);
            step = alg.max(step, s);
        }
    }
    row[col::UNROLL_MAX_STEP] = step;
    let vec_lanes = cx.product_where(alg, &path, |l| l.kind == LoopKind::Vectorized);
    row[col::VECTOR_LANES] = vec_lanes;
    let par = cx.product_where(alg, &path, |l| l.kind == LoopKind::Parallel);
    row[col::PARALLEL_EXTENT] = par;
    row[col::IS_REDUCTION] = alg.c(if st.store.kind == StoreKind::Update {
        1.0
    } else {
        0.0
    });
    row[col::IS_INIT] = alg.c(if st.store.kind == StoreKind::Init {
        1.0
    } else {
        0.0
    });
    let kernel = st
        .path_ids
        .first()
        .and_then(|id| cx.kernel_of_loop.get(id.0))
        .and_then(|&k| cx.kernels.get(k))
        .copied();
    let (smem, local_elems) = match kernel {
        Some(k) => (k.shared_bytes, k.local_elems),
        None => (zero, zero),
    };
    row[col::SHARED_BYTES] = smem;
    row[col::LOCAL_BYTES] = alg.mulc(local_elems, ELEM_BYTES);

    // Environments: every loop ranged; non-block loops (one block); loops inside the
    // outermost parallel loop (one core).
    let env_all = cx.env(alg, &path, |_| true);
    let gpu = target.gpu();
    let env_block = if gpu.is_some() {
        Some(cx.env(alg, &path, |i| !path[i].kind.is_block()))
    } else {
        None
    };
    let first_par = path.iter().position(|l| l.kind == LoopKind::Parallel);
    let env_core = match (target.cpu(), first_par) {
        (Some(_), Some(p)) => Some(cx.env(alg, &path, |i| i > p)),
        (Some(_), None) => Some(env_all.clone()),
        _ => None,
    };
    let tx = path
        .iter()
        .position(|l| matches!(l.kind, LoopKind::ThreadIdx(crate::looptree::Axis3::X)));
    let mut slots: Vec<A::V> = Vec::with_capacity(N_BUFFERS * N_SLOT_FEATURES);
    let mut global_block_bytes = zero;
    let mut ws_core = zero;
    for a in acc.iter().take(N_BUFFERS) {
        let buf = cx.tree.buffer(a.buffer).clone();
        let (fp, fp_dims) = cx.footprint(alg, &buf.shape, a.index, &env_all);
        if let Some(env) = &env_block {
            if buf.scope == Scope::Global {
                let (fb, _) = cx.footprint(alg, &buf.shape, a.index, env);
                let fb = alg.mulc(fb, ELEM_BYTES);
                global_block_bytes = alg.add(global_block_bytes, fb);
            }
        }
        if let Some(env) = &env_core {
            let (fc, _) = cx.footprint(alg, &buf.shape, a.index, env);
            let fc = alg.mulc(fc, ELEM_BYTES);
            ws_core = alg.add(ws_core, fc);
        }
        let vars = cx.tree.exprs.free_vars(a.index);
        let occurs = |l: &Loop| vars.contains(&l.var);
        let flag = |alg: &mut A, b: bool| alg.c(if b { 1.0 } else { 0.0 });
        let mut s = vec![
            flag(alg, a.read),
            flag(alg, a.write),
            flag(alg, buf.scope == Scope::Shared),
            flag(alg, buf.scope == Scope::Local),
        ];
        let accesses = alg.mulc(a_all, a.count);
        s.push(alg.mulc(accesses, ELEM_BYTES));
        s.push(alg.mulc(fp, ELEM_BYTES));
        // Stride of the innermost loop whose variable occurs in the index.
        let stride = match path.iter().rposition(|l| occurs(l)) {
            Some(i) => {
                let st = cx.stride(alg, &buf.shape, a.index, path[i].var);
                let neg = alg.mulc(st, -1.0);
                alg.max(st, neg)
            }
            None => zero,
        };
        let one = alg.c(1.0);
        let st1 = alg.max(stride, one);
        let frac = alg.mulc(st1, ELEM_BYTES / LINE_BYTES);
        let frac = alg.min(frac, one);
        s.push(alg.mul(accesses, frac));
        let (last, outer) = fp_dims
            .split_last()
            .map_or((one, &[][..]), |(l, o)| (*l, o));
        let outer = alg.product(outer);
        let lb = alg.mulc(last, ELEM_BYTES);
        let line = alg.c(LINE_BYTES);
        let lines = alg.ceildiv(lb, line);
        s.push(alg.mul(outer, lines));
        // Reuse: the innermost loop whose variable does not occur in the index.
        match path.iter().rposition(|l| !occurs(l)) {
            Some(r) => {
                s.push(one);
                let inner: Vec<&Loop> = path[r + 1..].to_vec();
                s.push(cx.product_where(alg, &inner, |_| true));
                let env_r = cx.env(alg, &path, |i| i > r);
                let (fr, _) = cx.footprint(alg, &buf.shape, a.index, &env_r);
                s.push(alg.mulc(fr, ELEM_BYTES));
                s.push(cx.extent(alg, path[r]));
            }
            None => s.extend([zero; 4]),
        }
        s.push(stride);
        // Sectors a warp touches: threadIdx.x stride decides coalescing.
        s.push(match (gpu, tx) {
            (Some(g), Some(i)) => {
                let sx = cx.stride(alg, &buf.shape, a.index, path[i].var);
                let neg = alg.mulc(sx, -1.0);
                let sx = alg.max(sx, neg);
                let ext = cx.extent(alg, path[i]);
                let w = alg.c(g.warp_size as f64);
                let w = alg.min(ext, w);
                let span = alg.addc(w, -1.0);
                let span = alg.mul(span, sx);
                let span = alg.mulc(span, ELEM_BYTES);
                let span = alg.addc(span, ELEM_BYTES);
                let sec = alg.c(SECTOR_BYTES);
                let sectors = alg.ceildiv(span, sec);
                alg.min(w, sectors)
            }
            _ => zero,
        });
        debug_assert_eq!(s.len(), N_SLOT_FEATURES);
        slots.extend(s);
    }
    slots.resize(N_BUFFERS * N_SLOT_FEATURES, zero);

    if let Some(g) = gpu {
        let regs = alg.addc(local_elems, REG_BASE);
        let mut res = alg.c(g.max_blocks_per_sm as f64);
        let by_threads = {
            let m = alg.c(g.max_threads_per_sm as f64);
            alg.floordiv(m, thread)
        };
        res = alg.min(res, by_threads);
        let by_regs = {
            let m = alg.c(g.registers_per_sm as f64);
            let per_block = alg.mul(regs, thread);
            alg.floordiv(m, per_block)
        };
        res = alg.min(res, by_regs);
        let by_smem = {
            let m = alg.c(g.shared_mem_per_sm as f64);
            let one = alg.c(1.0);
            let s = alg.max(smem, one);
            alg.floordiv(m, s)
        };
        res = alg.min(res, by_smem);
        let one = alg.c(1.0);
        res = alg.max(res, one);
        let sms = alg.mulc(res, g.sm_count as f64);
        row[col::WAVES] = alg.div(block, sms);
        let busy = alg.mul(res, thread);
        row[col::OCCUPANCY] = alg.mulc(busy, 1.0 / g.max_threads_per_sm as f64);
        row[col::REG_ESTIMATE] = regs;
        let per_block = cx.product_where(alg, &path, |l| !l.kind.is_block());
        let flops = alg.mulc(per_block, ops);
        let bytes = alg.max(global_block_bytes, one);
        row[col::ARITH_INTENSITY] = alg.div(flops, bytes);
    }
    if let Some(c) = target.cpu() {
        row[col::PARALLEL_PER_CORE] = alg.mulc(par, 1.0 / c.cores.max(1) as f64);
        let lanes = (c.simd_bytes as f64 / ELEM_BYTES).max(1.0);
        row[col::VECTOR_FILL] = alg.mulc(vec_lanes, 1.0 / lanes);
        row[col::WS_L1] = alg.mulc(ws_core, 1.0 / c.l1_bytes.max(1) as f64);
        row[col::WS_L2] = alg.mulc(ws_core, 1.0 / c.l2_bytes.max(1) as f64);
        row[col::WS_L3] = alg.mulc(ws_core, 1.0 / c.l3_bytes.max(1) as f64);
    }
    row.extend(slots);
    row
}
