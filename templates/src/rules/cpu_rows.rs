//! The row-parallel CPU sketch `cpu-simple/rows` (see [`super::cpu_simple`] for when it
//! applies).
//!
//! # Structure
//! The *row axes* are the first `nrow` spatial axes shared by every stage: the spatial axes
//! of the intermediate stages of a multi-stage operator (the row `i` of softmax and layer /
//! RMS norm), or, for a single stage, every spatial axis except the last when that one is
//! contiguous (see [`contiguous`]; `c` of an NHWC pooling), else every spatial axis. The rows
//! of extent > 1 are fused and split into `[P, S]` with the group `sp_<rows>`
//! (`sp_<rows>_0 = S`, rows per parallel iteration; `<rows>` = their names joined by `_`, or
//! `rows`). The stages then run one after the other for each row (softmax):
//!
//! ```text
//! for i.0 in 0..P @parallel {
//!  for i.1 in 0..S {                           // row = i.0·S + i.1 (unflattened)
//!   // a reduction over the contiguous j: vector lanes (super::cpu_lanes), rd_j_0 = L
//!   for j.1 in L @vectorized { softmax_max.acc[j.1] = −∞ }
//!   for j.0 in ⌊N/L⌋ { for j.1 in L @vectorized { softmax_max.acc[j.1] = max(…, body) }}
//!   for j.t in N − ⌊N/L⌋·L { softmax_max.acc[j.t] = max(…, body) }   // the tail
//!   softmax_max.total[0] = −∞; for j.l in L { softmax_max.total[0] = max(…, acc[j.l]) }
//!   softmax_max.local[0] = post(softmax_max.total[0])
//!   …
//!   // the last stage, inner axis `j` contiguous: split [j.0, j.1] with sp_j_0 = V
//!   for j.0 in N/V { for j.1 in V @vectorized { out[i, j] = post(body) } }
//! }}
//! ```
//! Each intermediate tensor becomes a [`Scope::Local`] buffer `<tensor>.local` of shape `[1]`
//! (one value per row, allocated per parallel iteration); every later load of it reads
//! element 0. A reduction stage accumulates in `<stage>.acc` ([`Scope::Local`]). When the
//! stage's last spatial axis is vectorized (pooling: `c`), the accumulator is `[V]` and the
//! serial reduction loops enclose the vector loop
//! (`for r, s { for c.1 @vectorized { acc[c.1] = … }}`), so that a reduction over a
//! non-contiguous axis (pooling windows, global pooling) still runs vector code on the
//! contiguous one. Otherwise, when its last reduction axis is contiguous (softmax, the norms),
//! it reduces in vector lanes as above ([`super::cpu_lanes`]); else serially into `acc[0]`.
//!
//! # Space
//! `sp_<rows>`, one group `sp_<a>` (one factor, `≤ 64`: constraint `innermost_<a>`) per
//! vectorized axis, and one choice `rd_<r>_0` (the lanes) per lane-split reduction axis.

use tilegrad_symbolic::{BufferId, ExprId, LogTerm, LoopKind, Scope, Space, TreeBuilder, Value};

use super::cpu_lanes::{kept_row, lane_split, LaneSplit, KEPT_ROW};
use super::lower::MAX_INNERMOST;
use super::lower::{
    declare_tensors, flatten, init_value, loop_nest, lower_load, lower_value_with, unflatten,
    update, LoopSpec,
};
use crate::compute::{AxisId, ComputeDef, IndexExpr, Stage, TensorRole};
use crate::sketch::Sketch;
use crate::{Result, TemplateError, Workload};

pub(crate) fn err(e: impl std::fmt::Display) -> TemplateError {
    TemplateError::Schedule(format!("cpu-simple/rows: {e}"))
}

/// Whether spatial `axis` of `stage` is contiguous in memory for every load that uses it:
/// it appears only in the last index dimension, with coefficient 1 and no divisor.
pub fn contiguous(stage: &Stage, axis: AxisId) -> bool {
    let mut ok = true;
    for e in [&stage.body, &stage.post] {
        for (_, index, _) in e.loads() {
            for (d, ix) in index.iter().enumerate() {
                if ix.axes().any(|a| a == axis) {
                    ok &= d + 1 == index.len()
                        && ix.div == 1
                        && ix.terms.iter().all(|t| t.axis != axis || t.coef == 1);
                }
            }
        }
    }
    ok
}

