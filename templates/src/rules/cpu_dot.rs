//! The `cpu-tiling/dot` sketch: the vector runs along a reduction axis (Ansor's reduction
//! factoring, "rfactor").
//!
//! It applies when some reduction axis `u` is the contiguous (last, bare) dimension of every
//! load that reads it and occurs in no other index of those loads: `A[i, k]` and `B[j, k]` of
//! a `trans_b` matmul (every dense layer; GEMV heads and the decode-time linear layers, where
//! `M` is 1 to 16 and the other sketches have no row reuse to vectorize along `N` with), the
//! `Q·Kᵀ` of attention. Its extent must be a multiple of the vector width `L` (at least two
//! vectors). Every spatial axis is split as in `cpu-tiling` (`S0` fused and parallel, `S1`,
//! `S2`, `S3`), `u` in vectors as `[U0, U1]` (`u = (u0·U1 + u1)·L + l`), every other
//! reduction axis as `[R0, R1]`:
//!
//! ```text
//! for i.0_j.0 in 0..Π S0 @parallel {
//!  for i.1 … { for j.1 … {
//!   for i.2 … j.2 … i.3 … j.3 … (unrolled) { for l in 0..L @vectorized { C.dot[…, l] = 0 }}
//!   for k.0 in U0 (unroll_max_step = unroll) { for i.2 … j.2 … { for k.1 in U1 {
//!    for i.3 … j.3 … (unrolled) { for l in 0..L @vectorized {
//!     C.dot[i.2, j.2, i.3, j.3, l] += A[i, u] · B[j, u] }}}}}
//!   for i.2 … j.2 … i.3 … j.3 … { C.sum = Σ_l C.dot[…, l]; C[i, j] = post(C.sum) }
//! }}}
//! ```
//!
//! Each register-tile point keeps one vector accumulator (`Π S3_a ≤ 12`, `register_tile`),
//! both operands stream along `u` with unit stride, and the lanes are summed once per output
//! in the write-back. Space: the split groups, `innermost_*` (`S3_a`, `U1`, `R1` at most 64),
//! `register_tile`, `local_tile` (the `C.dot` block fits a quarter of L1), `parallel` (`Π S0 ≥`
//! cores when the output has that many points) and `unroll`.

use tilegrad_symbolic::{CpuSpec, ExprId, LogTerm, LoopKind, Scope, Space, TreeBuilder, Value};

use super::{declare_groups, err, Tiled, MAX_INNERMOST, REGISTER_ACCUMULATORS, UNROLL_VALUES};
use crate::compute::{AxisId, ComputeDef, IndexExpr, Stage};
use crate::rules::lower::{
    declare_tensors, flatten, is_bare_axis, loop_nest, lower_value, mul, product, unflatten,
    LoopSpec,
};
use crate::sketch::Sketch;
use crate::{Result, Workload};

/// The reduction axis the vector runs along (see the module docs), if any.
fn dot_axis(stage: &Stage, lanes: usize) -> Option<AxisId> {
    let ns = stage.spatial.len();
    let loads = stage.body.loads();
    (0..stage.reduce.len()).map(|k| ns + k).find(|&u| {
        let e = stage.reduce[u - ns].extent;
        if e < 2 * lanes || !e.is_multiple_of(lanes) {
            return false;
        }
        let mentions = |ix: &IndexExpr| ix.terms.iter().any(|t| t.axis == u);
        let mut reads = 0;
        for (_, index, pad) in &loads {
            if !index.iter().any(mentions) {
                continue;
            }
            let Some((last, lead)) = index.split_last() else {
                return false;
            };
            let streams = is_bare_axis(last) && last.terms[0].axis == u;
            if pad.is_some() || !streams || lead.iter().any(mentions) {
                return false;
            }
            reads += 1;
        }
        reads > 0
    })
}

