//! Seed schedules: a few legal assignments of a sketch that an analytical model of the
//! hardware recommends, for the tuner to measure before it searches.
//!
//! A learned cost model ranks well only where it was trained, and a sketch the model
//! misjudges gets one measurement and then none (the padded sketch of `matmul 512^3` holds a
//! 6 x 16 micro-kernel at ONNX Runtime's speed; the search measured one 1-row candidate of it
//! and never came back). The register tiling of a GEMM-like nest, on the other hand, follows
//! from a few machine numbers, as BLIS derives its micro-kernels ("Analytical modeling is
//! enough for high-performance BLIS", Low et al., TOMS 2016). For the `cpu-tiling` family
//! (every variant but `/dot`):
//! - panel depth `kc` (`Π R1`): the largest divisor of the reduction extents up to 256;
//! - micro-kernel `mr` rows x `nv` vectors: `nv · lanes · kc · 4` bytes of the packed panel
//!   fit half of L1; then the fewest loads per FMA, `(mr + nv) / (mr · nv)`, with at most
//!   [`REGISTER_ACCUMULATORS`] accumulators (at least [`MIN_ACCUMULATORS`] where the extents
//!   allow): 6 x 2 vectors on AVX2 where `mr` may be 6, as in BLIS and MLAS;
//! - cache block (`S2·S3` of the rows and of the vector axis, the outputs one thread
//!   accumulates over the whole reduction): the most FMAs per operand element read,
//!   `R·C / (R + C)`, weighed by the share of the cores its blocks keep busy (at least 90 %
//!   where some block allows it), within the `local_tile` budget (a quarter of L2); every
//!   other level 1 (its loops go to the parallel outer loop).
//!
//! The first legal assignment in that order of preference is the seed ([`MAX_SEEDS`] per
//! sketch, each with the next micro-kernel). The search then measures, ranks and improves on
//! them like any other candidate. The model is GEMM's (a broadcast operand reused across the
//! vector): for depthwise convs it is only a legal start.

use tilegrad_symbolic::{Assignment, CpuSpec, Space, SplitGroup, TargetSpec};

use crate::rules::cpu_tiling::{local_tile_elems, MIN_ACCUMULATORS, REGISTER_ACCUMULATORS};
use crate::Sketch;

/// Most seeds per sketch.
pub const MAX_SEEDS: usize = 1;
/// Candidates tried per sketch before giving up.
const MAX_TRIES: usize = 4096;
/// Least share of the cores a seed's cache blocks keep busy, where some block allows it:
/// past the intensity that keeps the micro-kernel fed, an idle core costs more than a
/// larger block saves.
const MIN_BUSY: f64 = 0.9;
/// Deepest panel (BLIS's `kc` for single precision).
const MAX_KC: u64 = 256;

/// Up to [`MAX_SEEDS`] legal seed assignments of `sketch` on `target`, best first (see the
/// [module docs](self)); none for sketches outside the `cpu-tiling` family.
pub fn seeds(sketch: &Sketch, target: &tilegrad_symbolic::Target) -> Vec<Assignment> {
    let TargetSpec::Cpu(cpu) = &target.spec else {
        return Vec::new();
    };
    if !sketch.id.starts_with("cpu-tiling") || sketch.id.ends_with("/dot") {
        return Vec::new();
    }
    Seeder::new(&sketch.space, cpu).map_or_else(Vec::new, |s| s.seeds())
}

/// The split groups of a `cpu-tiling` space, by role.
struct Seeder<'a> {
    space: &'a Space,
    cpu: &'a CpuSpec,
    /// Spatial groups (`sp_*`, three factors each), the vectorized axis last.
    spatial: Vec<&'a SplitGroup>,
    /// Reduction groups (`rd_*`, one factor each).
    reduction: Vec<&'a SplitGroup>,
}

/// The divisors of `n`, increasing.
fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// The largest divisor of `n` not above `max` (at least 1).
fn divisor_up_to(n: u64, max: u64) -> u64 {
    (1..=max.min(n))
        .rev()
        .find(|d| n.is_multiple_of(*d))
        .unwrap_or(1)
}

impl<'a> Seeder<'a> {
    fn new(space: &'a Space, cpu: &'a CpuSpec) -> Option<Self> {
        let of = |prefix: &str, n: usize| {
            space
                .groups()
                .iter()
                .filter(|g| g.name().starts_with(prefix) && g.factors().len() == n)
                .collect::<Vec<_>>()
        };
        let spatial = of("sp_", 3);
        let reduction = of("rd_", 1);
        let known = spatial.len() + reduction.len() == space.groups().len();
        (known && !spatial.is_empty()).then_some(Self {
            space,
            cpu,
            spatial,
            reduction,
        })
    }

