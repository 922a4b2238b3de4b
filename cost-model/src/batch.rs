//! Feature containers: one program, a batch of programs, a training sample.

use serde::{Deserialize, Serialize};

use crate::error::{CostModelError, Result};

/// The feature rows of one program: `n_rows` rows (one per buffer store), row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramFeatures {
    /// Row-major values, `n_rows * n_features` of them (already log1p-encoded).
    pub rows: Vec<f32>,
    /// Number of rows.
    pub n_rows: usize,
}

impl ProgramFeatures {
    /// Wraps row-major values holding `n_rows` rows.
    pub fn new(rows: Vec<f32>, n_rows: usize) -> Self {
        Self { rows, n_rows }
    }

    /// Number of feature columns (0 when the program has no rows).
    pub fn n_features(&self) -> usize {
        self.rows.len().checked_div(self.n_rows).unwrap_or(0)
    }
}

/// Many programs in one flat buffer (CSR layout): program `p` owns rows
/// `row_offsets[p]..row_offsets[p + 1]`, and row `r` is `data[r * n_features..(r + 1) * n_features]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBatch {
    /// Row-major values of all rows of all programs.
    pub data: Vec<f32>,
    /// Columns per row.
    pub n_features: usize,
    /// Row offsets, `n_programs + 1` entries, starting at 0 and non-decreasing.
    pub row_offsets: Vec<usize>,
}

impl FeatureBatch {
    /// An empty batch with `n_features` columns.
    pub fn new(n_features: usize) -> Self {
        Self {
            data: Vec::new(),
            n_features,
            row_offsets: vec![0],
        }
    }

    /// An empty batch with room for `programs` programs of `rows` total rows.
    pub fn with_capacity(n_features: usize, programs: usize, rows: usize) -> Self {
        let mut row_offsets = Vec::with_capacity(programs + 1);
        row_offsets.push(0);
        Self {
            data: Vec::with_capacity(rows * n_features),
            n_features,
            row_offsets,
        }
    }

    /// Appends one program given as row-major values (`len` must be a multiple of `n_features`).
    pub fn push(&mut self, rows: &[f32]) -> Result<()> {
        if self.n_features == 0 || !rows.len().is_multiple_of(self.n_features) {
            return Err(CostModelError::MalformedFeatures(format!(
                "{} values is not a whole number of rows of {} features",
                rows.len(),
                self.n_features
            )));
        }
        self.data.extend_from_slice(rows);
        let last = self.row_offsets.last().copied().unwrap_or(0);
        self.row_offsets.push(last + rows.len() / self.n_features);
        Ok(())
    }

    /// Builds a batch from programs; all must have `n_features` columns.
    pub fn from_programs(n_features: usize, programs: &[ProgramFeatures]) -> Result<Self> {
        let rows: usize = programs.iter().map(|p| p.n_rows).sum();
        let mut b = Self::with_capacity(n_features, programs.len(), rows);
        for p in programs {
            if p.rows.len() != p.n_rows * n_features {
                return Err(CostModelError::FeatureCountMismatch {
                    expected: n_features,
                    found: p.n_features(),
                });
            }
            b.push(&p.rows)?;
        }
        Ok(b)
    }

    /// Number of programs.
    pub fn n_programs(&self) -> usize {
        self.row_offsets.len().saturating_sub(1)
    }

    /// Total number of rows.
    pub fn n_rows(&self) -> usize {
        self.row_offsets.last().copied().unwrap_or(0)
    }

    /// The row-major values of program `p` (panics if `p` is out of range).
    pub fn program(&self, p: usize) -> &[f32] {
        let f = self.n_features;
        &self.data[self.row_offsets[p] * f..self.row_offsets[p + 1] * f]
    }

    /// For each row, the index of the program that owns it.
    pub fn row_owner(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.n_rows());
        for p in 0..self.n_programs() {
            out.extend(std::iter::repeat_n(
                p,
                self.row_offsets[p + 1] - self.row_offsets[p],
            ));
        }
        out
    }

    /// Checks the layout and that `n_features` equals `expected`, and that values are finite.
    pub fn validate(&self, expected: usize) -> Result<()> {
        if self.n_features != expected {
            return Err(CostModelError::FeatureCountMismatch {
                expected,
                found: self.n_features,
            });
        }
        if self.row_offsets.first() != Some(&0) {
            return Err(CostModelError::MalformedFeatures(
                "row_offsets must start at 0".into(),
            ));
        }
        if self.row_offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(CostModelError::MalformedFeatures(
                "row_offsets must be non-decreasing".into(),
            ));
        }
        if self.n_rows() * self.n_features != self.data.len() {
            return Err(CostModelError::MalformedFeatures(format!(
                "{} values but offsets describe {} rows of {} features",
                self.data.len(),
                self.n_rows(),
                self.n_features
            )));
        }
        if self.data.iter().any(|v| !v.is_finite()) {
            return Err(CostModelError::NonFinite("features".into()));
        }
        Ok(())
    }
}

/// One measured (or failed) program, for training and evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Task key: ranking losses and metrics compare programs only within a task.
    pub task: String,
    /// The program's features.
    pub features: ProgramFeatures,
    /// Measured log-throughput (natural log of 1 / latency in seconds); `None` for a failed candidate.
    pub label: Option<f64>,
}

/// Builds one batch from the samples' features.
pub fn batch_of(n_features: usize, samples: &[Sample]) -> Result<FeatureBatch> {
    let rows: usize = samples.iter().map(|s| s.features.n_rows).sum();
    let mut b = FeatureBatch::with_capacity(n_features, samples.len(), rows);
    for s in samples {
        if s.features.rows.len() != s.features.n_rows * n_features {
            return Err(CostModelError::FeatureCountMismatch {
                expected: n_features,
                found: s.features.n_features(),
            });
        }
        b.push(&s.features.rows)?;
    }
    Ok(b)
}
