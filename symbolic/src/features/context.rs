//! Per-tree facts shared by the features and the constraints: kernels (top-level loops),
//! their shared / local allocations, and helpers to read loop extents.

use std::collections::HashMap;

use super::algebra::Algebra;
use super::region::{Env, Iv, Reader};
use crate::expr::{ExprId, Var};
use crate::looptree::{AllocSite, Loop, LoopCtx, LoopTree, Scope};

/// Bytes per element (every buffer is `f32`).
pub(crate) const ELEM_BYTES: f64 = 4.0;

/// Allocation totals of one kernel (a top-level loop of the tree).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kernel<V> {
    /// Σ over shared buffers allocated in the kernel of `Π shape · 4` (bytes per block).
    pub shared_bytes: V,
    /// Σ over local buffers allocated in the kernel of `Π shape` (elements per thread).
    pub local_elems: V,
}

/// Everything the generic feature code reads about a tree.
pub(crate) struct Ctx<'t, V> {
    pub rd: Reader<'t, V>,
    pub tree: &'t LoopTree,
    pub loops: Vec<LoopCtx<'t>>,
    /// Kernel index of every loop (by pre-order id).
    pub kernel_of_loop: Vec<usize>,
    /// Per kernel (top-level loops in order).
    pub kernels: Vec<Kernel<V>>,
    /// Σ over every local buffer of `Π shape · 4` (CPU local tile bytes).
    pub local_bytes_all: V,
}

impl<'t, V: Copy + PartialEq> Ctx<'t, V> {
    pub fn new<A: Algebra<V = V>>(alg: &mut A, tree: &'t LoopTree) -> Self {
        let mut rd = Reader::new(tree);
        let loops = tree.loops();
        let mut n_kernels = 0;
        let kernel_of_loop: Vec<usize> = loops
            .iter()
            .map(|l| match l.path_ids.first() {
                Some(top) => top.0,
                None => {
                    n_kernels += 1;
                    l.id.0
                }
            })
            .collect();
        // Map the top-level loop ids to kernel indices 0..n.
        let tops: Vec<usize> = loops
            .iter()
            .filter(|l| l.path.is_empty())
            .map(|l| l.id.0)
            .collect();
        let kernel_of_loop: Vec<usize> = kernel_of_loop
            .iter()
            .map(|t| tops.iter().position(|x| x == t).unwrap_or(0))
            .collect();
        let zero = alg.c(0.0);
        let mut kernels = vec![
            Kernel {
                shared_bytes: zero,
                local_elems: zero,
            };
            n_kernels
        ];
        let mut local_bytes_all = zero;
        for (buf, site) in tree.buffers.iter().zip(tree.alloc_sites()) {
            if buf.scope == Scope::Global || site == AllocSite::Unused {
                continue;
            }
            let dims: Vec<V> = buf.shape.iter().map(|&e| rd.value(alg, e)).collect();
            let elems = alg.product(&dims);
            let bytes = alg.mulc(elems, ELEM_BYTES);
            if buf.scope == Scope::Local {
                local_bytes_all = alg.add(local_bytes_all, bytes);
            }
            let AllocSite::Loop(id) = site else { continue };
            let Some(k) = kernel_of_loop.get(id.0).and_then(|&k| kernels.get_mut(k)) else {
                continue;
            };
            match buf.scope {
                Scope::Shared => k.shared_bytes = alg.add(k.shared_bytes, bytes),
                Scope::Local => k.local_elems = alg.add(k.local_elems, elems),
                Scope::Global => {}
            }
        }
        Ctx {
            rd,
            tree,
            loops,
            kernel_of_loop,
            kernels,
            local_bytes_all,
        }
    }

    /// The extent of a loop (a value of schedule variables).
    pub fn extent<A: Algebra<V = V>>(&mut self, alg: &mut A, lp: &Loop) -> V {
        self.rd.value(alg, lp.extent)
    }

    /// Product of the extents of the loops of `path` selected by `keep`.
    pub fn product_where<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        path: &[&Loop],
        keep: impl Fn(&Loop) -> bool,
    ) -> V {
        let mut p = alg.c(1.0);
        for lp in path.iter().filter(|l| keep(l)) {
            let e = self.extent(alg, lp);
            p = alg.mul(p, e);
        }
        p
    }

    /// An environment ranging the loops of `path` selected by `ranged` over `[0, extent−1]`.
    pub fn env<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        path: &[&Loop],
        ranged: impl Fn(usize) -> bool,
    ) -> Env<V> {
        let mut env = Env::new();
        for (i, lp) in path.iter().enumerate() {
            if ranged(i) {
                let e = self.extent(alg, lp);
                let hi = alg.addc(e, -1.0);
                let zero = alg.c(0.0);
                env.insert(
                    lp.var,
                    Iv {
                        lo: zero,
                        hi,
                        point: false,
                        nonneg: true,
                    },
                );
            }
        }
        env
    }

    /// Number of elements of `index` touched over `env`: `Π_d max(1, min(hi_d − lo_d + 1, shape_d))`,
    /// with the per-dimension footprints.
    pub fn footprint<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        shape: &[ExprId],
        index: &[ExprId],
        env: &Env<V>,
    ) -> (V, Vec<V>) {
        let mut memo = HashMap::new();
        let mut dims = Vec::with_capacity(index.len());
        for (&ix, &sh) in index.iter().zip(shape) {
            let iv = self.rd.interval(alg, ix, env, &mut memo);
            let d = if iv.point {
                alg.c(1.0)
            } else {
                let w = alg.sub(iv.hi, iv.lo);
                let w = alg.addc(w, 1.0);
                let s = self.rd.value(alg, sh);
                let m = alg.min(w, s);
                // At least one element (a no-op exactly; keeps relaxed widths positive).
                let one = alg.c(1.0);
                alg.max(m, one)
            };
            dims.push(d);
        }
        (alg.product(&dims), dims)
    }

    /// The row-major flattened index at a point (`var := 1`, every other loop var 0), minus
    /// its value at the origin: the coefficient of `var` for an affine index.
    pub fn stride<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        shape: &[ExprId],
        index: &[ExprId],
        var: Var,
    ) -> V {
        let one = alg.c(1.0);
        let mut env = Env::new();
        env.insert(var, Iv::point(one, true));
        let at1 = self.flat(alg, shape, index, &env);
        let at0 = self.flat(alg, shape, index, &Env::new());
        alg.sub(at1, at0)
    }

    fn flat<A: Algebra<V = V>>(
        &mut self,
        alg: &mut A,
        shape: &[ExprId],
        index: &[ExprId],
        env: &Env<V>,
    ) -> V {
        let mut memo = HashMap::new();
        let mut acc = alg.c(0.0);
        for (&ix, &sh) in index.iter().zip(shape) {
            let s = self.rd.value(alg, sh);
            acc = alg.mul(acc, s);
            let v = self.rd.interval(alg, ix, env, &mut memo).lo;
            acc = alg.add(acc, v);
        }
        acc
    }
}
