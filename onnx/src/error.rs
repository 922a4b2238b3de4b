//! The crate's error type. Every variant means bad input (the file or the `--input` shapes)
//! unless its doc says otherwise; none is a bug in us.

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a model could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a protobuf `ModelProto` (not ONNX, or cut short).
    #[error("not an ONNX model, or a truncated one")]
    Decode(#[from] prost::DecodeError),
    /// The bytes decode, but hold no ONNX model (no IR version or no graph).
    #[error("not an ONNX model: {reason}")]
    NotOnnx {
        /// What is missing.
        reason: &'static str,
    },
    /// The default operator set's version is outside what the importer knows.
    #[error("unsupported opset {version} of the default ONNX domain (supported: {min} to {max})")]
    UnsupportedOpset {
        /// The model's version (0 when the model imports none).
        version: i64,
        /// The oldest supported version.
        min: i64,
        /// The newest supported version.
        max: i64,
    },
    /// A graph input has a symbolic or unknown dimension and no `--input` shape.
    #[error(
        "input `{input}` has a symbolic dimension {dim} (`{symbol}`): give its shape, \
         e.g. --input {input}={example}"
    )]
    SymbolicDim {
        /// The graph input.
        input: String,
        /// The dimension's index.
        dim: usize,
        /// Its symbol (`?` when unnamed).
        symbol: String,
        /// A shape to suggest, with 1 for every unknown dimension.
        example: String,
    },
    /// An `--input` shape that does not fit the model.
    #[error("--input {input}: {reason}")]
    BadInputShape {
        /// The name given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// A `name=AxBxC` shape that does not parse.
    #[error("malformed input shape `{text}`: expected name=1x3x224x224")]
    MalformedInputShape {
        /// The text given.
        text: String,
    },
    /// A node reads a value that no node, graph input or initializer provides.
    #[error("node `{node}` ({op}) reads `{value}`, which no node, graph input or initializer provides (missing initializer?)")]
    MissingValue {
        /// The node's name (or its index).
        node: String,
        /// Its operator.
        op: String,
        /// The missing value.
        value: String,
    },
    /// Two nodes (or a node and an input) produce the same value.
    #[error("value `{value}` is produced twice")]
    DuplicateValue {
        /// The value.
        value: String,
    },
    /// The nodes depend on each other in a cycle.
    #[error("the graph has a cycle through node `{node}` ({op})")]
    Cycle {
        /// A node on (or behind) the cycle.
        node: String,
        /// Its operator.
        op: String,
    },
    /// A node whose inputs and attributes do not give a valid output shape.
    #[error("node `{node}` ({op}): {reason}")]
    Shape {
        /// The node.
        node: String,
        /// Its operator.
        op: String,
        /// What does not fit.
        reason: String,
    },
    /// A tensor larger than the importer handles (a dimension above 2^31 or more than 2^48
    /// elements): a limit, not a bug.
    #[error("value `{value}` is too large ({reason})")]
    TooLarge {
        /// The value.
        value: String,
        /// Which limit.
        reason: String,
    },
}
