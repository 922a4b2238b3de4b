//! tilegrad-cost-model: the learned, differentiable cost model that gradient descent descends.
//!
//! Scores are predicted log-throughput, `ln(1 / latency_s)`: higher is better. Every model
//! implements [`CostModel`]: batch prediction, exact gradients with respect to the input features,
//! and fitting (pre-training or fine-tuning from the current weights).
//!
//! * [`MlpModel`]: Felix's architecture in burn 0.22 (flex CPU backend, autodiff): per-row MLP,
//!   segment sum over a program's rows, residual blocks, scalar head; input/label normalisation;
//!   regression + within-task RankNet loss; early stopping on a held-out split.
//! * [`EnsembleModel`]: several seeds; their spread is the uncertainty search explores with.
//! * [`AnalyticModel`]: a roofline prior/baseline from the same features.
//! * [`metrics`]: pairwise accuracy, Spearman, top-1/top-5 recall per task.
//!
//! No file IO beyond the `save`/`load` helpers on paths the caller passes; no clock, no GPU.
//!
//! # Design notes
//!
//! * Saving: weights are exported by hand (burn's file recorders are not used) as JSON with each
//!   tensor's f32 values hex-encoded by bit pattern, so a round trip is bit-exact; metadata carries
//!   an FNV-1a 64 content hash that `from_bytes` verifies.
//! * Segment sum: a reshape + `sum_dim` when all programs have the same row count, otherwise
//!   `select_assign(.., IndexingUpdateOp::Add)` with a row-to-program index tensor.
//! * Normalisation: per-column feature mean/std and label mean/std, computed at the first fit and
//!   frozen afterwards so fine-tuning continues in the same units; gradients are mapped back.
//! * Defaults: hidden width 128, RankNet weight 0.3 next to the regression loss, no failure
//!   penalty (`fail_weight` 0). The measurements behind them are in `search/models/README.md`
//!   ("Defaults of the cost-model crate").

pub mod analytic;
pub mod batch;
pub mod ensemble;
pub mod error;
mod io;
pub mod meta;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod net;
pub mod norm;
mod train;

pub use analytic::{AnalyticConfig, AnalyticModel};
pub use batch::{batch_of, FeatureBatch, ProgramFeatures, Sample};
pub use ensemble::{EnsembleModel, UncertainPrediction};
pub use error::{CostModelError, Result};
pub use meta::ModelMeta;
pub use metrics::{calibration, evaluate, Calibration, TaskMetrics};
pub use mlp::{MlpConfig, MlpModel};
pub use model::{CostModel, FeatureSpec, FitOptions, FitReport, Prediction};
