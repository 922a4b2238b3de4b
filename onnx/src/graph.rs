//! The decoded model as the importer works on it: nodes in a checked topological order,
//! every value's static shape (where it can be inferred) and small constant values.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use crate::error::{Error, Result};
use crate::proto::{AttributeProto, GraphProto, ModelProto, TensorProto};
use crate::shape;

/// The oldest default-domain opset the importer reads.
pub const MIN_OPSET: i64 = 7;
/// The newest default-domain opset the importer reads (ONNX 1.23).
pub const MAX_OPSET: i64 = 28;
/// The largest extent of one dimension.
pub const MAX_DIM: usize = 1 << 31;
/// The most elements of one tensor.
pub const MAX_ELEMENTS: usize = 1 << 48;
/// Constants with at most this many elements keep their values (shapes, scales, clip bounds).
const MAX_CONST_ELEMENTS: usize = 4096;

/// A static shape, outermost dimension first (ONNX order: NCHW for images).
pub type Shape = Vec<usize>;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f32),
    /// Integers.
    Ints(Vec<i64>),
    /// Floats.
    Floats(Vec<f32>),
    /// A string.
    Str(String),
    /// A tensor's values (when small and numeric) and shape.
    Tensor(Option<Const>),
    /// A kind the importer does not read (graphs, sparse tensors, types).
    Other,
}

/// A small constant tensor's values, widened to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// Its shape.
    pub shape: Shape,
    /// Its values, row-major.
    pub values: Vec<f64>,
}

/// One node, with its attributes by name.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's name, or `#<index>` when it has none.
    pub name: String,
    /// The operator (`Conv`).
    pub op: String,
    /// Input value names; `""` for an omitted optional input.
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
    /// Attributes.
    pub attrs: HashMap<String, Attr>,
}

impl Node {
    /// An integer attribute, or `default`.
    pub fn int(&self, name: &str, default: i64) -> i64 {
        match self.attrs.get(name) {
            Some(Attr::Int(i)) => *i,
            _ => default,
        }
    }

    /// A float attribute, or `default`.
    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.attrs.get(name) {
            Some(Attr::Float(f)) => *f,
            Some(Attr::Int(i)) => *i as f32,
            _ => default,
        }
    }

    /// An integer-list attribute, if present.
    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.attrs.get(name) {
            Some(Attr::Ints(v)) => Some(v),
            _ => None,
        }
    }

    /// A string attribute, or `default`.
    pub fn string<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        match self.attrs.get(name) {
            Some(Attr::Str(s)) => s,
            _ => default,
        }
    }

    /// The `i`-th input's name when present and not omitted.
    pub fn input(&self, i: usize) -> Option<&str> {
        self.inputs
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An error about this node's shapes.
    pub fn shape_error(&self, reason: impl Into<String>) -> Error {
        Error::Shape {
            node: self.name.clone(),
            op: self.op.clone(),
            reason: reason.into(),
        }
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A graph input that is not an initializer (an activation, or a weight fed at run time).
    Input,
    /// An initializer (a weight), or the output of a `Constant` node.
    Constant,
    /// The output of the node with this index (into [`Graph::nodes`]).
    Node(usize),
}

/// What the importer knows of a value.
#[derive(Debug, Clone)]
pub struct Value {
    /// Where it comes from.
    pub source: Source,
    /// Its static shape, when it could be inferred.
    pub shape: Option<Shape>,
    /// Its values, when it is a small numeric constant (or folds to one).
    pub constant: Option<Const>,
}

/// The model's main graph, checked and with shapes inferred.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Nodes in topological order (the file's order wherever that order is valid).
    pub nodes: Vec<Node>,
    /// Every value by name.
    pub values: HashMap<String, Value>,
    /// For each value, the indices of the nodes that read it (once per node).
    pub consumers: HashMap<String, Vec<usize>>,
    /// The graph's outputs.
    pub outputs: HashSet<String>,
    /// The default domain's opset.
    pub opset: i64,
    /// Things the caller should know that do not stop the import (e.g. a float16 model,
    /// whose tasks are tuned in float32, the one type tilegrad implements).
    pub warnings: Vec<String>,
}

