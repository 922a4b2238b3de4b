//! The crate's error type: every way a candidate can fail to produce a timing.

use serde::{Deserialize, Serialize};

/// Why an output was judged wrong (see [`MeasureError::WrongAnswer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WrongKind {
    /// A finite value differs from the reference by more than the tolerance.
    Mismatch,
    /// A value is NaN or infinite while the reference is finite.
    NonFinite,
    /// A value still holds the poison pattern written before the run: the kernel never wrote it.
    Unwritten,
    /// A sentinel in the guard zone before or after the output buffer was overwritten.
    OutOfBounds,
    /// The kernel wrote into one of its inputs (`first_bad_index` is the input's position).
    InputModified,
}

/// Every failure of building, loading, running or verifying one candidate.
///
/// Serializable so that a tuning log can store failures as data. A candidate that fails is
/// never timed and never becomes a "best".
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum MeasureError {
    /// The compiler (cc or NVRTC) rejected the source; `log` is its diagnostic output.
    #[error("build error:\n{log}")]
    BuildError {
        /// Compiler diagnostics (stderr of cc, or the NVRTC program log).
        log: String,
    },
    /// The compiler ran longer than the build timeout and was killed.
    #[error("build timed out after {limit_s} s")]
    BuildTimeout {
        /// The limit that was exceeded, in seconds.
        limit_s: f64,
    },
    /// The built kernel could not be loaded (dlopen, missing symbol, CUDA module load).
    #[error("load error: {0}")]
    LoadError(String),
    /// The kernel could not be launched (bad launch configuration, too many resources, ...).
    #[error("launch error: {0}")]
    LaunchError(String),
    /// One run of the kernel exceeded the run timeout; the worker was killed.
    #[error("run timed out after {limit_s} s")]
    RunTimeout {
        /// The limit that was exceeded, in seconds.
        limit_s: f64,
    },
    /// The worker died while running the kernel (signal, abnormal exit, or a sticky CUDA
    /// error such as an illegal memory access). The worker is restarted for the next candidate.
    #[error("worker crashed (signal {signal:?}, exit code {exit_code:?}): {detail}")]
    Crash {
        /// The signal that killed the worker, if any (11 = SIGSEGV).
        signal: Option<i32>,
        /// The worker's exit code, if it exited.
        exit_code: Option<i32>,
        /// Extra detail (the CUDA error name for GPU faults).
        detail: String,
    },
    /// The output differs from the reference, is not finite, or a guard zone was overwritten.
    #[error(
        "wrong answer ({kind:?}): first bad index {first_bad_index}, max abs err {max_abs_err}, max rel err {max_rel_err}"
    )]
    WrongAnswer {
        /// What was wrong.
        kind: WrongKind,
        /// Largest |out - expected| over finite outputs (0 for `OutOfBounds`/`InputModified`).
        max_abs_err: f64,
        /// Largest |out - expected| / max(|expected|, tiny) over finite outputs (0 likewise).
        max_rel_err: f64,
        /// First offending element: an output index, or for `OutOfBounds` the offset into the
        /// guard zone (negative = before the output).
        first_bad_index: i64,
    },
    /// The required hardware or library is not present (no GPU, no libcuda, no libnvrtc, no cc).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Code generation failed for the candidate's concrete loop tree (e.g. a launch
    /// configuration beyond the hardware's limits, or a construct the code generator does not
    /// support). A fault of the candidate: it never reaches the compiler.
    #[error("codegen error: {0}")]
    Codegen(String),
    /// A replayed measurement ([`crate::ReplayMeasurer`]) was asked for a candidate that the
    /// tuning log does not hold (`workload key / sketch / assignment`). Not a fault of the
    /// candidate: it was simply never measured.
    #[error("not in the replay log: {0}")]
    NotInLog(String),
    /// The request itself is malformed (e.g. expected output length differs from the kernel's).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The measurement worker could not be started or broke the protocol.
    #[error("worker error: {0}")]
    Worker(String),
    /// A file-system error in the build directory or bulk-data files.
    #[error("io error: {0}")]
    Io(String),
}

impl MeasureError {
    /// Whether this error is a fault of the candidate (as opposed to the environment).
    pub fn is_candidate_fault(&self) -> bool {
        matches!(
            self,
            Self::Codegen(_)
                | Self::BuildError { .. }
                | Self::BuildTimeout { .. }
                | Self::LoadError(_)
                | Self::LaunchError(_)
                | Self::RunTimeout { .. }
                | Self::Crash { .. }
                | Self::WrongAnswer { .. }
        )
    }
}

impl From<std::io::Error> for MeasureError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}
