//! `EnsembleModel`: several MLPs with different seeds; their spread is the uncertainty.

use serde::{Deserialize, Serialize};

use crate::batch::{FeatureBatch, Sample};
use crate::error::{CostModelError, Result};
use crate::meta::{Fnv64, ModelMeta};
use crate::mlp::{MlpConfig, MlpModel, SavedMlp};
use crate::model::{CostModel, FeatureSpec, FitOptions, FitReport, Prediction};

/// Mean and spread of the members' scores, with gradients of both.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertainPrediction {
    /// Mean member score per program.
    pub mean: Vec<f32>,
    /// Population standard deviation of the member scores per program.
    pub std: Vec<f32>,
    /// `d mean / d features`, same layout as the batch data.
    pub grad_mean: Vec<f32>,
    /// `d std / d features`, same layout as the batch data (0 where std is 0).
    pub grad_std: Vec<f32>,
}

/// An ensemble of [`MlpModel`]s that differ only in their seeds.
#[derive(Debug, Clone)]
pub struct EnsembleModel {
    meta: ModelMeta,
    members: Vec<MlpModel>,
}

#[derive(Serialize, Deserialize)]
struct SavedEnsemble {
    meta: ModelMeta,
    members: Vec<SavedMlp>,
}

impl EnsembleModel {
    /// `n_members` models; member `k` is initialised with seed `config.seed + k`.
    pub fn new(
        spec: &FeatureSpec,
        target: &str,
        config: MlpConfig,
        n_members: usize,
    ) -> Result<Self> {
        if n_members == 0 {
            return Err(CostModelError::InvalidConfig(
                "an ensemble needs members".into(),
            ));
        }
        let members = (0..n_members as u64)
            .map(|k| {
                let cfg = MlpConfig {
                    seed: config.seed.wrapping_add(k),
                    ..config.clone()
                };
                MlpModel::new(spec, target, cfg)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut e = Self {
            meta: ModelMeta::new("ensemble", spec, target, config.seed),
            members,
        };
        e.refresh_meta();
        Ok(e)
    }

    /// The members.
    pub fn members(&self) -> &[MlpModel] {
        &self.members
    }

    /// Ensemble metadata (hash combines the members' hashes).
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Records the workload fold the training data left out (see [`ModelMeta::held_out`]).
    pub fn set_held_out(&mut self, split: Option<String>) {
        self.meta.held_out = split;
    }

    fn refresh_meta(&mut self) {
        let mut h = Fnv64::default();
        for m in &self.members {
            h.write(m.meta().content_hash.as_bytes());
        }
        self.meta.content_hash = h.hex();
        if let Some(m) = self.members.first() {
            self.meta.n_samples = m.meta().n_samples;
            self.meta.n_tasks = m.meta().n_tasks;
            self.meta.n_fits = m.meta().n_fits;
        }
    }

    /// Mean, spread and their gradients for each program.
    pub fn predict_with_uncertainty(&self, batch: &FeatureBatch) -> Result<UncertainPrediction> {
        let preds = self
            .members
            .iter()
            .map(|m| m.predict_with_grad(batch))
            .collect::<Result<Vec<_>>>()?;
        let k = preds.len() as f32;
        let np = batch.n_programs();
        let mut mean = vec![0f32; np];
        let mut grad_mean = vec![0f32; batch.data.len()];
        for p in &preds {
            for (m, s) in mean.iter_mut().zip(&p.scores) {
                *m += s / k;
            }
            for (g, d) in grad_mean.iter_mut().zip(&p.grads) {
                *g += d / k;
            }
        }
        let mut std = vec![0f32; np];
        for p in &preds {
            for i in 0..np {
                std[i] += (p.scores[i] - mean[i]).powi(2) / k;
            }
        }
        std.iter_mut().for_each(|s| *s = s.sqrt());
        // d std / dx = sum_m (s_m - mean) * g_m / (K * std)
        let mut grad_std = vec![0f32; batch.data.len()];
        let f = batch.n_features;
        for p in &preds {
            for prog in 0..np {
                if std[prog] <= 0.0 {
                    continue;
                }
                let w = (p.scores[prog] - mean[prog]) / (k * std[prog]);
                let (a, b) = (batch.row_offsets[prog] * f, batch.row_offsets[prog + 1] * f);
                for (g, d) in grad_std[a..b].iter_mut().zip(&p.grads[a..b]) {
                    *g += w * d;
                }
            }
        }
        Ok(UncertainPrediction {
            mean,
            std,
            grad_mean,
            grad_std,
        })
    }

    /// Serialises the ensemble (metadata + every member) to JSON bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let s = SavedEnsemble {
            meta: self.meta.clone(),
            members: self
                .members
                .iter()
                .map(MlpModel::to_saved)
                .collect::<Result<_>>()?,
        };
        serde_json::to_vec(&s).map_err(|e| CostModelError::Decode(e.to_string()))
    }

