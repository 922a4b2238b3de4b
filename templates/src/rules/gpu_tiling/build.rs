//! The loop tree of the `gpu-tiling` sketches (structure in the parent module's docs).

use tilegrad_symbolic::looptree::Axis3;
use tilegrad_symbolic::{BufferId, ExprId, LoopKind, LoopTree, Scope, Space, TreeBuilder, Value};

use super::stage::Staged;
use super::{ReduceTiling, SpatialTiling};
use crate::compute::{AxisId, ComputeDef, Stage};
use crate::rules::lower::{
    declare_tensors, flatten, loop_nest, lower_load, lower_value, lower_value_with, mul, product,
    unflatten, LoopSpec,
};
use crate::{Result, TemplateError};

/// Everything needed to build one sketch's tree.
pub(crate) struct Plan<'a> {
    pub def: &'a ComputeDef,
    pub stage: &'a Stage,
    pub sp: Vec<SpatialTiling>,
    pub rd: Vec<ReduceTiling>,
    pub unroll: ExprId,
    pub staged: bool,
    pub vec_values: Vec<u64>,
}

/// Per-thread coordinates fixed by the block and thread loops.
struct Thread {
    /// Block coordinate `q` per tiled spatial axis.
    q: Vec<ExprId>,
    /// Thread coordinate `t` per tiled spatial axis.
    t: Vec<ExprId>,
    tx: ExprId,
    nthreads: ExprId,
}

fn err(msg: String) -> TemplateError {
    TemplateError::Schedule(format!("gpu-tiling: {msg}"))
}

