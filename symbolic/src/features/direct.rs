//! The direct (non-symbolic) feature computation on a concrete tree: the test oracle.

use super::algebra::Direct;
use super::context::Ctx;
use super::rows::extract_rows;
use crate::looptree::LoopTree;
use crate::target::Target;
use crate::Result;

/// The feature rows of a concrete tree (one per store, columns [`super::FEATURE_NAMES`]),
/// computed with plain `f64` arithmetic from the same definitions as [`super::FeatureSet`].
/// Stores removed by instantiation (under a guard that became false) have no row here.
/// Errors unless the tree is concrete.
pub fn direct_features(tree: &LoopTree, target: &Target) -> Result<Vec<Vec<f64>>> {
    tree.require_concrete()?;
    let mut alg = Direct;
    let mut cx = Ctx::new(&mut alg, tree);
    Ok(extract_rows(&mut alg, &mut cx, target))
}
