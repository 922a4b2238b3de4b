//! Hardware constraints of a schedule as expressions of the schedule variables: each is a
//! `(name, value)` with `value ≤ 0` when legal (up to [`CONSTRAINT_TOL`]), normalised in log
//! units where it is a ratio to a limit, so a gradient step sees comparable scales.
//!
//! GPU targets, per kernel `k` (a top-level loop; names get the suffix `@k` for `k > 0`):
//! * `threads_per_block` = `log T − log max_threads_per_block`, `T` = Π of the kernel's
//!   `threadIdx` extents (a 2,048-thread block is rejected on every preset).
//! * `shared_mem_per_block` = `log max(S, 1) − log shared_mem_per_block`, `S` = Σ over the
//!   kernel's shared buffers of `Π shape · 4` bytes (48 KiB without opt-in).
//! * `vthread` = `log V − log max_vthread`, `V` = max over vthread loops of the product of the
//!   vthread extents enclosing and including it.
//! * `registers` = `log(L + REG_BASE) − log registers_per_thread`, `L` = Σ of the kernel's
//!   local buffer elements (one register each) and [`crate::features::REG_BASE`].
//! * `vector_bytes` (when the tree has vectorized loops) = `log(4·E) − log max_vector_bytes`,
//!   `E` = max vectorized extent.
//!
//! GPU targets: `vector_align` (when some vectorized loop's variable occurs in the last index
//! of an access under it) = max over those of `shape_last mod E_loop` (legal iff 0: the
//! vector divides the contiguous dimension, as aligned `float4` accesses need). The C
//! backend's vectors are unaligned loads with a scalar remainder, so on the CPU a vector
//! that does not divide its row is a matter of speed for the model to judge (a row
//! reduction of 50 in 8 lanes and a tail of 2), not of legality.
//!
//! Every target: `innermost_factor` (when the tree has unrolled or vectorized loops) =
//! `log max extent − log 64` over those loops.
//!
//! CPU targets: `vector_extent` = `log E − log 64` (when vectorized loops exist) and
//! `local_bytes` = `log max(B, 1) − log (l2_bytes / 2)`, `B` = Σ local buffer bytes (a
//! thread's accumulator block may fill a quarter of L2 and its packed panel another).
//!
//! Divisibility of split factors is not a constraint here: the space's prime-exponent
//! parametrisation keeps it exact. [`constraints`] builds the expressions,
//! [`direct_violations`] computes the same definitions on a concrete tree (the oracle).

use crate::expr::{ExprArena, ExprId};
use crate::features::algebra::{Algebra, Direct, Symbolic};
use crate::features::context::{Ctx, ELEM_BYTES};
use crate::features::REG_BASE;
use crate::looptree::{LoopKind, LoopTree};
use crate::target::Target;
use crate::{Result, SymbolicError};

/// A constraint holds when its value is at most this (absorbs rounding of `log a − log b`).
pub const CONSTRAINT_TOL: f64 = 1e-9;

/// Largest extent of an unrolled or vectorized loop (Ansor's `max_innermost_split_factor`).
pub const MAX_INNERMOST_FACTOR: f64 = 64.0;

/// Whether every constraint value is legal (`≤ CONSTRAINT_TOL`; NaN is illegal).
pub fn is_legal(values: &[f64]) -> bool {
    values.iter().all(|&v| v <= CONSTRAINT_TOL)
}

/// The constraints of a symbolic tree, built in `arena` (which must be `tree.exprs` or a
/// clone of it extended since: the tree's ids must be valid there). Not simplified.
pub fn constraints(
    tree: &LoopTree,
    target: &Target,
    arena: &mut ExprArena,
) -> Result<Vec<(String, ExprId)>> {
    if arena.len() < tree.exprs.len() {
        return Err(SymbolicError::InvalidInput(
            "the arena is not an extension of the tree's arena".into(),
        ));
    }
    let mut alg = Symbolic { arena };
    let mut cx = Ctx::new(&mut alg, tree);
    Ok(constraint_list(&mut alg, &mut cx, target))
}

/// The constraint values of a concrete tree, computed directly (the test oracle of
/// [`constraints`]). Errors unless the tree is concrete.
pub fn direct_violations(tree: &LoopTree, target: &Target) -> Result<Vec<(String, f64)>> {
    tree.require_concrete()?;
    let mut alg = Direct;
    let mut cx = Ctx::new(&mut alg, tree);
    Ok(constraint_list(&mut alg, &mut cx, target))
}

fn log_ratio<A: Algebra>(alg: &mut A, x: A::V, limit: f64) -> A::V {
    let l = alg.log(x);
    alg.addc(l, -limit.ln())
}