    /// Loads [`EnsembleModel::to_bytes`] output; refuses another feature version or column count.
    pub fn from_bytes(bytes: &[u8], spec: &FeatureSpec) -> Result<Self> {
        let s: SavedEnsemble =
            serde_json::from_slice(bytes).map_err(|e| CostModelError::Decode(e.to_string()))?;
        s.meta.check(spec, "ensemble")?;
        let members = s
            .members
            .into_iter()
            .map(|m| MlpModel::from_saved(m, spec))
            .collect::<Result<Vec<_>>>()?;
        if members.is_empty() {
            return Err(CostModelError::Decode("ensemble without members".into()));
        }
        let mut e = Self {
            meta: s.meta,
            members,
        };
        let expected = e.meta.content_hash.clone();
        e.refresh_meta();
        if e.meta.content_hash != expected {
            return Err(CostModelError::HashMismatch {
                expected,
                found: e.meta.content_hash,
            });
        }
        Ok(e)
    }

    /// Writes [`EnsembleModel::to_bytes`] to `path`.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        crate::io::write(path, &self.to_bytes()?)
    }

    /// Reads an ensemble written by [`EnsembleModel::save`].
    pub fn load(path: &std::path::Path, spec: &FeatureSpec) -> Result<Self> {
        Self::from_bytes(&crate::io::read(path)?, spec)
    }
}

impl CostModel for EnsembleModel {
    fn n_features(&self) -> usize {
        self.meta.n_features
    }

    fn predict(&self, batch: &FeatureBatch) -> Result<Vec<f32>> {
        let mut mean = vec![0f32; batch.n_programs()];
        let k = self.members.len() as f32;
        for m in &self.members {
            for (a, s) in mean.iter_mut().zip(m.predict(batch)?) {
                *a += s / k;
            }
        }
        Ok(mean)
    }

    fn predict_with_grad(&self, batch: &FeatureBatch) -> Result<Prediction> {
        let mut scores = vec![0f32; batch.n_programs()];
        let mut grads = vec![0f32; batch.data.len()];
        let k = self.members.len() as f32;
        for m in &self.members {
            let p = m.predict_with_grad(batch)?;
            scores
                .iter_mut()
                .zip(&p.scores)
                .for_each(|(a, s)| *a += s / k);
            grads
                .iter_mut()
                .zip(&p.grads)
                .for_each(|(a, s)| *a += s / k);
        }
        Ok(Prediction { scores, grads })
    }

    /// Fits every member; member `k` uses `opts.seed + k`. Returns the first member's report.
    fn fit(&mut self, samples: &[Sample], opts: &FitOptions) -> Result<FitReport> {
        let mut first = None;
        for (k, m) in self.members.iter_mut().enumerate() {
            let o = FitOptions {
                seed: opts.seed.wrapping_add(k as u64),
                ..opts.clone()
            };
            let r = m.fit(samples, &o)?;
            first.get_or_insert(r);
        }
        self.refresh_meta();
        first.ok_or(CostModelError::InvalidConfig(
            "an ensemble needs members".into(),
        ))
    }
}
