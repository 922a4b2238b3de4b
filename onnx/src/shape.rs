//! Static shape inference, node by node, and the folding of small constants (so that a
//! `Reshape` whose target comes from `Shape`, `Gather` and `Concat` still gets a shape).
//!
//! An operator the importer does not know gives its outputs no shape; the operators that read
//! them are then listed as untuned. Shapes that are known and do not compose are an error.

use crate::error::Result;
use crate::graph::{numel, Attr, Const, Graph, Node, Shape};

/// What inference gives for one output: its shape and, for a small constant, its values.
pub type Inferred = (Option<Shape>, Option<Const>);

/// The geometry of a windowed operator (Conv, pooling) along its spatial dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Kernel extents.
    pub kernel: Vec<usize>,
    /// Strides.
    pub strides: Vec<usize>,
    /// Dilations.
    pub dilations: Vec<usize>,
    /// Padding before each dimension.
    pub pads_begin: Vec<usize>,
    /// Padding after each dimension.
    pub pads_end: Vec<usize>,
    /// Output extents.
    pub out: Vec<usize>,
}

/// Reads a windowed node's attributes over input extents `input` and kernel `kernel`,
/// resolving `auto_pad` and `ceil_mode` as the ONNX operator definitions state.
pub fn window(node: &Node, input: &[usize], kernel: &[usize]) -> Result<Window> {
    let n = input.len();
    let list = |name: &str, default: usize| -> Result<Vec<usize>> {
        match node.ints(name) {
            None => Ok(vec![default; n]),
            Some(v) if v.len() == n => v
                .iter()
                .map(|&x| {
                    usize::try_from(x)
                        .ok()
                        .filter(|x| (1..=crate::graph::MAX_DIM).contains(x))
                        .ok_or_else(|| {
                            node.shape_error(format!("{name} must be positive, not {x}"))
                        })
                })
                .collect(),
            Some(v) => {
                Err(node.shape_error(format!("{name} has {} values for {n} dimensions", v.len())))
            }
        }
    };
    let strides = list("strides", 1)?;
    let dilations = list("dilations", 1)?;
    if kernel.len() != n {
        return Err(node.shape_error(format!(
            "a {}-D kernel on {n} spatial dimensions",
            kernel.len()
        )));
    }
    let eff: Vec<usize> = (0..n)
        .map(|i| (kernel[i].max(1) - 1).saturating_mul(dilations[i]) + 1)
        .collect();
    let ceil = node.int("ceil_mode", 0) == 1;
    let auto = node.string("auto_pad", "NOTSET");
    let (mut begin, mut end) = (vec![0; n], vec![0; n]);
    let mut out = vec![0; n];
    match auto {
        "SAME_UPPER" | "SAME_LOWER" => {
            for i in 0..n {
                out[i] = input[i].div_ceil(strides[i]);
                let total = ((out[i].max(1) - 1) * strides[i] + eff[i]).saturating_sub(input[i]);
                let small = total / 2;
                (begin[i], end[i]) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
        }
        "VALID" | "NOTSET" | "" => {
            if auto != "VALID" {
                if let Some(p) = node.ints("pads") {
                    if p.len() != 2 * n || p.iter().any(|&x| !(0..=1 << 30).contains(&x)) {
                        return Err(node.shape_error(format!("bad pads {p:?}")));
                    }
                    for i in 0..n {
                        begin[i] = p[i] as usize;
                        end[i] = p[i + n] as usize;
                    }
                }
            }
            for i in 0..n {
                let padded = input[i] + begin[i] + end[i];
                if padded < eff[i] {
                    return Err(node.shape_error(format!(
                        "the window ({}) is larger than the padded input ({padded})",
                        eff[i]
                    )));
                }
                let span = padded - eff[i];
                out[i] = if ceil {
                    span.div_ceil(strides[i])
                } else {
                    span / strides[i]
                } + 1;
            }
        }
        other => return Err(node.shape_error(format!("unknown auto_pad `{other}`"))),
    }
    Ok(Window {
        kernel: kernel.to_vec(),
        strides,
        dilations,
        pads_begin: begin,
        pads_end: end,
        out,
    })
}

/// Numpy-style broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Shape> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| {
        if i + s.len() < n {
            1
        } else {
            s[i + s.len() - n]
        }
    };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Normalises a possibly negative axis against a rank.
