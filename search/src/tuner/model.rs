//! [`TunerModel`]: the cost model a [`Tuner`](super::Tuner) searches with and fine-tunes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tilegrad_cost_model::{
    CostModel, EnsembleModel, FitOptions, FitReport, MlpConfig, ModelMeta, Sample,
};
use tilegrad_symbolic::Target;

use crate::model_objective::{feature_spec, ModelRef};
use crate::{Result, SearchError};

/// Members of the default ensemble.
pub const DEFAULT_MEMBERS: usize = 3;

/// The shipped pre-trained models by target kind (`search/models/*.json`, written by
/// `tilegrad model train`; how each was made is in `search/models/README.md`).
const BUILTIN: &[(&str, &[u8])] = &[
    ("cpu", include_bytes!("../../models/cpu.json")),
    ("cuda", include_bytes!("../../models/cuda.json")),
];

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

    /// The bytes of the shipped pre-trained model for a target kind (`cpu`, `cuda`), if any.
    pub fn builtin(kind: &str) -> Option<&'static [u8]> {
        BUILTIN.iter().find(|(k, _)| *k == kind).map(|(_, b)| *b)
    }

    /// The shipped pre-trained ensemble for `target`'s kind: `Ok(None)` when none is
    /// shipped, an error when it no longer loads (e.g. written for another feature version).
    pub fn pretrained_for(target: &Target) -> Result<Option<Self>> {
        Self::builtin(target.kind())
            .map(Self::from_bytes)
            .transpose()
    }

    /// An ensemble from [`EnsembleModel::to_bytes`] output (checked against the search's
    /// feature set).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(TunerModel::Ensemble(
            EnsembleModel::from_bytes(bytes, &feature_spec()).map_err(cm_err)?,
        ))
    }

    /// An ensemble saved by [`EnsembleModel::save`] (e.g. by `tilegrad model train`).
    pub fn load(path: &Path) -> Result<Self> {
        Ok(TunerModel::Ensemble(
            EnsembleModel::load(path, &feature_spec()).map_err(cm_err)?,
        ))
    }

    /// Whether the model has been fitted already (pre-trained or loaded after training):
    /// such a model ranks from the first round, so the tuner skips the random cold start.
    pub fn is_fitted(&self) -> bool {
        self.meta().is_some_and(|m| m.n_fits > 0)
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

/// Which cost model a run starts from: `auto` (the shipped pre-trained model of the
/// target's kind, else an untrained one), `none` (an untrained ensemble, the random cold
/// start) or the path of a saved ensemble.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ModelChoice {
    /// The shipped model of the target kind if there is one, else untrained.
    #[default]
    Auto,
    /// An untrained ensemble ([`TunerModel::default_for`]).
    None,
    /// A saved ensemble.
    Path(PathBuf),
}

impl FromStr for ModelChoice {
    type Err = SearchError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "" => Err(SearchError::InvalidConfig(
                "empty model (auto, none or a path)".into(),
            )),
            "auto" | "builtin" => Ok(ModelChoice::Auto),
            "none" | "untrained" => Ok(ModelChoice::None),
            p => Ok(ModelChoice::Path(PathBuf::from(p))),
        }
    }
}

impl fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelChoice::Auto => f.write_str("auto"),
            ModelChoice::None => f.write_str("none"),
            ModelChoice::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A [`ModelChoice`] made concrete.
#[derive(Debug)]
pub struct ResolvedModel {
    /// The model.
    pub model: TunerModel,
    /// Where it came from: `builtin:cpu`, `untrained` or `file:<path>`, with its hash.
    pub source: String,
    /// Set when `auto` fell back to an untrained model because the shipped one does not
    /// load (the reason), or a file's model was trained for another target kind.
    pub warning: Option<String>,
}

impl ModelChoice {
    /// The model for a run on `target` (`seed` seeds an untrained one). `auto` never fails
    /// over the shipped model: it falls back to an untrained one with a warning.
    pub fn resolve(&self, target: &Target, seed: u64) -> Result<ResolvedModel> {
        let untrained = |warning| -> Result<ResolvedModel> {
            let model = TunerModel::default_for(target, seed)?;
            Ok(ResolvedModel {
                source: format!("untrained {}", model.hash()),
                model,
                warning,
            })
        };
        match self {
            ModelChoice::None => untrained(None),
            ModelChoice::Auto => match TunerModel::pretrained_for(target) {
                Ok(Some(model)) => Ok(ResolvedModel {
                    source: format!("builtin:{} {}", target.kind(), model.hash()),
                    model,
                    warning: None,
                }),
                Ok(None) => untrained(None),
                Err(e) => untrained(Some(format!(
                    "the shipped {} model does not load ({e}); using an untrained one",
                    target.kind()
                ))),
            },
            ModelChoice::Path(p) => {
                let model = TunerModel::load(p)?;
                let trained_for = model.meta().map(|m| m.target.clone()).unwrap_or_default();
                let other = ["cpu", "cuda"]
                    .into_iter()
                    .find(|k| *k != target.kind() && trained_for.starts_with(&format!("{k}:")));
                Ok(ResolvedModel {
                    source: format!("file:{} {}", p.display(), model.hash()),
                    warning: other.map(|k| {
                        format!(
                            "{} was trained for a {k} target, this run is on {}",
                            p.display(),
                            target.kind()
                        )
                    }),
                    model,
                })
            }
        }
    }
}
