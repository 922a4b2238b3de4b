//! The crate's error type.

/// Everything that can go wrong when building, parsing, lowering or
/// evaluating a workload. Each variant names the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not well formed.
    #[error("parse error at byte {pos} of `{text}`: {msg}")]
    Parse {
        /// The whole text.
        text: String,
        /// Byte offset of the problem.
        pos: usize,
        /// What was wrong.
        msg: String,
    },
    /// No operator of that name.
    #[error("unknown operator `{0}`")]
    UnknownOperator(String),
    /// No epilogue of that name (or wrong argument count).
    #[error("unknown epilogue `{0}`")]
    UnknownEpilogue(String),
    /// A parameter the operator does not have.
    #[error("{op}: unknown parameter `{param}`")]
    UnknownParameter {
        /// Operator name.
        op: String,
        /// Parameter name.
        param: String,
    },
    /// A required parameter is absent.
    #[error("{op}: missing parameter `{param}`")]
    MissingParameter {
        /// Operator name.
        op: String,
        /// Parameter name.
        param: String,
    },
    /// A parameter given twice.
    #[error("{op}: parameter `{param}` given twice")]
    DuplicateParameter {
        /// Operator name.
        op: String,
        /// Parameter name.
        param: String,
    },
    /// A size parameter is zero or negative.
    #[error("{op}: dimension `{param}` must be positive, got {value}")]
    NonPositiveDimension {
        /// Operator name.
        op: String,
        /// Parameter name.
        param: String,
        /// The value given.
        value: i64,
    },
    /// A non-size parameter is out of its range (negative padding, a flag
    /// other than 0/1).
    #[error("{op}: parameter `{param}` = {value} is out of range ({expected})")]
    OutOfRange {
        /// Operator name.
        op: String,
        /// Parameter name.
        param: String,
        /// The value given.
        value: i64,
        /// The allowed range in words.
        expected: &'static str,
    },
    /// The shapes do not compose (channels not divisible by groups, kernel
    /// larger than the padded input, ...).
    #[error("{op}: shapes do not compose: {reason}")]
    ShapeMismatch {
        /// Operator name.
        op: String,
        /// What does not fit.
        reason: String,
    },
    /// Any other inconsistency in an operator.
    #[error("{op}: {reason}")]
    Invalid {
        /// Operator name.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// An epilogue argument is invalid.
    #[error("epilogue `{epilogue}`: {reason}")]
    InvalidEpilogue {
        /// Epilogue name.
        epilogue: String,
        /// What is wrong.
        reason: String,
    },
    /// A dtype that exists in the type but is not implemented.
    #[error("dtype {0} is not supported yet (only f32)")]
    UnsupportedDtype(String),
    /// A tensor or loop nest too large to index with 64-bit integers.
    #[error("{op}: {what} is too large")]
    TooLarge {
        /// Operator name.
        op: String,
        /// Which size overflowed.
        what: String,
    },
    /// Wrong number of input buffers.
    #[error("expected {expected} input buffers, got {got}")]
    InputCount {
        /// Inputs the workload has.
        expected: usize,
        /// Buffers given.
        got: usize,
    },
    /// An input buffer of the wrong length.
    #[error("input {index} has {got} elements, expected {expected}")]
    InputSize {
        /// Input position.
        index: usize,
        /// Elements required.
        expected: usize,
        /// Elements given.
        got: usize,
    },
    /// A compute definition that cannot be evaluated (out-of-bounds access
    /// without a guard, bad tensor id, ...).
    #[error("compute evaluation: {0}")]
    Eval(String),
    /// Not a 16-hex-digit workload key.
    #[error("invalid workload key `{0}`: expected 16 hex digits")]
    InvalidKey(String),
    /// A sketch could not be built or instantiated (names the sketch and the cause).
    #[error("schedule error: {0}")]
    Schedule(String),
}

/// The crate's result type.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;
