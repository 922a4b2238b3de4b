//! The burn network: per-row MLP, segment sum over a program's rows, residual blocks, scalar head.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{CostModelError, Result};

/// One named parameter tensor, as stored in a saved model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamBlob {
    /// Parameter name (`row1.weight`, `res0.bias`, ...).
    pub name: String,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// Felix's cost-model network (no `<B>` generic in burn 0.22).
#[derive(Module, Debug)]
pub struct Net {
    row1: Linear,
    row2: Linear,
    res: Vec<Linear>,
    head: Linear,
}

/// The input of one forward pass: normalised rows and how they group into programs.
pub struct NetInput {
    /// `[n_rows, n_features]` normalised features.
    pub x: Tensor<2>,
    /// Owner program of each row (used when programs have different row counts).
    pub owner: Option<Tensor<1, Int>>,
    /// Number of programs.
    pub n_programs: usize,
    /// Rows per program when every program has the same count.
    pub uniform_rows: Option<usize>,
}

impl NetInput {
    /// Builds the tensors for `data` (row-major, `n_features` columns) grouped by `row_offsets`.
    pub fn new(data: Vec<f32>, n_features: usize, row_offsets: &[usize], device: &Device) -> Self {
        let n_programs = row_offsets.len().saturating_sub(1);
        let n_rows = row_offsets.last().copied().unwrap_or(0);
        let x = Tensor::<2>::from_data(TensorData::new(data, [n_rows, n_features]), device);
        let first = if n_programs > 0 { row_offsets[1] } else { 0 };
        let uniform = first > 0 && row_offsets.windows(2).all(|w| w[1] - w[0] == first);
        let (owner, uniform_rows) = if uniform {
            (None, Some(first))
        } else {
            let mut idx = Vec::with_capacity(n_rows);
            for p in 0..n_programs {
                let len = row_offsets[p + 1] - row_offsets[p];
                idx.extend(std::iter::repeat_n(p as i64, len));
            }
            let t = Tensor::<1, Int>::from_data(TensorData::new(idx, [n_rows]), device);
            (Some(t), None)
        };
        Self {
            x,
            owner,
            n_programs,
            uniform_rows,
        }
    }
}

fn linear_from(w: Vec<f32>, d_in: usize, d_out: usize, b: Vec<f32>, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(w, [d_in, d_out]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(b, [d_out]),
            device,
        ))),
    }
}

fn linear_random(
    d_in: usize,
    d_out: usize,
    scale: f32,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> Linear {
    let k = scale / (d_in as f32).sqrt();
    let w = (0..d_in * d_out).map(|_| rng.random_range(-k..k)).collect();
    let b = (0..d_out).map(|_| rng.random_range(-k..k)).collect();
    linear_from(w, d_in, d_out, b, dev)
}

/// Copies a tensor's values to a `Vec<f32>`.
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| CostModelError::Decode(format!("{e:?}")))
}

impl Net {
    /// A network with weights drawn from `rng` (uniform, Kaiming-style bounds).
    pub fn random(
        n_features: usize,
        hidden: usize,
        n_res: usize,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Self {
        let row1 = linear_random(n_features, hidden, 1.0, rng, dev);
        let row2 = linear_random(hidden, hidden, 1.0, rng, dev);
        let res = (0..n_res)
            .map(|_| linear_random(hidden, hidden, 0.5, rng, dev))
            .collect();
        let head = linear_random(hidden, 1, 1.0, rng, dev);
        Self {
            row1,
            row2,
            res,
            head,
        }
    }

    /// Forward pass: `[n_programs, 1]` normalised scores.
    pub fn forward(&self, input: NetInput) -> Tensor<2> {
        let h = relu(self.row2.forward(relu(self.row1.forward(input.x))));
        let hidden = h.dims()[1];
        let mut s = match (input.uniform_rows, input.owner) {
            (Some(k), _) => h
                .reshape([input.n_programs, k, hidden])
                .sum_dim(1)
                .reshape([input.n_programs, hidden]),
            (None, Some(owner)) => Tensor::<2>::zeros([input.n_programs, hidden], &h.device())
                .select_assign(0, owner, h, IndexingUpdateOp::Add),
            (None, None) => Tensor::<2>::zeros([input.n_programs, hidden], &h.device()),
        };
        for l in &self.res {
            s = s.clone() + relu(l.forward(s));
        }
        self.head.forward(s)
    }

    /// All parameters in a fixed order, for saving and hashing.
    pub fn export(&self) -> Result<Vec<ParamBlob>> {
        let mut out = Vec::new();
        let mut put = |name: String, l: &Linear| -> Result<()> {
            let w = l.weight.val();
            out.push(ParamBlob {
                name: format!("{name}.weight"),
                shape: w.dims().to_vec(),
                values: to_vec(w)?,
            });
            if let Some(b) = &l.bias {
                let b = b.val();
                out.push(ParamBlob {
                    name: format!("{name}.bias"),
                    shape: b.dims().to_vec(),
                    values: to_vec(b)?,
                });
            }
            Ok(())
        };
        put("row1".into(), &self.row1)?;
        put("row2".into(), &self.row2)?;
        for (i, l) in self.res.iter().enumerate() {
            put(format!("res{i}"), l)?;
        }
        put("head".into(), &self.head)?;
        Ok(out)
    }

    /// Rebuilds a network from [`Net::export`] output.
    pub fn import(
        blobs: &[ParamBlob],
        n_features: usize,
        hidden: usize,
        n_res: usize,
        dev: &Device,
    ) -> Result<Self> {
        let expected = 2 * (3 + n_res);
        if blobs.len() != expected {
            return Err(CostModelError::Decode(format!(
                "expected {expected} parameter tensors, found {}",
                blobs.len()
            )));
        }
        let mut it = blobs.chunks(2);
        let mut take = |name: &str, d_in: usize, d_out: usize| -> Result<Linear> {
            let pair = it
                .next()
                .ok_or_else(|| CostModelError::Decode("missing tensor".into()))?;
            let (w, b) = (&pair[0], &pair[1]);
            if w.name != format!("{name}.weight")
                || b.name != format!("{name}.bias")
                || w.shape != [d_in, d_out]
                || b.shape != [d_out]
                || w.values.len() != d_in * d_out
                || b.values.len() != d_out
            {
                return Err(CostModelError::Decode(format!(
                    "parameter {name}: unexpected name or shape ({} {:?})",
                    w.name, w.shape
                )));
            }
            Ok(linear_from(
                w.values.clone(),
                d_in,
                d_out,
                b.values.clone(),
                dev,
            ))
        };
        let row1 = take("row1", n_features, hidden)?;
        let row2 = take("row2", hidden, hidden)?;
        let mut res = Vec::with_capacity(n_res);
        for i in 0..n_res {
            res.push(take(&format!("res{i}"), hidden, hidden)?);
        }
        let head = take("head", hidden, 1)?;
        Ok(Self {
            row1,
            row2,
            res,
            head,
        })
    }
}