impl Graph {
    /// Decodes, checks and shapes a model. `inputs` overrides graph-input shapes by name.
    pub fn from_bytes(bytes: &[u8], inputs: &BTreeMap<String, Shape>) -> Result<Graph> {
        let model = <ModelProto as prost::Message>::decode(bytes)?;
        Graph::from_model(model, inputs)
    }

    /// Checks and shapes a decoded model.
    pub fn from_model(model: ModelProto, inputs: &BTreeMap<String, Shape>) -> Result<Graph> {
        if model.ir_version <= 0 {
            return Err(Error::NotOnnx {
                reason: "no IR version",
            });
        }
        let graph = model.graph.ok_or(Error::NotOnnx { reason: "no graph" })?;
        let opset = model
            .opset_import
            .iter()
            .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version)
            .max()
            .unwrap_or(0);
        if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
            return Err(Error::UnsupportedOpset {
                version: opset,
                min: MIN_OPSET,
                max: MAX_OPSET,
            });
        }
        let mut g = Graph {
            nodes: Vec::new(),
            values: HashMap::new(),
            consumers: HashMap::new(),
            outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
            opset,
            warnings: Vec::new(),
        };
        g.add_sources(&graph, inputs)?;
        g.nodes = sorted_nodes(&graph, &g.values)?;
        for i in 0..g.nodes.len() {
            let node = &g.nodes[i];
            let mut seen = HashSet::new();
            for input in node.inputs.iter().filter(|s| !s.is_empty()) {
                if seen.insert(input.clone()) {
                    g.consumers.entry(input.clone()).or_default().push(i);
                }
            }
            let outs = shape::infer(node, &g, opset)?;
            for (k, name) in node.outputs.iter().enumerate() {
                if name.is_empty() {
                    continue;
                }
                let (shape, constant) = outs.get(k).cloned().unwrap_or((None, None));
                if let Some(s) = &shape {
                    check_size(name, s)?;
                }
                g.values.insert(
                    name.clone(),
                    Value {
                        source: if node.op == "Constant" {
                            Source::Constant
                        } else {
                            Source::Node(i)
                        },
                        shape,
                        constant,
                    },
                );
            }
        }
        Ok(g)
    }

    /// The static shape of a value, if known.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.values.get(name).and_then(|v| v.shape.as_ref())
    }

    /// The constant values of a value, if it is a small constant.
    pub fn constant(&self, name: &str) -> Option<&Const> {
        self.values.get(name).and_then(|v| v.constant.as_ref())
    }

    /// Where a value comes from (`None` for an unknown name).
    pub fn source(&self, name: &str) -> Option<Source> {
        self.values.get(name).map(|v| v.source)
    }

    /// The nodes that read a value.
    pub fn consumers(&self, name: &str) -> &[usize] {
        self.consumers.get(name).map_or(&[], Vec::as_slice)
    }

    /// Initializers, then graph inputs (with `--input` overrides applied).
    fn add_sources(&mut self, graph: &GraphProto, inputs: &BTreeMap<String, Shape>) -> Result<()> {
        for t in &graph.initializer {
            let shape = tensor_shape(t)?;
            check_size(&t.name, &shape)?;
            let constant = tensor_values(t, &shape);
            if self
                .values
                .insert(
                    t.name.clone(),
                    Value {
                        source: Source::Constant,
                        shape: Some(shape),
                        constant,
                    },
                )
                .is_some()
            {
                return Err(Error::DuplicateValue {
                    value: t.name.clone(),
                });
            }
        }
        let names: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        if let Some(unknown) = inputs.keys().find(|k| !names.contains(k.as_str())) {
            let mut known: Vec<&str> = graph
                .input
                .iter()
                .filter(|i| !self.values.contains_key(&i.name))
                .map(|i| i.name.as_str())
                .collect();
            known.sort_unstable();
            return Err(Error::BadInputShape {
                input: unknown.clone(),
                reason: format!("the model has no such input (inputs: {})", known.join(", ")),
            });
        }
        let mut other_floats: Vec<&str> = graph
            .input
            .iter()
            .filter_map(|i| i.r#type.as_ref()?.tensor_type.as_ref())
            .map(|t| t.elem_type)
            .chain(graph.initializer.iter().map(|t| t.data_type))
            .filter_map(|t| match t {
                10 => Some("float16"),
                16 => Some("bfloat16"),
                11 => Some("double"),
                _ => None,
            })
            .collect();
        other_floats.sort_unstable();
        other_floats.dedup();
        if !other_floats.is_empty() {
            self.warnings.push(format!(
                "the model has {} tensors: its tasks are tuned in float32, the one type \
                 tilegrad implements",
                other_floats.join(" and ")
            ));
        }
        for input in &graph.input {
            if self.values.contains_key(&input.name) {
                // An initializer listed as an input too (IR < 4): the initializer's shape wins.
                continue;
            }
            let shape = input_shape(input, inputs.get(&input.name))?;
            check_size(&input.name, &shape)?;
            self.values.insert(
                input.name.clone(),
                Value {
                    source: Source::Input,
                    shape: Some(shape),
                    constant: None,
                },
            );
        }
        Ok(())
    }
}

