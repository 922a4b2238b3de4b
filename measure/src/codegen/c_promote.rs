//! Register promotion of accumulator tiles.
//!
//! A loop `L` whose body is a chain of single loops (the reduction loops `R1`, and `R0`/`S2`
//! loops where they are there) ending in a register tile (the shape of
//! [`Emitter::try_unroll_jam`]) whose stores all accumulate (`acc[x] = acc[x] + v`) into
//! elements that do not depend on `L` or the loops of the chain is printed as
//!
//! ```c
//! {
//!     v8f tg_acc0 = tg_load(&acc[x0]);   /* one per accumulator vector */
//!     for (L) … for (R1) { const v8f tg_r0 = …; tg_acc0 += tg_r0 * tg_r1; … }
//!     tg_store(&acc[x0], tg_acc0);
//! }
//! ```
//!
//! so the loop body is pure loads, broadcasts and FMAs on named locals, which GCC keeps in
//! registers (through a buffer it reloads and stores them every iteration). The order of the
//! additions into each element is unchanged, so results are bit-identical.

use tilegrad_symbolic::looptree::{BufferId, Loop, LoopKind, Stmt, Value};
use tilegrad_symbolic::Var;

use super::c::Emitter;
use super::c_expr::Linear;
use crate::MeasureError;

/// Most accumulator vectors promoted (the AVX2 register file has 16).
const MAX_ACCUMULATORS: i64 = 16;

/// Whether `v` loads from one of `bufs`.
fn loads_any(v: &Value, bufs: &[BufferId]) -> bool {
    match v {
        Value::Const(_) | Value::Index(_) => false,
        Value::Load { buffer, .. } => bufs.contains(buffer),
        Value::Unary(_, a) => loads_any(a, bufs),
        Value::Binary(_, a, b) => loads_any(a, bufs) || loads_any(b, bufs),
        Value::Select { then, else_, .. } => loads_any(then, bufs) || loads_any(else_, bufs),
    }
}