    /// The panel depths to try, deepest first: `Π R1` per reduction group, innermost first.
    fn panels(&self) -> Vec<Vec<u64>> {
        let mut out: Vec<Vec<u64>> = Vec::new();
        let mut kc = MAX_KC;
        while kc >= 1 {
            let mut budget = kc;
            let mut r1 = vec![1; self.reduction.len()];
            for (i, g) in self.reduction.iter().enumerate().rev() {
                r1[i] = divisor_up_to(g.extent(), budget);
                budget /= r1[i];
            }
            if !out.contains(&r1) {
                out.push(r1);
            }
            kc /= 2;
        }
        out
    }

    /// Micro-kernels `(rows, vector width)` for a panel depth `kc`, best first.
    fn kernels(&self, kc: u64) -> Vec<(u64, u64)> {
        let lanes = u64::from(self.cpu.simd_bytes / 4).max(1);
        let vec_extent = self.spatial[self.spatial.len() - 1].extent();
        let rows_extent = match self.spatial.len() {
            1 => 1,
            n => self.spatial[n - 2].extent(),
        };
        // Vector widths: whole vectors dividing the extent, else its largest small divisor.
        let mut widths: Vec<u64> = (1..=REGISTER_ACCUMULATORS)
            .map(|nv| nv * lanes)
            .filter(|w| vec_extent.is_multiple_of(*w))
            .collect();
        if widths.is_empty() {
            widths.push(divisor_up_to(vec_extent, 2 * lanes));
        }
        let panel_fits = |w: u64| w * kc * 4 <= (self.cpu.l1_bytes / 2).max(1);
        let narrowest = widths[0];
        let rows = divisors(rows_extent);
        let mut out = Vec::new();
        for &w in &widths {
            if !panel_fits(w) && w != narrowest {
                continue;
            }
            let nv = w.div_ceil(lanes);
            for &mr in rows.iter().filter(|&&r| r * nv <= REGISTER_ACCUMULATORS) {
                out.push((mr, w));
            }
        }
        let acc = |(mr, w): (u64, u64)| mr * w.div_ceil(lanes);
        let any_full = out.iter().any(|&k| acc(k) >= MIN_ACCUMULATORS);
        // Fewest loads per FMA: minimise (mr + nv) / (mr · nv), i.e. compare
        // (mr + nv) · other's accumulators; then more accumulators.
        out.sort_by(|&a, &b| {
            let full = |k| !any_full || acc(k) >= MIN_ACCUMULATORS;
            let loads = |(mr, w): (u64, u64)| mr + w.div_ceil(lanes);
            full(b)
                .cmp(&full(a))
                .then((loads(a) * acc(b)).cmp(&(loads(b) * acc(a))))
                .then(acc(b).cmp(&acc(a)))
        });
        out
    }

    /// The seeds: per micro-kernel in order of preference, the first legal assignment.
    fn seeds(&self) -> Vec<Assignment> {
        let mut out: Vec<Assignment> = Vec::new();
        let mut kernels_done = Vec::new();
        let mut tries = 0;
        for r1 in self.panels() {
            let kc: u64 = r1.iter().product();
            for kernel in self.kernels(kc) {
                if kernels_done.contains(&kernel) {
                    continue;
                }
                for a in self.blocks(kernel, &r1) {
                    tries += 1;
                    if tries > MAX_TRIES {
                        return out;
                    }
                    if self.space.is_legal(&a) {
                        kernels_done.push(kernel);
                        out.push(a);
                        if out.len() == MAX_SEEDS {
                            return out;
                        }
                        break;
                    }
                }
            }
        }
        out
    }

