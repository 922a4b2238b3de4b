//! [`TunerModel`]: the cost model a [`Tuner`](super::Tuner) searches with and fine-tunes.

use tilegrad_cost_model::{
    CostModel, EnsembleModel, FitOptions, FitReport, MlpConfig, ModelMeta, Sample,
};
use tilegrad_symbolic::Target;

use crate::model_objective::{feature_spec, ModelRef};
use crate::{Result, SearchError};

/// Members of the default ensemble.
pub const DEFAULT_MEMBERS: usize = 3;

/// The tuner's cost model: an ensemble (its spread drives exploration) or any single model.
pub enum TunerModel {
    /// An [`EnsembleModel`].
    Ensemble(EnsembleModel),
    /// Any other model (no uncertainty), e.g. an
    /// [`AnalyticModel`](tilegrad_cost_model::AnalyticModel).
    Single(Box<dyn CostModel>),
}

impl std::fmt::Debug for TunerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TunerModel::Ensemble(e) => write!(f, "TunerModel::Ensemble({})", e.meta().content_hash),
            TunerModel::Single(_) => f.write_str("TunerModel::Single"),
        }
    }
}

fn cm_err(e: tilegrad_cost_model::CostModelError) -> SearchError {
    SearchError::Objective(format!("cost model: {e}"))
}

impl TunerModel {
    /// The default: an untrained ensemble of [`DEFAULT_MEMBERS`] MLPs (hidden 128) over the
    /// search's features, seeded with `seed`, tagged with the target's name.
    pub fn default_for(target: &Target, seed: u64) -> Result<Self> {
        let cfg = MlpConfig {
            seed,
            ..MlpConfig::default()
        };
        let e = EnsembleModel::new(&feature_spec(), &target.name, cfg, DEFAULT_MEMBERS)
            .map_err(cm_err)?;
        Ok(TunerModel::Ensemble(e))
    }

    /// The model as an objective's [`ModelRef`].
    pub fn as_ref(&self) -> ModelRef<'_> {
        match self {
            TunerModel::Ensemble(e) => ModelRef::Ensemble(e),
            TunerModel::Single(m) => ModelRef::Plain(m.as_ref()),
        }
    }

    /// The ensemble's metadata (`None` for a single model).
    pub fn meta(&self) -> Option<&ModelMeta> {
        match self {
            TunerModel::Ensemble(e) => Some(e.meta()),
            TunerModel::Single(_) => None,
        }
    }

    /// Content hash for provenance (empty for a single model, which exposes none).
    pub fn hash(&self) -> String {
        self.meta()
            .map(|m| m.content_hash.clone())
            .unwrap_or_default()
    }

    /// Fits (first call) or fine-tunes on `samples`.
    pub fn fit(&mut self, samples: &[Sample], opts: &FitOptions) -> Result<FitReport> {
        match self {
            TunerModel::Ensemble(e) => e.fit(samples, opts),
            TunerModel::Single(m) => m.fit(samples, opts),
        }
        .map_err(cm_err)
    }
}
