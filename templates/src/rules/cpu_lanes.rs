//! Vector-lane reductions of the `cpu-simple/rows` sketch ([`super::cpu_rows`]).
//!
//! A reduction stage without a vectorized spatial axis whose last reduction axis `r` is
//! contiguous (softmax, layer / RMS norm: the row's `j`) keeps `L` partial accumulators, one
//! per vector lane, and combines them at the end:
//!
//! ```text
//! for j.1 in 0..L @vectorized { acc[j.1] = init }
//! for j.0 in 0..N/L { for j.1 in 0..L @vectorized { acc[j.1] = combine(acc[j.1], body(j.0·L + j.1)) }}
//! total[0] = init; for j.l in 0..L { total[0] = combine(total[0], acc[j.l]) }
//! dest = post(total[0])
//! ```
//! `L` is the factor `rd_<r>_0` of the split group `rd_<r>` (`≤ 64`, constraint
//! `innermost_rd_<r>`), shared by every stage reducing an axis of that name and extent
//! (softmax's max and sum passes use the same lanes). `L = 1` is the serial reduction. The
//! summation order differs from the serial one (a reassociation, as `-ffast-math` vector code
//! does), well within the 1e-5 tolerance.

use tilegrad_symbolic::{BufferId, ExprId, LoopKind, Space, TreeBuilder, Value};

use super::cpu_rows::{contiguous, split1, RowsTree};
use super::lower::{flatten, init_value, loop_nest, update, LoopSpec};
use crate::compute::Stage;
use crate::Result;

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
    let (q, l) = split1(b, space, &name, a.extent, &format!("innermost_{name}"))?;
    groups.push((name, a.extent, (k, q, l)));
    Ok(Some((k, q, l)))
}

impl RowsTree<'_> {
    /// Emits reduction stage `st` for one row with lane accumulators `acc` (`[L]`) and the
    /// combined value in `total` (`[1]`).
    pub(crate) fn lane_stage(
        &self,
        b: &mut TreeBuilder,
        st: &Stage,
        rows: &[ExprId],
        (k, q, l): LaneSplit,
        acc: BufferId,
        total: BufferId,
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
        let mut rd_specs: Vec<LoopSpec> = st.reduce[..k].iter().map(|a| serial(b, a)).collect();
        rd_specs.push(LoopSpec::new(format!("{r}.0"), q, LoopKind::Serial));
        let (lane_name, comb_name) = (format!("{r}.1"), format!("{r}.l"));
        let mut res = Ok(());
        loop_nest(b, &specs, &mut |b, v| {
            let mut sp = rows.to_vec();
            sp.extend_from_slice(v);
            b.loop_(&lane_name, l, LoopKind::Vectorized, |b, lane| {
                b.init(acc, &[lane], init_value(st.combiner));
            });
            loop_nest(b, &rd_specs, &mut |b, rv| {
                b.loop_(&lane_name, l, LoopKind::Vectorized, |b, lane| {
                    let g = flatten(b.e(), &[rv[k], lane], &[q, l]);
                    let mut all = sp.clone();
                    all.extend_from_slice(&rv[..k]);
                    all.push(g);
                    match self.value(b, &st.body, &all, None) {
                        Ok(body) => update(b, st.combiner, acc, &[lane], body),
                        Err(e) => res = Err(e),
                    }
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