pub fn axis(a: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

/// A constant's values as integers (`None` if one is not whole). Values beyond ±2^53, which
/// f64 does not hold exactly, saturate: exporters write `INT64_MAX` for "to the end".
fn consts_as_ints(c: &Const) -> Option<Vec<i64>> {
    c.values
        .iter()
        .map(|&v| (v.fract() == 0.0).then_some(v as i64))
        .collect()
}

/// Infers the outputs of one node from the graph's values so far.
pub fn infer(node: &Node, g: &Graph, opset: i64) -> Result<Vec<Inferred>> {
    let shape = |i: usize| node.input(i).and_then(|n| g.shape(n)).cloned();
    let constant = |i: usize| node.input(i).and_then(|n| g.constant(n)).cloned();
    let same = |s: Option<Shape>| vec![(s, None)];
    let one = |s: Shape| -> Result<Vec<Inferred>> { Ok(vec![(Some(s), None)]) };
    let int_list = |attr: &str, input: usize| -> Option<Vec<i64>> {
        match node.ints(attr) {
            Some(v) => Some(v.to_vec()),
            None => constant(input).and_then(|c| consts_as_ints(&c)),
        }
    };
    let x = shape(0);
    Ok(match node.op.as_str() {
        "Constant" => {
            let c = match node.attrs.get("value") {
                Some(Attr::Tensor(c)) => c.clone(),
                _ => match (node.attrs.get("value_float"), node.attrs.get("value_int")) {
                    (Some(Attr::Float(f)), _) => Some(Const {
                        shape: vec![],
                        values: vec![f64::from(*f)],
                    }),
                    (_, Some(Attr::Int(i))) => Some(Const {
                        shape: vec![],
                        values: vec![*i as f64],
                    }),
                    _ => match (node.attrs.get("value_floats"), node.attrs.get("value_ints")) {
                        (Some(Attr::Floats(v)), _) => Some(Const {
                            shape: vec![v.len()],
                            values: v.iter().map(|&x| f64::from(x)).collect(),
                        }),
                        (_, Some(Attr::Ints(v))) => Some(Const {
                            shape: vec![v.len()],
                            values: v.iter().map(|&x| x as f64).collect(),
                        }),
                        _ => None,
                    },
                },
            };
            vec![(c.as_ref().map(|c| c.shape.clone()), c)]
        }
        "Identity" | "Cast" | "CastLike" => vec![(x, constant(0))],
        "Relu"
        | "Trilu"
        | "GroupNormalization"
        | "Sigmoid"
        | "Tanh"
        | "Erf"
        | "Sqrt"
        | "Exp"
        | "Log"
        | "Neg"
        | "Abs"
        | "Reciprocal"
        | "Clip"
        | "LeakyRelu"
        | "Gelu"
        | "Softmax"
        | "LogSoftmax"
        | "HardSigmoid"
        | "HardSwish"
        | "Elu"
        | "Selu"
        | "Softplus"
        | "Mish"
        | "Floor"
        | "Ceil"
        | "Round"
        | "Not"
        | "Sign"
        | "Sin"
        | "Cos"
        | "BatchNormalization"
        | "LayerNormalization"
        | "RMSNormalization"
        | "InstanceNormalization"
        | "LRN"
        | "Dropout" => {
            let mut v = same(x.clone());
            if node.op == "Dropout" && node.outputs.len() > 1 {
                v.push((x, None));
            }
            v
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Equal" | "Less" | "Greater"
        | "And" | "Or" | "Mod" | "PRelu" | "Where" => {
            let mut out: Option<Shape> = x;
            for i in 1..node.inputs.len() {
                out = match (out, shape(i)) {
                    (Some(a), Some(b)) => Some(broadcast(&a, &b).ok_or_else(|| {
                        node.shape_error(format!("shapes {a:?} and {b:?} do not broadcast"))
                    })?),
                    _ => None,
                };
            }
            let folded = match (node.op.as_str(), constant(0), constant(1)) {
                ("Add" | "Sub" | "Mul" | "Div", Some(a), Some(b)) => fold_binary(&node.op, &a, &b),
                _ => None,
            };
            vec![(out, folded)]
        }
        "Conv" | "ConvTranspose" | "MaxPool" | "AveragePool" => {
            let (Some(x), w) = (x, shape(1)) else {
                return Ok(same(None));
            };
            if x.len() < 3 {
                return Err(node.shape_error(format!(
                    "input of rank {} (expected N, C and spatial dims)",
                    x.len()
                )));
            }
            let spatial = &x[2..];
            let is_conv = node.op.starts_with("Conv");
            let (kernel, channels) = if is_conv {
                let Some(w) = w else { return Ok(same(None)) };
                if w.len() != x.len() {
                    return Err(node.shape_error(format!(
                        "weights of rank {} on an input of rank {}",
                        w.len(),
                        x.len()
                    )));
                }
                let group = usize::try_from(node.int("group", 1)).unwrap_or(0);
                if group == 0 {
                    return Err(node.shape_error("group must be positive"));
                }
                let channels = if node.op == "Conv" {
                    if w[1].saturating_mul(group) != x[1] || w[0] % group != 0 {
                        return Err(node.shape_error(format!(
                            "{} input channels do not fit weights {w:?} in {group} group(s)",
                            x[1]
                        )));
                    }
                    w[0]
                } else {
                    if w[0] != x[1] {
                        return Err(
                            node.shape_error(format!("{} input channels, weights {w:?}", x[1]))
                        );
                    }
                    w[1].saturating_mul(group)
                };
                (w[2..].to_vec(), channels)
            } else {
                let k: Option<Vec<usize>> = node
                    .ints("kernel_shape")
                    .map(|k| {
                        k.iter()
                            .map(|&v| usize::try_from(v).ok().filter(|&v| v >= 1))
                            .collect()
                    })
                    .unwrap_or(None);
                let k =
                    k.ok_or_else(|| node.shape_error("kernel_shape is missing or not positive"))?;
                (k, x[1])
            };
            let out = if node.op == "ConvTranspose" {
                window_transpose(node, spatial, &kernel)?
            } else {
                window(node, spatial, &kernel)?.out
            };
            let mut s = vec![x[0], channels];
            s.extend(out);
            let mut v = vec![(Some(s.clone()), None)];
            if node.outputs.len() > 1 {
                v.push((Some(s), None));
            }
            v
        }
        "GlobalAveragePool" | "GlobalMaxPool" => match x {
            Some(x) if x.len() >= 3 => {
                let mut s = x[..2].to_vec();
                s.extend(std::iter::repeat_n(1, x.len() - 2));
                one(s)?
            }
            Some(x) => return Err(node.shape_error(format!("input of rank {}", x.len()))),
            None => same(None),
        },
        "Gemm" => match (x, shape(1)) {
            (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => {
                let (m, ka) = if node.int("transA", 0) != 0 {
                    (a[1], a[0])
                } else {
                    (a[0], a[1])
                };
                let (kb, n) = if node.int("transB", 0) != 0 {
                    (b[1], b[0])
                } else {
                    (b[0], b[1])
                };
                if ka != kb {
                    return Err(node.shape_error(format!("A {a:?} and B {b:?} do not multiply")));
                }
                one(vec![m, n])?
            }
            (Some(a), Some(b)) => {
                return Err(
                    node.shape_error(format!("Gemm needs 2-D operands, not {a:?} and {b:?}"))
                )
            }
            _ => same(None),
        },
        "MatMul" => match (x, shape(1)) {
            (Some(a), Some(b)) => one(matmul_shape(node, &a, &b)?)?,
            _ => same(None),
        },
        "Flatten" => match x {
            Some(x) => {
                let a = node.int("axis", 1);
                let a = if a < 0 { a + x.len() as i64 } else { a };
                if !(0..=x.len() as i64).contains(&a) {
                    return Err(node.shape_error(format!("axis {a} out of range")));
                }
                let (l, r) = x.split_at(a as usize);
                vec![(
                    Some(vec![numel(l), numel(r)]),
                    constant(0).map(|c| Const {
                        shape: vec![numel(l), numel(r)],
                        values: c.values,
                    }),
                )]
            }
            None => same(None),
        },
        "Reshape" => {
            let target = constant(1).and_then(|c| consts_as_ints(&c));
            match (x, target) {
                (Some(x), Some(t)) => {
                    let s = reshape(node, &x, &t)?;
                    let c = constant(0).map(|c| Const {
                        shape: s.clone(),
                        values: c.values,
                    });
                    vec![(Some(s), c)]
                }
                _ => same(None),
            }
        }
        "Transpose" => match x {
            Some(x) => {
                let perm: Vec<i64> = node
                    .ints("perm")
                    .map(<[i64]>::to_vec)
                    .unwrap_or_else(|| (0..x.len() as i64).rev().collect());
                let mut seen = vec![false; x.len()];
                let mut s = Vec::with_capacity(x.len());
                for &p in &perm {
                    match usize::try_from(p).ok().filter(|&p| p < x.len() && !seen[p]) {
                        Some(p) => {
                            seen[p] = true;
                            s.push(x[p]);
                        }
                        None => {
                            return Err(
                                node.shape_error(format!("bad perm {perm:?} for rank {}", x.len()))
                            )
                        }
                    }
                }
                if s.len() != x.len() {
                    return Err(node.shape_error(format!("bad perm {perm:?} for rank {}", x.len())));
                }
                one(s)?
            }
            None => same(None),
        },
        "Concat" => {
            let shapes: Option<Vec<Shape>> = (0..node.inputs.len()).map(shape).collect();
            match shapes {
                Some(shapes) if !shapes.is_empty() => {
                    let rank = shapes[0].len();
                    let a = axis(node.int("axis", 0), rank)
                        .ok_or_else(|| node.shape_error("axis out of range"))?;
                    let mut s = shapes[0].clone();
                    s[a] = 0;
                    for t in &shapes {
                        if t.len() != rank || (0..rank).any(|i| i != a && t[i] != s[i]) {
                            return Err(node.shape_error(format!(
                                "cannot concatenate {:?} and {t:?}",
                                shapes[0]
                            )));
                        }
                        s[a] = s[a].saturating_add(t[a]);
                    }
                    let consts: Option<Vec<Const>> = (0..node.inputs.len()).map(constant).collect();
                    let folded = consts.filter(|_| rank == 1).map(|cs| Const {
                        shape: s.clone(),
                        values: cs.into_iter().flat_map(|c| c.values).collect(),
                    });
                    vec![(Some(s), folded)]
                }
                _ => same(None),
            }
        }
        "Unsqueeze" | "Squeeze" => {
            let axes = if opset >= 13 {
                int_list("axes", 1)
            } else {
                node.ints("axes").map(<[i64]>::to_vec)
            };
            match x {
                Some(x) => {
                    let s = if node.op == "Unsqueeze" {
                        let Some(axes) = axes else {
                            return Ok(same(None));
                        };
                        let rank = x.len() + axes.len();
                        let mut is_new = vec![false; rank];
                        for &a in &axes {
                            let a = axis(a, rank)
                                .ok_or_else(|| node.shape_error("axis out of range"))?;
                            is_new[a] = true;
                        }
                        let mut it = x.iter();
                        is_new
                            .iter()
                            .map(|&n| if n { 1 } else { *it.next().unwrap_or(&1) })
                            .collect()
                    } else {
                        let drop: Vec<usize> = match axes {
                            Some(axes) => axes
                                .iter()
                                .map(|&a| axis(a, x.len()).filter(|&a| x[a] == 1))
                                .collect::<Option<_>>()
                                .ok_or_else(|| node.shape_error("cannot squeeze those axes"))?,
                            None => (0..x.len()).filter(|&i| x[i] == 1).collect(),
                        };
                        (0..x.len())
                            .filter(|i| !drop.contains(i))
                            .map(|i| x[i])
                            .collect::<Shape>()
                    };
                    let c = constant(0).map(|c| Const {
                        shape: s.clone(),
                        values: c.values,
                    });
                    vec![(Some(s), c)]
                }
                None => same(None),
            }
        }
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL2" => {
            let from_input = opset >= 18 || (node.op == "ReduceSum" && opset >= 13);
            let axes = if from_input {
                int_list("axes", 1)
            } else {
                node.ints("axes").map(<[i64]>::to_vec)
            };
            match x {
                Some(x) => {
                    let all: Vec<usize> = match axes.filter(|a| !a.is_empty()) {
                        Some(a) => a
                            .iter()
                            .map(|&a| axis(a, x.len()))
                            .collect::<Option<_>>()
                            .ok_or_else(|| node.shape_error("axis out of range"))?,
                        None if node.int("noop_with_empty_axes", 0) != 0 => {
                            return Ok(same(Some(x)))
                        }
                        None => (0..x.len()).collect(),
                    };
                    let keep = node.int("keepdims", 1) != 0;
                    let s = (0..x.len())
                        .filter_map(|i| match (all.contains(&i), keep) {
                            (false, _) => Some(x[i]),
                            (true, true) => Some(1),
                            (true, false) => None,
                        })
                        .collect();
                    one(s)?
                }
                None => same(None),
            }
        }
        "Shape" => match x {
            Some(x) => {
                let r = x.len() as i64;
                let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let start = clamp(node.int("start", 0));
                let end = clamp(node.int("end", r));
                let dims: Vec<f64> = x[start..end.max(start)].iter().map(|&d| d as f64).collect();
                vec![(
                    Some(vec![dims.len()]),
                    Some(Const {
                        shape: vec![dims.len()],
                        values: dims,
                    }),
                )]
            }
            None => same(None),
        },
        "Gather" => match (x, shape(1)) {
            (Some(d), Some(ix)) => {
                let a = axis(node.int("axis", 0), d.len())
                    .ok_or_else(|| node.shape_error("axis out of range"))?;
                let mut s = d[..a].to_vec();
                s.extend(&ix);
                s.extend(&d[a + 1..]);
                let folded = match (constant(0), constant(1)) {
                    (Some(c), Some(i)) if d.len() == 1 => i
                        .values
                        .iter()
                        .map(|&k| {
                            let k = if k < 0.0 { k + d[0] as f64 } else { k };
                            (k >= 0.0 && (k as usize) < c.values.len())
                                .then(|| c.values[k as usize])
                        })
                        .collect::<Option<Vec<f64>>>()
                        .map(|values| Const {
                            shape: s.clone(),
                            values,
                        }),
                    _ => None,
                };
                vec![(Some(s), folded)]
            }
            _ => same(None),
        },
        "Expand" => match (x, constant(1).and_then(|c| consts_as_ints(&c))) {
            (Some(x), Some(t)) => {
                let t: Option<Shape> = t.iter().map(|&v| usize::try_from(v).ok()).collect();
                let t = t.ok_or_else(|| node.shape_error("negative dimension"))?;
                one(broadcast(&x, &t)
                    .ok_or_else(|| node.shape_error(format!("cannot expand {x:?} to {t:?}")))?)?
            }
            _ => same(None),
        },
        "Split" => match x {
            Some(x) => {
                let a = axis(node.int("axis", 0), x.len())
                    .ok_or_else(|| node.shape_error("axis out of range"))?;
                let parts = node.outputs.len();
                let sizes = if opset >= 13 {
                    int_list("split", 1)
                } else {
                    node.ints("split").map(<[i64]>::to_vec)
                };
                let sizes: Vec<usize> = match sizes {
                    Some(s) => s
                        .iter()
                        .map(|&v| usize::try_from(v).unwrap_or(usize::MAX))
                        .collect(),
                    None if parts > 0 => {
                        let each = x[a].div_ceil(parts);
                        (0..parts)
                            .map(|i| each.min(x[a].saturating_sub(i * each)))
                            .collect()
                    }
                    None => vec![],
                };
                if sizes.len() != parts
                    || sizes.iter().fold(0usize, |s, &v| s.saturating_add(v)) != x[a]
                {
                    return Err(node.shape_error(format!("cannot split {} into {sizes:?}", x[a])));
                }
                sizes
                    .into_iter()
                    .map(|v| {
                        let mut s = x.clone();
                        s[a] = v;
                        (Some(s), None)
                    })
                    .collect()
            }
            None => same(None),
        },
        "Slice" => match x {
            Some(x) => vec![(slice(node, g, &x, opset)?, None)],
            None => same(None),
        },
        "Pad" => {
            let pads = if opset >= 11 {
                constant(1).and_then(|c| consts_as_ints(&c))
            } else {
                node.ints("pads").map(<[i64]>::to_vec)
            };
            match (x, pads) {
                (Some(x), Some(p)) if p.len() == 2 * x.len() => {
                    let r = x.len();
                    let s: Option<Shape> = (0..r)
                        .map(|i| {
                            usize::try_from(
                                x[i] as i64
                                    + p[i].clamp(-(1 << 40), 1 << 40)
                                    + p[i + r].clamp(-(1 << 40), 1 << 40),
                            )
                            .ok()
                        })
                        .collect();
                    one(s.ok_or_else(|| node.shape_error("padding crops more than the input"))?)?
                }
                (Some(_), Some(p)) => {
                    return Err(node.shape_error(format!("pads {p:?} do not fit the rank")))
                }
                _ => same(None),
            }
        }
        "Tile" => match (x, constant(1).and_then(|c| consts_as_ints(&c))) {
            (Some(x), Some(r))
                if r.len() == x.len() && r.iter().all(|&v| (0..1 << 31).contains(&v)) =>
            {
                one(x
                    .iter()
                    .zip(&r)
                    .map(|(&d, &k)| d.saturating_mul(k as usize))
                    .collect())?
            }
            (Some(_), Some(r)) => return Err(node.shape_error(format!("bad repeats {r:?}"))),
            _ => same(None),
        },
        "ConstantOfShape" => match constant(0).and_then(|c| consts_as_ints(&c)) {
            Some(t) => {
                let s: Option<Shape> = t.iter().map(|&v| usize::try_from(v).ok()).collect();
                one(s.ok_or_else(|| node.shape_error("negative dimension"))?)?
            }
            None => same(None),
        },
        "Resize" | "Upsample" => {
            // Sizes (input 3 from opset 11), else scales (input 2; input 1 before 11).
            let sizes = (opset >= 11).then(|| constant(3)).flatten();
            let scales = constant(if opset >= 11 { 2 } else { 1 }).or_else(|| {
                node.attrs.get("scales").and_then(|a| match a {
                    Attr::Floats(v) => Some(Const {
                        shape: vec![v.len()],
                        values: v.iter().map(|&f| f64::from(f)).collect(),
                    }),
                    _ => None,
                })
            });
            match (x, sizes, scales) {
                (Some(x), Some(sz), _) if sz.values.len() == x.len() => one(sz
                    .values
                    .iter()
                    .map(|&v| usize::try_from(v as i64).ok())
                    .collect::<Option<Shape>>()
                    .ok_or_else(|| node.shape_error("bad sizes"))?)?,
                (Some(x), None, Some(sc)) if sc.values.len() == x.len() => one(x
                    .iter()
                    .zip(&sc.values)
                    .map(|(&d, &f)| {
                        let v = (d as f64 * f).floor();
                        (v.is_finite() && v >= 0.0 && v <= crate::graph::MAX_DIM as f64)
                            .then_some(v as usize)
                    })
                    .collect::<Option<Shape>>()
                    .ok_or_else(|| node.shape_error("bad scales"))?)?,
                _ => same(None),
            }
        }
        "DepthToSpace" | "SpaceToDepth" => match x {
            Some(x) if x.len() == 4 => {
                let b = usize::try_from(node.int("blocksize", 0)).unwrap_or(0);
                let bb = b.saturating_mul(b);
                let s = if node.op == "DepthToSpace" {
                    (b > 0 && x[1] % bb == 0).then(|| vec![x[0], x[1] / bb, x[2] * b, x[3] * b])
                } else {
                    (b > 0 && x[2] % b == 0 && x[3] % b == 0)
                        .then(|| vec![x[0], x[1] * bb, x[2] / b, x[3] / b])
                };
                one(s.ok_or_else(|| node.shape_error("blocksize does not divide the input"))?)?
            }
            _ => same(None),
        },
        "ArgMax" | "ArgMin" => match x {
            Some(x) => {
                let a = axis(node.int("axis", 0), x.len())
                    .ok_or_else(|| node.shape_error("axis out of range"))?;
                let mut s = x.clone();
                if node.int("keepdims", 1) != 0 {
                    s[a] = 1;
                } else {
                    s.remove(a);
                }
                one(s)?
            }
            None => same(None),
        },
        _ => vec![],
    })
}

/// Ceiling division of a non-negative by a positive number.
fn ceil_div(a: i128, d: i128) -> i128 {
    (a + d - 1) / d
}

/// `Slice`: starts, ends, axes and steps from constant inputs (opset 10 on) or attributes.
fn slice(node: &Node, g: &Graph, x: &[usize], opset: i64) -> Result<Option<Shape>> {
    let list = |attr: &str, input: usize| -> Option<Vec<i64>> {
        if opset >= 10 {
            node.input(input)
                .and_then(|n| g.constant(n))
                .and_then(consts_as_ints)
        } else {
            node.ints(attr).map(<[i64]>::to_vec)
        }
    };
    let (Some(starts), Some(ends)) = (list("starts", 1), list("ends", 2)) else {
        return Ok(None);
    };
    let rank = x.len();
    let axes = match list("axes", 3) {
        Some(a) => a,
        None if opset >= 10 && node.input(3).is_some() => return Ok(None),
        None => (0..starts.len() as i64).collect(),
    };
    let steps = match list("steps", 4) {
        Some(s) => s,
        None if opset >= 10 && node.input(4).is_some() => return Ok(None),
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(node.shape_error("starts, ends, axes and steps differ in length"));
    }
    let mut s = x.to_vec();
    for k in 0..starts.len() {
        let a = axis(axes[k], rank).ok_or_else(|| node.shape_error("axis out of range"))?;
        let d = x[a] as i64;
        let step = steps[k];
        if step == 0 {
            return Err(node.shape_error("step 0"));
        }
        let clamp = |v: i64, lo: i64, hi: i64| {
            let v = if v < 0 { v.saturating_add(d) } else { v };
            v.clamp(lo, hi)
        };
        let step = i128::from(step);
        let n: i128 = if step > 0 {
            let (b, e) = (clamp(starts[k], 0, d), clamp(ends[k], 0, d));
            ceil_div((i128::from(e) - i128::from(b)).max(0), step)
        } else {
            let (b, e) = (clamp(starts[k], -1, d - 1), clamp(ends[k], -1, d - 1));
            ceil_div((i128::from(b) - i128::from(e)).max(0), -step)
        };
        s[a] = n as usize;
    }
    Ok(Some(s))
}

/// The output extents of a transposed convolution.
fn window_transpose(node: &Node, input: &[usize], kernel: &[usize]) -> Result<Vec<usize>> {
    let n = input.len();
    let get = |name: &str, default: i64| -> Vec<i64> {
        node.ints(name)
            .map_or_else(|| vec![default; n], <[i64]>::to_vec)
    };
    let (s, d, op) = (
        get("strides", 1),
        get("dilations", 1),
        get("output_padding", 0),
    );
    let p = node
        .ints("pads")
        .map_or_else(|| vec![0; 2 * n], <[i64]>::to_vec);
    if s.len() != n || d.len() != n || op.len() != n || p.len() != 2 * n || kernel.len() != n {
        return Err(node.shape_error("attribute lengths do not match the spatial dimensions"));
    }
    (0..n)
        .map(|i| {
            let v = (s[i] as i128) * (input[i] as i128 - 1)
                + op[i] as i128
                + (kernel[i] as i128 - 1) * d[i] as i128
                + 1
                - p[i] as i128
                - p[i + n] as i128;
            usize::try_from(v)
                .ok()
                .filter(|v| (1..=crate::graph::MAX_DIM).contains(v))
                .ok_or_else(|| node.shape_error("bad output size"))
        })
        .collect()
}

/// Numpy `matmul` shapes (1-D operands promoted, batch dims broadcast).
pub fn matmul_shape(node: &Node, a: &[usize], b: &[usize]) -> Result<Shape> {
    if a.is_empty() || b.is_empty() {
        return Err(node.shape_error("MatMul of a scalar"));
    }
    let a2: Shape = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Shape = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(node.shape_error(format!("{a:?} and {b:?} do not multiply")));
    }
    let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2]).ok_or_else(|| {
        node.shape_error(format!("batch dims of {a:?} and {b:?} do not broadcast"))
    })?;
    let mut s = batch;
    if a.len() > 1 {
        s.push(m);
    }
    if b.len() > 1 {
        s.push(n);
    }
    Ok(s)
}

