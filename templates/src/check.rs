//! Structural checks of a [`ComputeDef`], so consumers (sketch rules, code
//! generators) can rely on its invariants without re-deriving them.

use crate::compute::{Combiner, ComputeDef, IndexExpr, Stage, TensorRole, ValueExpr};
use crate::error::TemplateError;

/// Inclusive range of each axis in scope.
type Ranges = Vec<(i64, i64)>;

impl ComputeDef {
    /// Checks the invariants every lowering guarantees:
    /// - exactly one output tensor, written by the last stage; every stage
    ///   writes a distinct non-input tensor whose shape equals its spatial
    ///   extents; tensors are read only after they are written;
    /// - `Combiner::None` stages have no reduction axes; all extents >= 1;
    /// - `Acc` appears only in `post`, `post` uses spatial axes only;
    /// - every load has one index per tensor dimension, indices use axes in
    ///   scope, divisors are >= 1 and a divided index has a pad value;
    /// - a load without `pad` is in bounds for every iteration (interval
    ///   bounds, narrowed inside a `Select` whose guard is a bare axis).
    pub fn validate(&self) -> Result<(), TemplateError> {
        let outputs = self
            .tensors
            .iter()
            .filter(|t| t.role == TensorRole::Output)
            .count();
        if outputs != 1 {
            return Err(bad(format!("{outputs} output tensors")));
        }
        if self.stages.last().map(|s| s.output) != Some(self.output()) {
            return Err(bad("the last stage does not write the output".into()));
        }
        let mut written = vec![false; self.tensors.len()];
        for (i, t) in self.tensors.iter().enumerate() {
            written[i] = t.role == TensorRole::Input;
        }
        for st in &self.stages {
            let decl = self
                .tensors
                .get(st.output)
                .ok_or_else(|| bad(format!("{}: bad output", st.name)))?;
            let extents: Vec<usize> = st.spatial.iter().map(|a| a.extent).collect();
            if written[st.output] || extents != decl.shape {
                return Err(bad(format!(
                    "{}: output written twice or shape mismatch",
                    st.name
                )));
            }
            if st.axes().any(|a| a.extent == 0)
                || (st.combiner == Combiner::None && !st.reduce.is_empty())
            {
                return Err(bad(format!("{}: bad axes", st.name)));
            }
            let all: Ranges = st.axes().map(|a| (0, a.extent as i64 - 1)).collect();
            self.check_expr(st, &st.body, &all, false, &written)?;
            self.check_expr(
                st,
                &st.post,
                &all[..st.spatial.len()].to_vec(),
                true,
                &written,
            )?;
            written[st.output] = true;
        }
        Ok(())
    }

    fn check_expr(
        &self,
        st: &Stage,
        e: &ValueExpr,
        ranges: &Ranges,
        in_post: bool,
        written: &[bool],
    ) -> Result<(), TemplateError> {
        let name = &st.name;
        match e {
            ValueExpr::Const(_) => Ok(()),
            ValueExpr::Acc if in_post => Ok(()),
            ValueExpr::Acc => Err(bad(format!("{name}: Acc in a body"))),
            ValueExpr::Unary(_, a) => self.check_expr(st, a, ranges, in_post, written),
            ValueExpr::Binary(_, a, b) => {
                self.check_expr(st, a, ranges, in_post, written)?;
                self.check_expr(st, b, ranges, in_post, written)
            }
            ValueExpr::Select {
                guard,
                then,
                otherwise,
            } => {
                bounds(&guard.index, ranges).ok_or_else(|| bad(format!("{name}: bad guard")))?;
                let (mut inside, mut outside) = (ranges.clone(), ranges.clone());
                if let [t] = guard.index.terms.as_slice() {
                    if t.coef == 1 && guard.index.offset == 0 && guard.index.div == 1 {
                        let (lo, hi) = ranges[t.axis];
                        inside[t.axis] = (lo.max(guard.lo), hi.min(guard.hi.saturating_sub(1)));
                        // The complement is one interval only if the guard
                        // touches an end of the axis range.
                        if guard.lo <= lo {
                            outside[t.axis] = (lo.max(guard.hi), hi);
                        } else if guard.hi > hi {
                            outside[t.axis] = (lo, hi.min(guard.lo - 1));
                        }
                    }
                }
                // A branch whose narrowed range is empty is unreachable.
                let reachable = |r: &Ranges| r.iter().all(|(a, b)| a <= b);
                if reachable(&inside) {
                    self.check_expr(st, then, &inside, in_post, written)?;
                }
                if reachable(&outside) {
                    self.check_expr(st, otherwise, &outside, in_post, written)?;
                }
                Ok(())
            }
            ValueExpr::Load { tensor, index, pad } => {
                let decl = self
                    .tensors
                    .get(*tensor)
                    .ok_or_else(|| bad(format!("{name}: bad tensor id")))?;
                if !written[*tensor] || index.len() != decl.shape.len() {
                    return Err(bad(format!(
                        "{name}: load of {} unwritten or wrong rank",
                        decl.name
                    )));
                }
                for (ix, &dim) in index.iter().zip(&decl.shape) {
                    let (lo, hi) = bounds(ix, ranges)
                        .ok_or_else(|| bad(format!("{name}: bad index into {}", decl.name)))?;
                    if pad.is_none() && (ix.div != 1 || lo < 0 || hi >= dim as i64) {
                        return Err(bad(format!(
                            "{name}: unguarded load of {} may be out of bounds",
                            decl.name
                        )));
                    }
                }
                Ok(())
            }
        }
    }
}

/// Interval of an index over the axis ranges (`None`: axis out of scope,
/// divisor < 1, or an empty range).
fn bounds(ix: &IndexExpr, ranges: &Ranges) -> Option<(i64, i64)> {
    if ix.div < 1 {
        return None;
    }
    let (mut lo, mut hi) = (ix.offset, ix.offset);
    for t in &ix.terms {
        let &(a, b) = ranges.get(t.axis)?;
        if a > b {
            return None;
        }
        let (x, y) = (t.coef * a, t.coef * b);
        lo += x.min(y);
        hi += x.max(y);
    }
    Some((lo.div_euclid(ix.div), hi.div_euclid(ix.div)))
}

fn bad(msg: String) -> TemplateError {
    TemplateError::Eval(format!("invalid compute definition: {msg}"))
}
