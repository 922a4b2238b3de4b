//! `AnalyticModel`: a roofline estimate from the same features, with exact gradients.

use serde::{Deserialize, Serialize};

use crate::batch::{FeatureBatch, Sample};
use crate::error::{CostModelError, Result};
use crate::model::{CostModel, FeatureSpec, FitOptions, FitReport, Prediction};

/// Where the roofline inputs sit in a feature row, and the hardware rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticConfig {
    /// Column holding `log1p(floating-point operations)` of a row (store).
    pub flops_col: usize,
    /// Column holding `log1p(bytes moved to/from global memory)` of a row.
    pub bytes_col: usize,
    /// Peak arithmetic rate, FLOP/s.
    pub peak_flops: f64,
    /// Global-memory bandwidth, bytes/s.
    pub bandwidth: f64,
    /// Fixed per-program overhead (launch), seconds.
    pub overhead_s: f64,
    /// Exponent `p` of the smooth maximum `(a^p + b^p)^(1/p)` of compute and memory time.
    pub sharpness: f64,
}

/// Roofline model: `latency = smoothmax(F / peak, B / bandwidth) + overhead`, where `F` and `B`
/// sum `expm1` of the chosen columns over a program's rows; score = `-ln(latency) + bias`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticModel {
    spec: FeatureSpec,
    config: AnalyticConfig,
    bias: f64,
}

impl AnalyticModel {
    /// A roofline model over features `spec`; the columns must exist and the rates be positive.
    pub fn new(spec: &FeatureSpec, config: AnalyticConfig) -> Result<Self> {
        let c = &config;
        if c.flops_col >= spec.n_features || c.bytes_col >= spec.n_features {
            return Err(CostModelError::InvalidConfig(format!(
                "roofline columns {} / {} outside {} features",
                c.flops_col, c.bytes_col, spec.n_features
            )));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(c.peak_flops)
            || !positive(c.bandwidth)
            || !positive(c.sharpness)
            || c.overhead_s.is_nan()
            || c.overhead_s < 0.0
        {
            return Err(CostModelError::InvalidConfig(
                "peak_flops, bandwidth and sharpness must be positive, overhead_s non-negative"
                    .into(),
            ));
        }
        Ok(Self {
            spec: spec.clone(),
            config,
            bias: 0.0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AnalyticConfig {
        &self.config
    }

    /// Additive offset learned by `fit` (mean residual of the labels).
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// Score of one program and, if `grad` is given, its gradient (same layout as `rows`).
    fn score_one(&self, rows: &[f32], grad: Option<&mut [f32]>) -> f64 {
        let c = &self.config;
        let f = self.spec.n_features;
        let (mut flops, mut bytes) = (0f64, 0f64);
        for r in rows.chunks_exact(f) {
            flops += (r[c.flops_col] as f64).exp_m1();
            bytes += (r[c.bytes_col] as f64).exp_m1();
        }
        let (tf, tb) = (flops.max(0.0) / c.peak_flops, bytes.max(0.0) / c.bandwidth);
        let p = c.sharpness;
        let m = (tf.powf(p) + tb.powf(p)).powf(1.0 / p);
        let t = m + c.overhead_s;
        let score = -t.max(1e-30).ln() + self.bias;
        if let Some(g) = grad {
            g.iter_mut().for_each(|v| *v = 0.0);
            if m > 0.0 && t > 0.0 {
                // d score / d t_x = -(1/t) (t_x / m)^(p-1), for t_x in {tf, tb}
                let df = if flops > 0.0 {
                    -(tf / m).powf(p - 1.0) / t / c.peak_flops
                } else {
                    0.0
                };
                let db = if bytes > 0.0 {
                    -(tb / m).powf(p - 1.0) / t / c.bandwidth
                } else {
                    0.0
                };
                for (r, gr) in rows.chunks_exact(f).zip(g.chunks_exact_mut(f)) {
                    // d expm1(x) / dx = exp(x); both columns may coincide, so accumulate
                    gr[c.flops_col] += (df * (r[c.flops_col] as f64).exp()) as f32;
                    gr[c.bytes_col] += (db * (r[c.bytes_col] as f64).exp()) as f32;
                }
            }
        }
        score
    }
}

impl CostModel for AnalyticModel {
    fn n_features(&self) -> usize {
        self.spec.n_features
    }

    fn predict(&self, batch: &FeatureBatch) -> Result<Vec<f32>> {
        batch.validate(self.spec.n_features)?;
        Ok((0..batch.n_programs())
            .map(|p| self.score_one(batch.program(p), None) as f32)
            .collect())
    }

    fn predict_with_grad(&self, batch: &FeatureBatch) -> Result<Prediction> {
        batch.validate(self.spec.n_features)?;
        let f = self.spec.n_features;
        let mut grads = vec![0f32; batch.data.len()];
        let scores = (0..batch.n_programs())
            .map(|p| {
                let (a, b) = (batch.row_offsets[p] * f, batch.row_offsets[p + 1] * f);
                self.score_one(&batch.data[a..b], Some(&mut grads[a..b])) as f32
            })
            .collect();
        Ok(Prediction { scores, grads })
    }

    /// Sets the bias to the mean residual of the labelled samples (ranking is unchanged).
    fn fit(&mut self, samples: &[Sample], _opts: &FitOptions) -> Result<FitReport> {
        let batch = crate::batch::batch_of(self.spec.n_features, samples)?;
        batch.validate(self.spec.n_features)?;
        self.bias = 0.0;
        let raw = self.predict(&batch)?;
        let res: Vec<f64> = samples
            .iter()
            .zip(&raw)
            .filter_map(|(s, r)| s.label.map(|l| l - *r as f64))
            .collect();
        if res.is_empty() {
            return Err(CostModelError::NoLabels);
        }
        if res.iter().any(|r| !r.is_finite()) {
            return Err(CostModelError::NonFinite("labels".into()));
        }
        let (bias, sd) = crate::norm::mean_std(&res);
        self.bias = bias;
        Ok(FitReport {
            epochs: 1,
            train_loss: vec![sd * sd],
            val_loss: Vec::new(),
            best_loss: sd * sd,
            stopped_early: false,
            n_samples: samples.len(),
        })
    }
}
