//! The error type of the symbolic crate.

use thiserror::Error;

/// Everything that can go wrong in `tilegrad-symbolic`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SymbolicError {
    /// Malformed expression text; `pos` is the byte offset where parsing failed.
    #[error("parse error at byte {pos}: {msg}")]
    Parse {
        /// Byte offset into the input text.
        pos: usize,
        /// What was expected or found.
        msg: String,
    },
    /// Exact evaluation divided by zero (`/`, `floordiv`, `ceildiv` or `mod`).
    #[error("division by zero in `{expr}`")]
    DivisionByZero {
        /// Text of the offending sub-expression.
        expr: String,
    },
    /// Exact evaluation took the logarithm of a non-positive value.
    #[error("log of non-positive value {value} in `{expr}`")]
    LogNonPositive {
        /// The argument of `log`.
        value: f64,
        /// Text of the offending sub-expression.
        expr: String,
    },
    /// Exact evaluation produced NaN or infinity.
    #[error("non-finite value {value} in `{expr}`")]
    NonFinite {
        /// The value produced.
        value: f64,
        /// Text of the offending sub-expression.
        expr: String,
    },
    /// A variable had no value in the assignment or point given.
    #[error("no value for variable `{0}`")]
    UnboundVar(String),
    /// An id or index did not belong to the arena, space or tree it was used with.
    #[error("invalid reference: {0}")]
    InvalidRef(String),
    /// A schedule space was declared inconsistently (extent 0, empty or non-positive choice
    /// set, a variable declared twice, a malformed constraint).
    #[error("invalid space: {0}")]
    InvalidSpace(String),
    /// An assignment does not fit its space (unknown, missing or repeated variable, wrong
    /// length, a name that differs from the space's).
    #[error("assignment does not match the space: {0}")]
    AssignmentMismatch(String),
    /// The factors of a split group do not divide the group's extent exactly.
    #[error("split group `{group}`: product of factors {product} does not divide extent {extent}")]
    NotDivisible {
        /// Name of the split group.
        group: String,
        /// Product of the group's factors (saturating).
        product: u128,
        /// The group's extent.
        extent: u64,
    },
    /// A choice variable has a value outside its finite set.
    #[error("value {value} of `{var}` is not in its choice set {{{allowed}}}")]
    NotInChoiceSet {
        /// Name of the variable.
        var: String,
        /// The value given.
        value: u64,
        /// The allowed values, comma separated.
        allowed: String,
    },
    /// A linear constraint of a space is violated (`lhs > rhs`).
    #[error("constraint `{name}` violated: {lhs} > {rhs}")]
    ConstraintViolated {
        /// Name of the constraint.
        name: String,
        /// Its left-hand side at the assignment.
        lhs: f64,
        /// Its bound.
        rhs: f64,
    },
    /// A continuous coordinate is not (close to) a legal integral value.
    #[error("coordinate `{coord}` = {value} is not a legal integral value")]
    NotIntegral {
        /// Name of the coordinate.
        coord: String,
        /// Its value.
        value: f64,
    },
    /// No legal assignment exists (or none could be found) under the space's constraints.
    #[error("no legal assignment: {0}")]
    NoLegalAssignment(String),
    /// A batch or argument had the wrong shape or an invalid value (e.g. a Tape got a
    /// points matrix with the wrong number of columns, or a non-positive temperature).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A loop tree is ill formed ([`crate::looptree::LoopTree::verify`]).
    #[error("ill-formed loop tree: {0}")]
    Verify(String),
    /// A loop tree is not concrete where a concrete one is needed (a loop extent or buffer
    /// shape that is not a positive integer constant after instantiation, a schedule
    /// variable left in an index).
    #[error("not concrete: {0}")]
    NotConcrete(String),
    /// The loop-tree interpreter accessed a buffer out of its bounds.
    #[error("out-of-bounds access {buffer}{index:?} (shape {shape:?})")]
    OutOfBounds {
        /// Name of the buffer.
        buffer: String,
        /// The index, one entry per dimension.
        index: Vec<i64>,
        /// The buffer's shape.
        shape: Vec<i64>,
    },
    /// The loop-tree interpreter could not run the program (wrong input sizes, an output
    /// element never written, a barrier reached by only some threads, an index that is not
    /// an integer).
    #[error("interpreter: {0}")]
    Interp(String),
}