impl Emitter<'_> {
    /// The accumulator variable of the promoted store target `ptr` (`&buf[offset]`);
    /// `Ok(None)` outside a promoted nest, an error for a target that was not promoted
    /// (which would be lost when the accumulators are stored back).
    pub(super) fn promoted_acc(
        &self,
        buffer: BufferId,
        ptr: &str,
    ) -> Result<Option<String>, MeasureError> {
        let promoted = self.promoted.borrow();
        let Some((bufs, accs)) = promoted.as_ref() else {
            return Ok(None);
        };
        if !bufs.contains(&buffer) {
            return Ok(None);
        }
        match accs.iter().find(|(p, _)| p == ptr) {
            Some((_, n)) => Ok(Some(n.clone())),
            None => Err(MeasureError::Invalid(format!(
                "codegen: store to `{ptr}` inside a promoted register tile has no accumulator"
            ))),
        }
    }

    /// Prints loop `l` (its variable's range in scope) with its register tile promoted, if
    /// it has the shape of the module docs; returns false (printing nothing) otherwise.
    pub(super) fn try_promote(&mut self, l: &Loop, extent: i64) -> Result<bool, MeasureError> {
        if self.lanes < 2
            || self.promoted.borrow().is_some()
            || !matches!(l.kind, LoopKind::Serial)
            || self.has_allocs(l)
        {
            return Ok(false);
        }
        let mut chain: Vec<(Var, i64)> = Vec::new();
        let mut cur = l;
        let tile = loop {
            let [Stmt::Loop(c)] = cur.body.as_slice() else {
                return Ok(false);
            };
            match c.kind {
                LoopKind::Unrolled | LoopKind::Vectorized => break c,
                LoopKind::Serial => {}
                _ => return Ok(false),
            }
            let e = self.tree.const_int(c.extent).unwrap_or(0);
            if e < 1 || self.has_allocs(c) {
                return Ok(false);
            }
            chain.push((c.var, e));
            cur = c;
        };
        if extent <= 1 && chain.iter().all(|&(_, e)| e <= 1) {
            return Ok(false);
        }
        let saved: Vec<_> = chain.iter().map(|(v, _)| self.bounds[v.index()]).collect();
        for &(v, e) in &chain {
            self.bounds[v.index()] = Some((0, e - 1));
        }
        let mut red: Vec<Var> = chain.iter().map(|&(v, _)| v).collect();
        red.push(l.var);
        let targets = self.promotion_targets(tile, &red);
        for (&(v, _), s) in chain.iter().zip(&saved) {
            self.bounds[v.index()] = *s;
        }
        let Some(targets) = targets? else {
            return Ok(false);
        };
        let ty = format!("v{}f", self.lanes);
        let accs: Vec<(String, String)> = targets
            .iter()
            .enumerate()
            .map(|(k, (_, _, ptr))| (ptr.clone(), format!("tg_acc{k}")))
            .collect();
        let mut bufs: Vec<BufferId> = Vec::new();
        for t in &targets {
            if !bufs.contains(&t.0) {
                bufs.push(t.0);
            }
        }
        self.line("{");
        self.indent += 1;
        for (ptr, name) in &accs {
            self.line(&format!("{ty} {name} = tg_load({ptr});"));
        }
        self.promoted.replace(Some((bufs, accs.clone())));
        self.promote_tile.set(Some(tile as *const Loop));
        let r = self.emit_loop_inner(l, extent);
        self.promoted.take();
        self.promote_tile.set(None);
        r?;
        for (ptr, name) in &accs {
            self.line(&format!("tg_store({ptr}, {name});"));
        }
        self.indent -= 1;
        self.line("}");
        Ok(true)
    }

    /// The distinct targets `(buffer, offset, "&buf[offset]")` of the register tile `tile`
    /// when every store accumulates into an element independent of the variables `red`, no
    /// value reads a target buffer and distinct targets do not overlap; `None` otherwise.
    #[allow(clippy::type_complexity)]
    fn promotion_targets(
        &mut self,
        tile: &Loop,
        red: &[Var],
    ) -> Result<Option<Vec<(BufferId, Linear, String)>>, MeasureError> {
        let extent = self.tree.const_int(tile.extent).unwrap_or(0);
        let Some(jam) = self.jam_shape(tile, &tile.body, extent, true) else {
            return Ok(None);
        };
        let w = self.lanes as i64;
        if jam.chunks(w) > MAX_ACCUMULATORS {
            return Ok(None);
        }
        let stored: Vec<BufferId> = jam
            .inner
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::Store(st) => Some(st.buffer),
                _ => None,
            })
            .collect();
        let mut targets: Vec<(BufferId, Linear, String)> = Vec::new();
        let mut ok = true;
        let vectorizes = self.jam_each(&jam, |em, st| {
            if em.accumulated(st).is_none_or(|r| loads_any(r, &stored)) {
                ok = false;
                return Ok(());
            }
            let off = em.offset(st.buffer, &st.index)?;
            if red
                .iter()
                .any(|&v| off.coef(v) != 0 || em.atoms_depend(&off, v))
            {
                ok = false;
                return Ok(());
            }
            let ptr = format!(
                "&{}[{}]",
                em.buf_names[st.buffer.index()],
                em.print_linear(&off)?.0
            );
            if !targets.iter().any(|t| t.2 == ptr) {
                targets.push((st.buffer, off, ptr));
            }
            Ok(())
        })?;
        if !vectorizes || !ok {
            return Ok(None);
        }
        // Distinct targets of one buffer must be whole vectors apart.
        for (a, ta) in targets.iter().enumerate() {
            for tb in &targets[..a] {
                if ta.0 != tb.0 {
                    continue;
                }
                let mut d = ta.1.clone();
                d.add_scaled(&tb.1, -1);
                if d.as_const().is_none_or(|d| d.abs() < w) {
                    return Ok(None);
                }
            }
        }
        Ok(Some(targets))
    }
}
