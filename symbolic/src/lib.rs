//! Symbolic core of tilegrad.
//!
//! * [`expr`]: hash-consed expression arena over real-valued schedule variables, with a
//!   canonical s-expression text form ([`text`]).
//!
//! Nothing here does IO, reads a clock or touches a GPU; everything is deterministic.

pub mod error;
pub mod expr;
pub mod target;
pub mod text;

pub use error::SymbolicError;
pub use expr::{BinOp, Expr, ExprArena, ExprId, UnOp, Var};
pub use target::{CpuSpec, GpuSpec, Target, TargetSpec};

/// Result alias of this crate.
pub type Result<T, E = SymbolicError> = std::result::Result<T, E>;

pub mod eval;
pub mod integral;
pub mod relax;
pub mod tape;
#[doc(hidden)]
pub mod testgen;
pub use eval::{eval_exact, eval_exact_many, eval_relaxed, eval_relaxed_many};
pub use tape::{Evaluation, Mode, RowStatus, Tape};
pub mod space;
pub use space::{Assignment, LinearConstraint, LogTerm, Space, SplitGroup, SplitGroupId};
pub mod interp;
pub mod looptree;
pub use interp::interpret;
pub use looptree::{
    Buffer, BufferId, BufferRole, Loop, LoopKind, LoopTree, Scope, Stmt, Store, StoreKind,
    TreeBuilder, Value,
};
pub mod simplify;
pub mod subst;
pub use simplify::{
    dag_size, simplify, simplify_many, simplify_many_with, simplify_with, SimplifyOptions,
};
pub use subst::{substitute, substitute_many, substitute_values, substitute_values_with};
pub mod constraints;
pub mod features;
pub use constraints::{constraints, direct_violations, is_legal};
pub use features::{
    direct_features, FeatureEval, FeatureSet, FEATURE_NAMES, FEATURE_VERSION, N_BUFFERS, N_FEATURES,
};
