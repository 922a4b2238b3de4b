//! The exported `extern "C"` functions (declared in `include/tilegrad.h`).

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use tilegrad::{Database, Error};
use tilegrad_templates::Workload;

use crate::handles::{last_error, set_error, TgDb, TgKernel, TgLaunch};
use crate::{TG_ERR_ARG, TG_ERR_CODEGEN, TG_ERR_DB, TG_ERR_INTERNAL, TG_NOT_TUNED, TG_OK};

/// Runs `f`, turning a panic into `on_panic` and a last error.
fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(&format!("internal error (panic): {msg}"));
            on_panic
        }
    }
}

/// The UTF-8 text of a C string argument, or a last error naming `what`.
///
/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, c_int> {
    if p.is_null() {
        set_error(&format!("{what} is NULL"));
        return Err(TG_ERR_ARG);
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| {
        set_error(&format!("{what} is not valid UTF-8"));
        TG_ERR_ARG
    })
}

/// The error and its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Opens the schedule database at `path` (it must exist). Returns NULL on failure (see
/// `tg_last_error`).
///
/// # Safety
/// `path` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tg_db_open(path: *const c_char) -> *mut TgDb {
    guard(ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let path = match unsafe { text(path, "path") } {
            Ok(p) => p,
            Err(_) => return ptr::null_mut(),
        };
        match Database::open(path) {
            Ok(db) => Box::into_raw(Box::new(TgDb { db })),
            Err(e) => {
                set_error(&chain(&e));
                ptr::null_mut()
            }
        }
    })
}

/// Closes a database opened by `tg_db_open` (NULL is a no-op).
///
/// # Safety
/// `db` is null or a live handle from `tg_db_open`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tg_db_close(db: *mut TgDb) {
    guard((), || {
        if !db.is_null() {
            // SAFETY: a live handle from `tg_db_open`, given up by the caller.
            drop(unsafe { Box::from_raw(db) });
        }
    })
}

/// Looks up the best kernel of `workload` (canonical text, e.g. `matmul(M=64,N=64,K=64)`)
/// on `target` (`cpu`, `cpu:N`, `cuda`, `cuda:N` or a GPU preset key). On `TG_OK` stores a
/// new kernel in `*out` (free it with `tg_kernel_free`); otherwise `*out` is NULL and
/// `tg_last_error` says why (for `TG_NOT_TUNED`, the reason).
///
/// # Safety
/// `db` is null or a live handle; `workload` and `target` are null or NUL-terminated;
/// `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn tg_db_best(
    db: *const TgDb,
    workload: *const c_char,
    target: *const c_char,
    out: *mut *mut TgKernel,
) -> c_int {
    guard(TG_ERR_INTERNAL, || {
        if out.is_null() {
            set_error("out is NULL");
            return TG_ERR_ARG;
        }
        // SAFETY: non-null and writable by contract.
        unsafe { *out = ptr::null_mut() };
        if db.is_null() {
            set_error("db is NULL");
            return TG_ERR_ARG;
        }
        // SAFETY: forwarded contracts.
        let (w, t) = match unsafe { (text(workload, "workload"), text(target, "target")) } {
            (Ok(w), Ok(t)) => (w, t),
            (Err(c), _) | (_, Err(c)) => return c,
        };
        let w: Workload = match w.parse() {
            Ok(w) => w,
            Err(e) => {
                set_error(&format!("workload `{w}`: {}", chain(&e)));
                return TG_ERR_ARG;
            }
        };
        let t = match crate::parse_target(t) {
            Ok(t) => t,
            Err(e) => {
                set_error(&e);
                return TG_ERR_ARG;
            }
        };
        // SAFETY: a live handle by contract.
        let db = unsafe { &*db };
        match db.db.best(&w, &t) {
            Ok(k) => {
                // SAFETY: writable by contract.
                unsafe { *out = Box::into_raw(Box::new(TgKernel::new(k))) };
                TG_OK
            }
            Err(e) => {
                set_error(&chain(&e));
                match e {
                    Error::NotTuned { .. } => TG_NOT_TUNED,
                    Error::Dataset(_) => TG_ERR_DB,
                    Error::RecordDoesNotApply { .. } | Error::Template(_) | Error::Measure(_) => {
                        TG_ERR_CODEGEN
                    }
                    Error::Search(_) => TG_ERR_INTERNAL,
                    Error::Target(_) => TG_ERR_ARG,
                }
            }
        }
    })
}

/// Frees a kernel from `tg_db_best` (NULL is a no-op).
///
/// # Safety
/// `k` is null or a live kernel handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_free(k: *mut TgKernel) {
    guard((), || {
        if !k.is_null() {
            // SAFETY: a live handle from `tg_db_best`, given up by the caller.
            drop(unsafe { Box::from_raw(k) });
        }
    })
}

/// The kernel, or a last error when `k` is null.
///
/// # Safety
/// `k` is null or a live kernel handle.
unsafe fn kernel<'a>(k: *const TgKernel) -> Option<&'a TgKernel> {
    if k.is_null() {
        set_error("kernel is NULL");
    }
    // SAFETY: null or live by contract.
    unsafe { k.as_ref() }
}

/// The kernel's complete source (C or CUDA C); NULL if `k` is NULL. Lives as long as `k`.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_source(k: *const TgKernel) -> *const c_char {
    // SAFETY: forwarded contract.
    guard(ptr::null(), || {
        unsafe { kernel(k) }.map_or(ptr::null(), |k| k.source.as_ptr())
    })
}