/// Whether the last spatial axis of `stage` is vectorized in a row sketch with `nrow` rows.
fn vector_axis(stage: &Stage, nrow: usize) -> Option<AxisId> {
    let n = stage.spatial.len();
    (n > nrow && stage.spatial[n - 1].extent > 1 && contiguous(stage, n - 1)).then(|| n - 1)
}

/// The number of row axes of `def` (module docs), or `None` when the row sketch does not
/// fit: stage spatial axes not sharing the row prefix, an intermediate with more than the
/// row axes, or a load of an intermediate not indexed by exactly the row axes.
pub fn rows_plan(def: &ComputeDef) -> Option<usize> {
    let (last, inter) = def.stages.split_last()?;
    if def.tensors.get(last.output)?.role != TensorRole::Output {
        return None;
    }
    if inter.is_empty() {
        let n = last.spatial.len();
        return Some(if vector_axis(last, n.saturating_sub(1)).is_some() {
            n - 1
        } else {
            n
        });
    }
    let rows: Vec<usize> = inter[0].spatial.iter().map(|a| a.extent).collect();
    let nrow = rows.len();
    let prefix_ok = def.stages.iter().all(|s| {
        s.spatial.len() >= nrow && s.spatial[..nrow].iter().map(|a| a.extent).eq(rows.clone())
    });
    let inter_ok = inter.iter().all(|s| {
        s.spatial.len() == nrow
            && def.tensors.get(s.output).map(|t| t.role) == Some(TensorRole::Intermediate)
    });
    let row_index: Vec<IndexExpr> = (0..nrow).map(IndexExpr::axis).collect();
    let loads_ok = def.stages.iter().all(|s| {
        [&s.body, &s.post].iter().all(|e| {
            e.loads().iter().all(|(t, index, _)| {
                def.tensors[*t].role != TensorRole::Intermediate || *index == row_index.as_slice()
            })
        })
    });
    (prefix_ok && inter_ok && loads_ok).then_some(nrow)
}

/// Declares the split group `group` of one factor `<group>_0` for an axis of `extent`, with
/// the constraint `<cname>`: factor `≤ 64`. Returns `(quotient, factor)`.
pub(crate) fn split1(
    b: &mut TreeBuilder,
    space: &mut Space,
    group: &str,
    extent: usize,
    cname: &str,
) -> Result<(ExprId, ExprId)> {
    let g = space
        .add_split_group(b.e(), group, extent as u64, 1)
        .map_err(err)?;
    let f = space.group(g).map_err(err)?.factors()[0];
    space
        .add_log_product_constraint(cname, &[(LogTerm::Var(f), 1.0)], MAX_INNERMOST)
        .map_err(err)?;
    let q = space.quotient_expr(b.e(), g).map_err(err)?;
    Ok((q, b.sched_var(&format!("{group}_0"))))
}

/// A vectorized axis: `(axis, outer extent, vector factor)`.
type VecSplit = (AxisId, ExprId, ExprId);

