//! State shared by the CPU and GPU runners: worker, build directory, reference-output file.

use crate::protocol::{write_f32_file, Request, TaskCommon};
use crate::worker::WorkerHandle;
use crate::{BuildDir, MeasureError, Problem, Timing, TimingConfig, WorkerConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Session {
    pub(crate) worker: WorkerHandle,
    pub(crate) dir: BuildDir,
    expected: Option<(Arc<Vec<f32>>, PathBuf)>,
}

impl Session {
    pub(crate) fn new(worker: WorkerConfig, dir: BuildDir) -> Self {
        Self {
            worker: WorkerHandle::new(worker),
            dir,
            expected: None,
        }
    }

    /// The task fields for `problem`, writing its reference output to a file once per
    /// distinct `Arc` (the `Arc` is kept, so its address cannot be reused by another one).
    pub(crate) fn common(
        &mut self,
        problem: &Problem,
        timing: &TimingConfig,
    ) -> Result<TaskCommon, MeasureError> {
        problem.validate()?;
        let path = match &self.expected {
            Some((arc, path)) if Arc::ptr_eq(arc, &problem.expected) => path.clone(),
            _ => {
                let path = self.dir.fresh_path("expected", "f32");
                write_f32_file(&path, &problem.expected)?;
                self.expected = Some((problem.expected.clone(), path.clone()));
                path
            }
        };
        Ok(TaskCommon {
            io: problem.io.clone(),
            seed: problem.seed,
            expected_path: path,
            tolerance: problem.tolerance,
            timing: timing.clone(),
        })
    }

    /// Sends one run request with a backstop limit far above what the worker's own per-run
    /// watchdog allows (it only matters if the worker stops responding altogether).
    pub(crate) fn run(
        &mut self,
        request: Request,
        timing: &TimingConfig,
    ) -> Result<Timing, MeasureError> {
        let runs = f64::from(timing.warmup.max(1)) + f64::from(timing.max_repeat.max(1)) + 2.0;
        let backstop = (10.0 + timing.run_timeout_s.max(0.0) * runs).min(24.0 * 3600.0);
        self.worker.run(request, Duration::from_secs_f64(backstop))
    }
}
