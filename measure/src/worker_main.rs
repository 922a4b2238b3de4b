//! The measurement worker process: reads run requests on stdin, answers on stdout.
//!
//! Everything that can crash or hang (loading kernels, running them, CUDA contexts) happens
//! here, never in the tuner. The parent ([`crate::WorkerConfig`]) restarts a worker that died.

use crate::cpu_exec::{preload_openmp, run_cpu};
use crate::cuda_exec::{run_cuda, CudaState};
use crate::protocol::{Request, RequestEnvelope, Response, ResponseEnvelope};
use crate::watchdog::Watchdog;
use crate::worker_data::DataCache;
use crate::{MeasureError, WrongKind};
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::FromRawFd;
use std::sync::{Arc, Mutex};

/// Exit code after a fatal response (e.g. a sticky CUDA error).
const FATAL_EXIT: i32 = 4;

/// Runs the worker loop on this process's stdin/stdout until stdin closes; returns the exit
/// code (0 on a clean end, 2 on a protocol or setup failure).
///
/// Any binary can host the worker by calling this from `main` (see the
/// `tilegrad-measure-worker` binary). Setup: core dumps are disabled; the protocol keeps a
/// private duplicate of stdout while fd 1 is redirected to stderr, so a kernel that prints
/// cannot corrupt the protocol; libgomp is pinned in memory with `RTLD_NODELETE` so that
/// unloading OpenMP kernels is safe; a watchdog thread enforces the run timeout.
pub fn worker_main() -> i32 {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on this process's own limits and descriptors.
    let proto_fd = unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return 2;
        }
        fd
    };
    // SAFETY: `proto_fd` is a fresh descriptor owned by nobody else.
    let out = Arc::new(Mutex::new(unsafe { File::from_raw_fd(proto_fd) }));
    preload_openmp();
    let wd = Watchdog::start(out.clone());
    let mut data = DataCache::default();
    let mut cuda: Option<CudaState> = None;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return 2 };
        let Ok(env) = serde_json::from_str::<RequestEnvelope>(&line) else {
            return 2;
        };
        wd.set_request(env.id);
        let (response, fatal) = serve(env.request, &mut data, &mut cuda, &wd);
        let msg = ResponseEnvelope {
            id: env.id,
            response,
        };
        let Ok(mut text) = serde_json::to_string(&msg) else {
            return 2;
        };
        text.push('\n');
        match out.lock() {
            Ok(mut w) => {
                if w.write_all(text.as_bytes())
                    .and_then(|_| w.flush())
                    .is_err()
                {
                    return 2;
                }
            }
            Err(_) => return 2,
        }
        if fatal {
            // SAFETY: leave without running destructors of a broken CUDA context.
            unsafe { libc::_exit(FATAL_EXIT) };
        }
    }
    0
}

fn serve(
    request: Request,
    data: &mut DataCache,
    cuda: &mut Option<CudaState>,
    wd: &Watchdog,
) -> (Response, bool) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match request {
        Request::Hello => (
            Response::Hello {
                pid: std::process::id(),
            },
            false,
        ),
        Request::RunCpu(task) => {
            let result = run_cpu(&task, data, wd);
            // A stray write that hit a guard zone or an input may also have hit the worker's
            // own heap: start a clean worker for the next candidate.
            let fatal = matches!(
                result,
                Err(MeasureError::WrongAnswer {
                    kind: WrongKind::OutOfBounds | WrongKind::InputModified,
                    ..
                })
            );
            (Response::Done { result, fatal }, fatal)
        }
        Request::RunCuda(task) => {
            let (result, fatal) = run_cuda(&task, cuda, data, wd);
            (Response::Done { result, fatal }, fatal)
        }
    }));
    wd.disarm();
    caught.unwrap_or_else(|_| {
        (
            Response::Done {
                result: Err(MeasureError::Worker("worker panicked".into())),
                fatal: true,
            },
            true,
        )
    })
}
