//! [`FeatureSet`]: the features and constraints of a sketch compiled into one [`Tape`].

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use super::algebra::Symbolic;
use super::context::Ctx;
use super::rows::extract_rows;
use super::{FEATURE_NAMES, FEATURE_VERSION, N_FEATURES};
use crate::constraints::constraint_list;
use crate::looptree::LoopTree;
use crate::simplify::{simplify_many_with, SimplifyOptions};
use crate::space::Space;
use crate::tape::{Mode, RowStatus, Tape};
use crate::target::Target;
use crate::{Result, SymbolicError};

/// Features and constraints at a batch of points.
#[derive(Clone, Debug)]
pub struct FeatureEval {
    /// `points × n_rows × n_features`.
    pub features: Array3<f64>,
    /// `points × n_constraints` (each `≤ 0` when legal).
    pub constraints: Array2<f64>,
    /// Per point: whether every value was finite (see [`RowStatus`]).
    pub status: Vec<RowStatus>,
}

/// The features ([`super::FEATURE_NAMES`] per store) and constraints
/// ([`mod@crate::constraints`]) of a symbolic tree, simplified and compiled into one [`Tape`]
/// whose columns are the space's variables ([`Space::vars`]).
#[derive(Clone, Debug)]
pub struct FeatureSet {
    tape: Tape,
    n_rows: usize,
    constraint_names: Vec<String>,
}

impl FeatureSet {
    /// Builds the feature set of `tree` (whose schedule variables are `space`'s variables,
    /// in the tree's arena) for `target`. Errors if an expression mentions a variable that is
    /// not a space variable.
    pub fn build(tree: &LoopTree, space: &Space, target: &Target) -> Result<FeatureSet> {
        let mut arena = tree.exprs.clone();
        let mut alg = Symbolic { arena: &mut arena };
        let mut cx = Ctx::new(&mut alg, tree);
        let rows = extract_rows(&mut alg, &mut cx, target);
        let cons = constraint_list(&mut alg, &mut cx, target);
        let n_rows = rows.len();
        let mut outputs: Vec<_> = rows.into_iter().flatten().collect();
        let constraint_names: Vec<String> = cons.iter().map(|(n, _)| n.clone()).collect();
        outputs.extend(cons.iter().map(|&(_, e)| e));
        let outputs = simplify_many_with(&mut arena, &outputs, SimplifyOptions::positive());
        let tape = Tape::compile(&arena, &outputs, &space.vars())?;
        Ok(FeatureSet {
            tape,
            n_rows,
            constraint_names,
        })
    }

    /// Number of feature rows (stores of the tree).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns per row ([`super::N_FEATURES`]).
    pub fn n_features(&self) -> usize {
        N_FEATURES
    }

    /// Column names.
    pub fn feature_names(&self) -> &'static [&'static str] {
        &FEATURE_NAMES
    }

    /// Names of the constraints, in output order.
    pub fn constraint_names(&self) -> &[String] {
        &self.constraint_names
    }

    /// The feature version ([`super::FEATURE_VERSION`]).
    pub fn version(&self) -> &'static str {
        FEATURE_VERSION
    }

    /// The compiled tape: outputs are the rows (row-major, `n_rows × n_features`), then the
    /// constraints.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    fn split(&self, values: &Array2<f64>) -> Result<(Array3<f64>, Array2<f64>)> {
        let p = values.nrows();
        let nf = self.n_rows * N_FEATURES;
        let feats = values.slice(ndarray::s![.., ..nf]).to_owned();
        let feats = feats
            .into_shape_with_order((p, self.n_rows, N_FEATURES))
            .map_err(|e| SymbolicError::InvalidInput(e.to_string()))?;
        let cons = values.slice(ndarray::s![.., nf..]).to_owned();
        Ok((feats, cons))
    }

    /// Features and constraints at every row of `points` (`points × space.vars()` values).
    pub fn eval(&self, points: ArrayView2<f64>, mode: Mode) -> Result<FeatureEval> {
        let ev = self.tape.forward(points, mode)?;
        let (features, constraints) = self.split(&ev.values)?;
        Ok(FeatureEval {
            features,
            constraints,
            status: ev.status,
        })
    }

    /// [`FeatureSet::eval`] plus the vector-Jacobian product: `d_features`
    /// (`points × n_rows × n_features`) and `d_constraints` (`points × n_constraints`) are
    /// d loss / d output; returns d loss / d variable (`points × space.vars()`).
    pub fn vjp(
        &self,
        points: ArrayView2<f64>,
        mode: Mode,
        d_features: ArrayView3<f64>,
        d_constraints: ArrayView2<f64>,
    ) -> Result<(FeatureEval, Array2<f64>)> {
        let p = points.nrows();
        let nf = self.n_rows * N_FEATURES;
        if d_features.dim() != (p, self.n_rows, N_FEATURES)
            || d_constraints.dim() != (p, self.constraint_names.len())
        {
            return Err(SymbolicError::InvalidInput(format!(
                "gradient shapes {:?} and {:?} do not match ({p}, {}, {N_FEATURES}) and ({p}, {})",
                d_features.dim(),
                d_constraints.dim(),
                self.n_rows,
                self.constraint_names.len()
            )));
        }
        let mut d = Array2::zeros((p, self.tape.num_outputs()));
        for i in 0..p {
            for (j, &x) in d_features.slice(ndarray::s![i, .., ..]).iter().enumerate() {
                d[[i, j]] = x;
            }
            for (j, &x) in d_constraints.row(i).iter().enumerate() {
                d[[i, nf + j]] = x;
            }
        }
        let (ev, grad) = self.tape.vjp(points, mode, d.view())?;
        let (features, constraints) = self.split(&ev.values)?;
        Ok((
            FeatureEval {
                features,
                constraints,
                status: ev.status,
            },
            grad,
        ))
    }
}