/// The `cpu-tiling/dot` sketch of `workload`, `None` when no reduction axis streams.
pub(super) fn sketch(
    workload: &Workload,
    def: &ComputeDef,
    cpu: &CpuSpec,
) -> Result<Option<Sketch>> {
    let stage = &def.stages[0];
    let lanes = (cpu.simd_bytes / 4) as usize;
    if lanes < 2 {
        return Ok(None);
    }
    let Some(u) = dot_axis(stage, lanes) else {
        return Ok(None);
    };
    let ns = stage.spatial.len();
    let mut b = TreeBuilder::new(&stage.name);
    let mut space = Space::new();
    let sp = declare_groups(&mut b, &mut space, &stage.spatial, 0, "sp", 3)?;
    // The dot axis is tiled in whole vectors.
    let mut reduce = stage.reduce.clone();
    reduce[u - ns].extent /= lanes;
    let rd = declare_groups(&mut b, &mut space, &reduce, ns, "rd", 1)?;
    let mut inner = Vec::new();
    let mut tile = Vec::new();
    for (t, gid) in sp.iter().chain(&rd) {
        let f = space.group(*gid).map_err(err)?.factors().to_vec();
        let last = LogTerm::Var(f[f.len() - 1]);
        space
            .add_log_product_constraint(
                &format!("innermost_{}", t.name),
                &[(last, 1.0)],
                MAX_INNERMOST,
            )
            .map_err(err)?;
        if f.len() == 3 {
            inner.push((last, 1.0));
            tile.extend([(LogTerm::Var(f[1]), 1.0), (last, 1.0)]);
        }
    }
    if !inner.is_empty() {
        space
            .add_log_product_constraint("register_tile", &inner, REGISTER_ACCUMULATORS as f64)
            .map_err(err)?;
        let elems = (cpu.l1_bytes / 4 / lanes as u64).max(1) as f64;
        space
            .add_log_product_constraint("local_tile", &tile, elems)
            .map_err(err)?;
    }
    let cores = u64::from(cpu.cores).max(1);
    let points: usize = stage.spatial.iter().map(|a| a.extent).product();
    if cores > 1 && points as u64 >= cores && !sp.is_empty() {
        let outer: Vec<(LogTerm, f64)> = sp
            .iter()
            .map(|(_, g)| (LogTerm::Quotient(*g), -1.0))
            .collect();
        space
            .add_log_product_constraint("parallel", &outer, 1.0 / cores as f64)
            .map_err(err)?;
    }
    space
        .add_choice(b.e(), "unroll", &UNROLL_VALUES)
        .map_err(err)?;
    let unroll = b.sched_var("unroll");
    let dot = Dot {
        def,
        stage,
        sp: sp.into_iter().map(|(t, _)| t).collect(),
        rd: rd.into_iter().map(|(t, _)| t).collect(),
        u,
        lanes,
        unroll,
    };
    let tree = dot.build(b)?;
    tree.verify().map_err(err)?;
    Ok(Some(Sketch {
        id: "cpu-tiling/dot".into(),
        workload: workload.clone(),
        tree,
        space,
    }))
}

/// Everything needed to build the dot sketch's tree.
struct Dot<'a> {
    def: &'a ComputeDef,
    stage: &'a Stage,
    sp: Vec<Tiled>,
    rd: Vec<Tiled>,
    /// The dot axis.
    u: AxisId,
    lanes: usize,
    unroll: ExprId,
}