/// The kernel's entry point (function name); NULL if `k` is NULL. Lives as long as `k`.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_entry(k: *const TgKernel) -> *const c_char {
    // SAFETY: forwarded contract.
    guard(ptr::null(), || {
        unsafe { kernel(k) }.map_or(ptr::null(), |k| k.entry.as_ptr())
    })
}

/// The function that fills the kernel's prepared buffers (a weight packed into the schedule's
/// layout), or NULL when it has none (or `k` is NULL). It takes the kernel's arguments; call
/// it once per set of constant inputs (layer parameters), before the kernel. Lives as long as
/// `k`.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_prepare_entry(k: *const TgKernel) -> *const c_char {
    // SAFETY: forwarded contract.
    guard(ptr::null(), || {
        unsafe { kernel(k) }
            .and_then(|k| k.prepare_entry.as_ref())
            .map_or(ptr::null(), |e| e.as_ptr())
    })
}

/// Writes the launch configuration to `*out`; `TG_ERR_ARG` if either pointer is NULL.
///
/// # Safety
/// `k` is null or a live kernel handle; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_launch(k: *const TgKernel, out: *mut TgLaunch) -> c_int {
    guard(TG_ERR_INTERNAL, || {
        // SAFETY: forwarded contract.
        let Some(k) = (unsafe { kernel(k) }) else {
            return TG_ERR_ARG;
        };
        if out.is_null() {
            set_error("out is NULL");
            return TG_ERR_ARG;
        }
        // SAFETY: writable by contract.
        unsafe { *out = k.launch };
        TG_OK
    })
}

/// The measured median time in seconds (on the target it was tuned on); NaN if `k` is NULL.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_time_s(k: *const TgKernel) -> f64 {
    // SAFETY: forwarded contract.
    guard(f64::NAN, || {
        unsafe { kernel(k) }.map_or(f64::NAN, |k| k.kernel.median_s)
    })
}

/// 1 if the schedule was tuned on this very target, 0 if on a compatible one (see
/// `tg_kernel_warning`), -1 if `k` is NULL.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_is_exact(k: *const TgKernel) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || {
        unsafe { kernel(k) }.map_or(-1, |k| c_int::from(k.warning.is_none()))
    })
}

/// The compatible-target warning, or NULL for an exact match (or a NULL `k`).
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_warning(k: *const TgKernel) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: forwarded contract.
        unsafe { kernel(k) }
            .and_then(|k| k.warning.as_ref())
            .map_or(ptr::null(), |w| w.as_ptr())
    })
}

/// The number of kernel parameters (inputs, the output, then the prepared buffers); -1 if `k`
/// is NULL.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_count(k: *const TgKernel) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        unsafe { kernel(k) }.map_or(-1, |k| k.kernel.params.len() as c_int)
    })
}

/// The parameter at `index`, or a last error.
///
/// # Safety
/// `k` is null or a live kernel handle.
unsafe fn param<'a>(k: *const TgKernel, index: c_int) -> Option<(&'a TgKernel, usize)> {
    // SAFETY: forwarded contract.
    let k = unsafe { kernel(k) }?;
    match usize::try_from(index) {
        Ok(i) if i < k.kernel.params.len() => Some((k, i)),
        _ => {
            set_error(&format!("parameter index {index} out of range"));
            None
        }
    }
}

/// The name of parameter `index`; NULL if out of range. Lives as long as `k`.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_name(k: *const TgKernel, index: c_int) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: forwarded contract.
        unsafe { param(k, index) }.map_or(ptr::null(), |(k, i)| k.param_names[i].as_ptr())
    })
}

/// The rank (number of dimensions) of parameter `index`; -1 if out of range.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_rank(k: *const TgKernel, index: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        unsafe { param(k, index) }.map_or(-1, |(k, i)| k.kernel.params[i].shape.len() as c_int)
    })
}

/// Extent `dim` of parameter `index` (row-major); -1 if out of range.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_dim(k: *const TgKernel, index: c_int, dim: c_int) -> i64 {
    guard(-1, || {
        // SAFETY: forwarded contract.
        let Some((k, i)) = (unsafe { param(k, index) }) else {
            return -1;
        };
        let shape = &k.kernel.params[i].shape;
        match usize::try_from(dim).ok().and_then(|d| shape.get(d)) {
            Some(&n) => n as i64,
            None => {
                set_error(&format!("dimension {dim} out of range"));
                -1
            }
        }
    })
}

/// 1 if parameter `index` is the output, 0 if an input, -1 if out of range.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_is_output(k: *const TgKernel, index: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        unsafe { param(k, index) }.map_or(-1, |(k, i)| c_int::from(k.kernel.params[i].output))
    })
}

/// 1 if parameter `index` is a prepared buffer (scratch the caller allocates and
/// `tg_kernel_prepare_entry`'s function fills), 0 if not, -1 if out of range.
///
/// # Safety
/// `k` is null or a live kernel handle.
#[no_mangle]
pub unsafe extern "C" fn tg_kernel_param_is_prepared(k: *const TgKernel, index: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        unsafe { param(k, index) }.map_or(-1, |(k, i)| c_int::from(k.kernel.params[i].prepared))
    })
}

/// The last error of the calling thread (empty if none). Valid until the next failing call
/// on the same thread; never NULL.
#[no_mangle]
pub extern "C" fn tg_last_error() -> *const c_char {
    guard(c"internal error".as_ptr(), last_error)
}

/// The library version, e.g. `0.1.0`. Never NULL.
#[no_mangle]
pub extern "C" fn tg_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
