//! Normalisations written out in elementary operators, as exporters do below the opsets that
//! have them as one operator: RMS norm `x / sqrt(mean(x²) + eps) · γ` and layer norm
//! `(x − mean(x)) / sqrt(mean((x − mean(x))²) + eps) · γ + β`, both over the last axis.
//! Each becomes one `rms_norm` / `layer_norm` task over `[M,N]` rows (the epsilon is not part
//! of the workload: tilegrad's kernels use their own, which does not change the speed).

use tilegrad_templates::{Op, Rows};

use crate::extract::{near, other, scalar, single_reader};
use crate::graph::{numel, Graph, Node};
use crate::shape::axis;

/// A recognised normalisation: the operator and every node it takes.
pub type Norm = (Op, Vec<usize>);

/// Whether `node` is `v²` (`Pow(v, 2)` or `Mul(v, v)`), and of which value.
fn square<'a>(g: &Graph, node: &'a Node) -> Option<&'a str> {
    let v = node.input(0)?;
    let ok = match node.op.as_str() {
        "Pow" => near(node.input(1).and_then(|e| scalar(g, e)), 2.0),
        "Mul" => node.input(1) == Some(v),
        _ => false,
    };
    ok.then_some(v)
}

/// Whether `node` is a `ReduceMean` over the last axis only, keeping it.
fn mean_of_last(g: &Graph, node: &Node, rank: usize) -> bool {
    if node.op != "ReduceMean" || node.int("keepdims", 1) == 0 {
        return false;
    }
    let axes: Option<Vec<i64>> = match node.ints("axes") {
        Some(a) => Some(a.to_vec()),
        None => node
            .input(1)
            .and_then(|n| g.constant(n))
            .map(|c| c.values.iter().map(|&v| v as i64).collect()),
    };
    axes.is_some_and(|a| !a.is_empty() && a.iter().all(|&a| axis(a, rank) == Some(rank - 1)))
}

/// From `value` (a mean of squares): `+ eps` then `sqrt`; the nodes and the root's name.
fn add_eps_sqrt(g: &Graph, value: &str, claimed: &[bool]) -> Option<(Vec<usize>, String)> {
    let (a, an) = single_reader(g, value, claimed)?;
    if an.op != "Add" || other(an, value).and_then(|o| scalar(g, o)).is_none() {
        return None;
    }
    let ao = an.outputs.first()?;
    let (s, sn) = single_reader(g, ao, claimed)?;
    (sn.op == "Sqrt").then(|| (vec![a, s], sn.outputs.first().cloned().unwrap_or_default()))
}

/// An optional `Mul` by a vector over the last axis (γ) after `value`, then for layer norm an
/// optional `Add` of one (β).
fn affine(g: &Graph, value: &str, n: usize, claimed: &[bool], with_beta: bool) -> Vec<usize> {
    let mut taken = Vec::new();
    let mut out = value.to_string();
    for op in ["Mul", "Add"].iter().take(if with_beta { 2 } else { 1 }) {
        let Some((k, kn)) = single_reader(g, &out, claimed) else {
            break;
        };
        let vector = other(kn, &out)
            .and_then(|o| g.shape(o))
            .is_some_and(|s| s.last() == Some(&n) && numel(s) == n);
        if kn.op != *op || !vector {
            break;
        }
        taken.push(k);
        out = kn.outputs.first().cloned().unwrap_or_default();
    }
    taken
}

fn rows(g: &Graph, x: &str) -> Option<(Rows, usize)> {
    let s = g.shape(x)?;
    let n = *s.last()?;
    (n > 0).then(|| (Rows { m: numel(s) / n, n }, s.len()))
}

/// RMS norm anchored at node `i` (the square of `x`).
pub fn rms_norm(g: &Graph, i: usize, claimed: &[bool]) -> Option<Norm> {
    let node = &g.nodes[i];
    let x = square(g, node)?;
    let (rows, rank) = rows(g, x)?;
    let (r, rn) = single_reader(g, node.outputs.first()?, claimed)?;
    if !mean_of_last(g, rn, rank) {
        return None;
    }
    let (mut nodes, root) = add_eps_sqrt(g, rn.outputs.first()?, claimed)?;
    nodes.extend([i, r]);
    let (k, kn) = single_reader(g, &root, claimed)?;
    let out = match kn.op.as_str() {
        // x / sqrt(...)
        "Div" if kn.input(0) == Some(x) && kn.input(1) == Some(root.as_str()) => {
            nodes.push(k);
            kn.outputs.first()?.clone()
        }
        // x · (1 / sqrt(...)), the reciprocal as an operator or a division.
        "Reciprocal" | "Div" => {
            let ok = kn.op == "Reciprocal"
                || (kn.input(1) == Some(root.as_str())
                    && near(kn.input(0).and_then(|o| scalar(g, o)), 1.0));
            let ko = kn.outputs.first()?;
            let (m, mn) = single_reader(g, ko, claimed)?;
            if !ok || mn.op != "Mul" || other(mn, ko) != Some(x) {
                return None;
            }
            nodes.extend([k, m]);
            mn.outputs.first()?.clone()
        }
        _ => return None,
    };
    nodes.extend(affine(g, &out, rows.n, claimed, false));
    Some((Op::RmsNorm(rows), nodes))
}

/// Layer norm anchored at node `i` (the mean of `x`).
pub fn layer_norm(g: &Graph, i: usize, claimed: &[bool]) -> Option<Norm> {
    let node = &g.nodes[i];
    let x = node.input(0)?;
    let (rows, rank) = rows(g, x)?;
    if !mean_of_last(g, node, rank) {
        return None;
    }
    let mu = node.outputs.first()?;
    let (d, dn) = single_reader(g, mu, claimed)?;
    if dn.op != "Sub" || dn.input(0) != Some(x) || dn.input(1) != Some(mu.as_str()) {
        return None;
    }
    let centred = dn.outputs.first()?;
    let readers = g.consumers(centred);
    if readers.len() != 2 || g.outputs.contains(centred) || readers.iter().any(|&r| claimed[r]) {
        return None;
    }
    let (p, v) = if square(g, &g.nodes[readers[0]]) == Some(centred.as_str()) {
        (readers[0], readers[1])
    } else {
        (readers[1], readers[0])
    };
    if square(g, &g.nodes[p]) != Some(centred.as_str()) {
        return None;
    }
    let (r, rn) = single_reader(g, g.nodes[p].outputs.first()?, claimed)?;
    if !mean_of_last(g, rn, rank) {
        return None;
    }
    let (mut nodes, root) = add_eps_sqrt(g, rn.outputs.first()?, claimed)?;
    let vn = &g.nodes[v];
    if vn.op != "Div"
        || vn.input(0) != Some(centred.as_str())
        || vn.input(1) != Some(root.as_str())
        || g.consumers(&root) != [v]
    {
        return None;
    }
    nodes.extend([i, d, p, r, v]);
    nodes.extend(affine(g, vn.outputs.first()?, rows.n, claimed, true));
    Some((Op::LayerNorm(rows), nodes))
}
