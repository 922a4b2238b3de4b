//! [`Roofline`]: a roofline-like model of a tiled `M×N×K` matmul on a GPU-like machine.
//!
//! Space (declared by [`Roofline::matmul`]): split groups `i` (extent M) and `j` (extent N)
//! with three factors each — threads, outer and inner register tile — so the block tile is
//! `BM = i_0·i_1·i_2` and the grid `M/BM` is the quotient; `k` (extent K) with two factors,
//! `BK = k_0·k_1`; choices `unroll ∈ {1,…,64}` and `vec ∈ {1,2,4}`; and the linear constraint
//! threads `i_0·j_0 ≤ 1024`. Penalties (hardware limits outside the space): shared memory
//! `4·(BM+BN)·BK ≤ 48 KiB` and accumulators `i_1 i_2 j_1 j_2 ≤ 128`, in log units.
//!
//! Time is the (smooth, temperature `tau`) maximum of compute time (peak throughput scaled
//! by occupancy, warp, ILP and unroll efficiencies, each a smooth `min(1, ·)`), global memory
//! time (traffic `4·MNK·(1/BM + 1/BN)`, bandwidth scaled by the vector width) and shared
//! memory time (traffic `4·MNK·(1/(i_1 i_2) + 1/(j_1 j_2))`); the score is `−ln time`.

use tilegrad_symbolic::{LogTerm, Space};

use super::{smooth_max, softplus, tiled_space, LogModel, Synthetic};
use crate::Result;

/// Peak FMA throughput (FLOP/s), global and shared bandwidth (B/s), SMs.
const PEAK: f64 = 20e12;
const GLOBAL_BW: f64 = 800e9;
const SHARED_BW: f64 = 8e12;
const SMS: f64 = 108.0;

/// The roofline-like matmul model; see the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct Roofline {
    ln_mnk: f64,
    ln_m: f64,
    ln_n: f64,
}

/// Variable positions in the space built by [`Roofline::matmul`].
const I: [usize; 3] = [0, 1, 2];
const J: [usize; 3] = [3, 4, 5];
const K: [usize; 2] = [6, 7];
const UNROLL: usize = 8;
const VEC: usize = 9;

impl Roofline {
    /// The objective for an `m×n×k` matmul (extents ≥ 1).
    pub fn matmul(m: u64, n: u64, k: u64) -> Result<Synthetic<Self>> {
        let mut space: Space = tiled_space(
            &[("i", m, 3), ("j", n, 3), ("k", k, 2)],
            &[("unroll", &[1, 2, 4, 8, 16, 32, 64]), ("vec", &[1, 2, 4])],
        )?;
        let v = space.vars();
        space.add_log_product_constraint(
            "threads",
            &[(LogTerm::Var(v[I[0]]), 1.0), (LogTerm::Var(v[J[0]]), 1.0)],
            1024.0,
        )?;
        let (m, n, k) = (m as f64, n as f64, k as f64);
        Ok(Synthetic::new(
            space,
            Self {
                ln_mnk: (m * n * k).ln(),
                ln_m: m.ln(),
                ln_n: n.ln(),
            },
        ))
    }
}

/// Smooth `ln min(1, e^x)` = `−softplus(−x)`.
fn ln_min1(x: f64, tau: f64) -> f64 {
    -softplus(-x, tau)
}

impl LogModel for Roofline {
    fn eval(&self, l: &[f64], tau: f64) -> (f64, f64, f64) {
        let ln_bm: f64 = I.iter().map(|&p| l[p]).sum();
        let ln_bn: f64 = J.iter().map(|&p| l[p]).sum();
        let ln_bk: f64 = K.iter().map(|&p| l[p]).sum();
        let ln_threads = l[I[0]] + l[J[0]];
        let ln_ti = l[I[1]] + l[I[2]];
        let ln_tj = l[J[1]] + l[J[2]];
        let ln_acc = ln_ti + ln_tj;
        let ln_blocks = (self.ln_m - ln_bm) + (self.ln_n - ln_bn);
        // Efficiencies in log space.
        let occupancy = ln_min1(ln_blocks + ln_threads - (SMS * 1024.0).ln(), tau);
        let warp = ln_min1(ln_threads - 64f64.ln(), tau);
        let ilp = ln_min1(ln_acc - 16f64.ln(), tau);
        let unroll = (1.0 - 0.3 * (-l[UNROLL]).exp()).ln();
        let ln_flops = 2f64.ln() + self.ln_mnk;
        let t_comp = ln_flops - PEAK.ln() - occupancy - warp - ilp - unroll;
        let ln_4mnk = 4f64.ln() + self.ln_mnk;
        let traffic = ln_4mnk + ((-ln_bm).exp() + (-ln_bn).exp()).ln();
        let vec_eff = (1.0 - 0.5 * (-l[VEC]).exp()).ln();
        let t_global = traffic - GLOBAL_BW.ln() - vec_eff;
        let t_shared = ln_4mnk + ((-ln_ti).exp() + (-ln_tj).exp()).ln() - SHARED_BW.ln();
        let ln_time = smooth_max(&[t_comp, t_global, t_shared], tau);
        let smem = 4f64.ln() + (ln_bm.exp() + ln_bn.exp()).ln() + ln_bk - (48.0 * 1024f64).ln();
        let regs = ln_acc - 128f64.ln();
        let viol = |v: f64| if v > 1e-9 { v * v } else { 0.0 };
        let penalty = viol(smem) + viol(regs);
        let uncertainty = 0.05 * (1.0 + (3.0 * l.iter().sum::<f64>()).sin());
        (-ln_time, penalty, uncertainty)
    }
}
