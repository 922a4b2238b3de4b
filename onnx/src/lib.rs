//! tilegrad-onnx: the tuning tasks of an ONNX model.
//!
//! [`import`] decodes a model file, checks its graph (known opset, every read value provided,
//! no cycle), infers every value's static shape (graph inputs from the model, or from
//! `--input name=1x3x224x224` shapes where the model leaves a dimension symbolic), maps the
//! operators tilegrad has kernels for to workloads with their epilogues fused (convolutions,
//! matrix products, pooling, softmax, norms, and elementwise operators nothing fused), merges
//! identical tasks (weight = occurrences), and lists the rest with the share of FLOPs the
//! tasks cover.
//!
//! Brief overview:
//! - [`Import`]: the tasks ([`tilegrad_datasets::Task`], as the shipped networks), the
//!   [`Untuned`] operators, tuned and untuned FLOPs;
//! - [`Graph`]: the checked, shaped graph;
//! - [`Error`]: why a file could not be imported (every variant is bad input or a limit).
//!
//! Layout: ONNX convolutions are NCHW with weights `[K,C/groups,R,S]`; tilegrad's are NHWC
//! with weights `[R,S,C/groups,K]` (see `anchor` for the mapping). The tasks describe the same
//! computation in tilegrad's layout.
//!
//! Parser choice: the model is decoded with `prost` into the subset of the official
//! `onnx.proto` messages the importer reads (`proto`, field numbers as in ONNX 1.23). prost
//! is already in the workspace's dependency tree, needs no `protoc` or build script, and
//! decoding never panics on bad bytes. The importer needs only the graph, the shapes and the
//! attributes. `onnx-ir` (burn's ONNX front end; 0.22 would share the workspace's
//! `burn-tensor`) was the other candidate: it returns a `Result`, but it is some 68,000 lines
//! with about 300 `panic!` calls in its node processing (a panic on user input is what issue
//! 21 rules out), brings rust-protobuf, regex, strum and half, and lowers the graph into
//! burn's code-generation IR with its own type inference, which would stand between the file
//! and the task extraction. `tract-onnx` brings a whole inference runtime. The crates that
//! ship generated ONNX types are either on an old prost that needs `protoc` (`onnx-pb`) or on
//! rust-protobuf under MPL-2.0 (`onnx-protobuf`).
//!
//! ```
//! use std::collections::BTreeMap;
//! let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/onnx/mobilenet_v2_block.onnx"))?;
//! let model = tilegrad_onnx::import(&bytes, &BTreeMap::new())?;
//! assert!(model.tasks.iter().any(|t| t.workload.to_string().contains("+relu6")));
//! assert!(model.coverage() > 0.9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod anchor;
pub mod error;
mod extract;
pub mod graph;
mod norm;
pub mod proto;
mod shape;

use std::collections::BTreeMap;

pub use error::{Error, Result};
pub use extract::{Import, Untuned};
pub use graph::{Graph, Shape, MAX_OPSET, MIN_OPSET};

/// Imports a model from its bytes; `inputs` gives graph-input shapes by name (needed where
/// the model leaves a dimension symbolic).
pub fn import(bytes: &[u8], inputs: &BTreeMap<String, Shape>) -> Result<Import> {
    let graph = Graph::from_bytes(bytes, inputs)?;
    Ok(extract::extract(&graph))
}

/// Parses `name=1x3x224x224` (the CLI's `--input`).
pub fn parse_input_shape(text: &str) -> Result<(String, Shape)> {
    let bad = || Error::MalformedInputShape { text: text.into() };
    let (name, dims) = text.split_once('=').ok_or_else(bad)?;
    let shape: Option<Shape> = dims
        .split(['x', 'X', ','])
        .map(|d| d.trim().parse::<usize>().ok().filter(|&d| d >= 1))
        .collect();
    let shape = shape.ok_or_else(bad)?;
    if name.trim().is_empty() || shape.is_empty() {
        return Err(bad());
    }
    graph::check_size(name, &shape)?;
    Ok((name.trim().to_string(), shape))
}
