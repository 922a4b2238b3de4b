//! [`Tape`]: a set of output expressions compiled once into a flat program, evaluated over
//! a batch of points with its vector-Jacobian product.
//!
//! Layout: every variable column, constant, instruction output (and, for `min`, `max` and
//! `==`, two auxiliary slots holding the relaxed partial derivatives) gets a *slot*. Rows
//! are processed in chunks of [`CHUNK_ROWS`]; a chunk's buffer is slot-major
//! (`n_slots × CHUNK_ROWS` f64, structure of arrays), so each instruction is one tight loop
//! over the chunk's rows. Chunks run in parallel with rayon; each thread reuses one scratch
//! buffer. The forward values are kept for the backward (reverse-mode) sweep, which reuses
//! them (`exp`, sigmoid values, stored partials) instead of recomputing.
//!
//! Semantics (exact and relaxed) are those of [`crate::relax`], shared with
//! [`crate::eval`]: exact-mode values equal [`crate::eval_exact`] wherever that succeeds,
//! relaxed values equal [`crate::eval_relaxed`]. In exact mode the gradient is the a.e.
//! derivative (0 through `floordiv`, `ceildiv`, comparisons and logic).
//!
//! Non-finite values never poison the batch: each row gets a [`RowStatus`]; a row whose
//! outputs or gradient are not all finite is flagged and its gradient row is zeroed, and
//! the other rows are unaffected.

mod backward;
mod compile;
mod forward;
mod run;

use ndarray::{Array2, ArrayView2};

use crate::{Result, Var};

/// Rows per chunk of the structure-of-arrays buffer.
pub const CHUNK_ROWS: usize = 128;

/// Evaluation mode of a [`Tape`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Exact semantics (integers where the operation is integral).
    Exact,
    /// Relaxed semantics at temperature `tau` (finite, > 0).
    Relaxed {
        /// The temperature τ.
        tau: f64,
    },
}

/// What happened to one row of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    /// All outputs (and, for a VJP, all gradients) are finite.
    Finite,
    /// Output `output` (the first such) is NaN or infinite; the gradient row is zeroed.
    NonFiniteValue {
        /// Index of the first non-finite output.
        output: usize,
    },
    /// The outputs are finite but the gradient w.r.t. column `column` (the first such) is
    /// not; the gradient row is zeroed.
    NonFiniteGradient {
        /// Index of the first non-finite gradient column.
        column: usize,
    },
}

impl RowStatus {
    /// Whether the row is finite.
    pub fn is_ok(self) -> bool {
        self == RowStatus::Finite
    }
}

/// Values of a batch evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// `rows × outputs` values (non-finite entries are left as computed).
    pub values: Array2<f64>,
    /// One status per row.
    pub status: Vec<RowStatus>,
}

impl Evaluation {
    /// Whether row `row` is finite (false for an out-of-range row).
    pub fn row_ok(&self, row: usize) -> bool {
        self.status.get(row).is_some_and(|s| s.is_ok())
    }

    /// Number of flagged (non-finite) rows.
    pub fn num_flagged(&self) -> usize {
        self.status.iter().filter(|s| !s.is_ok()).count()
    }
}

/// Opcode of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Neg,
    Exp,
    Log,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    CeilDiv,
    Mod,
    Min,
    Max,
    Pow,
    Lt,
    Le,
    Eq,
    And,
    Or,
    Select,
}

impl Op {
    /// Whether the instruction owns two auxiliary slots (relaxed partials) after `out`.
    pub(crate) fn has_aux(self) -> bool {
        matches!(self, Op::Min | Op::Max | Op::Eq)
    }
}

/// One instruction: `out = op(a, b, c)` on slots (unused operands repeat `a`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Instr {
    pub(crate) op: Op,
    pub(crate) out: u32,
    pub(crate) a: u32,
    pub(crate) b: u32,
    pub(crate) c: u32,
    /// Comparison margin: ½ when both operands are integral, else 0.
    pub(crate) h: f64,
    /// Bit i set: this instruction is the first (in the backward sweep) to write the
    /// adjoint of operand i (a, b, c), so it assigns instead of accumulating.
    pub(crate) first: u8,
}

impl Op {
    /// Number of operands.
    pub(crate) fn arity(self) -> usize {
        match self {
            Op::Neg | Op::Exp | Op::Log | Op::Not => 1,
            Op::Select => 3,
            _ => 2,
        }
    }
}

/// A compiled set of output expressions. Build with [`Tape::compile`].
#[derive(Clone, Debug)]
pub struct Tape {
    columns: Vec<Var>,
    /// `(slot, value)` of each constant.
    consts: Vec<(u32, f64)>,
    instrs: Vec<Instr>,
    /// Slot of each output.
    outputs: Vec<u32>,
    /// Whether each output's seed assigns (first seed of a non-column slot) or accumulates.
    seed_assign: Vec<bool>,
    n_slots: usize,
}

impl Tape {
    /// Number of instructions (operations; variable and constant loads excluded).
    pub fn len(&self) -> usize {
        self.instrs.len()
    }

    /// Whether the tape has no instruction (every output is a variable or constant).
    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// Number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Number of input columns.
    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// The variable of each input column.
    pub fn columns(&self) -> &[Var] {
        &self.columns
    }

    /// Number of value slots per row (columns, constants, instruction outputs, auxiliaries).
    pub fn num_slots(&self) -> usize {
        self.n_slots
    }

    /// Evaluates the outputs at every row of `points` (`rows × num_columns`).
    ///
    /// Errors: wrong number of columns, or a relaxed `tau` that is not finite and positive.
    pub fn forward(&self, points: ArrayView2<f64>, mode: Mode) -> Result<Evaluation> {
        Ok(self.run(points, mode, None)?.0)
    }

    /// Forward values plus the vector-Jacobian product: given `d_outputs`
    /// (`rows × num_outputs`, d loss / d output per row) returns the `rows × num_columns`
    /// matrix of d loss / d column per row. Flagged rows get a zero gradient.
    pub fn vjp(
        &self,
        points: ArrayView2<f64>,
        mode: Mode,
        d_outputs: ArrayView2<f64>,
    ) -> Result<(Evaluation, Array2<f64>)> {
        let (eval, grad) = self.run(points, mode, Some(d_outputs))?;
        Ok((
            eval,
            grad.unwrap_or_else(|| Array2::zeros((0, self.num_columns()))),
        ))
    }
}