/// A graph input's static shape: its declared dims, with the `--input` override filling in
/// (and having to agree with) them.
fn input_shape(input: &crate::proto::ValueInfoProto, given: Option<&Shape>) -> Result<Shape> {
    let dims = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| s.dim.as_slice());
    let bad = |reason: String| Error::BadInputShape {
        input: input.name.clone(),
        reason,
    };
    let Some(dims) = dims else {
        return given.cloned().ok_or_else(|| Error::SymbolicDim {
            input: input.name.clone(),
            dim: 0,
            symbol: "unknown rank".into(),
            example: "1x3x224x224".into(),
        });
    };
    if let Some(g) = given {
        if g.len() != dims.len() {
            return Err(bad(format!(
                "the model gives it {} dimensions, not {}",
                dims.len(),
                g.len()
            )));
        }
    }
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let declared = d.dim_value.filter(|&v| v > 0);
        match (declared, given.map(|g| g[i])) {
            (Some(v), Some(g)) if v as usize != g => {
                return Err(bad(format!("dimension {i} is {v} in the model, not {g}")))
            }
            (_, Some(g)) => shape.push(g),
            (Some(v), None) => shape.push(usize::try_from(v).map_err(|_| bad("too large".into()))?),
            (None, None) => {
                let example: Vec<String> = dims
                    .iter()
                    .map(|d| d.dim_value.filter(|&v| v > 0).unwrap_or(1).to_string())
                    .collect();
                return Err(Error::SymbolicDim {
                    input: input.name.clone(),
                    dim: i,
                    symbol: d
                        .dim_param
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or("?".into()),
                    example: example.join("x"),
                });
            }
        }
    }
    Ok(shape)
}

/// Checks a shape against [`MAX_DIM`] and [`MAX_ELEMENTS`].
pub fn check_size(name: &str, shape: &[usize]) -> Result<()> {
    let too = |reason: String| Error::TooLarge {
        value: name.into(),
        reason,
    };
    if let Some(d) = shape.iter().find(|&&d| d > MAX_DIM) {
        return Err(too(format!("a dimension of {d}")));
    }
    if shape.len() > 16 {
        return Err(too(format!("{} dimensions", shape.len())));
    }
    let mut n: usize = 1;
    for &d in shape {
        n = n.saturating_mul(d);
    }
    if n > MAX_ELEMENTS {
        return Err(too("more than 2^48 elements".into()));
    }
    Ok(())
}

/// The number of elements of a checked shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// A tensor's dims as a shape (negative dims are bad input).
pub fn tensor_shape(t: &TensorProto) -> Result<Shape> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::Shape {
                node: t.name.clone(),
                op: "initializer".into(),
                reason: format!("negative dimension {d}"),
            })
        })
        .collect()
}

