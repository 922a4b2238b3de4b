//! Worker side: loading a shared object and timing it on the CPU.

use crate::interference::CpuClock;
use crate::protocol::CpuTask;
use crate::verify::{check_output, AlignedBuf, GuardedOutput};
use crate::watchdog::Watchdog;
use crate::worker_data::DataCache;
use crate::{MeasureError, Timing};
use std::sync::OnceLock;
use std::time::Instant;

type OmpSetNumThreads = unsafe extern "C" fn(i32);
type KernelFn = unsafe extern "C" fn(*const *mut f32);

/// `omp_set_num_threads` from libgomp, loaded once with `RTLD_NODELETE` so that `dlclose` of
/// OpenMP kernels can never unload libgomp while its thread pool lives (which segfaults).
fn omp_set_num_threads() -> Option<OmpSetNumThreads> {
    static GOMP: OnceLock<Option<OmpSetNumThreads>> = OnceLock::new();
    *GOMP.get_or_init(|| {
        use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
        // SAFETY: libgomp's initializers are safe to run; the handle is leaked on purpose.
        let lib = unsafe {
            Library::open(
                Some("libgomp.so.1"),
                RTLD_NOW | RTLD_GLOBAL | libc::RTLD_NODELETE,
            )
        }
        .ok()?;
        // SAFETY: the symbol has this C signature.
        let f = unsafe { lib.get::<OmpSetNumThreads>(b"omp_set_num_threads") }
            .ok()
            .map(|s| *s);
        std::mem::forget(lib);
        f
    })
}

/// Pins libgomp in memory (call once at worker start).
pub(crate) fn preload_openmp() {
    let _ = omp_set_num_threads();
}

/// Loads, verifies and times one CPU kernel.
pub(crate) fn run_cpu(
    task: &CpuTask,
    data: &mut DataCache,
    wd: &Watchdog,
) -> Result<Timing, MeasureError> {
    let c = &task.common;
    data.prepare(c)?;
    if c.io.input_lens.len() != data.inputs().len() {
        return Err(MeasureError::Invalid("input count mismatch".into()));
    }
    if task.threads > 0 {
        if let Some(set) = omp_set_num_threads() {
            // SAFETY: plain C call with a positive thread count.
            unsafe { set(task.threads.min(i32::MAX as usize) as i32) };
        }
    }
    // SAFETY: loading a shared object we built runs its initializers; a faulty one can only
    // take down this worker process, which is what the worker is for.
    let lib = unsafe { libloading::Library::new(&task.lib_path) }
        .map_err(|e| MeasureError::LoadError(e.to_string()))?;
    // SAFETY: the kernel ABI fixes this signature (see `crate::kernel`).
    let f: KernelFn = *unsafe { lib.get::<KernelFn>(task.entry.as_bytes()) }.map_err(|e| {
        MeasureError::LoadError(format!(
            "symbol `{}` not found in {}: {e}",
            task.entry,
            task.lib_path.display()
        ))
    })?;

    let mut out = GuardedOutput::new(c.io.output_len);
    let mut args: Vec<*mut f32> = data
        .inputs()
        .iter()
        .map(|b| b.as_slice().as_ptr().cast_mut())
        .collect();
    let out_slot = args.len();
    args.push(out.output_mut().as_mut_ptr());
    // Prepared buffers (a packed weight): filled once by `<entry>_prepare`, untimed.
    let mut prepared: Vec<AlignedBuf> = task
        .prepared_lens
        .iter()
        .map(|&n| AlignedBuf::from_slice(&vec![f32::NAN; n]))
        .collect();
    args.extend(prepared.iter_mut().map(|b| b.as_mut_slice().as_mut_ptr()));
    let limit = c.timing.run_timeout_s;
    if !task.prepared_lens.is_empty() {
        let name = crate::codegen::c::prepare_entry(&task.entry);
        // SAFETY: the kernel ABI fixes this signature (see `crate::kernel`).
        let prepare: KernelFn = *unsafe { lib.get::<KernelFn>(name.as_bytes()) }.map_err(|e| {
            MeasureError::LoadError(format!(
                "symbol `{name}` not found in {}: {e}",
                task.lib_path.display()
            ))
        })?;
        wd.arm(limit);
        // SAFETY: as for the kernel below; the prepare function reads inputs and writes only
        // the prepared buffers.
        unsafe { prepare(args.as_ptr()) };
        wd.disarm();
    }
    let mut run = |out: &mut GuardedOutput| -> f64 {
        out.poison();
        args[out_slot] = out.output_mut().as_mut_ptr();
        wd.arm(limit);
        let t0 = Instant::now();
        // SAFETY: `args` holds valid, 64-byte aligned buffers of the declared lengths; the
        // kernel contract is to stay within them (guard zones check the output side).
        unsafe { f(args.as_ptr()) };
        let dt = t0.elapsed().as_secs_f64();
        wd.disarm();
        dt
    };
    let verify = |out: &GuardedOutput, data: &mut DataCache| -> Result<(), MeasureError> {
        out.check_guards()?;
        data.check_inputs()?;
        check_output(out.output(), data.expected(), c.tolerance)
    };

    run(&mut out);
    verify(&out, data)?;
    for _ in 1..c.timing.warmup {
        run(&mut out);
    }
    let mut flush = if c.timing.cpu_flush {
        vec![0u8; c.timing.cpu_flush_bytes]
    } else {
        Vec::new()
    };
    // Timed runs, repeated while other processes took more than `max_interference` of the
    // machine (the least disturbed attempt is kept).
    let mut kept: Option<(Vec<f64>, Option<f64>)> = None;
    for _ in 0..=c.timing.interference_retries {
        let before = CpuClock::now();
        let mut samples = Vec::new();
        let mut total = 0.0;
        while c.timing.wants_more(samples.len() as u32, total) {
            if !flush.is_empty() {
                let v = samples.len() as u8;
                flush.iter_mut().step_by(64).for_each(|b| *b = v);
                std::hint::black_box(&flush);
            }
            let dt = run(&mut out);
            total += dt;
            samples.push(dt);
        }
        let share = before
            .zip(CpuClock::now())
            .map(|(a, b)| a.others_share_since(&b));
        let calm = share.is_none_or(|s| s <= c.timing.max_interference);
        if kept
            .as_ref()
            .is_none_or(|(_, k)| share.unwrap_or(0.0) < k.unwrap_or(0.0))
        {
            kept = Some((samples, share));
        }
        if calm {
            break;
        }
    }
    let (samples, share) = kept.unwrap_or_default();
    verify(&out, data)?;
    drop(lib);
    let mut timing = Timing::from_samples(samples)?;
    timing.interference = share;
    Ok(timing)
}