/// The generic constraint definitions (see the module docs).
pub(crate) fn constraint_list<A: Algebra>(
    alg: &mut A,
    cx: &mut Ctx<'_, A::V>,
    target: &Target,
) -> Vec<(String, A::V)> {
    let mut out = Vec::new();
    let loops = cx.loops.clone();
    let one = alg.c(1.0);
    if let Some(g) = target.gpu() {
        for (k, kernel) in cx.kernels.clone().iter().enumerate() {
            let in_k: Vec<_> = loops
                .iter()
                .filter(|l| cx.kernel_of_loop.get(l.id.0) == Some(&k))
                .collect();
            if !in_k.iter().any(|l| l.lp.kind.is_gpu()) {
                continue;
            }
            let sfx = if k == 0 {
                String::new()
            } else {
                format!("@{k}")
            };
            let mut threads = one;
            let mut vthread = one;
            for l in &in_k {
                let e = cx.extent(alg, l.lp);
                if l.lp.kind.is_thread() {
                    threads = alg.mul(threads, e);
                }
                if l.lp.kind == LoopKind::VThread {
                    let outer = cx.product_where(alg, &l.path, |p| p.kind == LoopKind::VThread);
                    let v = alg.mul(outer, e);
                    vthread = alg.max(vthread, v);
                }
            }
            let v = log_ratio(alg, threads, g.max_threads_per_block as f64);
            out.push((format!("threads_per_block{sfx}"), v));
            let s = alg.max(kernel.shared_bytes, one);
            let v = log_ratio(alg, s, g.shared_mem_per_block as f64);
            out.push((format!("shared_mem_per_block{sfx}"), v));
            let v = log_ratio(alg, vthread, g.max_vthread as f64);
            out.push((format!("vthread{sfx}"), v));
            let regs = alg.addc(kernel.local_elems, REG_BASE);
            let v = log_ratio(alg, regs, g.registers_per_thread as f64);
            out.push((format!("registers{sfx}"), v));
        }
    }
    let vec_loops: Vec<_> = loops
        .iter()
        .filter(|l| l.lp.kind == LoopKind::Vectorized)
        .collect();
    if !vec_loops.is_empty() {
        let mut e_max = one;
        for l in &vec_loops {
            let e = cx.extent(alg, l.lp);
            e_max = alg.max(e_max, e);
        }
        match (target.gpu(), target.cpu()) {
            (Some(g), _) => {
                let b = alg.mulc(e_max, ELEM_BYTES);
                let v = log_ratio(alg, b, g.max_vector_bytes as f64);
                out.push(("vector_bytes".into(), v));
            }
            (_, Some(_)) => {
                let v = log_ratio(alg, e_max, MAX_INNERMOST_FACTOR);
                out.push(("vector_extent".into(), v));
            }
            _ => {}
        }
        let stores = cx.tree.stores();
        let mut align: Option<A::V> = None;
        for l in &vec_loops {
            for st in stores.iter().filter(|s| s.path_ids.contains(&l.id)) {
                let mut acc: Vec<(crate::looptree::BufferId, &[ExprId])> =
                    vec![(st.store.buffer, &st.store.index)];
                acc.extend(st.store.value.loads());
                for (b, ix) in acc {
                    let Some(&last) = ix.last() else { continue };
                    if !cx.tree.exprs.free_vars(&[last]).contains(&l.lp.var) {
                        continue;
                    }
                    let Some(&sh) = cx.tree.buffer(b).shape.last() else {
                        continue;
                    };
                    let s = cx.rd.value(alg, sh);
                    let e = cx.extent(alg, l.lp);
                    let m = alg.bin(crate::expr::BinOp::Mod, s, e);
                    align = Some(match align {
                        None => m,
                        Some(a) => alg.max(a, m),
                    });
                }
            }
        }
        if let (Some(a), true) = (align, target.gpu().is_some()) {
            out.push(("vector_align".into(), a));
        }
    }
    let inner: Vec<_> = loops
        .iter()
        .filter(|l| matches!(l.lp.kind, LoopKind::Vectorized | LoopKind::Unrolled))
        .collect();
    if !inner.is_empty() {
        let mut e_max = one;
        for l in &inner {
            let e = cx.extent(alg, l.lp);
            e_max = alg.max(e_max, e);
        }
        let v = log_ratio(alg, e_max, MAX_INNERMOST_FACTOR);
        out.push(("innermost_factor".into(), v));
    }
    if let Some(c) = target.cpu() {
        let b = alg.max(cx.local_bytes_all, one);
        let v = log_ratio(alg, b, (c.l2_bytes / 2).max(1) as f64);
        out.push(("local_bytes".into(), v));
    }
    out
}
