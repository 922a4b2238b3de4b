//! Task extraction: anchors, the epilogues fused into them, merging of identical tasks, the
//! untuned operators and the FLOP coverage.
//!
//! Fusion follows an anchor's output while it has exactly one reader (and is no graph
//! output), appending one epilogue step per recognised node: `Add` of a per-channel vector
//! (`+bias`; a `BatchNormalization` right after a conv folds into the same bias) or of a
//! tensor of the output's shape (`+res`), `Relu`, `Clip(0,6)` (`+relu6`), other finite
//! `Clip`s, `Sigmoid`, `Tanh`, `LeakyRelu`, `Gelu` (exact) and its erf pattern
//! `x·0.5·(1+erf(x/√2))`, `x·Sigmoid(x)` (`+silu`), `Mul` by a scalar constant or `Div` by one
//! (`+scale`), and `Mul` by a tensor of the output's shape (`+mul`). Only convolutions and
//! matrix products take epilogues. When two anchors meet in one `Add` (a residual block's
//! main branch and its projection), the first in topological order takes it. RMS and layer
//! norms written out in elementary operators are recognised too (`norm`).

use std::collections::HashMap;

use tilegrad_datasets::Task;
use tilegrad_templates::{DType, EpilogueOp, Workload};

use crate::anchor::{anchor, Channel};
use crate::graph::{numel, Graph, Node};

/// Operators of the model that no task covers, grouped by operator and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Untuned {
    /// The ONNX operator (`Reshape`).
    pub op: String,
    /// Why it is not tuned: empty for operators tilegrad has no kernel for (data movement,
    /// unfused elementwise), else what keeps an anchor operator from being expressed.
    pub reason: String,
    /// How many nodes.
    pub count: u32,
    /// Their estimated FLOPs together (elementwise: one per output element; convolutions and
    /// products: two per multiply-add; data movement: zero).
    pub flops: f64,
}

/// What a model holds for the tuner.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Distinct tasks in order of first occurrence, the weight counting occurrences.
    pub tasks: Vec<Task>,
    /// What is not tuned.
    pub untuned: Vec<Untuned>,
    /// FLOPs of one forward pass covered by the tasks (weight × workload FLOPs).
    pub tuned_flops: f64,
    /// Estimated FLOPs of the untuned operators.
    pub untuned_flops: f64,
    /// The default-domain opset of the model.
    pub opset: i64,
    /// What the caller should know that did not stop the import ([`Graph::warnings`]).
    pub warnings: Vec<String>,
    /// Nodes in the graph.
    pub nodes: usize,
}

impl Import {
    /// The share of the model's FLOPs the tasks cover, in `[0, 1]` (1 for a model with no
    /// FLOPs at all).
    pub fn coverage(&self) -> f64 {
        let total = self.tuned_flops + self.untuned_flops;
        if total > 0.0 {
            self.tuned_flops / total
        } else {
            1.0
        }
    }

    /// How many nodes are untuned.
    pub fn untuned_nodes(&self) -> u32 {
        self.untuned.iter().map(|u| u.count).sum()
    }
}

/// Extracts the tasks of a shaped graph.
pub fn extract(g: &Graph) -> Import {
    let n = g.nodes.len();
    let mut claimed = vec![false; n];
    let mut reasons: HashMap<usize, String> = HashMap::new();
    let mut tasks: Vec<Task> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..n {
        if claimed[i] {
            continue;
        }
        let norm = crate::norm::rms_norm(g, i, &claimed)
            .or_else(|| crate::norm::layer_norm(g, i, &claimed));
        if let Some((op, nodes)) = norm {
            if let Ok(w) = Workload::plain(op) {
                for k in nodes {
                    claimed[k] = true;
                }
                add(&mut tasks, &mut index, w);
                continue;
            }
        }
        let a = match anchor(g, i, &claimed) {
            None => continue,
            Some(Err(reason)) => {
                reasons.insert(i, reason);
                continue;
            }
            Some(Ok(a)) => a,
        };
        let base = match Workload::plain(a.op) {
            Ok(w) => w,
            Err(e) => {
                reasons.insert(i, e.to_string());
                continue;
            }
        };
        claimed[i] = true;
        for &f in &a.folded {
            claimed[f] = true;
        }
        let mut epilogue = a.epilogue.clone();
        let mut out = g.nodes[i].outputs.first().cloned().unwrap_or_default();
        if a.channel != Channel::None {
            while let Some((steps, nodes, next)) = fuse(g, &out, a.channel, &epilogue, &claimed) {
                for k in nodes {
                    claimed[k] = true;
                }
                epilogue.extend(steps);
                out = next;
            }
        }
        let workload = Workload::new(a.op, DType::F32, epilogue).unwrap_or(base);
        add(&mut tasks, &mut index, workload);
    }
    let mut untuned: Vec<Untuned> = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if claimed[i] || node.op == "Constant" {
            continue;
        }
        let reason = reasons.remove(&i).unwrap_or_default();
        let flops = estimate_flops(g, node);
        match untuned
            .iter_mut()
            .find(|u| u.op == node.op && u.reason == reason)
        {
            Some(u) => {
                u.count += 1;
                u.flops += flops;
            }
            None => untuned.push(Untuned {
                op: node.op.clone(),
                reason,
                count: 1,
                flops,
            }),
        }
    }
    untuned.sort_by(|a, b| b.count.cmp(&a.count).then(a.op.cmp(&b.op)));
    Import {
        tuned_flops: tasks
            .iter()
            .map(|t| f64::from(t.weight) * t.workload.flops())
            .sum(),
        untuned_flops: untuned.iter().map(|u| u.flops).sum(),
        tasks,
        untuned,
        opset: g.opset,
        warnings: g.warnings.clone(),
        nodes: n,
    }
}

