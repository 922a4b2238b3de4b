//! Vector-lane reductions of the `cpu-simple/rows` sketch ([`super::cpu_rows`]).
//!
//! A reduction stage without a vectorized spatial axis whose last reduction axis `r` is
//! contiguous (softmax, layer / RMS norm: the row's `j`) keeps `L` partial accumulators, one
//! per vector lane, and combines them at the end:
//!
//! ```text
//! for j.1 in 0..L @vectorized { acc[j.1] = init }
//! for j.0 in 0..⌊N/L⌋ { for j.1 in 0..L @vectorized { acc[j.1] = combine(acc[j.1], body(j.0·L + j.1)) }}
//! if N − ⌊N/L⌋·L > 0 { for j.t in 0..N − ⌊N/L⌋·L { acc[j.t] = combine(acc[j.t], body(⌊N/L⌋·L + j.t)) }}
//! total[0] = init; for j.l in 0..L { total[0] = combine(total[0], acc[j.l]) }
//! dest = post(total[0])
//! ```
//! `L` is the choice `rd_<r>_0`: a divisor of `N` or a power of two, `≤ 64` (a row of 50
//! reduces in 8 lanes with a tail of 2, not in 25 or 50 lanes), shared by every stage reducing
//! an axis of that name and extent (softmax's max and sum passes use the same lanes). `L = 1`
//! is the serial reduction. The
//! summation order differs from the serial one (a reassociation, as `-ffast-math` vector code
//! does), well within the 1e-5 tolerance.
//!
//! A row's body values are *kept* when the last stage computes the body of a lane reduction
//! again (softmax's `exp(x − max)`, summed and then divided by the sum): the reduction stores
//! them in `<stage>.row` (`[N]`, [`Scope::Local`]) and the last stage reads them back
//! ([`kept_row`]), so every transcendental is computed once.

use tilegrad_symbolic::{BufferId, ExprId, LoopKind, Space, TreeBuilder, Value};

use super::cpu_rows::{contiguous, RowsTree};
use super::lower::{flatten, init_value, loop_nest, update, LoopSpec, MAX_INNERMOST};
use crate::compute::{ComputeDef, IndexExpr, Stage, TensorId, ValueExpr};
use crate::Result;

/// Longest row whose body values a lane reduction keeps (floats, per parallel iteration).
const MAX_KEPT_ROW: usize = 16384;

/// The tensor id that stands for a kept row in the last stage's body (see [`kept_row`]).
pub(crate) const KEPT_ROW: TensorId = TensorId::MAX;

/// The lane reduction whose body the last stage of `def` computes again (module docs), and
/// the last stage's body reading the kept row instead (a load of [`KEPT_ROW`] at the row's
/// inner axis). `None` when there is none or the row is longer than [`MAX_KEPT_ROW`].
pub(crate) fn kept_row(
    def: &ComputeDef,
    nrow: usize,
    lanes: &[Option<LaneSplit>],
) -> Option<(usize, ValueExpr)> {
    let (last, inter) = def.stages.split_last()?;
    if !last.reduce.is_empty() || last.spatial.len() != nrow + 1 {
        return None;
    }
    let extent = last.spatial[nrow].extent;
    if extent > MAX_KEPT_ROW {
        return None;
    }
    let (i, st) = inter.iter().enumerate().rev().find(|(i, st)| {
        lanes
            .get(*i)
            .copied()
            .flatten()
            .is_some_and(|(k, _, _)| k == 0)
            && st.spatial.len() == nrow
            && st.reduce.len() == 1
            && st.reduce[0].extent == extent
            && st.body.op_count() >= 2
            && last.body.contains(&st.body)
    })?;
    let kept = ValueExpr::load(KEPT_ROW, vec![IndexExpr::axis(nrow)]);
    Some((i, last.body.replaced(&st.body, &kept)))
}

/// A lane-split reduction: `(index in stage.reduce (the last), outer extent, lanes L)`.
pub(crate) type LaneSplit = (usize, ExprId, ExprId);

