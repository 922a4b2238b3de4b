//! Recognition of *row operators*: a chain of reduction stages over shared row axes, optionally
//! ending with one map stage over `rows × columns` (the structure of the parent module's docs).

use tilegrad_symbolic::{BufferId, ExprId, TreeBuilder, Value};

use crate::compute::{Combiner, ComputeDef, IndexExpr, Stage, TensorId, TensorRole, ValueExpr};
use crate::rules::lower::{is_bare_axis, lower_load, lower_value_with};
use crate::{Result, TemplateError};

/// One stage of a row operator.
#[derive(Clone, Debug)]
pub(crate) struct RowStage<'a> {
    pub stage: &'a Stage,
    /// A reduction (columns = its reduction axes) or the final map (columns = its spatial
    /// axes after the row axes).
    pub reduce: bool,
    /// Column axes as `(name, extent)`.
    pub cols: Vec<(String, usize)>,
}

impl RowStage<'_> {
    /// Number of columns (product of the column extents; 1 if none).
    pub fn width(&self) -> u64 {
        self.cols.iter().map(|c| c.1 as u64).product()
    }
}

/// A recognised row operator.
#[derive(Clone, Debug)]
pub(crate) struct RowPlan<'a> {
    pub def: &'a ComputeDef,
    /// Row axes `(name, extent)` (the spatial axes of every reduction stage).
    pub rows: Vec<(String, usize)>,
    pub stages: Vec<RowStage<'a>>,
    /// Some reduction axis is combined with another axis in one load index (pooling
    /// windows): only thread-per-output is offered.
    pub windowed: bool,
}

fn extents(axes: &[crate::compute::Axis]) -> Vec<usize> {
    axes.iter().map(|a| a.extent).collect()
}

fn named(axes: &[crate::compute::Axis]) -> Vec<(String, usize)> {
    axes.iter().map(|a| (a.name.clone(), a.extent)).collect()
}

/// Whether `index` is exactly the row coordinates `[axis 0, …, axis nr−1]`.
fn is_row_index(index: &[IndexExpr], nr: usize) -> bool {
    index.len() == nr
        && index
            .iter()
            .enumerate()
            .all(|(k, ix)| is_bare_axis(ix) && ix.terms[0].axis == k)
}

impl<'a> RowPlan<'a> {
    /// The row plan of `def`, or `None` when it is not a row operator.
    pub(crate) fn analyze(def: &'a ComputeDef) -> Option<RowPlan<'a>> {
        let first = def.stages.iter().find(|s| s.combiner != Combiner::None)?;
        let nr = first.spatial.len();
        let row_ext = extents(&first.spatial);
        let last = def.stages.len() - 1;
        let mut stages = Vec::new();
        let mut written: Vec<TensorId> = Vec::new();
        let mut windowed = false;
        for (k, s) in def.stages.iter().enumerate() {
            if s.spatial.len() < nr || extents(&s.spatial[..nr]) != row_ext {
                return None;
            }
            let reduce = s.combiner != Combiner::None;
            if !reduce && (k != last || !s.reduce.is_empty()) {
                return None;
            }
            if reduce && s.spatial.len() != nr {
                return None;
            }
            let role = def.tensors.get(s.output)?.role;
            let want = if k == last {
                TensorRole::Output
            } else {
                TensorRole::Intermediate
            };
            if role != want {
                return None;
            }
            let mut ok = true;
            let mut check = |e: &ValueExpr| {
                if let ValueExpr::Load { tensor, index, .. } = e {
                    let inter = def
                        .tensors
                        .get(*tensor)
                        .is_none_or(|t| t.role != TensorRole::Input);
                    if inter && !(written.contains(tensor) && is_row_index(index, nr)) {
                        ok = false;
                    }
                    if reduce {
                        let n_sp = s.spatial.len();
                        windowed |= index.iter().any(|ix| {
                            ix.terms.len() > 1 && ix.terms.iter().any(|t| t.axis >= n_sp)
                        });
                    }
                }
            };
            s.body.visit(&mut check);
            s.post.visit(&mut check);
            if !ok {
                return None;
            }
            let cols = if reduce {
                named(&s.reduce)
            } else {
                named(&s.spatial[nr..])
            };
            stages.push(RowStage {
                stage: s,
                reduce,
                cols,
            });
            written.push(s.output);
        }
        Some(RowPlan {
            def,
            rows: named(&first.spatial),
            stages,
            windowed,
        })
    }

    /// Number of rows.
    pub fn height(&self) -> u64 {
        self.rows.iter().map(|r| r.1 as u64).product()
    }

    /// Lowers `e` at global axis coordinates `axes`: loads of inputs read global memory,
    /// loads of intermediates (always at the current row) read `locals[tensor][0]`.
    pub(crate) fn lower(
        &self,
        b: &mut TreeBuilder,
        bufs: &[Option<BufferId>],
        locals: &[Option<BufferId>],
        e: &ValueExpr,
        axes: &[ExprId],
        acc: Option<&Value>,
    ) -> Result<Value> {
        lower_value_with(b, e, axes, acc, &mut |b, tensor, index, pad| {
            if let Some(l) = locals.get(tensor).copied().flatten() {
                let zero = b.c(0.0);
                return Ok(Value::load(l, &[zero]));
            }
            let buf = bufs.get(tensor).copied().flatten().ok_or_else(|| {
                TemplateError::Schedule(format!("gpu-reduce: tensor {tensor} has no buffer"))
            })?;
            lower_load(b, self.def, buf, tensor, index, pad, axes)
        })
    }
}