/// Counts one occurrence of a workload (a new task, or one more of a known one).
fn add(tasks: &mut Vec<Task>, index: &mut HashMap<String, usize>, workload: Workload) {
    let text = workload.to_string();
    match index.get(&text) {
        Some(&t) => tasks[t].weight += 1,
        None => {
            index.insert(text, tasks.len());
            tasks.push(Task {
                workload,
                weight: 1,
            });
        }
    }
}

/// The only reader of `value`, when it has exactly one and is no graph output.
pub(crate) fn single_reader<'a>(
    g: &'a Graph,
    value: &str,
    claimed: &[bool],
) -> Option<(usize, &'a Node)> {
    match g.consumers(value) {
        [c] if !claimed[*c] && !g.outputs.contains(value) => Some((*c, &g.nodes[*c])),
        _ => None,
    }
}

/// The input of `node` other than `value` (for two-input nodes reading `value` once).
pub(crate) fn other<'a>(node: &'a Node, value: &str) -> Option<&'a str> {
    match node.inputs.as_slice() {
        [a, b] if a == value && b != value => Some(b),
        [a, b] if b == value && a != value => Some(a),
        _ => None,
    }
}

/// The value of a scalar (one-element) constant.
pub(crate) fn scalar(g: &Graph, name: &str) -> Option<f64> {
    g.constant(name)
        .filter(|c| c.values.len() == 1)
        .map(|c| c.values[0])
}

pub(crate) fn near(x: Option<f64>, want: f64) -> bool {
    x.is_some_and(|x| (x - want).abs() <= 1e-3 * want.abs().max(1.0))
}

/// One fusion step after `value`: the epilogue steps, the nodes they take, the new output.
fn fuse(
    g: &Graph,
    value: &str,
    channel: Channel,
    so_far: &[EpilogueOp],
    claimed: &[bool],
) -> Option<(Vec<EpilogueOp>, Vec<usize>, String)> {
    if let Some(hit) = silu(g, value, claimed).or_else(|| gelu(g, value, claimed)) {
        return Some(hit);
    }
    let (c, node) = single_reader(g, value, claimed)?;
    let out = node.outputs.first()?.clone();
    if node.outputs.iter().skip(1).any(|o| !o.is_empty()) && node.op != "Dropout" {
        return None;
    }
    let shape = g.shape(value)?;
    let step = match node.op.as_str() {
        "Identity" | "Dropout" => return Some((vec![], vec![c], out)),
        "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Gelu" | "Clip" => unary_step(g, node)?,
        "BatchNormalization"
            if channel == Channel::Second
                && node.input(0) == Some(value)
                && so_far.iter().all(|s| *s == EpilogueOp::Bias) =>
        {
            // Inference batch norm is a per-channel affine map: folded into the weights and
            // one bias, as the shipped networks count it.
            let steps = if so_far.is_empty() {
                vec![EpilogueOp::Bias]
            } else {
                vec![]
            };
            return Some((steps, vec![c], out));
        }
        "Add" => {
            let o = other(node, value)?;
            let os = g.shape(o)?;
            if per_channel(shape, os, channel) {
                if so_far.last() == Some(&EpilogueOp::Bias) {
                    return Some((vec![], vec![c], out));
                }
                EpilogueOp::Bias
            } else if os == shape {
                EpilogueOp::Residual
            } else {
                return None;
            }
        }
        "Mul" => {
            let o = other(node, value)?;
            if let Some(s) = scalar(g, o).filter(|s| s.is_finite()) {
                EpilogueOp::Scale(s)
            } else if g.shape(o)? == shape {
                EpilogueOp::Mul
            } else {
                return None;
            }
        }
        "Div" if node.input(0) == Some(value) => {
            let s = scalar(g, node.input(1)?)?;
            let r = 1.0 / s;
            if !r.is_finite() {
                return None;
            }
            EpilogueOp::Scale(r)
        }
        _ => return None,
    };
    if g.shape(&out)? != shape {
        return None;
    }
    Some((vec![step], vec![c], out))
}