    /// Assignments with micro-kernel `(mr, width)` and panel `r1`, by cache block: the block
    /// of `R x C` outputs a thread accumulates over the whole reduction reads `(R + C) · kc`
    /// operand elements per `R · C · kc` FMAs, so blocks go by `R·C / (R + C)` times the share
    /// of the cores the blocks keep busy (`T` blocks on `P` cores: `T / (P · ⌈T / P⌉)`),
    /// largest first, those that keep [`MIN_BUSY`] of the cores busy before the others,
    /// within the `local_tile` budget ([`local_tile_elems`]).
    fn blocks(&self, (mr, width): (u64, u64), r1: &[u64]) -> Vec<Assignment> {
        let n = self.spatial.len();
        let cols = divisors(self.spatial[n - 1].extent() / width);
        let row_group = (n >= 2).then(|| self.spatial[n - 2]);
        let rows = row_group.map_or(vec![1], |g| divisors(g.extent() / mr));
        let budget = local_tile_elems(self.cpu).max(mr * width);
        let outputs: u64 = self.spatial.iter().map(|g| g.extent()).product();
        let cores = u64::from(self.cpu.cores).max(1);
        let mut blocks: Vec<(u64, u64)> = cols
            .iter()
            .flat_map(|&c| rows.iter().map(move |&r| (r, c)))
            .filter(|&(r, c)| r * mr * c * width <= budget)
            .collect();
        let busy = |(r, c): (u64, u64)| {
            let tasks = (outputs / (r * mr * c * width)).max(1);
            tasks as f64 / (cores * tasks.div_ceil(cores)) as f64
        };
        let score = |(r, c): (u64, u64)| {
            let (rows, cols) = ((r * mr) as f64, (c * width) as f64);
            rows * cols / (rows + cols) * busy((r, c))
        };
        let balanced = |b: (u64, u64)| busy(b) >= MIN_BUSY;
        blocks.sort_by(|&x, &y| {
            balanced(y)
                .cmp(&balanced(x))
                .then(score(y).total_cmp(&score(x)))
                .then((y.0 * y.1).cmp(&(x.0 * x.1)))
                .then(x.cmp(&y))
        });
        blocks
            .into_iter()
            .filter_map(|(r, c)| self.assignment(mr, width, c, r, r1))
            .collect()
    }

    /// The assignment with these tiles, `S1 = 1`, every other spatial level 1 and the
    /// smallest unrolling above 1.
    fn assignment(&self, mr: u64, width: u64, c: u64, r: u64, r1: &[u64]) -> Option<Assignment> {
        let n = self.spatial.len();
        let names = self.space.var_names();
        let mut pairs = Vec::new();
        for (i, g) in self.spatial.iter().enumerate() {
            let (s2, s3) = match n - 1 - i {
                0 => (c, width),
                1 => (r, mr),
                _ => (1, 1),
            };
            for (f, value) in g.factors().iter().zip([1, s2, s3]) {
                pairs.push((names[self.space.position(*f).ok()?].clone(), value));
            }
        }
        for (g, &value) in self.reduction.iter().zip(r1) {
            pairs.push((
                names[self.space.position(g.factors()[0]).ok()?].clone(),
                value,
            ));
        }
        for ch in self.space.choices() {
            let value = ch.values().iter().copied().find(|&x| x > 1);
            let value = value.or_else(|| ch.values().first().copied())?;
            pairs.push((names[self.space.position(ch.var()).ok()?].clone(), value));
        }
        self.space.assignment_from_pairs(&pairs).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sketches, Workload};
    use tilegrad_symbolic::Target;

    fn seeds_of(workload: &str, sketch: &str) -> Vec<String> {
        let w: Workload = workload.parse().unwrap();
        let target = Target::example_cpu();
        let all = sketches(&w, &target).unwrap();
        let s = all.iter().find(|s| s.id == sketch).unwrap();
        let out = seeds(s, &target);
        assert!(out.iter().all(|a| s.space.is_legal(a)));
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_padded_power_of_two_matmul_gets_the_6_by_16_micro_kernel() {
        let s = seeds_of("matmul(M=512,N=512,K=512)", "cpu-tiling/padded");
        assert_eq!(s.len(), MAX_SEEDS);
        assert!(
            s[0].contains("sp_i_2=6,") && s[0].contains("sp_j_2=16,"),
            "{s:?}"
        );
        assert!(s[0].contains("rd_k_0=256"), "{s:?}");
    }

    #[test]
    fn a_seed_block_reads_the_operands_few_times_and_keeps_the_cores_busy() {
        // 97 x 1000 pads to 102 x 1008: 6-row micro-kernels, all 102 rows in one block; of
        // the column blocks, 48 (21 blocks) and 112 (9) keep 90 % of 2 cores busy, 144 (7)
        // and 336 (3) do not: the widest balanced one wins.
        let s = seeds_of("matmul(M=97,N=1000,K=4099)", "cpu-tiling/padded");
        assert!(
            s[0].contains("sp_i_1=17,sp_i_2=6,") && s[0].contains("sp_j_1=7,sp_j_2=16,"),
            "{s:?}"
        );
    }

    #[test]
    fn unpadded_sketches_take_the_best_tile_their_divisors_allow() {
        let s = seeds_of("matmul(M=512,N=512,K=512)", "cpu-tiling/packed");
        assert!(
            s[0].contains("sp_i_2=4,") && s[0].contains("sp_j_2=16,"),
            "{s:?}"
        );
        let conv = "conv2d(N=1,H=32,W=32,C=512,K=128,R=1,S=1,stride=1,pad=0)+bias+relu";
        assert!(!seeds_of(conv, "cpu-tiling").is_empty());
        let gemv = "matmul(M=1,N=1000,K=1280,trans_b=1)+bias";
        assert!(seeds_of(gemv, "cpu-tiling/dot").is_empty());
    }
}
