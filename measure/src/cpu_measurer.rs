//! [`CpuMeasurer`]: instantiate → C code → parallel build → isolated run → verify → time.

use std::collections::HashMap;
use std::sync::Arc;

use tilegrad_symbolic::{LoopTree, Target};
use tilegrad_templates::reference::reference;
use tilegrad_templates::Workload;

use crate::codegen::c::{emit_with, prepared_lens, COptions};
use crate::measurer::{measure_grouped, GroupedMeasurer, MeasureInput, MeasureResult, Measurer};
use crate::{input_data, CpuKernel, CpuRunner, KernelIo, MeasureError, Problem, RunnerConfig};
use crate::{BuildDir, Tolerance};

/// Configuration of a [`CpuMeasurer`].
#[derive(Debug, Clone, PartialEq)]
pub struct CpuMeasurerConfig {
    /// Worker, compiler, timing and thread settings.
    pub runner: RunnerConfig,
    /// The CPU target (its `simd_bytes` picks the vector width of the generated code).
    pub target: Target,
    /// Seed of the input data ([`crate::input_data`]) every candidate runs on.
    pub seed: u64,
    /// Verification tolerance against the reference.
    pub tolerance: Tolerance,
}

impl CpuMeasurerConfig {
    /// Default runner settings, seed 0 and [`Tolerance::F32`] for `target`.
    pub fn new(target: Target) -> Self {
        CpuMeasurerConfig {
            runner: RunnerConfig::default(),
            target,
            seed: 0,
            tolerance: Tolerance::F32,
        }
    }
}

/// Measures candidates of CPU sketches: each is instantiated, printed as C
/// ([`crate::codegen::c`]), built in parallel, run in the isolated worker, verified against
/// [`tilegrad_templates::reference::reference`] (computed once per workload on
/// `input_data(seed, ..)` and cached) and timed.
pub struct CpuMeasurer {
    cfg: CpuMeasurerConfig,
    opts: COptions,
    runner: CpuRunner,
    problems: HashMap<String, Arc<Problem>>,
}

/// The exported symbol of the kernel for `tree`.
pub fn entry_name(tree: &LoopTree) -> String {
    let body: String = tree
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("tg_{body}")
}

fn invalid(m: String) -> MeasureError {
    MeasureError::Invalid(m)
}

impl CpuMeasurer {
    /// Creates the runner (and its build directory). [`MeasureError::Invalid`] when the target
    /// is not a CPU target.
    pub fn new(cfg: CpuMeasurerConfig) -> Result<Self, MeasureError> {
        let spec = cfg
            .target
            .cpu()
            .ok_or_else(|| invalid(format!("`{}` is not a CPU target", cfg.target.name)))?;
        let opts = COptions {
            simd_bytes: spec.simd_bytes,
        };
        let runner_cfg = cfg.runner.clone();
        let runner = CpuRunner::new(runner_cfg)?;
        Ok(CpuMeasurer {
            cfg,
            opts,
            runner,
            problems: HashMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CpuMeasurerConfig {
        &self.cfg
    }

    /// The build directory of the underlying runner.
    pub fn build_dir(&self) -> &BuildDir {
        self.runner.build_dir()
    }

    /// Worker processes started so far (1 + restarts after crashes and timeouts).
    pub fn worker_starts(&self) -> u64 {
        self.runner.worker_starts()
    }

    /// The C kernel of one candidate (instantiation and code generation only). Checks that the
    /// tree's argument buffers have the workload's sizes.
    pub fn kernel(&self, input: &MeasureInput) -> Result<CpuKernel, MeasureError> {
        let s = &input.sketch;
        let tree = s
            .instantiate(&input.assignment)
            .map_err(|e| invalid(format!("instantiation: {e}")))?;
        let io = io_of(&s.workload);
        let size = |b| {
            tree.const_shape(b)
                .map(|sh| sh.iter().product::<i64>() as usize)
        };
        let ins: Vec<Option<usize>> = tree.inputs().into_iter().map(size).collect();
        let out = tree.output().and_then(size);
        let want: Vec<Option<usize>> = io.input_lens.iter().map(|&n| Some(n)).collect();
        if ins != want || out != Some(io.output_len) {
            return Err(invalid(format!(
                "sketch `{}`: argument sizes {ins:?} -> {out:?} differ from the workload's {:?} -> {}",
                s.id, io.input_lens, io.output_len
            )));
        }
        let entry = entry_name(&tree);
        let source = emit_with(&tree, &entry, &self.opts)?;
        Ok(CpuKernel {
            source,
            entry,
            prepared_lens: prepared_lens(&tree),
        })
    }

    /// The problem (sizes, seed, reference output) of `workload`, computed once and cached.
    pub fn problem(&mut self, workload: &Workload) -> Result<Arc<Problem>, MeasureError> {
        let key = workload.to_string();
        if let Some(p) = self.problems.get(&key) {
            return Ok(p.clone());
        }
        let io = io_of(workload);
        let inputs = input_data(self.cfg.seed, &io.input_lens);
        let expected = reference(workload, &inputs)
            .map_err(|e| invalid(format!("reference of `{workload}`: {e}")))?;
        let p = Arc::new(Problem {
            io,
            seed: self.cfg.seed,
            expected: Arc::new(expected),
            tolerance: self.cfg.tolerance,
        });
        self.problems.insert(key, p.clone());
        Ok(p)
    }
}

fn io_of(w: &Workload) -> KernelIo {
    KernelIo {
        input_lens: w
            .input_shapes()
            .iter()
            .map(|s| s.iter().product())
            .collect(),
        output_len: w.output_shape().iter().product(),
    }
}

impl Measurer for CpuMeasurer {
    fn target(&self) -> &Target {
        &self.cfg.target
    }

    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        measure_grouped(self, batch)
    }
}

impl GroupedMeasurer for CpuMeasurer {
    type Kernel = CpuKernel;

    fn problem(&mut self, workload: &Workload) -> Result<Arc<Problem>, MeasureError> {
        CpuMeasurer::problem(self, workload)
    }

    fn kernel(&self, input: &MeasureInput) -> Result<CpuKernel, MeasureError> {
        CpuMeasurer::kernel(self, input)
    }

    fn run(&mut self, problem: &Problem, kernels: &[CpuKernel]) -> Vec<MeasureResult> {
        self.runner.measure(problem, kernels)
    }
}
