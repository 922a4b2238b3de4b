//! Explicit unroll-and-jam of register tiles: a chain of unrolled loops ending in one
//! vectorized loop, printed as straight-line code with constant offsets and named input loads.

use tilegrad_symbolic::looptree::{Loop, LoopKind, Stmt, Store};
use tilegrad_symbolic::Var;

use super::c::Emitter;
use super::c_vec::MAX_UNROLLED_CHUNKS;
use crate::MeasureError;

/// The shape of a register tile.
pub(super) struct Jam<'a> {
    /// The unrolled loops, outermost first, with their extents (empty when the tile is the
    /// vectorized loop alone).
    pub chain: Vec<(Var, i64)>,
    /// The vectorized loop at the end of the chain.
    pub inner: &'a Loop,
    /// Its extent (a multiple of the vector width).
    pub ej: i64,
}

impl Jam<'_> {
    /// Vector chunks in the whole tile (one accumulator each for a register tile).
    pub fn chunks(&self, lanes: i64) -> i64 {
        let points: i64 = self.chain.iter().map(|&(_, e)| e).product();
        points * (self.ej / lanes.max(1))
    }
}

impl Emitter<'_> {
    /// Whether temporaries are allocated at loop `l`.
    pub(super) fn has_allocs(&self, l: &Loop) -> bool {
        let id = self.loop_ids.get(&(l as *const Loop)).copied();
        id.is_some_and(|i| self.allocs.get(&i).is_some_and(|a| !a.is_empty()))
    }

    /// The tile rooted at `l` (body `body`, `extent` iterations): `l` and a chain of unguarded
    /// [`LoopKind::Unrolled`] loops ending in one vectorized loop of a constant extent (a
    /// multiple of the vector width), at most `2 · MAX_UNROLLED_CHUNKS` chunks. With
    /// `vector_root`, `l` may be the vectorized loop itself.
    pub(super) fn jam_shape<'a>(
        &self,
        l: &'a Loop,
        body: &'a [Stmt],
        extent: i64,
        vector_root: bool,
    ) -> Option<Jam<'a>> {
        let w = self.lanes as i64;
        let (chain, inner) = if vector_root && l.kind == LoopKind::Vectorized {
            (Vec::new(), l)
        } else {
            let mut chain = vec![(l.var, extent)];
            let mut body = body;
            let inner = loop {
                let [Stmt::Loop(inner)] = body else {
                    return None;
                };
                if inner.kind == LoopKind::Vectorized {
                    break inner;
                }
                let e = self.tree.const_int(inner.extent).unwrap_or(0);
                if inner.kind != LoopKind::Unrolled || e <= 0 || self.has_allocs(inner) {
                    return None;
                }
                chain.push((inner.var, e));
                body = &inner.body;
            };
            (chain, inner)
        };
        let ej = self.tree.const_int(inner.extent).unwrap_or(0);
        if w < 2 || ej <= 0 || ej % w != 0 {
            return None;
        }
        let jam = Jam { chain, inner, ej };
        (jam.chunks(w) <= MAX_UNROLLED_CHUNKS * 2).then_some(jam)
    }

    /// Calls `f` on every store of the tile at every (point, vector chunk), with the tile's
    /// variables pinned to that point (the vectorized one to the chunk's first lane).
    /// Returns false (calling nothing) when the stores do not vectorize.
    pub(super) fn jam_each(
        &mut self,
        jam: &Jam<'_>,
        mut f: impl FnMut(&mut Self, &Store) -> Result<(), MeasureError>,
    ) -> Result<bool, MeasureError> {
        let w = self.lanes as i64;
        let chain = &jam.chain;
        let jv = jam.inner.var.index();
        let saved: Vec<_> = chain.iter().map(|(v, _)| self.bounds[v.index()]).collect();
        let saved_j = self.bounds[jv].replace((0, jam.ej - 1));
        for &(v, e) in chain {
            self.bounds[v.index()] = Some((0, e - 1));
        }
        let restore = |em: &mut Self| {
            for (&(v, _), s) in chain.iter().zip(&saved) {
                em.bounds[v.index()] = *s;
            }
            em.bounds[jv] = saved_j;
        };
        let stores = match self.vec_stores(&jam.inner.body, jam.inner.var) {
            Ok(Some(s)) => s,
            other => {
                restore(self);
                return other.map(|_| false);
            }
        };
        let points: i64 = chain.iter().map(|&(_, e)| e).product();
        let mut result = Ok(true);
        'all: for p in 0..points {
            // Row-major digits of `p` over the chain's extents.
            let mut rest = p;
            for &(v, e) in chain.iter().rev() {
                self.bounds[v.index()] = Some((rest % e, rest % e));
                rest /= e;
            }
            for q in 0..jam.ej / w {
                self.bounds[jv] = Some((q * w, q * w));
                for st in &stores {
                    if let Err(e) = f(self, st) {
                        result = Err(e);
                        break 'all;
                    }
                }
            }
        }
        restore(self);
        result
    }

    /// Explicit unroll-and-jam of a fully unrolled loop `l` whose body is a chain of
    /// unguarded [`LoopKind::Unrolled`] loops (possibly none) ending in one vectorized loop of
    /// a constant extent (a multiple of the vector width) over vectorizable stores: every
    /// (iteration, vector chunk) is printed with constant offsets, and the input loads and
    /// broadcasts are named once at the top of the block, so that a register tile
    /// (`acc[i][j] += A[i] * B[j]`) loads each `B` vector once instead of once per row.
    /// Returns false (printing nothing) when `l` does not have that shape. With
    /// `vector_root`, `l` may be the vectorized loop itself (a one-row register tile).
    pub(super) fn try_unroll_jam(
        &mut self,
        l: &Loop,
        body: &[Stmt],
        extent: i64,
        vector_root: bool,
    ) -> Result<bool, MeasureError> {
        let Some(jam) = self.jam_shape(l, body, extent, vector_root) else {
            return Ok(false);
        };
        let v = jam.inner.var;
        self.lane_var.set(Some((v, (0, jam.ej - 1))));
        self.cse.replace(Some(Vec::new()));
        let ty = format!("v{}f", self.lanes);
        let mut lines = Vec::new();
        let done = self.jam_each(&jam, |em, st| {
            let before = em.cse.borrow().as_ref().map_or(0, |n| n.len());
            let s = em.vector_store(st, v)?;
            // Declare the values this line names first just before it, so that only the
            // live ones occupy registers (a broadcast per row).
            if let Some(named) = em.cse.borrow().as_ref() {
                for (t, n) in &named[before..] {
                    lines.push(format!("const {ty} {n} = {t};"));
                }
            }
            lines.push(s);
            Ok(())
        });
        self.lane_var.set(None);
        self.cse.take();
        if !done? {
            return Ok(false);
        }
        self.block("{", &lines);
        Ok(true)
    }
}
