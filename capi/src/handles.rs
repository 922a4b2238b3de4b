//! The opaque handles behind `tg_db` and `tg_kernel`, and the thread's last error.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use tilegrad::{Database, Launch, LookupKind, TunedKernel};

/// `tg_db`: an open schedule database.
pub struct TgDb {
    pub(crate) db: Database,
}

/// `tg_launch`: how to launch a kernel (C layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TgLaunch {
    /// `TG_LAUNCH_CPU` or `TG_LAUNCH_CUDA`.
    pub kind: i32,
    /// CPU: OpenMP threads; CUDA: 0.
    pub threads: u32,
    /// CUDA grid (blocks); zeros for CPU kernels.
    pub grid: [u32; 3],
    /// CUDA block (threads); zeros for CPU kernels.
    pub block: [u32; 3],
    /// CUDA dynamic shared memory per block, bytes; 0 for CPU kernels.
    pub shared_bytes: u32,
}

/// `tg_kernel`: a tuned kernel with its strings kept as C strings.
pub struct TgKernel {
    pub(crate) kernel: TunedKernel,
    pub(crate) source: CString,
    pub(crate) entry: CString,
    pub(crate) prepare_entry: Option<CString>,
    pub(crate) warning: Option<CString>,
    pub(crate) param_names: Vec<CString>,
    pub(crate) launch: TgLaunch,
}

/// A C string of `s` (interior NULs, impossible in generated text, become spaces).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl TgKernel {
    /// Wraps a tuned kernel.
    pub(crate) fn new(kernel: TunedKernel) -> TgKernel {
        let launch = match &kernel.launch {
            Launch::Cpu { threads } => TgLaunch {
                kind: crate::TG_LAUNCH_CPU,
                threads: *threads,
                ..TgLaunch::default()
            },
            Launch::Cuda {
                grid,
                block,
                shared_bytes,
            } => TgLaunch {
                kind: crate::TG_LAUNCH_CUDA,
                threads: 0,
                grid: *grid,
                block: *block,
                shared_bytes: *shared_bytes,
            },
        };
        let warning = match &kernel.lookup {
            LookupKind::Exact => None,
            LookupKind::Compatible { warning, .. } => Some(c_string(warning)),
        };
        TgKernel {
            source: c_string(&kernel.source),
            entry: c_string(&kernel.entry),
            prepare_entry: kernel.prepare_entry.as_deref().map(c_string),
            param_names: kernel.params.iter().map(|p| c_string(&p.name)).collect(),
            warning,
            launch,
            kernel,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `msg` as this thread's last error.
pub(crate) fn set_error(msg: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = c_string(msg));
}

/// This thread's last error (empty when none); valid until the next failing call on the thread.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}