/// The epilogue step of a unary activation node (`Relu`, `Sigmoid`, `Tanh`, `LeakyRelu`,
/// exact `Gelu`, `Clip` with constant bounds), if it has one.
pub(crate) fn unary_step(g: &Graph, node: &Node) -> Option<EpilogueOp> {
    Some(match node.op.as_str() {
        "Relu" => EpilogueOp::Relu,
        "Sigmoid" => EpilogueOp::Sigmoid,
        "Tanh" => EpilogueOp::Tanh,
        "LeakyRelu" => EpilogueOp::LeakyRelu(f64::from(node.float("alpha", 0.01))),
        "Gelu" if node.string("approximate", "none") == "none" => EpilogueOp::Gelu,
        "Clip" => {
            let (lo, hi) = if g.opset < 11 {
                (
                    f64::from(node.float("min", f32::MIN)),
                    f64::from(node.float("max", f32::MAX)),
                )
            } else {
                let bound = |k: usize, d: f64| match node.input(k) {
                    None => Some(d),
                    Some(n) => scalar(g, n),
                };
                (bound(1, f64::NEG_INFINITY)?, bound(2, f64::INFINITY)?)
            };
            match (lo, hi) {
                (0.0, 6.0) => EpilogueOp::Relu6,
                (0.0, h) if h >= f64::from(f32::MAX) => EpilogueOp::Relu,
                (l, h)
                    if l.is_finite()
                        && h.is_finite()
                        && l <= h
                        && l > f64::from(f32::MIN)
                        && h < f64::from(f32::MAX) =>
                {
                    EpilogueOp::Clip { lo: l, hi: h }
                }
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Whether `other` broadcast over `out` is one value per channel.
fn per_channel(out: &[usize], other: &[usize], channel: Channel) -> bool {
    if other.len() > out.len() || out.is_empty() {
        return false;
    }
    let c = match channel {
        Channel::Second if out.len() >= 2 => 1,
        Channel::Last => out.len() - 1,
        _ => return false,
    };
    let pad = out.len() - other.len();
    (0..out.len()).all(|i| {
        let d = if i < pad { 1 } else { other[i - pad] };
        if i == c {
            d == out[c]
        } else {
            d == 1
        }
    }) && numel(other) == out[c]
}

/// `x·Sigmoid(x)`: `value` read by exactly a `Sigmoid` and a `Mul` of it and the sigmoid.
fn silu(g: &Graph, value: &str, claimed: &[bool]) -> Option<(Vec<EpilogueOp>, Vec<usize>, String)> {
    let readers = g.consumers(value);
    if readers.len() != 2 || g.outputs.contains(value) || readers.iter().any(|&r| claimed[r]) {
        return None;
    }
    let (s, m) = if g.nodes[readers[0]].op == "Sigmoid" {
        (readers[0], readers[1])
    } else {
        (readers[1], readers[0])
    };
    let sig = &g.nodes[s];
    let sout = sig.outputs.first()?;
    let mul = &g.nodes[m];
    if sig.op != "Sigmoid" || mul.op != "Mul" || other(mul, value) != Some(sout.as_str()) {
        return None;
    }
    single_reader(g, sout, claimed).filter(|(k, _)| *k == m)?;
    Some((
        vec![EpilogueOp::Silu],
        vec![s, m],
        mul.outputs.first()?.clone(),
    ))
}

/// Exact GELU as exporters write it: `value` read by `Div(x, √2)` (or `Mul(x, 1/√2)`) → `Erf`
/// → `Add(·, 1)`, and by one `Mul` that, with a `Mul` by 0.5 before or after, completes
/// `x·0.5·(1+erf(x/√2))`.
fn gelu(g: &Graph, value: &str, claimed: &[bool]) -> Option<(Vec<EpilogueOp>, Vec<usize>, String)> {
    let readers = g.consumers(value);
    if readers.len() != 2 || g.outputs.contains(value) || readers.iter().any(|&r| claimed[r]) {
        return None;
    }
    let is_scaled = |k: usize| {
        let n = &g.nodes[k];
        let c = n.input(1).and_then(|c| scalar(g, c));
        n.input(0) == Some(value)
            && ((n.op == "Div" && near(c, std::f64::consts::SQRT_2))
                || (n.op == "Mul" && near(c, std::f64::consts::FRAC_1_SQRT_2)))
    };
    let (d, p) = if is_scaled(readers[0]) {
        (readers[0], readers[1])
    } else if is_scaled(readers[1]) {
        (readers[1], readers[0])
    } else {
        return None;
    };
    let (e, erf) = single_reader(g, g.nodes[d].outputs.first()?, claimed)?;
    if erf.op != "Erf" {
        return None;
    }
    let (a, add) = single_reader(g, erf.outputs.first()?, claimed)?;
    let eo = erf.outputs.first()?;
    if add.op != "Add" || !near(other(add, eo).and_then(|o| scalar(g, o)), 1.0) {
        return None;
    }
    let ao = add.outputs.first()?;
    let pn = &g.nodes[p];
    if pn.op != "Mul" {
        return None;
    }
    let po = pn.outputs.first()?;
    let (q, qn) = single_reader(g, po, claimed)?;
    if qn.op != "Mul" {
        return None;
    }
    let half = |n: &Node, x: &str| near(other(n, x).and_then(|o| scalar(g, o)), 0.5);
    let ok = if other(pn, value) == Some(ao.as_str()) {
        // x·(1+erf) then ·0.5.
        half(qn, po)
    } else {
        // x·0.5 then ·(1+erf): the second Mul must also be the only reader of (1+erf).
        half(pn, value)
            && other(qn, po) == Some(ao.as_str())
            && single_reader(g, ao, claimed).is_some_and(|(k, _)| k == q)
    };
    if !ok {
        return None;
    }
    if other(pn, value) == Some(ao.as_str()) {
        single_reader(g, ao, claimed).filter(|(k, _)| *k == p)?;
    }
    Some((
        vec![EpilogueOp::Gelu],
        vec![d, e, a, p, q],
        qn.outputs.first()?.clone(),
    ))
}

/// A rough FLOP count of an untuned node (see [`Untuned::flops`]).
fn estimate_flops(g: &Graph, node: &Node) -> f64 {
    let out = node
        .outputs
        .first()
        .and_then(|o| g.shape(o))
        .map_or(0.0, |s| numel(s) as f64);
    let shape = |k: usize| node.input(k).and_then(|n| g.shape(n));
    match node.op.as_str() {
        "Conv" | "ConvTranspose" => {
            let w = shape(1).map_or(0.0, |w| numel(w.get(1..).unwrap_or(&[])) as f64);
            let x = if node.op == "Conv" {
                out
            } else {
                shape(0).map_or(0.0, |s| numel(s) as f64)
            };
            2.0 * x * w
        }
        "MatMul" | "Gemm" => {
            let k = shape(0).and_then(|a| {
                if node.int("transA", 0) != 0 && a.len() == 2 {
                    a.first()
                } else {
                    a.last()
                }
            });
            2.0 * out * k.map_or(0.0, |&k| k as f64)
        }
        "MaxPool" | "AveragePool" => {
            let k: i64 = node.ints("kernel_shape").map_or(1, |k| k.iter().product());
            out * k.max(1) as f64
        }
        "GlobalAveragePool" | "GlobalMaxPool" | "ReduceMean" | "ReduceSum" | "ReduceMax" => {
            shape(0).map_or(0.0, |s| numel(s) as f64)
        }
        "Softmax"
        | "LogSoftmax"
        | "LayerNormalization"
        | "RMSNormalization"
        | "BatchNormalization"
        | "InstanceNormalization" => 5.0 * out,
        "Relu" | "Sigmoid" | "Tanh" | "Erf" | "Sqrt" | "Exp" | "Log" | "Neg" | "Abs"
        | "Reciprocal" | "Clip" | "LeakyRelu" | "Gelu" | "HardSigmoid" | "HardSwish" | "Elu"
        | "Selu" | "Softplus" | "Mish" | "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min"
        | "PRelu" | "Where" => out,
        _ => 0.0,
    }
}
