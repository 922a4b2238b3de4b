//! Loops: pragmas (OpenMP, unrolling), guard hoisting, allocation of temporaries at their
//! site, single-iteration loops printed without a loop.

use tilegrad_symbolic::looptree::{BufferId, Loop, LoopKind, Stmt};

use super::c::Emitter;
use crate::MeasureError;

impl Emitter<'_> {
    /// The iteration count of `l`'s nest: its extent times the largest count of a child nest.
    fn steps(&self, l: &Loop) -> i64 {
        fn inner(em: &Emitter<'_>, body: &[Stmt]) -> i64 {
            body.iter()
                .map(|s| match s {
                    Stmt::Loop(l) => em.steps(l),
                    Stmt::If { then, .. } => inner(em, then),
                    _ => 1,
                })
                .max()
                .unwrap_or(1)
        }
        let extent = self.tree.const_int(l.extent).unwrap_or(1);
        // A vectorized loop runs one step per vector.
        let own = match l.kind {
            LoopKind::Vectorized if self.lanes >= 2 => {
                (extent / self.lanes as i64 + extent % self.lanes as i64).max(1)
            }
            _ => extent,
        };
        own.saturating_mul(inner(self, &l.body))
    }

    pub(super) fn emit_loop(&mut self, l: &Loop) -> Result<(), MeasureError> {
        let extent = self.tree.const_int(l.extent).unwrap_or(1);
        let v = l.var.index();
        let saved = self.bounds[v].replace((0, extent - 1));
        let saved_budget = self.unroll_budget;
        if let Some(n) = l.unroll_max_step.and_then(|u| self.tree.const_int(u)) {
            self.unroll_budget = Some(n);
        }
        let r = match self.try_promote(l, extent) {
            Ok(true) => Ok(()),
            Ok(false) => self.emit_loop_inner(l, extent),
            Err(e) => Err(e),
        };
        self.unroll_budget = saved_budget;
        self.bounds[v] = saved;
        r
    }

    pub(super) fn emit_loop_inner(&mut self, l: &Loop, extent: i64) -> Result<(), MeasureError> {
        let Some(h) = self.hoist(l, extent)? else {
            return Ok(()); // the guard never holds: the loop does nothing
        };
        if self.promote_tile.get() == Some(l as *const Loop) {
            // The register tile of a promoted nest: its shape was checked.
            if self.try_unroll_jam(l, h.body, extent, true)? {
                return Ok(());
            }
            return Err(MeasureError::Invalid(
                "codegen: a promoted register tile cannot be unrolled".into(),
            ));
        }
        let id = self.loop_ids.get(&(l as *const Loop)).copied();
        let allocs = id
            .and_then(|i| self.allocs.get(&i))
            .cloned()
            .unwrap_or_default();
        let var = self.var_name(l.var);
        if extent == 1 {
            // A single iteration: no loop, the variable is the constant 0 in every index.
            return self.scoped(&allocs, |em| em.stmts(&l.body));
        }
        let full_unroll =
            l.kind == LoopKind::Unrolled || self.unroll_budget.is_some_and(|b| self.steps(l) <= b);
        let unguarded = h.outer.is_empty() && h.lo.is_empty() && h.hi.is_empty();
        if full_unroll
            && unguarded
            && h.inner.is_empty()
            && allocs.is_empty()
            && self.try_unroll_jam(l, h.body, extent, false)?
        {
            return Ok(());
        }
        let outer = h.outer.clone();
        self.guarded(&outer, |em| {
            let (lo, hi) = em.bound_names(&var, &h, extent)?;
            if l.kind == LoopKind::Vectorized && allocs.is_empty() {
                return em.vector_loop(l, &var, &lo, &hi, extent, &h);
            }
            match l.kind {
                LoopKind::Parallel => {
                    em.uses_omp = true;
                    em.line("#pragma omp parallel for");
                }
                LoopKind::Unrolled => em.line(&format!("#pragma GCC unroll {extent}")),
                _ if extent > 1 && em.unroll_budget.is_some_and(|b| em.steps(l) <= b) => {
                    em.line(&format!("#pragma GCC unroll {extent}"))
                }
                _ => {}
            }
            em.line(&format!(
                "for (long {var} = {lo}; {var} < {hi}; ++{var}) {{"
            ));
            em.indent += 1;
            for &b in &allocs {
                em.declare(b);
            }
            em.hoisted_body(&h)?;
            for &b in allocs.iter().rev() {
                em.release(b);
            }
            em.indent -= 1;
            em.line("}");
            Ok(())
        })
    }

    /// Runs `f` in a `{ … }` block declaring `allocs` (no block when there are none).
    fn scoped(
        &mut self,
        allocs: &[BufferId],
        f: impl FnOnce(&mut Self) -> Result<(), MeasureError>,
    ) -> Result<(), MeasureError> {
        if allocs.is_empty() {
            return f(self);
        }
        self.line("{");
        self.indent += 1;
        for &b in allocs {
            self.declare(b);
        }
        f(self)?;
        for &b in allocs.iter().rev() {
            self.release(b);
        }
        self.indent -= 1;
        self.line("}");
        Ok(())
    }
}