impl Dot<'_> {
    fn level(&self, k: usize) -> Vec<ExprId> {
        self.sp.iter().map(|s| s.levels[k]).collect()
    }

    fn specs(tiles: &[Tiled], k: usize, kind: LoopKind) -> Vec<LoopSpec> {
        tiles
            .iter()
            .map(|t| LoopSpec::new(format!("{}.{k}", t.name), t.levels[k], kind))
            .collect()
    }

    /// Global coordinates of every axis: spatial from `sp` levels, reduction from `rd` levels
    /// and the lane `l` (zero for untiled axes).
    fn coords(
        &self,
        b: &mut TreeBuilder,
        sp: &[[ExprId; 4]],
        rd: &[[ExprId; 2]],
        l: ExprId,
    ) -> Vec<ExprId> {
        let zero = b.c(0.0);
        let mut g = vec![zero; self.stage.spatial.len() + self.stage.reduce.len()];
        for (t, v) in self.sp.iter().zip(sp) {
            g[t.axis] = flatten(b.e(), v, &t.levels);
        }
        for (t, v) in self.rd.iter().zip(rd) {
            g[t.axis] = flatten(b.e(), v, &t.levels);
        }
        let lanes = b.c(self.lanes as f64);
        let vectors = mul(b.e(), g[self.u], lanes);
        g[self.u] = b.e().add(vectors, l);
        g
    }

    fn build(&self, mut b: TreeBuilder) -> Result<tilegrad_symbolic::LoopTree> {
        let bufs = declare_tensors(&mut b, self.def);
        let out = bufs
            .get(self.stage.output)
            .copied()
            .flatten()
            .ok_or_else(|| err("no output buffer"))?;
        let name = &self.def.tensors[self.stage.output].name;
        let lanes = b.c(self.lanes as f64);
        let mut shape = [self.level(2), self.level(3)].concat();
        shape.push(lanes);
        let acc = b.buffer(&format!("{name}.dot"), Scope::Local, &shape);
        let one = b.c(1.0);
        let sum = b.buffer(&format!("{name}.sum"), Scope::Local, &[one]);
        let n0 = product(b.e(), &self.level(0));
        let fused: Vec<String> = self.sp.iter().map(|s| format!("{}.0", s.name)).collect();
        let fused = if fused.is_empty() {
            "fused".to_string()
        } else {
            fused.join("_")
        };
        let ns = self.sp.len();
        let nr = self.rd.len();
        let lane = LoopSpec::new("l", lanes, LoopKind::Vectorized);
        let tile = [
            Self::specs(&self.sp, 2, LoopKind::Serial),
            Self::specs(&self.sp, 3, LoopKind::Unrolled),
            vec![lane.clone()],
        ]
        .concat();
        let mut res: Result<()> = Ok(());
        b.loop_(&fused, n0, LoopKind::Parallel, |b, p| {
            let s0 = unflatten(b.e(), p, &self.level(0));
            loop_nest(
                b,
                &Self::specs(&self.sp, 1, LoopKind::Serial),
                &mut |b, s1| {
                    let sp_at = |s2: &[ExprId], s3: &[ExprId]| -> Vec<[ExprId; 4]> {
                        (0..ns).map(|k| [s0[k], s1[k], s2[k], s3[k]]).collect()
                    };
                    // Init.
                    loop_nest(b, &tile, &mut |b, v| b.init(acc, v, Value::Const(0.0)));
                    // Reduction: R0 (unrolled), S2, R1, S3, l.
                    let mut specs = [
                        Self::specs(&self.rd, 0, LoopKind::Serial),
                        Self::specs(&self.sp, 2, LoopKind::Serial),
                        Self::specs(&self.rd, 1, LoopKind::Serial),
                        Self::specs(&self.sp, 3, LoopKind::Unrolled),
                        vec![lane.clone()],
                    ]
                    .concat();
                    if let Some(first) = specs.first_mut() {
                        first.unroll = Some(self.unroll);
                    }
                    loop_nest(b, &specs, &mut |b, v| {
                        let (r0, rest) = v.split_at(nr);
                        let (s2, rest) = rest.split_at(ns);
                        let (r1, rest) = rest.split_at(nr);
                        let (s3, l) = rest.split_at(ns);
                        let r: Vec<[ExprId; 2]> = (0..nr).map(|k| [r0[k], r1[k]]).collect();
                        let g = self.coords(b, &sp_at(s2, s3), &r, l[0]);
                        match lower_value(b, self.def, &bufs, &self.stage.body, &g, None) {
                            Ok(value) => {
                                let idx = [s2, s3, l].concat();
                                b.accumulate(acc, &idx, value);
                            }
                            Err(e) => res = Err(e),
                        }
                    });
                    // Write-back: the lanes' sum, then the epilogue.
                    let points = [
                        Self::specs(&self.sp, 2, LoopKind::Serial),
                        Self::specs(&self.sp, 3, LoopKind::Serial),
                    ]
                    .concat();
                    loop_nest(b, &points, &mut |b, v| {
                        let (s2, s3) = v.split_at(ns);
                        let zero = b.c(0.0);
                        b.init(sum, &[zero], Value::Const(0.0));
                        b.loop_("l", lanes, LoopKind::Serial, |b, l| {
                            let idx = [s2, s3, &[l]].concat();
                            b.accumulate(sum, &[zero], Value::load(acc, &idx));
                        });
                        let g = self.coords(b, &sp_at(s2, s3), &[], zero);
                        let n_sp = self.stage.spatial.len();
                        let a = Value::load(sum, &[zero]);
                        match lower_value(
                            b,
                            self.def,
                            &bufs,
                            &self.stage.post,
                            &g[..n_sp],
                            Some(&a),
                        ) {
                            Ok(value) => b.store(out, &g[..n_sp], value),
                            Err(e) => res = Err(e),
                        }
                    });
                },
            );
        });
        res?;
        Ok(b.finish())
    }
}
