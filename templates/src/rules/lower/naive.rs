//! Loop-nest helpers and the unscheduled [`naive_tree`]. Re-exported by [`super`].

use tilegrad_symbolic::{ExprId, LoopKind, LoopTree, Scope, TreeBuilder, Value};

use super::{declare_tensors, init_value, lower_value, schedule_err, update};
use crate::compute::{Combiner, ComputeDef, TensorRole};
use crate::Result;

/// One loop of a [`loop_nest`].
#[derive(Clone, Debug)]
pub struct LoopSpec {
    /// Loop variable name.
    pub name: String,
    /// Trip count.
    pub extent: ExprId,
    /// Hardware mapping.
    pub kind: LoopKind,
    /// `auto_unroll_max_step` pragma.
    pub unroll: Option<ExprId>,
}

impl LoopSpec {
    /// A loop without pragma.
    pub fn new(name: impl Into<String>, extent: ExprId, kind: LoopKind) -> LoopSpec {
        LoopSpec {
            name: name.into(),
            extent,
            kind,
            unroll: None,
        }
    }
}

/// Emits the perfect nest `specs` (outermost first) and calls `f` with the loop variables
/// (in `specs` order) inside the innermost loop (directly, if `specs` is empty).
pub fn loop_nest(
    b: &mut TreeBuilder,
    specs: &[LoopSpec],
    f: &mut dyn FnMut(&mut TreeBuilder, &[ExprId]),
) {
    fn rec(
        b: &mut TreeBuilder,
        specs: &[LoopSpec],
        vars: &mut Vec<ExprId>,
        f: &mut dyn FnMut(&mut TreeBuilder, &[ExprId]),
    ) {
        match specs.split_first() {
            Some((s, rest)) => b.loop_unroll(&s.name, s.extent, s.kind, s.unroll, |b, v| {
                vars.push(v);
                rec(b, rest, vars, f);
                vars.pop();
            }),
            None => f(b, vars),
        }
    }
    rec(b, specs, &mut Vec::new(), f);
}

/// Emits serial loops `names[k] in 0..extents[k]` (outermost first) and calls `f` with their
/// variables inside.
pub fn serial_nest(
    b: &mut TreeBuilder,
    names: &[String],
    extents: &[ExprId],
    f: &mut dyn FnMut(&mut TreeBuilder, &[ExprId]),
) {
    let specs: Vec<LoopSpec> = names
        .iter()
        .zip(extents)
        .map(|(n, &x)| LoopSpec::new(n.clone(), x, LoopKind::Serial))
        .collect();
    loop_nest(b, &specs, f);
}

/// The unscheduled serial loop nest of every stage of `def`, in order: intermediates are
/// global temporaries, each stage's accumulator is a one-element local buffer
/// `<stage>.acc`. Serial CPU code, a baseline and a test of this module.
pub fn naive_tree(def: &ComputeDef, name: &str) -> Result<LoopTree> {
    let mut b = TreeBuilder::new(name);
    let mut bufs = declare_tensors(&mut b, def);
    for (id, t) in def.tensors.iter().enumerate() {
        if t.role == TensorRole::Intermediate {
            let sh: Vec<ExprId> = t.shape.iter().map(|&d| b.c(d as f64)).collect();
            bufs[id] = Some(b.buffer(&t.name, Scope::Global, &sh));
        }
    }
    for stage in &def.stages {
        let out = bufs.get(stage.output).copied().flatten().ok_or_else(|| {
            schedule_err(format!(
                "stage `{}` writes a tensor without a buffer",
                stage.name
            ))
        })?;
        let one = b.c(1.0);
        let acc = b.buffer(&format!("{}.acc", stage.name), Scope::Local, &[one]);
        let zero = b.c(0.0);
        let sp_names: Vec<String> = stage.spatial.iter().map(|a| a.name.clone()).collect();
        let sp_ext: Vec<ExprId> = stage.spatial.iter().map(|a| b.c(a.extent as f64)).collect();
        let rd_names: Vec<String> = stage.reduce.iter().map(|a| a.name.clone()).collect();
        let rd_ext: Vec<ExprId> = stage.reduce.iter().map(|a| b.c(a.extent as f64)).collect();
        let mut res = Ok(());
        serial_nest(&mut b, &sp_names, &sp_ext, &mut |b, sp| {
            let r = (|| -> Result<()> {
                let body_axes = sp.to_vec();
                if stage.combiner == Combiner::None && stage.reduce.is_empty() {
                    let v = lower_value(b, def, &bufs, &stage.body, &body_axes, None)?;
                    let post = lower_value(b, def, &bufs, &stage.post, sp, Some(&v))?;
                    b.store(out, sp, post);
                    return Ok(());
                }
                b.init(acc, &[zero], init_value(stage.combiner));
                let mut inner = Ok(());
                serial_nest(b, &rd_names, &rd_ext, &mut |b, rd| {
                    let mut all = body_axes.clone();
                    all.extend_from_slice(rd);
                    match lower_value(b, def, &bufs, &stage.body, &all, None) {
                        Ok(v) => update(b, stage.combiner, acc, &[zero], v),
                        Err(e) => inner = Err(e),
                    }
                });
                inner?;
                let a = Value::load(acc, &[zero]);
                let post = lower_value(b, def, &bufs, &stage.post, sp, Some(&a))?;
                b.store(out, sp, post);
                Ok(())
            })();
            if res.is_ok() {
                res = r;
            }
        });
        res?;
    }
    let tree = b.finish();
    tree.verify()
        .map_err(|e| schedule_err(format!("naive tree `{name}`: {e}")))?;
    Ok(tree)
}