/// The lane split of `st` (module docs), declaring or reusing its group in `space`; `None`
/// when the last reduction axis is trivial or not contiguous. `groups` holds the groups
/// declared so far as `(name, extent, split)`.
pub(crate) fn lane_split(
    b: &mut TreeBuilder,
    space: &mut Space,
    st: &Stage,
    groups: &mut Vec<(String, usize, LaneSplit)>,
) -> Result<Option<LaneSplit>> {
    let Some(k) = st.reduce.len().checked_sub(1) else {
        return Ok(None);
    };
    let a = &st.reduce[k];
    if a.extent <= 1 || !contiguous(st, st.spatial.len() + k) {
        return Ok(None);
    }
    let mut name = format!("rd_{}", a.name);
    if let Some((_, _, (_, q, l))) = groups.iter().find(|(n, e, _)| *n == name && *e == a.extent) {
        return Ok(Some((k, *q, *l)));
    }
    if groups.iter().any(|(n, _, _)| *n == name) {
        name = format!("rd_{}_{}", st.name, a.name);
    }
    let var = format!("{name}_0");
    space
        .add_choice(b.e(), &var, &lane_values(a.extent))
        .map_err(super::cpu_rows::err)?;
    let l = b.sched_var(&var);
    let n = b.c(a.extent as f64);
    let q = b.e().floordiv(n, l);
    groups.push((name, a.extent, (k, q, l)));
    Ok(Some((k, q, l)))
}

/// The lane counts of a reduction over `n` contiguous values: its divisors and the powers of
/// two, up to `min(n, 64)`.
fn lane_values(n: usize) -> Vec<u64> {
    let top = n.min(MAX_INNERMOST as usize) as u64;
    (1..=top)
        .filter(|&l| (n as u64).is_multiple_of(l) || l.is_power_of_two())
        .collect()
}

impl RowsTree<'_> {
    /// Emits reduction stage `st` for one row with lane accumulators `acc` (`[L]`) and the
    /// combined value in `total` (`[1]`); with `keep`, the body values go to that row too.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lane_stage(
        &self,
        b: &mut TreeBuilder,
        st: &Stage,
        rows: &[ExprId],
        (k, q, l): LaneSplit,
        acc: BufferId,
        total: BufferId,
        keep: Option<BufferId>,
    ) -> Result<()> {
        let serial = |b: &mut TreeBuilder, a: &crate::compute::Axis| {
            let e = b.c(a.extent as f64);
            LoopSpec::new(a.name.clone(), e, LoopKind::Serial)
        };
        let specs: Vec<LoopSpec> = st.spatial[self.nrow..]
            .iter()
            .map(|a| serial(b, a))
            .collect();
        let r = &st.reduce[k].name;
        let rd_specs: Vec<LoopSpec> = st.reduce[..k].iter().map(|a| serial(b, a)).collect();
        let (lane_name, comb_name) = (format!("{r}.1"), format!("{r}.l"));
        let n = b.c(st.reduce[k].extent as f64);
        let full = b.e().mul(q, l);
        let tail = b.e().sub(n, full);
        let mut res = Ok(());
        loop_nest(b, &specs, &mut |b, v| {
            let mut sp = rows.to_vec();
            sp.extend_from_slice(v);
            b.loop_(&lane_name, l, LoopKind::Vectorized, |b, lane| {
                b.init(acc, &[lane], init_value(st.combiner));
            });
            // acc[lane] ⊕= body at reduction index g (kept in `keep` when given).
            let mut step = |b: &mut TreeBuilder, rv: &[ExprId], lane: ExprId, g: ExprId| {
                let mut all = sp.clone();
                all.extend_from_slice(rv);
                all.push(g);
                match (self.value(b, &st.body, &all, None), keep) {
                    (Ok(body), Some(row)) => {
                        b.store(row, &[g], body);
                        update(b, st.combiner, acc, &[lane], Value::load(row, &[g]));
                    }
                    (Ok(body), None) => update(b, st.combiner, acc, &[lane], body),
                    (Err(e), _) => res = Err(e),
                }
            };
            loop_nest(b, &rd_specs, &mut |b, rv| {
                b.loop_(&format!("{r}.0"), q, LoopKind::Serial, |b, j0| {
                    b.loop_(&lane_name, l, LoopKind::Vectorized, |b, lane| {
                        let g = flatten(b.e(), &[j0, lane], &[q, l]);
                        step(b, rv, lane, g);
                    });
                });
                let zero = b.c(0.0);
                let some = b.e().lt(zero, tail);
                b.if_(some, |b| {
                    b.loop_(&format!("{r}.t"), tail, LoopKind::Serial, |b, lane| {
                        let g = b.e().add(full, lane);
                        step(b, rv, lane, g);
                    });
                });
            });
            let zero = b.c(0.0);
            b.init(total, &[zero], init_value(st.combiner));
            b.loop_(&comb_name, l, LoopKind::Serial, |b, lane| {
                update(b, st.combiner, total, &[zero], Value::load(acc, &[lane]));
            });
            let t = Value::load(total, &[zero]);
            let w = self.write(b, st, &sp, &t);
            if res.is_ok() {
                res = w;
            }
        });
        res
    }
}
