//! Sample loop trees of `C[M, N] = A[M, K] · B[K, N]` (f32), for tests of this crate and
//! of the crates that consume loop trees (features, codegen): a naive loop nest, a CPU
//! tiled schedule and a GPU multi-level tiled schedule with shared-memory staging. The
//! tiled trees are symbolic in their tile sizes and correct for every positive assignment
//! (partial tiles are guarded).

use super::{Axis3, LoopKind, LoopTree, Scope, TreeBuilder, Value};
use crate::expr::ExprId;

/// Naive matmul: `for i, j { C[i, j] = 0; for k { C[i, j] += A[i, k] * B[k, j] } }`.
pub fn matmul_naive(m: u32, n: u32, k: u32) -> LoopTree {
    let mut b = TreeBuilder::new("matmul");
    let (em, en, ek) = (b.c(m.into()), b.c(n.into()), b.c(k.into()));
    let a = b.input("A", &[em, ek]);
    let bb = b.input("B", &[ek, en]);
    let c = b.output("C", &[em, en]);
    b.loop_("i", em, LoopKind::Serial, |b, i| {
        b.loop_("j", en, LoopKind::Serial, |b, j| {
            b.init(c, &[i, j], Value::Const(0.0));
            b.loop_("k", ek, LoopKind::Serial, |b, kk| {
                let v = b.load(a, &[i, kk]) * b.load(bb, &[kk, j]);
                b.accumulate(c, &[i, j], v);
            });
        });
    });
    b.finish()
}

/// `lhs < bound` as an expression.
fn below(b: &mut TreeBuilder, lhs: ExprId, bound: ExprId) -> ExprId {
    b.e().lt(lhs, bound)
}

/// CPU tiling with schedule variables `sp_i`, `sp_j` (tile sizes): parallel outer loop,
/// a local accumulator tile, an unrolled row loop and a vectorized column loop.
pub fn matmul_cpu_tiled(m: u32, n: u32, k: u32) -> LoopTree {
    let mut b = TreeBuilder::new("matmul_cpu");
    let (em, en, ek) = (b.c(m.into()), b.c(n.into()), b.c(k.into()));
    let (ti, tj) = (b.sched_var("sp_i"), b.sched_var("sp_j"));
    let a = b.input("A", &[em, ek]);
    let bb = b.input("B", &[ek, en]);
    let c = b.output("C", &[em, en]);
    let acc = b.buffer("C.local", Scope::Local, &[ti, tj]);
    let (xi, xj) = (b.e().ceildiv(em, ti), b.e().ceildiv(en, tj));
    // (global index, in-bounds guard) of tile position (i0, i1) with tile size t.
    let global = |b: &mut TreeBuilder, o: ExprId, t: ExprId, inner: ExprId, bound: ExprId| {
        let e = b.e();
        let base = e.mul(o, t);
        let g = e.add(base, inner);
        let ok = below(b, g, bound);
        (g, ok)
    };
    b.loop_("i.0", xi, LoopKind::Parallel, |b, i0| {
        b.loop_("j.0", xj, LoopKind::Serial, |b, j0| {
            b.loop_("i.1", ti, LoopKind::Serial, |b, i1| {
                b.loop_("j.1", tj, LoopKind::Vectorized, |b, j1| {
                    b.init(acc, &[i1, j1], Value::Const(0.0))
                });
            });
            b.loop_("k", ek, LoopKind::Serial, |b, kk| {
                b.loop_("i.1", ti, LoopKind::Unrolled, |b, i1| {
                    b.loop_("j.1", tj, LoopKind::Vectorized, |b, j1| {
                        let (gi, oki) = global(b, i0, ti, i1, em);
                        let (gj, okj) = global(b, j0, tj, j1, en);
                        let ok = b.e().and(oki, okj);
                        b.if_(ok, |b| {
                            let v = b.load(a, &[gi, kk]) * b.load(bb, &[kk, gj]);
                            b.accumulate(acc, &[i1, j1], v);
                        });
                    });
                });
            });
            b.loop_("i.1", ti, LoopKind::Serial, |b, i1| {
                b.loop_("j.1", tj, LoopKind::Vectorized, |b, j1| {
                    let (gi, oki) = global(b, i0, ti, i1, em);
                    let (gj, okj) = global(b, j0, tj, j1, en);
                    let ok = b.e().and(oki, okj);
                    b.if_(ok, |b| {
                        let v = b.load(acc, &[i1, j1]);
                        b.store(c, &[gi, gj], v);
                    });
                });
            });
        });
    });
    b.finish()
}