impl Plan<'_> {
    /// The block tile of `axis` (`None` for an untiled axis of extent 1).
    pub(crate) fn tile_of(&self, axis: AxisId) -> Option<ExprId> {
        self.sp
            .iter()
            .find(|s| s.axis == axis)
            .map(|s| s.tile)
            .or_else(|| self.rd.iter().find(|r| r.axis == axis).map(|r| r.tile))
    }

    fn n_axes(&self) -> usize {
        self.stage.spatial.len() + self.stage.reduce.len()
    }

    fn level(&self, k: usize) -> Vec<ExprId> {
        self.sp.iter().map(|s| s.levels[k]).collect()
    }

    /// Builds the tree (declaring the `vec_*` variables in `space` when staging).
    pub(crate) fn build(&self, mut b: TreeBuilder, space: &mut Space) -> Result<LoopTree> {
        let bufs = declare_tensors(&mut b, self.def);
        let out = bufs
            .get(self.stage.output)
            .copied()
            .flatten()
            .ok_or_else(|| err("no output buffer".into()))?;
        let staging = if self.staged {
            self.declare_staging(&mut b, space, &bufs)?
        } else {
            Vec::new()
        };
        let mut acc_shape = [self.level(1), self.level(3), self.level(4)].concat();
        if acc_shape.is_empty() {
            acc_shape.push(b.c(1.0));
        }
        let out_name = self.def.tensors[self.stage.output].name.clone();
        let acc = b.buffer(&format!("{out_name}.local"), Scope::Local, &acc_shape);
        let nb = product(b.e(), &self.level(0));
        let nt = product(b.e(), &self.level(2));
        let mut res: Result<()> = Ok(());
        b.loop_("bx", nb, LoopKind::BlockIdx(Axis3::X), |b, bx| {
            let q = unflatten(b.e(), bx, &self.level(0));
            b.loop_("tx", nt, LoopKind::ThreadIdx(Axis3::X), |b, tx| {
                let t = unflatten(b.e(), tx, &self.level(2));
                let th = Thread {
                    q,
                    t,
                    tx,
                    nthreads: nt,
                };
                res = self
                    .init(b, acc)
                    .and_then(|()| self.main(b, &th, &bufs, &staging, acc))
                    .and_then(|()| self.write_back(b, &th, &bufs, out, acc));
            });
        });
        res?;
        Ok(b.finish())
    }

    /// The accumulator index `[v…, i…, j…]` (or `[0]`).
    fn acc_index(
        &self,
        b: &mut TreeBuilder,
        v: &[ExprId],
        i: &[ExprId],
        j: &[ExprId],
    ) -> Vec<ExprId> {
        let idx = [v, i, j].concat();
        if idx.is_empty() {
            vec![b.c(0.0)]
        } else {
            idx
        }
    }

    /// The vthread loop, then `a.3` loops and `a.4` loops (for init and write-back).
    fn register_loops(&self, b: &mut TreeBuilder) -> Vec<LoopSpec> {
        let nv = product(b.e(), &self.level(1));
        let mut specs = vec![LoopSpec::new("vt", nv, LoopKind::VThread)];
        specs.extend(
            self.sp
                .iter()
                .map(|s| LoopSpec::new(format!("{}.3", s.name), s.levels[3], LoopKind::Serial)),
        );
        specs.extend(
            self.sp
                .iter()
                .map(|s| LoopSpec::new(format!("{}.4", s.name), s.levels[4], LoopKind::Serial)),
        );
        specs
    }

    fn init(&self, b: &mut TreeBuilder, acc: BufferId) -> Result<()> {
        let specs = self.register_loops(b);
        let ns = self.sp.len();
        loop_nest(b, &specs, &mut |b, vars| {
            let v = unflatten(b.e(), vars[0], &self.level(1));
            let idx = self.acc_index(b, &v, &vars[1..1 + ns], &vars[1 + ns..]);
            b.init(acc, &idx, Value::Const(0.0));
        });
        Ok(())
    }

    /// Global coordinates of every spatial axis at `(q, v, t, i, j)` per tiled axis.
    fn spatial_coords(
        &self,
        b: &mut TreeBuilder,
        th: &Thread,
        v: &[ExprId],
        i: &[ExprId],
        j: &[ExprId],
    ) -> (Vec<ExprId>, Vec<ExprId>) {
        let zero = b.c(0.0);
        let (mut global, mut local) = (vec![zero; self.n_axes()], vec![zero; self.n_axes()]);
        for (k, s) in self.sp.iter().enumerate() {
            global[s.axis] = flatten(b.e(), &[th.q[k], v[k], th.t[k], i[k], j[k]], &s.levels);
            local[s.axis] = flatten(b.e(), &[v[k], th.t[k], i[k], j[k]], &s.levels[1..]);
        }
        (global, local)
    }

    fn main(
        &self,
        b: &mut TreeBuilder,
        th: &Thread,
        bufs: &[Option<BufferId>],
        staging: &[Staged],
        acc: BufferId,
    ) -> Result<()> {
        let r0_specs: Vec<LoopSpec> = self
            .rd
            .iter()
            .map(|r| LoopSpec::new(format!("{}.0", r.name), r.levels[0], LoopKind::Serial))
            .collect();
        let (ns, nr) = (self.sp.len(), self.rd.len());
        let mut res = Ok(());
        loop_nest(b, &r0_specs, &mut |b, r0| {
            let r = (|| -> Result<()> {
                let zero = b.c(0.0);
                let mut block_base = vec![zero; self.n_axes()];
                for (k, s) in self.sp.iter().enumerate() {
                    block_base[s.axis] = mul(b.e(), th.q[k], s.tile);
                }
                for (k, rt) in self.rd.iter().enumerate() {
                    block_base[rt.axis] = mul(b.e(), r0[k], rt.tile);
                }
                for st in staging {
                    self.fetch(b, st, &block_base, th.tx, th.nthreads)?;
                }
                if !staging.is_empty() {
                    b.barrier();
                }
                let nv = product(b.e(), &self.level(1));
                let mut specs: Vec<LoopSpec> = self
                    .rd
                    .iter()
                    .map(|r| LoopSpec::new(format!("{}.1", r.name), r.levels[1], LoopKind::Serial))
                    .collect();
                specs.push(LoopSpec::new("vt", nv, LoopKind::VThread));
                specs.extend(self.sp.iter().map(|s| {
                    LoopSpec::new(format!("{}.3", s.name), s.levels[3], LoopKind::Serial)
                }));
                specs.extend(self.rd.iter().map(|r| {
                    LoopSpec::new(format!("{}.2", r.name), r.levels[2], LoopKind::Serial)
                }));
                specs.extend(self.sp.iter().map(|s| {
                    LoopSpec::new(format!("{}.4", s.name), s.levels[4], LoopKind::Serial)
                }));
                specs[0].unroll = Some(self.unroll);
                let mut inner = Ok(());
                loop_nest(b, &specs, &mut |b, vars| {
                    let (r1, rest) = vars.split_at(nr);
                    let v = unflatten(b.e(), rest[0], &self.level(1));
                    let (i, rest) = rest[1..].split_at(ns);
                    let (r2, j) = rest.split_at(nr);
                    let (mut global, mut local) = self.spatial_coords(b, th, &v, i, j);
                    for (k, rt) in self.rd.iter().enumerate() {
                        global[rt.axis] = flatten(b.e(), &[r0[k], r1[k], r2[k]], &rt.levels);
                        local[rt.axis] = flatten(b.e(), &[r1[k], r2[k]], &rt.levels[1..]);
                    }
                    let body = lower_value_with(
                        b,
                        &self.stage.body,
                        &global,
                        None,
                        &mut |b, tensor, index, pad| match staging
                            .iter()
                            .find(|s| s.tensor == tensor)
                        {
                            Some(st) => self.shared_load(b, st, &local),
                            None => {
                                let buf =
                                    bufs.get(tensor).copied().flatten().ok_or_else(|| {
                                        err(format!("tensor {tensor} has no buffer"))
                                    })?;
                                lower_load(b, self.def, buf, tensor, index, pad, &global)
                            }
                        },
                    );
                    match body {
                        Ok(value) => {
                            let idx = self.acc_index(b, &v, i, j);
                            b.accumulate(acc, &idx, value);
                        }
                        Err(e) => inner = Err(e),
                    }
                });
                inner?;
                if !staging.is_empty() {
                    b.barrier();
                }
                Ok(())
            })();
            if res.is_ok() {
                res = r;
            }
        });
        res
    }

    fn write_back(
        &self,
        b: &mut TreeBuilder,
        th: &Thread,
        bufs: &[Option<BufferId>],
        out: BufferId,
        acc: BufferId,
    ) -> Result<()> {
        let specs = self.register_loops(b);
        let ns = self.sp.len();
        let n_sp = self.stage.spatial.len();
        let mut res = Ok(());
        loop_nest(b, &specs, &mut |b, vars| {
            let v = unflatten(b.e(), vars[0], &self.level(1));
            let (i, j) = vars[1..].split_at(ns);
            let (global, _) = self.spatial_coords(b, th, &v, i, j);
            let idx = self.acc_index(b, &v, i, j);
            let a = Value::load(acc, &idx);
            match lower_value(
                b,
                self.def,
                bufs,
                &self.stage.post,
                &global[..n_sp],
                Some(&a),
            ) {
                Ok(value) => b.store(out, &global[..n_sp], value),
                Err(e) => res = Err(e),
            }
        });
        res
    }
}
