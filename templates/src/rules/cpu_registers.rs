//! The register-tile and parallelism constraints of [`super::CpuTiling`] (`register_tile`,
//! `vector_lanes`, `register_min`, `parallel`; see the parent module's docs).

use tilegrad_symbolic::{CpuSpec, LogTerm, Space, SplitGroupId};

use super::{err, Tiled, MAX_INNERMOST};
use crate::compute::Stage;
use crate::Result;

/// Most vector accumulators of the register tile `Π S3_a` (of the 16 AVX2 registers, the rest
/// hold the broadcast and the loaded vectors).
pub const REGISTER_ACCUMULATORS: u64 = 12;

/// Fewest vector accumulators of the register tile where the extents allow it: with fewer
/// independent FMA chains than latency × pipes (4 × 2 on Zen 3), the micro-kernel stalls.
pub const MIN_ACCUMULATORS: u64 = 8;

/// The register-tile and parallelism limits (see the module docs): `register_tile`
/// (`Π S3_a ≤` [`REGISTER_ACCUMULATORS`] vectors), `vector_lanes` (`S3` of the vectorized axis
/// at least one vector, when its extent is a multiple of the vector width) and `parallel`
/// (`Π S0_a ≥` cores, when the extents allow it).
pub(super) fn register_constraints(
    space: &mut Space,
    stage: &Stage,
    sp: &[(Tiled, SplitGroupId)],
    cpu: &CpuSpec,
) -> Result<()> {
    let lanes = u64::from(cpu.simd_bytes / 4).max(1);
    let mut inner = Vec::new();
    for (_, gid) in sp {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        inner.push((LogTerm::Var(f[f.len() - 1]), 1.0));
    }
    if inner.is_empty() {
        return Ok(());
    }
    let regs = (REGISTER_ACCUMULATORS * lanes) as f64;
    space
        .add_log_product_constraint("register_tile", &inner, regs)
        .map_err(err)?;
    // The register tiles the extents allow: (Π S3_a, Π E_a / S3_a) per choice of divisors.
    let mut options = Vec::new();
    for (k, (t, _)) in sp.iter().enumerate() {
        let e = stage.spatial[t.axis].extent as u64;
        let vector = k + 1 == sp.len() && lanes > 1 && e.is_multiple_of(lanes);
        if vector {
            space
                .add_log_product_constraint(
                    "vector_lanes",
                    &[(inner[k].0, -1.0)],
                    1.0 / lanes as f64,
                )
                .map_err(err)?;
        }
        let min = if vector { lanes } else { 1 };
        let divisors = (min..=e.min(MAX_INNERMOST as u64)).filter(|d| e.is_multiple_of(*d));
        options.push(divisors.map(|d| (d, e / d)).collect::<Vec<_>>());
    }
    let max_elems = REGISTER_ACCUMULATORS * lanes;
    let tiles = register_tiles(&options, max_elems);
    // At least `MIN_ACCUMULATORS` vectors where some register tile allows it (without
    // giving up a parallel loop over every core, where one is possible).
    let cores = u64::from(cpu.cores).max(1);
    let par_ok = cores > 1 && tiles.iter().any(|&(_, q)| q >= cores);
    let min_elems = MIN_ACCUMULATORS * lanes;
    let min_ok = tiles
        .iter()
        .any(|&(d, q)| d >= min_elems && (q >= cores || !par_ok));
    if min_ok {
        let neg: Vec<(LogTerm, f64)> = inner.iter().map(|&(t, _)| (t, -1.0)).collect();
        space
            .add_log_product_constraint("register_min", &neg, 1.0 / min_elems as f64)
            .map_err(err)?;
    }
    if par_ok {
        let outer: Vec<(LogTerm, f64)> = sp
            .iter()
            .map(|(_, gid)| (LogTerm::Quotient(*gid), -1.0))
            .collect();
        space
            .add_log_product_constraint("parallel", &outer, 1.0 / cores as f64)
            .map_err(err)?;
    }
    Ok(())
}

/// Every `(Π d_a, Π q_a)` over one `(d, q)` choice per axis from `options` with
/// `Π d_a ≤ max` (duplicates removed).
fn register_tiles(options: &[Vec<(u64, u64)>], max: u64) -> Vec<(u64, u64)> {
    let mut tiles = vec![(1u64, 1u64)];
    for opts in options {
        let mut next: Vec<(u64, u64)> = tiles
            .iter()
            .flat_map(|&(d, q)| {
                opts.iter()
                    .map(move |&(d2, q2)| (d.saturating_mul(d2), q.saturating_mul(q2)))
            })
            .filter(|&(d, _)| d <= max)
            .collect();
        next.sort_unstable();
        next.dedup();
        tiles = next;
    }
    tiles
}