/// GPU multi-level tiling with schedule variables `sp_i_t`, `sp_j_t` (threads per block
/// along i and j), `sp_i_r`, `sp_j_r` (register tile per thread), `sp_k` (reduction tile)
/// and `ur` (unroll pragma of the inner reduction loop). Tiles of A and B are staged in
/// shared memory by all threads of the block (zero padded outside the matrices), with
/// barriers around the compute phase; each thread accumulates a `sp_i_r × sp_j_r` tile in
/// registers and writes it out under a bounds guard.
pub fn matmul_gpu_tiled(m: u32, n: u32, k: u32) -> LoopTree {
    let mut b = TreeBuilder::new("matmul_gpu");
    let (em, en, ek) = (b.c(m.into()), b.c(n.into()), b.c(k.into()));
    let (it, jt, ir, jr) = (
        b.sched_var("sp_i_t"),
        b.sched_var("sp_j_t"),
        b.sched_var("sp_i_r"),
        b.sched_var("sp_j_r"),
    );
    let (bk, ur) = (b.sched_var("sp_k"), b.sched_var("ur"));
    let a = b.input("A", &[em, ek]);
    let bb = b.input("B", &[ek, en]);
    let c = b.output("C", &[em, en]);
    let (bm, bn, nthreads) = {
        let e = b.e();
        (e.mul(it, ir), e.mul(jt, jr), e.mul(it, jt))
    };
    let a_s = b.buffer("A.shared", Scope::Shared, &[bm, bk]);
    let b_s = b.buffer("B.shared", Scope::Shared, &[bk, bn]);
    let acc = b.buffer("C.local", Scope::Local, &[ir, jr]);
    let (xi, xj, xk) = {
        let e = b.e();
        (e.ceildiv(em, bm), e.ceildiv(en, bn), e.ceildiv(ek, bk))
    };
    b.loop_("i.0", xi, LoopKind::BlockIdx(Axis3::Y), |b, i0| {
        b.loop_("j.0", xj, LoopKind::BlockIdx(Axis3::X), |b, j0| {
            b.loop_("i.1", it, LoopKind::ThreadIdx(Axis3::Y), |b, i1| {
                b.loop_("j.1", jt, LoopKind::ThreadIdx(Axis3::X), |b, j1| {
                    b.loop_("i.2", ir, LoopKind::Serial, |b, i2| {
                        b.loop_("j.2", jr, LoopKind::Serial, |b, j2| {
                            b.init(acc, &[i2, j2], Value::Const(0.0))
                        });
                    });
                    b.loop_("k.0", xk, LoopKind::Serial, |b, k0| {
                        let tid = {
                            let e = b.e();
                            let row = e.mul(i1, jt);
                            e.add(row, j1)
                        };
                        // Cooperative fetch of a rows × cols tile at (r0, c0) of `src` into `dst`.
                        let fetch = |b: &mut TreeBuilder,
                                     name: &str,
                                     dst,
                                     src,
                                     rows,
                                     cols,
                                     r0,
                                     c0,
                                     rmax,
                                     cmax| {
                            let size = b.e().mul(rows, cols);
                            let trips = b.e().ceildiv(size, nthreads);
                            b.loop_(name, trips, LoopKind::Serial, |b, f| {
                                let e = b.e();
                                let step = e.mul(f, nthreads);
                                let flat = e.add(step, tid);
                                let inside = e.lt(flat, size);
                                let r = e.floordiv(flat, cols);
                                let cc = e.modulo(flat, cols);
                                let gr = e.add(r0, r);
                                let gc = e.add(c0, cc);
                                let okr = e.lt(gr, rmax);
                                let okc = e.lt(gc, cmax);
                                let ok = e.and(okr, okc);
                                b.if_(inside, |b| {
                                    let v = Value::select(
                                        ok,
                                        b.load(src, &[gr, gc]),
                                        Value::Const(0.0),
                                    );
                                    b.store(dst, &[r, cc], v);
                                });
                            });
                        };
                        let (ai, ak, bkk, bj) = {
                            let e = b.e();
                            (e.mul(i0, bm), e.mul(k0, bk), e.mul(k0, bk), e.mul(j0, bn))
                        };
                        fetch(b, "ax.A", a_s, a, bm, bk, ai, ak, em, ek);
                        fetch(b, "ax.B", b_s, bb, bk, bn, bkk, bj, ek, en);
                        b.barrier();
                        b.loop_unroll("k.1", bk, LoopKind::Serial, Some(ur), |b, k1| {
                            b.loop_("i.2", ir, LoopKind::Serial, |b, i2| {
                                b.loop_("j.2", jr, LoopKind::Serial, |b, j2| {
                                    let e = b.e();
                                    let (ri, rj) = (e.mul(i1, ir), e.mul(j1, jr));
                                    let (si, sj) = (e.add(ri, i2), e.add(rj, j2));
                                    let v = b.load(a_s, &[si, k1]) * b.load(b_s, &[k1, sj]);
                                    b.accumulate(acc, &[i2, j2], v);
                                });
                            });
                        });
                        b.barrier();
                    });
                    b.loop_("i.2", ir, LoopKind::Serial, |b, i2| {
                        b.loop_("j.2", jr, LoopKind::Serial, |b, j2| {
                            let e = b.e();
                            let (bi, bj) = (e.mul(i0, bm), e.mul(j0, bn));
                            let (ri, rj) = (e.mul(i1, ir), e.mul(j1, jr));
                            let (x, y) = (e.add(bi, ri), e.add(bj, rj));
                            let (gi, gj) = (e.add(x, i2), e.add(y, j2));
                            let (oki, okj) = (e.lt(gi, em), e.lt(gj, en));
                            let ok = e.and(oki, okj);
                            b.if_(ok, |b| {
                                let v = b.load(acc, &[i2, j2]);
                                b.store(c, &[gi, gj], v);
                            });
                        });
                    });
                });
            });
        });
    });
    b.finish()
}
