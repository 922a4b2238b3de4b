//! The `gpu-reduce/thread-per-output` tree (structure in the parent module's docs).

use tilegrad_symbolic::{ExprId, GpuSpec, LoopTree, Space, TreeBuilder, Value};

use super::plan::RowPlan;
use super::{check_gpu, err, Buffers};
use crate::rules::gpu_fused::FusedLaunch;
use crate::rules::lower::{init_value, serial_nest, unflatten, update};
use crate::Result;

/// Builds the tree and space of the thread-per-output sketch.
pub(crate) fn build(
    mut b: TreeBuilder,
    plan: &RowPlan<'_>,
    bufs: &Buffers,
    gpu: &GpuSpec,
) -> Result<(LoopTree, Space)> {
    check_gpu(gpu)?;
    let mut space = Space::new();
    let launch = FusedLaunch::declare(
        &mut b,
        &mut space,
        plan.height(),
        gpu,
        false,
        super::THREAD_PER_OUTPUT,
    )?;
    let row_ext: Vec<ExprId> = plan.rows.iter().map(|r| b.c(r.1 as f64)).collect();
    launch.emit(&mut b, &mut |b, row, _tx| {
        let rows = unflatten(b.e(), row, &row_ext);
        for k in 0..plan.stages.len() {
            stage(b, plan, bufs, k, &rows)?;
        }
        Ok(())
    })?;
    Ok((b.finish(), space))
}

/// Emits stage `k` of the plan for the row at coordinates `rows`.
fn stage(
    b: &mut TreeBuilder,
    plan: &RowPlan<'_>,
    bufs: &Buffers,
    k: usize,
    rows: &[ExprId],
) -> Result<()> {
    let rs = &plan.stages[k];
    let s = rs.stage;
    let names: Vec<String> = rs.cols.iter().map(|c| c.0.clone()).collect();
    let ext: Vec<ExprId> = rs.cols.iter().map(|c| b.c(c.1 as f64)).collect();
    let zero = b.c(0.0);
    let mut res = Ok(());
    let Some(acc) = bufs.accs[k] else {
        // The final map: one store per column.
        serial_nest(b, &names, &ext, &mut |b, cols| {
            let axes = [rows, cols].concat();
            let r = plan
                .lower(b, &bufs.global, &bufs.locals, &s.body, &axes, None)
                .and_then(|v| plan.lower(b, &bufs.global, &bufs.locals, &s.post, &axes, Some(&v)));
            match r {
                Ok(p) => b.store(bufs.out, &axes, p),
                Err(e) => res = Err(e),
            }
        });
        return res;
    };
    b.init(acc, &[zero], init_value(s.combiner));
    serial_nest(b, &names, &ext, &mut |b, cols| {
        let axes = [rows, cols].concat();
        match plan.lower(b, &bufs.global, &bufs.locals, &s.body, &axes, None) {
            Ok(v) => update(b, s.combiner, acc, &[zero], v),
            Err(e) => res = Err(e),
        }
    });
    res?;
    let a = Value::load(acc, &[zero]);
    let p = plan.lower(b, &bufs.global, &bufs.locals, &s.post, rows, Some(&a))?;
    match bufs.locals[s.output] {
        Some(l) => b.store(l, &[zero], p),
        None if k + 1 == plan.stages.len() => b.store(bufs.out, rows, p),
        None => return Err(err(format!("stage `{}` has nowhere to write", s.name))),
    }
    Ok(())
}