/// Builds the `cpu-simple/rows` sketch of `def` with `nrow` row axes (from [`rows_plan`]).
pub fn rows_sketch(workload: &Workload, def: &ComputeDef, nrow: usize) -> Result<Sketch> {
    let last = def.stages.last().ok_or_else(|| err("no stage"))?;
    let mut b = TreeBuilder::new(&last.name);
    let mut space = Space::new();
    let row_axes = &def.stages[0].spatial[..nrow];
    let live: Vec<usize> = (0..nrow).filter(|&k| row_axes[k].extent > 1).collect();
    let names: Vec<&str> = live.iter().map(|&k| row_axes[k].name.as_str()).collect();
    let rname = if names.is_empty() {
        "rows".to_string()
    } else {
        names.join("_")
    };
    let n_rows: usize = row_axes.iter().map(|a| a.extent).product();
    let gid = space
        .add_split_group(b.e(), &format!("sp_{rname}"), n_rows as u64, 1)
        .map_err(err)?;
    let rq = space.quotient_expr(b.e(), gid).map_err(err)?;
    let rs = b.sched_var(&format!("sp_{rname}_0"));
    let mut vecs: Vec<Option<VecSplit>> = Vec::new();
    let mut lanes: Vec<Option<LaneSplit>> = Vec::new();
    let mut lane_groups = Vec::new();
    for st in &def.stages {
        match vector_axis(st, nrow) {
            Some(axis) => {
                let a = &st.spatial[axis];
                let cname = format!("innermost_{}", a.name);
                let (q, v) = split1(
                    &mut b,
                    &mut space,
                    &format!("sp_{}", a.name),
                    a.extent,
                    &cname,
                )?;
                vecs.push(Some((axis, q, v)));
                lanes.push(None);
            }
            None => {
                vecs.push(None);
                lanes.push(lane_split(&mut b, &mut space, st, &mut lane_groups)?);
            }
        }
    }
    let mut bufs = declare_tensors(&mut b, def);
    let one = b.c(1.0);
    for (id, t) in def.tensors.iter().enumerate() {
        if t.role == TensorRole::Intermediate {
            bufs[id] = Some(b.buffer(&format!("{}.local", t.name), Scope::Local, &[one]));
        }
    }
    let mut accs = Vec::new();
    for ((st, v), ln) in def.stages.iter().zip(&vecs).zip(&lanes) {
        accs.push((!st.reduce.is_empty()).then(|| {
            let shape = v
                .map(|(_, _, f)| f)
                .or(ln.map(|(_, _, l)| l))
                .unwrap_or(one);
            let acc = b.buffer(&format!("{}.acc", st.name), Scope::Local, &[shape]);
            let total = ln.map(|_| b.buffer(&format!("{}.total", st.name), Scope::Local, &[one]));
            (acc, total)
        }));
    }
    // A reduction's body that the last stage computes again is kept per row (cpu_lanes.rs).
    let kept = kept_row(def, nrow, &lanes).map(|(i, body)| {
        let n = b.c(last.spatial[nrow].extent as f64);
        let row = b.buffer(&format!("{}.row", def.stages[i].name), Scope::Local, &[n]);
        (i, row, body)
    });
    let mut stages = def.stages.clone();
    if let (Some((_, _, body)), Some(st)) = (&kept, stages.last_mut()) {
        st.body = body.clone();
    }
    let rows = RowsTree {
        def,
        bufs,
        nrow,
        kept: kept.as_ref().map(|&(_, row, _)| row),
    };
    let row_ext: Vec<ExprId> = live
        .iter()
        .map(|&k| b.c(row_axes[k].extent as f64))
        .collect();
    let mut res: Result<()> = Ok(());
    b.loop_(&format!("{rname}.0"), rq, LoopKind::Parallel, |b, p| {
        b.loop_(&format!("{rname}.1"), rs, LoopKind::Serial, |b, r1| {
            let flat = flatten(b.e(), &[p, r1], &[rq, rs]);
            let zero = b.c(0.0);
            let mut coords = vec![zero; nrow];
            for (&k, c) in live.iter().zip(unflatten(b.e(), flat, &row_ext)) {
                coords[k] = c;
            }
            for (i, st) in stages.iter().enumerate() {
                if res.is_err() {
                    break;
                }
                let keep = kept.as_ref().filter(|k| k.0 == i).map(|k| k.1);
                res = match (lanes[i], accs[i]) {
                    (Some(ln), Some((acc, Some(total)))) => {
                        rows.lane_stage(b, st, &coords, ln, acc, total, keep)
                    }
                    (_, acc) => rows.stage(b, st, &coords, vecs[i], acc.map(|(a, _)| a)),
                };
            }
        });
    });
    res?;
    let tree = b.finish();
    tree.verify().map_err(err)?;
    Ok(Sketch {
        id: "cpu-simple/rows".into(),
        workload: workload.clone(),
        tree,
        space,
    })
}

/// Buffers and row count of a row sketch being built.
pub(crate) struct RowsTree<'a> {
    pub(crate) def: &'a ComputeDef,
    pub(crate) bufs: Vec<Option<BufferId>>,
    pub(crate) nrow: usize,
    /// The kept row of a lane reduction, read where the body loads [`KEPT_ROW`].
    pub(crate) kept: Option<BufferId>,
}

