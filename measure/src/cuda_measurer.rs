//! [`CudaMeasurer`]: instantiate → CUDA C → parallel NVRTC build → isolated GPU run → verify →
//! time (CUDA events).

use std::collections::HashMap;
use std::sync::Arc;

use tilegrad_symbolic::{LoopTree, Target};
use tilegrad_templates::reference::reference;
use tilegrad_templates::Workload;

use crate::codegen::cuda::emit;
use crate::cpu_measurer::entry_name;
use crate::measurer::{measure_grouped, GroupedMeasurer, MeasureInput, MeasureResult, Measurer};
use crate::{
    input_data, target_from_device, CudaKernel, CudaRunner, DeviceInfo, KernelIo, MeasureError,
    Problem, RunnerConfig, Tolerance,
};

/// Configuration of a [`CudaMeasurer`].
#[derive(Debug, Clone, PartialEq)]
pub struct CudaMeasurerConfig {
    /// Worker, NVRTC (`nvrtc_extra`, `cubin`) and timing settings.
    pub runner: RunnerConfig,
    /// CUDA device ordinal.
    pub ordinal: usize,
    /// The target reported by [`Measurer::target`]; `None` derives it from the device
    /// ([`target_from_device`]).
    pub target: Option<Target>,
    /// Seed of the input data ([`crate::input_data`]) every candidate runs on.
    pub seed: u64,
    /// Verification tolerance against the reference.
    pub tolerance: Tolerance,
}

impl Default for CudaMeasurerConfig {
    /// Device 0, default runner settings, target from the device, seed 0, [`Tolerance::F32`].
    fn default() -> Self {
        CudaMeasurerConfig {
            runner: RunnerConfig::default(),
            ordinal: 0,
            target: None,
            seed: 0,
            tolerance: Tolerance::F32,
        }
    }
}

/// Measures candidates of GPU sketches: each is instantiated, printed as CUDA C
/// ([`crate::codegen::cuda`]), compiled with NVRTC in parallel, run in the isolated worker,
/// verified against [`tilegrad_templates::reference::reference`] (computed once per workload
/// on `input_data(seed, ..)` and cached) and timed with CUDA events.
pub struct CudaMeasurer {
    cfg: CudaMeasurerConfig,
    target: Target,
    runner: CudaRunner,
    problems: HashMap<String, Arc<Problem>>,
}

/// The buffer sizes of `workload`'s kernels (inputs in argument order, then the output).
pub fn workload_io(workload: &Workload) -> KernelIo {
    KernelIo {
        input_lens: workload
            .input_shapes()
            .iter()
            .map(|s| s.iter().product())
            .collect(),
        output_len: workload.output_shape().iter().product(),
    }
}

/// The [`Problem`] of `workload` on the inputs `input_data(seed, ..)`: computes the reference
/// output (f64 accumulation; seconds for the largest network tasks).
pub fn workload_problem(
    workload: &Workload,
    seed: u64,
    tolerance: Tolerance,
) -> Result<Problem, MeasureError> {
    let io = workload_io(workload);
    let inputs = input_data(seed, &io.input_lens);
    let expected = reference(workload, &inputs)
        .map_err(|e| MeasureError::Invalid(format!("reference of `{workload}`: {e}")))?;
    Ok(Problem {
        io,
        seed,
        expected: Arc::new(expected),
        tolerance,
    })
}

/// Checks that a concrete tree's argument buffers have the sizes of `io`.
fn check_sizes(tree: &LoopTree, io: &KernelIo, sketch_id: &str) -> Result<(), MeasureError> {
    let size = |b| {
        tree.const_shape(b)
            .map(|sh| sh.iter().product::<i64>() as usize)
    };
    let ins: Vec<Option<usize>> = tree.inputs().into_iter().map(size).collect();
    let out = tree.output().and_then(size);
    let want: Vec<Option<usize>> = io.input_lens.iter().map(|&n| Some(n)).collect();
    if ins != want || out != Some(io.output_len) {
        return Err(MeasureError::Invalid(format!(
            "sketch `{sketch_id}`: argument sizes {ins:?} -> {out:?} differ from the workload's {:?} -> {}",
            io.input_lens, io.output_len
        )));
    }
    Ok(())
}

