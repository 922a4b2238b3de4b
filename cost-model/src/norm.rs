//! Input and label normalisation stored with a model.

use serde::{Deserialize, Serialize};

use crate::batch::FeatureBatch;

/// Per-column feature mean/std and label mean/std, fixed at the first fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean of each feature column.
    pub feat_mean: Vec<f32>,
    /// Standard deviation of each feature column (1 for constant columns).
    pub feat_std: Vec<f32>,
    /// Mean of the labels.
    pub label_mean: f64,
    /// Standard deviation of the labels (1 when they are constant).
    pub label_std: f64,
}

impl Normalizer {
    /// The identity normalisation.
    pub fn identity(n_features: usize) -> Self {
        Self {
            feat_mean: vec![0.0; n_features],
            feat_std: vec![1.0; n_features],
            label_mean: 0.0,
            label_std: 1.0,
        }
    }

    /// Statistics of the rows of `batch` and of `labels`.
    pub fn fit(batch: &FeatureBatch, labels: &[f64]) -> Self {
        let f = batch.n_features;
        let n = batch.n_rows().max(1) as f64;
        let mut sum = vec![0f64; f];
        let mut sq = vec![0f64; f];
        for row in batch.data.chunks_exact(f.max(1)) {
            for (c, &v) in row.iter().enumerate() {
                sum[c] += v as f64;
                sq[c] += (v as f64) * (v as f64);
            }
        }
        let mut feat_mean = Vec::with_capacity(f);
        let mut feat_std = Vec::with_capacity(f);
        for c in 0..f {
            let m = sum[c] / n;
            let var = (sq[c] / n - m * m).max(0.0);
            feat_mean.push(m as f32);
            feat_std.push(if var.sqrt() > 1e-4 {
                var.sqrt() as f32
            } else {
                1.0
            });
        }
        let (label_mean, label_std) = mean_std(labels);
        Self {
            feat_mean,
            feat_std,
            label_mean,
            label_std: if label_std > 1e-6 { label_std } else { 1.0 },
        }
    }

    /// Normalised copy of `data` (row-major with this normaliser's column count).
    pub fn apply(&self, data: &[f32]) -> Vec<f32> {
        let f = self.feat_mean.len().max(1);
        let mut out = Vec::with_capacity(data.len());
        for row in data.chunks_exact(f) {
            for (c, &v) in row.iter().enumerate() {
                out.push((v - self.feat_mean[c]) / self.feat_std[c]);
            }
        }
        out
    }

    /// Turns gradients w.r.t. normalised inputs of a normalised score into raw-unit gradients.
    pub fn unscale_grads(&self, grads: &mut [f32]) {
        let f = self.feat_mean.len().max(1);
        let ls = self.label_std as f32;
        for row in grads.chunks_exact_mut(f) {
            for (c, g) in row.iter_mut().enumerate() {
                *g *= ls / self.feat_std[c];
            }
        }
    }

    /// Raw label from a normalised score.
    pub fn score(&self, normalised: f32) -> f32 {
        (self.label_mean + self.label_std * normalised as f64) as f32
    }

    /// Normalised label.
    pub fn label(&self, raw: f64) -> f32 {
        ((raw - self.label_mean) / self.label_std) as f32
    }
}

/// Mean and population standard deviation (0, 0 for an empty slice).
pub fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n;
    (m, v.sqrt())
}
