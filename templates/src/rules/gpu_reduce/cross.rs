//! The `gpu-reduce/cross-thread` tree (structure in the parent module's docs).

use tilegrad_symbolic::looptree::Axis3;
use tilegrad_symbolic::{
    BufferId, ExprId, GpuSpec, LoopKind, LoopTree, Scope, Space, TreeBuilder, Value,
};

use super::plan::{RowPlan, RowStage};
use super::{check_gpu, err, Buffers};
use crate::rules::gpu_fused::thread_values;
use crate::rules::lower::{add, add_const, ceildiv, init_value, mul, unflatten, update};
use crate::Result;

/// Name of the threads-per-block variable.
pub const THREADS: &str = "threads";

/// Per-kernel expressions every stage uses.
struct Ctx<'a> {
    plan: &'a RowPlan<'a>,
    bufs: &'a Buffers,
    /// Threads per block.
    t: ExprId,
    /// Thread index.
    tx: ExprId,
    /// `log2(threads)`: the number of tree-reduction steps.
    steps: ExprId,
    /// Row coordinates of the block.
    rows: Vec<ExprId>,
}

/// Builds the tree and space of the cross-thread sketch.
pub(crate) fn build(
    mut b: TreeBuilder,
    plan: &RowPlan<'_>,
    bufs: &Buffers,
    gpu: &GpuSpec,
) -> Result<(LoopTree, Space)> {
    check_gpu(gpu)?;
    let mut space = Space::new();
    space
        .add_choice(b.e(), THREADS, &thread_values(gpu))
        .map_err(err)?;
    let t = b.sched_var(THREADS);
    let reds: Vec<Option<BufferId>> = plan
        .stages
        .iter()
        .map(|rs| {
            rs.reduce.then(|| {
                let name = format!("{}.red", rs.stage.name);
                b.buffer(&name, Scope::Shared, &[t])
            })
        })
        .collect();
    // log2(threads) = ⌊ln(threads) / ln 2⌋ (exact: threads is a power of two and floordiv
    // snaps its operand to the nearest integer).
    let steps = {
        let e = b.e();
        let (two, one) = (e.constant(2.0), e.constant(1.0));
        let (lt, l2) = (e.log(t), e.log(two));
        let q = e.div(lt, l2);
        e.floordiv(q, one)
    };
    let m = b.c(plan.height() as f64);
    let row_ext: Vec<ExprId> = plan.rows.iter().map(|r| b.c(r.1 as f64)).collect();
    let mut res = Ok(());
    b.loop_("bx", m, LoopKind::BlockIdx(Axis3::X), |b, bx| {
        b.loop_("tx", t, LoopKind::ThreadIdx(Axis3::X), |b, tx| {
            let rows = unflatten(b.e(), bx, &row_ext);
            let cx = Ctx {
                plan,
                bufs,
                t,
                tx,
                steps,
                rows,
            };
            res = (0..plan.stages.len()).try_for_each(|k| cx.stage(b, k, reds[k]));
        });
    });
    res?;
    Ok((b.finish(), space))
}

impl Ctx<'_> {
    /// `for <cols>.0 in 0..⌈C / threads⌉ { c = c0·threads + tx; if c < C { f(coords(c)) } }`.
    fn strided(
        &self,
        b: &mut TreeBuilder,
        rs: &RowStage<'_>,
        f: &mut dyn FnMut(&mut TreeBuilder, &[ExprId]) -> Result<()>,
    ) -> Result<()> {
        let names: Vec<&str> = rs.cols.iter().map(|c| c.0.as_str()).collect();
        let name = if names.is_empty() {
            "col.0".to_string()
        } else {
            format!("{}.0", names.join("_"))
        };
        let ext: Vec<ExprId> = rs.cols.iter().map(|c| b.c(c.1 as f64)).collect();
        let width = b.c(rs.width() as f64);
        let trips = ceildiv(b.e(), width, self.t);
        let mut res = Ok(());
        b.loop_(&name, trips, LoopKind::Serial, |b, c0| {
            let base = mul(b.e(), c0, self.t);
            let col = add(b.e(), base, self.tx);
            let inside = b.e().lt(col, width);
            b.if_(inside, |b| {
                let coords = unflatten(b.e(), col, &ext);
                res = f(b, &coords);
            });
        });
        res
    }

    /// Emits stage `k` (`red`: its shared buffer, for a reduction).
    fn stage(&self, b: &mut TreeBuilder, k: usize, red: Option<BufferId>) -> Result<()> {
        let (plan, bufs) = (self.plan, self.bufs);
        let rs = &plan.stages[k];
        let s = rs.stage;
        let zero = b.c(0.0);
        let (Some(acc), Some(red)) = (bufs.accs[k], red) else {
            // The final map, spread over the threads.
            return self.strided(b, rs, &mut |b, cols| {
                let axes = [&self.rows[..], cols].concat();
                let v = plan.lower(b, &bufs.global, &bufs.locals, &s.body, &axes, None)?;
                let p = plan.lower(b, &bufs.global, &bufs.locals, &s.post, &axes, Some(&v))?;
                b.store(bufs.out, &axes, p);
                Ok(())
            });
        };
        b.init(acc, &[zero], init_value(s.combiner));
        self.strided(b, rs, &mut |b, cols| {
            let axes = [&self.rows[..], cols].concat();
            let v = plan.lower(b, &bufs.global, &bufs.locals, &s.body, &axes, None)?;
            update(b, s.combiner, acc, &[zero], v);
            Ok(())
        })?;
        b.store(red, &[self.tx], Value::load(acc, &[zero]));
        b.barrier();
        b.loop_("step", self.steps, LoopKind::Serial, |b, step| {
            let e = b.e();
            let two = e.constant(2.0);
            let next = add_const(e, step, 1);
            let pow = e.pow(two, next);
            let half = e.floordiv(self.t, pow);
            let active = e.lt(self.tx, half);
            let other = add(e, self.tx, half);
            b.if_(active, |b| {
                update(b, s.combiner, red, &[self.tx], Value::load(red, &[other]));
            });
            b.barrier();
        });
        let total = Value::load(red, &[zero]);
        let p = plan.lower(
            b,
            &bufs.global,
            &bufs.locals,
            &s.post,
            &self.rows,
            Some(&total),
        )?;
        match bufs.locals[s.output] {
            Some(l) => b.store(l, &[zero], p),
            None if k + 1 == plan.stages.len() => {
                let first = b.e().eq(self.tx, zero);
                b.if_(first, |b| b.store(bufs.out, &self.rows, p));
            }
            None => return Err(err(format!("stage `{}` has nowhere to write", s.name))),
        }
        Ok(())
    }
}
