//! Model metadata and the helpers used to save weights exactly (hex f32) and hash them.

use serde::{Deserialize, Serialize};

use crate::error::{CostModelError, Result};
use crate::model::FeatureSpec;

/// Version of the saved-model layout written by this crate.
pub const FORMAT_VERSION: u32 = 1;

/// What the prediction target is: the label convention shared by every model here.
pub const LABEL_KIND: &str = "ln(1/latency_s)";

/// Metadata saved with every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Layout version of the saved file ([`FORMAT_VERSION`]).
    pub format: u32,
    /// `"mlp"`, `"ensemble"` or `"analytic"`.
    pub kind: String,
    /// Feature-set version the model reads.
    pub feature_version: String,
    /// Columns per feature row.
    pub n_features: usize,
    /// Hardware target the model was trained for (free text, e.g. `cuda:a5000`).
    pub target: String,
    /// What the scores predict ([`LABEL_KIND`]).
    pub label: String,
    /// Samples seen over all fits.
    pub n_samples: usize,
    /// Distinct tasks seen in the last fit.
    pub n_tasks: usize,
    /// Number of `fit` calls so far.
    pub n_fits: usize,
    /// Seed used to initialise the weights.
    pub seed: u64,
    /// FNV-1a 64 hash (hex) of the weights and normalisation.
    pub content_hash: String,
    /// The workload fold the training data left out, `H/N` (a split by workload key,
    /// `tilegrad_datasets::suites::Split`), when the model was trained for a held-out
    /// evaluation; not part of the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<String>,
}

impl ModelMeta {
    /// Fresh metadata for an untrained model.
    pub fn new(kind: &str, spec: &FeatureSpec, target: &str, seed: u64) -> Self {
        Self {
            format: FORMAT_VERSION,
            kind: kind.into(),
            feature_version: spec.version.clone(),
            n_features: spec.n_features,
            target: target.into(),
            label: LABEL_KIND.into(),
            n_samples: 0,
            n_tasks: 0,
            n_fits: 0,
            seed,
            content_hash: String::new(),
            held_out: None,
        }
    }

    /// Refuses metadata written for another feature set or an unknown layout.
    pub fn check(&self, spec: &FeatureSpec, kind: &str) -> Result<()> {
        if self.format != FORMAT_VERSION {
            return Err(CostModelError::Decode(format!(
                "saved format {} is not the supported {FORMAT_VERSION}",
                self.format
            )));
        }
        if self.kind != kind {
            return Err(CostModelError::Decode(format!(
                "saved model is a `{}`, not a `{kind}`",
                self.kind
            )));
        }
        if self.feature_version != spec.version {
            return Err(CostModelError::FeatureVersionMismatch {
                expected: spec.version.clone(),
                found: self.feature_version.clone(),
            });
        }
        if self.n_features != spec.n_features {
            return Err(CostModelError::FeatureCountMismatch {
                expected: spec.n_features,
                found: self.n_features,
            });
        }
        Ok(())
    }
}

/// Incremental FNV-1a 64-bit hash.
#[derive(Debug, Clone)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Feeds f32 values by their bit patterns.
    pub fn write_f32s(&mut self, v: &[f32]) {
        for x in v {
            self.write(&x.to_le_bytes());
        }
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Encodes f32 values exactly as hex of their little-endian bytes.
pub fn f32s_to_hex(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 8);
    for x in v {
        for b in x.to_le_bytes() {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// Decodes [`f32s_to_hex`] output.
pub fn hex_to_f32s(s: &str) -> Result<Vec<f32>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(8) {
        return Err(CostModelError::Decode(
            "hex weights length not a multiple of 8".into(),
        ));
    }
    let nib = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(CostModelError::Decode("bad hex digit in weights".into())),
        }
    };
    let mut out = Vec::with_capacity(b.len() / 8);
    for chunk in b.chunks_exact(8) {
        let mut bytes = [0u8; 4];
        for (i, pair) in chunk.chunks_exact(2).enumerate() {
            bytes[i] = nib(pair[0])? << 4 | nib(pair[1])?;
        }
        out.push(f32::from_le_bytes(bytes));
    }
    Ok(out)
}
