//! Walkers over a [`LoopTree`]: loops and stores with their enclosing context, and the
//! allocation site of every buffer.

use super::{BufferId, Loop, LoopTree, Scope, Stmt, Store};
use crate::expr::ExprId;

/// Identity of a loop: its position in a pre-order walk of the tree (0 = first loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoopId(pub usize);

/// A loop with its context.
#[derive(Clone, Debug)]
pub struct LoopCtx<'a> {
    /// Pre-order id of the loop.
    pub id: LoopId,
    /// Enclosing loops, outermost first (not including `lp`).
    pub path: Vec<&'a Loop>,
    /// Ids of the enclosing loops (parallel to `path`).
    pub path_ids: Vec<LoopId>,
    /// Conditions of the enclosing `If`s, outermost first.
    pub guards: Vec<ExprId>,
    /// The loop.
    pub lp: &'a Loop,
}

/// A store with its context.
#[derive(Clone, Debug)]
pub struct StoreCtx<'a> {
    /// Enclosing loops, outermost first.
    pub path: Vec<&'a Loop>,
    /// Ids of the enclosing loops (parallel to `path`).
    pub path_ids: Vec<LoopId>,
    /// Conditions of the enclosing `If`s, outermost first.
    pub guards: Vec<ExprId>,
    /// The store.
    pub store: &'a Store,
}

/// Where a buffer is allocated (see the module documentation of [`super`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocSite {
    /// Once for the whole program (global buffers; CPU locals with no parallel loop).
    Program,
    /// Fresh at the start of every iteration of this loop.
    Loop(LoopId),
    /// The buffer is never used.
    Unused,
    /// No legal site: a shared buffer with no enclosing `BlockIdx` loop (a verifier error).
    Missing,
}

/// The context handed to a walk callback.
pub(crate) struct Walk<'a> {
    pub loops: Vec<(LoopId, &'a Loop)>,
    pub guards: Vec<ExprId>,
    next_id: usize,
}

impl<'a> Walk<'a> {
    /// Walks `body` in pre-order; `f(ctx, stmt, id)` sees each statement before its children,
    /// with `id` the loop id for loops.
    pub(crate) fn run(body: &'a [Stmt], f: &mut impl FnMut(&Walk<'a>, &'a Stmt, Option<LoopId>)) {
        let mut w = Walk {
            loops: Vec::new(),
            guards: Vec::new(),
            next_id: 0,
        };
        w.go(body, f);
    }

    fn go(&mut self, body: &'a [Stmt], f: &mut impl FnMut(&Walk<'a>, &'a Stmt, Option<LoopId>)) {
        for s in body {
            match s {
                Stmt::Loop(lp) => {
                    let id = LoopId(self.next_id);
                    self.next_id += 1;
                    f(self, s, Some(id));
                    self.loops.push((id, lp));
                    self.go(&lp.body, f);
                    self.loops.pop();
                }
                Stmt::If { cond, then } => {
                    f(self, s, None);
                    self.guards.push(*cond);
                    self.go(then, f);
                    self.guards.pop();
                }
                Stmt::Store(_) | Stmt::Barrier => f(self, s, None),
            }
        }
    }

    pub(crate) fn path(&self) -> Vec<&'a Loop> {
        self.loops.iter().map(|&(_, l)| l).collect()
    }

    pub(crate) fn path_ids(&self) -> Vec<LoopId> {
        self.loops.iter().map(|&(i, _)| i).collect()
    }
}

impl LoopTree {
    /// Every loop in pre-order (so `loops()[k].id == LoopId(k)`), with its context.
    pub fn loops(&self) -> Vec<LoopCtx<'_>> {
        let mut out = Vec::new();
        Walk::run(&self.body, &mut |w, s, id| {
            if let (Stmt::Loop(lp), Some(id)) = (s, id) {
                out.push(LoopCtx {
                    id,
                    path: w.path(),
                    path_ids: w.path_ids(),
                    guards: w.guards.clone(),
                    lp,
                });
            }
        });
        out
    }

    /// Every store in program order, with its enclosing loops and guards.
    pub fn stores(&self) -> Vec<StoreCtx<'_>> {
        let mut out = Vec::new();
        Walk::run(&self.body, &mut |w, s, _| {
            if let Stmt::Store(store) = s {
                out.push(StoreCtx {
                    path: w.path(),
                    path_ids: w.path_ids(),
                    guards: w.guards.clone(),
                    store,
                });
            }
        });
        out
    }

    /// The allocation site of every buffer, indexed by [`BufferId`] (the rule is in the
    /// module documentation of [`super`]).
    pub fn alloc_sites(&self) -> Vec<AllocSite> {
        // For each buffer: the loop stack common to all its uses so far.
        let mut common: Vec<Option<Vec<(LoopId, &Loop)>>> = vec![None; self.buffers.len()];
        Walk::run(&self.body, &mut |w, s, _| {
            if let Stmt::Store(st) = s {
                let mut used: Vec<BufferId> = vec![st.buffer];
                used.extend(st.value.loads().into_iter().map(|(b, _)| b));
                for b in used {
                    let Some(slot) = common.get_mut(b.index()) else {
                        continue;
                    };
                    match slot {
                        None => *slot = Some(w.loops.clone()),
                        Some(c) => {
                            let n = c
                                .iter()
                                .zip(&w.loops)
                                .take_while(|(a, b)| a.0 == b.0)
                                .count();
                            c.truncate(n);
                        }
                    }
                }
            }
        });
        self.buffers
            .iter()
            .zip(common)
            .map(|(buf, c)| {
                let Some(c) = c else { return AllocSite::Unused };
                let deepest = |pred: &dyn Fn(&Loop) -> bool| {
                    c.iter().rev().find(|(_, l)| pred(l)).map(|&(id, _)| id)
                };
                match buf.scope {
                    Scope::Global => AllocSite::Program,
                    Scope::Shared => {
                        deepest(&|l| l.kind.is_block()).map_or(AllocSite::Missing, AllocSite::Loop)
                    }
                    Scope::Local => deepest(&|l| l.kind.owns_locals())
                        .map_or(AllocSite::Program, AllocSite::Loop),
                }
            })
            .collect()
    }
}