fn reshape(node: &Node, x: &[usize], target: &[i64]) -> Result<Shape> {
    let allow_zero = node.int("allowzero", 0) != 0;
    let mut s = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                s.push(1);
            }
            0 if !allow_zero => s.push(
                *x.get(i)
                    .ok_or_else(|| node.shape_error("0 beyond the input's rank"))?,
            ),
            t if t >= 0 => s.push(usize::try_from(t).unwrap_or(usize::MAX)),
            _ => return Err(node.shape_error(format!("bad target shape {target:?}"))),
        }
    }
    let total = numel(x);
    if let Some(i) = infer {
        let rest = numel(&s);
        if rest == 0 || !total.is_multiple_of(rest) {
            return Err(node.shape_error(format!("cannot reshape {x:?} to {target:?}")));
        }
        s[i] = total / rest;
    }
    if numel(&s) != total {
        return Err(node.shape_error(format!("cannot reshape {x:?} to {target:?}")));
    }
    Ok(s)
}

fn fold_binary(op: &str, a: &Const, b: &Const) -> Option<Const> {
    let f = |x: f64, y: f64| match op {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        _ => x / y,
    };
    let values = if a.values.len() == b.values.len() && a.shape == b.shape {
        a.values
            .iter()
            .zip(&b.values)
            .map(|(&x, &y)| f(x, y))
            .collect()
    } else if b.values.len() == 1 {
        a.values.iter().map(|&x| f(x, b.values[0])).collect()
    } else if a.values.len() == 1 {
        b.values.iter().map(|&y| f(a.values[0], y)).collect()
    } else {
        return None;
    };
    let shape = if a.values.len() >= b.values.len() {
        a.shape.clone()
    } else {
        b.shape.clone()
    };
    Some(Const { shape, values })
}
