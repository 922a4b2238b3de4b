//! A naive evaluator of any [`ComputeDef`] in f64: runs every stage's loop
//! nest literally. Slow; meant for checking definitions on small shapes.

use crate::compute::{ComputeDef, IndexExpr, Stage, TensorRole, ValueExpr};
use crate::error::TemplateError;

/// Evaluates `def` on `inputs` (one buffer per input tensor, row-major, in
/// declaration order) and returns the output tensor as f32.
pub fn evaluate(def: &ComputeDef, inputs: &[Vec<f32>]) -> Result<Vec<f32>, TemplateError> {
    let input_ids = def.inputs();
    if inputs.len() != input_ids.len() {
        return Err(TemplateError::InputCount {
            expected: input_ids.len(),
            got: inputs.len(),
        });
    }
    let mut bufs: Vec<Vec<f64>> = def.tensors.iter().map(|_| Vec::new()).collect();
    for (pos, (&id, data)) in input_ids.iter().zip(inputs).enumerate() {
        let expected = def.tensors[id].numel();
        if data.len() != expected {
            return Err(TemplateError::InputSize {
                index: pos,
                expected,
                got: data.len(),
            });
        }
        bufs[id] = data.iter().map(|&v| v as f64).collect();
    }
    for stage in &def.stages {
        let out = eval_stage(def, &bufs, stage)?;
        bufs[stage.output] = out;
    }
    let out = def.output();
    if def.tensors.get(out).map(|t| t.role) != Some(TensorRole::Output) {
        return Err(TemplateError::Eval("no output tensor".into()));
    }
    Ok(bufs[out].iter().map(|&v| v as f32).collect())
}

struct Ctx<'a> {
    def: &'a ComputeDef,
    bufs: &'a [Vec<f64>],
}

fn eval_stage(
    def: &ComputeDef,
    bufs: &[Vec<f64>],
    stage: &Stage,
) -> Result<Vec<f64>, TemplateError> {
    let decl = def
        .tensors
        .get(stage.output)
        .ok_or_else(|| TemplateError::Eval(format!("stage {}: bad output id", stage.name)))?;
    let extents: Vec<usize> = stage.spatial.iter().map(|a| a.extent).collect();
    if extents != decl.shape {
        return Err(TemplateError::Eval(format!(
            "stage {}: spatial extents != output shape",
            stage.name
        )));
    }
    let red: Vec<usize> = stage.reduce.iter().map(|a| a.extent).collect();
    let ns = extents.len();
    let ctx = Ctx { def, bufs };
    let mut out = Vec::with_capacity(decl.numel());
    let mut pt = vec![0i64; ns + red.len()];
    let total: usize = extents.iter().product();
    for _ in 0..total {
        let mut acc = stage.combiner.init();
        if red.is_empty() {
            acc = stage
                .combiner
                .combine(acc, ctx.eval(&stage.body, &pt, None)?);
        } else {
            pt[ns..].iter_mut().for_each(|v| *v = 0);
            let inner: usize = red.iter().product();
            for _ in 0..inner {
                acc = stage
                    .combiner
                    .combine(acc, ctx.eval(&stage.body, &pt, None)?);
                step(&mut pt[ns..], &red);
            }
        }
        out.push(ctx.eval(&stage.post, &pt[..ns], Some(acc))?);
        step(&mut pt[..ns], &extents);
    }
    Ok(out)
}

/// Advances a row-major odometer.
fn step(pt: &mut [i64], extents: &[usize]) {
    for d in (0..pt.len()).rev() {
        pt[d] += 1;
        if pt[d] < extents[d] as i64 {
            return;
        }
        pt[d] = 0;
    }
}

impl Ctx<'_> {
    fn eval(&self, e: &ValueExpr, pt: &[i64], acc: Option<f64>) -> Result<f64, TemplateError> {
        Ok(match e {
            ValueExpr::Const(v) => *v,
            ValueExpr::Acc => {
                acc.ok_or_else(|| TemplateError::Eval("Acc outside a post expression".into()))?
            }
            ValueExpr::Unary(f, a) => f.apply(self.eval(a, pt, acc)?),
            ValueExpr::Binary(f, a, b) => f.apply(self.eval(a, pt, acc)?, self.eval(b, pt, acc)?),
            ValueExpr::Select {
                guard,
                then,
                otherwise,
            } => {
                let v = self.index(&guard.index, pt)?;
                if v.is_some_and(|v| guard.lo <= v && v < guard.hi) {
                    self.eval(then, pt, acc)?
                } else {
                    self.eval(otherwise, pt, acc)?
                }
            }
            ValueExpr::Load { tensor, index, pad } => {
                let decl = self
                    .def
                    .tensors
                    .get(*tensor)
                    .ok_or_else(|| TemplateError::Eval(format!("bad tensor id {tensor}")))?;
                if index.len() != decl.shape.len() {
                    return Err(TemplateError::Eval(format!(
                        "load of {} with wrong rank",
                        decl.name
                    )));
                }
                let mut flat = 0usize;
                for (ix, &dim) in index.iter().zip(&decl.shape) {
                    match self.index(ix, pt)? {
                        Some(v) if v >= 0 && (v as usize) < dim => flat = flat * dim + v as usize,
                        _ => {
                            return pad.ok_or_else(|| {
                                TemplateError::Eval(format!(
                                    "unguarded out-of-bounds load of {}",
                                    decl.name
                                ))
                            })
                        }
                    }
                }
                let buf = &self.bufs[*tensor];
                *buf.get(flat).ok_or_else(|| {
                    TemplateError::Eval(format!("{} read before written", decl.name))
                })?
            }
        })
    }

    fn index(&self, ix: &IndexExpr, pt: &[i64]) -> Result<Option<i64>, TemplateError> {
        if ix.terms.iter().any(|t| t.axis >= pt.len()) {
            return Err(TemplateError::Eval(
                "index uses an axis not in scope".into(),
            ));
        }
        if ix.div < 1 {
            return Err(TemplateError::Eval("index divisor must be >= 1".into()));
        }
        Ok(ix.eval(pt))
    }
}