impl RowsTree<'_> {
    fn buf(&self, t: usize) -> Result<BufferId> {
        self.bufs
            .get(t)
            .copied()
            .flatten()
            .ok_or_else(|| err(format!("tensor {t} has no buffer")))
    }

    fn is_local(&self, t: usize) -> bool {
        self.def.tensors.get(t).map(|d| d.role) == Some(TensorRole::Intermediate)
    }

    /// `e` at the point `axes` (intermediates read from their local copy).
    pub(crate) fn value(
        &self,
        b: &mut TreeBuilder,
        e: &crate::ValueExpr,
        axes: &[ExprId],
        acc: Option<&Value>,
    ) -> Result<Value> {
        lower_value_with(b, e, axes, acc, &mut |b, t, index, pad| {
            if let (KEPT_ROW, Some(row), Some(&j)) = (t, self.kept, axes.get(self.nrow)) {
                return Ok(Value::load(row, &[j]));
            }
            let buf = self.buf(t)?;
            if self.is_local(t) {
                let zero = b.c(0.0);
                Ok(Value::load(buf, &[zero]))
            } else {
                lower_load(b, self.def, buf, t, index, pad, axes)
            }
        })
    }

    /// `dest = post(acc)` for the spatial point `sp`.
    pub(crate) fn write(
        &self,
        b: &mut TreeBuilder,
        st: &Stage,
        sp: &[ExprId],
        acc: &Value,
    ) -> Result<()> {
        let v = self.value(b, &st.post, sp, Some(acc))?;
        let buf = self.buf(st.output)?;
        if self.is_local(st.output) {
            let zero = b.c(0.0);
            b.store(buf, &[zero], v);
        } else {
            b.store(buf, sp, v);
        }
        Ok(())
    }

    /// Emits the loops of stage `st` for one row.
    fn stage(
        &self,
        b: &mut TreeBuilder,
        st: &Stage,
        rows: &[ExprId],
        vec: Option<VecSplit>,
        acc: Option<BufferId>,
    ) -> Result<()> {
        let n = st.spatial.len();
        let serial_end = vec.map_or(n, |(a, _, _)| a);
        let mut specs: Vec<LoopSpec> = st.spatial[self.nrow..serial_end]
            .iter()
            .map(|a| {
                let e = b.c(a.extent as f64);
                LoopSpec::new(a.name.clone(), e, LoopKind::Serial)
            })
            .collect();
        if let Some((a, q, _)) = vec {
            specs.push(LoopSpec::new(
                format!("{}.0", st.spatial[a].name),
                q,
                LoopKind::Serial,
            ));
        }
        let rd_specs: Vec<LoopSpec> = st
            .reduce
            .iter()
            .map(|a| {
                let e = b.c(a.extent as f64);
                LoopSpec::new(a.name.clone(), e, LoopKind::Serial)
            })
            .collect();
        let vname = vec.map(|(a, _, _)| format!("{}.1", st.spatial[a].name));
        let mut res = Ok(());
        loop_nest(b, &specs, &mut |b, v| {
            let mut sp = rows.to_vec();
            sp.extend_from_slice(&v[..serial_end - self.nrow]);
            // Runs `f(b, lane index, spatial point)` inside the vector loop (or once).
            let lanes =
                |b: &mut TreeBuilder, f: &mut dyn FnMut(&mut TreeBuilder, ExprId, &[ExprId])| match (
                    vec, &vname,
                ) {
                    (Some((_, q, factor)), Some(name)) => {
                        let outer = v[v.len() - 1];
                        b.loop_(name, factor, LoopKind::Vectorized, |b, lane| {
                            let g = flatten(b.e(), &[outer, lane], &[q, factor]);
                            let mut point = sp.clone();
                            point.push(g);
                            f(b, lane, &point);
                        });
                    }
                    _ => {
                        let zero = b.c(0.0);
                        f(b, zero, &sp);
                    }
                };
            let Some(acc) = acc else {
                lanes(b, &mut |b, _, point| {
                    let r = self
                        .value(b, &st.body, point, None)
                        .and_then(|body| self.write(b, st, point, &body));
                    if res.is_ok() {
                        res = r;
                    }
                });
                return;
            };
            lanes(b, &mut |b, lane, _| {
                b.init(acc, &[lane], init_value(st.combiner))
            });
            loop_nest(b, &rd_specs, &mut |b, r| {
                lanes(b, &mut |b, lane, point| {
                    let mut all = point.to_vec();
                    all.extend_from_slice(r);
                    match self.value(b, &st.body, &all, None) {
                        Ok(body) => update(b, st.combiner, acc, &[lane], body),
                        Err(e) => res = Err(e),
                    }
                });
            });
            lanes(b, &mut |b, lane, point| {
                let a = Value::load(acc, &[lane]);
                let r = self.write(b, st, point, &a);
                if res.is_ok() {
                    res = r;
                }
            });
        });
        res
    }
}