/// A small numeric tensor's values (float, double, int32, int64), when they are present and
/// agree with its shape.
pub fn tensor_values(t: &TensorProto, shape: &[usize]) -> Option<Const> {
    let n = numel(shape);
    if n > MAX_CONST_ELEMENTS || t.data_location == 1 {
        return None;
    }
    let raw = &t.raw_data;
    let values: Vec<f64> = match t.data_type {
        1 if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        1 => t.float_data.iter().map(|&x| f64::from(x)).collect(),
        11 if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
        11 => t.double_data.clone(),
        6 if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        6 => t.int32_data.iter().map(|&x| f64::from(x)).collect(),
        7 if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
            .collect(),
        7 => t.int64_data.iter().map(|&x| x as f64).collect(),
        _ => return None,
    };
    (values.len() == n).then(|| Const {
        shape: shape.to_vec(),
        values,
    })
}

/// An attribute's value, by its declared type (or, in old files without one, by which field
/// is set).
fn attr_value(a: &AttributeProto) -> Attr {
    let tensor =
        |t: &TensorProto| Attr::Tensor(tensor_shape(t).ok().and_then(|s| tensor_values(t, &s)));
    match a.r#type {
        1 => Attr::Float(a.f),
        2 => Attr::Int(a.i),
        3 => Attr::Str(String::from_utf8_lossy(&a.s).into_owned()),
        4 => a.t.as_ref().map_or(Attr::Other, tensor),
        6 => Attr::Floats(a.floats.clone()),
        7 => Attr::Ints(a.ints.clone()),
        0 if !a.ints.is_empty() => Attr::Ints(a.ints.clone()),
        0 if !a.floats.is_empty() => Attr::Floats(a.floats.clone()),
        0 if !a.s.is_empty() => Attr::Str(String::from_utf8_lossy(&a.s).into_owned()),
        0 if a.t.is_some() => a.t.as_ref().map_or(Attr::Other, tensor),
        0 if a.f != 0.0 => Attr::Float(a.f),
        0 => Attr::Int(a.i),
        _ => Attr::Other,
    }
}

/// The nodes in a topological order that keeps the file's order where it can (Kahn's
/// algorithm taking the lowest file index first). Every read value must exist: a graph input,
/// an initializer or some node's output; a cycle is an error.
fn sorted_nodes(graph: &GraphProto, sources: &HashMap<String, Value>) -> Result<Vec<Node>> {
    let raw = &graph.node;
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in raw.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if sources.contains_key(o) || producer.insert(o, i).is_some() {
                return Err(Error::DuplicateValue { value: o.clone() });
            }
        }
    }
    let label = |i: usize| {
        if raw[i].name.is_empty() {
            format!("#{i}")
        } else {
            raw[i].name.clone()
        }
    };
    let mut pending = vec![0usize; raw.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); raw.len()];
    for (i, n) in raw.iter().enumerate() {
        for input in n.input.iter().filter(|s| !s.is_empty()) {
            if let Some(&p) = producer.get(input.as_str()) {
                pending[i] += 1;
                dependents[p].push(i);
            } else if !sources.contains_key(input) {
                return Err(Error::MissingValue {
                    node: label(i),
                    op: n.op_type.clone(),
                    value: input.clone(),
                });
            }
        }
    }
    let mut ready: BinaryHeap<std::cmp::Reverse<usize>> = (0..raw.len())
        .filter(|&i| pending[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(raw.len());
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push(std::cmp::Reverse(d));
            }
        }
    }
    if let Some(stuck) = (0..raw.len()).find(|&i| pending[i] > 0) {
        return Err(Error::Cycle {
            node: label(stuck),
            op: raw[stuck].op_type.clone(),
        });
    }
    Ok(order
        .into_iter()
        .map(|i| {
            let n = &raw[i];
            Node {
                name: label(i),
                op: n.op_type.clone(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
                attrs: n
                    .attribute
                    .iter()
                    .map(|a| (a.name.clone(), attr_value(a)))
                    .collect(),
            }
        })
        .collect())
}