impl CudaMeasurer {
    /// Queries the device, checks that NVRTC loads and creates the build directory (the
    /// worker, which owns the CUDA context, starts on the first measurement).
    /// [`MeasureError::Unavailable`] without a driver, a device or NVRTC; never panics.
    pub fn new(cfg: CudaMeasurerConfig) -> Result<Self, MeasureError> {
        let runner = CudaRunner::new(cfg.runner.clone(), cfg.ordinal)?;
        let target = match &cfg.target {
            Some(t) => t.clone(),
            None => target_from_device(runner.device_info()),
        };
        if target.gpu().is_none() {
            return Err(MeasureError::Invalid(format!(
                "`{}` is not a GPU target",
                target.name
            )));
        }
        Ok(CudaMeasurer {
            cfg,
            target,
            runner,
            problems: HashMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CudaMeasurerConfig {
        &self.cfg
    }

    /// The measured device's properties.
    pub fn device_info(&self) -> &DeviceInfo {
        self.runner.device_info()
    }

    /// Worker processes started so far (1 + restarts after crashes, timeouts, sticky errors).
    pub fn worker_starts(&self) -> u64 {
        self.runner.worker_starts()
    }

    /// The CUDA kernel of one candidate (instantiation and code generation only; no GPU
    /// needed). Code generation failures are [`MeasureError::Codegen`].
    pub fn kernel(&self, input: &MeasureInput) -> Result<CudaKernel, MeasureError> {
        candidate_kernel(input)
    }

    /// The problem (sizes, seed, reference output) of `workload`, computed once and cached.
    pub fn problem(&mut self, workload: &Workload) -> Result<Arc<Problem>, MeasureError> {
        let key = workload.to_string();
        if let Some(p) = self.problems.get(&key) {
            return Ok(p.clone());
        }
        let p = Arc::new(workload_problem(
            workload,
            self.cfg.seed,
            self.cfg.tolerance,
        )?);
        self.problems.insert(key, p.clone());
        Ok(p)
    }

    /// Computes the references of all `workloads` not cached yet, in parallel (one thread per
    /// workload, up to the machine's cores). One result per workload, in order.
    pub fn prepare(&mut self, workloads: &[Workload]) -> Vec<Result<(), MeasureError>> {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (seed, tol) = (self.cfg.seed, self.cfg.tolerance);
        let missing: Vec<&Workload> = workloads
            .iter()
            .filter(|w| !self.problems.contains_key(&w.to_string()))
            .collect();
        let made = crate::parallel::par_map(
            &missing,
            jobs,
            |w| workload_problem(w, seed, tol),
            || {
                Err(MeasureError::Worker(
                    "reference computation panicked".into(),
                ))
            },
        );
        let mut failed = HashMap::new();
        for (w, p) in missing.into_iter().zip(made) {
            match p {
                Ok(p) => {
                    self.problems.insert(w.to_string(), Arc::new(p));
                }
                Err(e) => {
                    failed.insert(w.to_string(), e);
                }
            }
        }
        workloads
            .iter()
            .map(|w| match failed.get(&w.to_string()) {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            })
            .collect()
    }
}

/// The CUDA kernel of a candidate of a GPU sketch: instantiation (a failure is
/// [`MeasureError::Invalid`]), argument-size check, code generation ([`MeasureError::Codegen`]).
pub fn candidate_kernel(input: &MeasureInput) -> Result<CudaKernel, MeasureError> {
    let s = &input.sketch;
    let tree = s
        .instantiate(&input.assignment)
        .map_err(|e| MeasureError::Invalid(format!("instantiation: {e}")))?;
    check_sizes(&tree, &workload_io(&s.workload), &s.id)?;
    emit(&tree, &entry_name(&tree)).map_err(|e| match e {
        MeasureError::Codegen(m) | MeasureError::Invalid(m) => MeasureError::Codegen(m),
        other => other,
    })
}

impl Measurer for CudaMeasurer {
    fn target(&self) -> &Target {
        &self.target
    }

    fn measure(&mut self, batch: &[MeasureInput]) -> Vec<MeasureResult> {
        measure_grouped(self, batch)
    }
}

impl GroupedMeasurer for CudaMeasurer {
    type Kernel = CudaKernel;

    fn problem(&mut self, workload: &Workload) -> Result<Arc<Problem>, MeasureError> {
        CudaMeasurer::problem(self, workload)
    }

    fn kernel(&self, input: &MeasureInput) -> Result<CudaKernel, MeasureError> {
        CudaMeasurer::kernel(self, input)
    }

    fn run(&mut self, problem: &Problem, kernels: &[CudaKernel]) -> Vec<MeasureResult> {
        self.runner.measure(problem, kernels)
    }
}
