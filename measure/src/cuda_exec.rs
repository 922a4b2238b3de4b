//! Worker side: loading a PTX/cubin image and timing it on a GPU with CUDA events.
//!
//! Not exercised on the development machine (no GPU); compiled everywhere. Every entry
//! checks [`crate::cuda_device_count`] first, so a machine without a driver gets
//! [`MeasureError::Unavailable`] instead of cudarc's loader panic.

use crate::protocol::CudaTask;
use crate::verify::{check_guards, check_output, GuardedOutput, GUARD_ELEMS, POISON_BITS};
use crate::watchdog::Watchdog;
use crate::worker_data::DataCache;
use crate::{MeasureError, Timing};
use cudarc::driver::sys::{self, CUresult};
use cudarc::driver::{
    CudaContext, CudaSlice, CudaStream, DevicePtr, DriverError, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use std::sync::Arc;

/// A context kept across candidates (creating one costs 0.1–1 s).
pub(crate) struct CudaState {
    device: usize,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    flush: CudaSlice<u8>,
    inputs_key: Option<(u64, Vec<usize>)>,
    inputs: Vec<CudaSlice<f32>>,
}

/// Outcome of a GPU run and whether the context is poisoned (the worker must exit).
pub(crate) type CudaOutcome = (Result<Timing, MeasureError>, bool);

/// Errors that leave the context unusable (CUDA "sticky" errors): reported as a crash.
fn is_sticky(e: &DriverError) -> bool {
    matches!(
        e.0,
        CUresult::CUDA_ERROR_ILLEGAL_ADDRESS
            | CUresult::CUDA_ERROR_LAUNCH_TIMEOUT
            | CUresult::CUDA_ERROR_ASSERT
            | CUresult::CUDA_ERROR_HARDWARE_STACK_ERROR
            | CUresult::CUDA_ERROR_ILLEGAL_INSTRUCTION
            | CUresult::CUDA_ERROR_MISALIGNED_ADDRESS
            | CUresult::CUDA_ERROR_INVALID_PC
            | CUresult::CUDA_ERROR_LAUNCH_FAILED
    )
}

/// A driver error during a run: sticky ones are crashes (fatal), others launch errors.
fn run_err(e: DriverError) -> (MeasureError, bool) {
    if is_sticky(&e) {
        let detail = format!("{e:?}");
        (
            MeasureError::Crash {
                signal: None,
                exit_code: None,
                detail,
            },
            true,
        )
    } else {
        (MeasureError::LaunchError(format!("{e:?}")), false)
    }
}

fn state_for(slot: &mut Option<CudaState>, device: usize) -> Result<&mut CudaState, MeasureError> {
    if slot.as_ref().is_some_and(|s| s.device != device) {
        *slot = None;
    }
    if slot.is_none() {
        crate::cuda_device_count()?;
        let unavailable = |e: DriverError| MeasureError::Unavailable(format!("CUDA: {e:?}"));
        let ctx = CudaContext::new(device).map_err(unavailable)?;
        let stream = ctx.default_stream();
        let l2 = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
            .map_err(unavailable)?;
        let flush = stream
            .alloc_zeros::<u8>((2 * l2.max(0) as usize).max(1 << 20))
            .map_err(unavailable)?;
        *slot = Some(CudaState {
            device,
            ctx,
            stream,
            flush,
            inputs_key: None,
            inputs: Vec::new(),
        });
    }
    slot.as_mut()
        .ok_or_else(|| MeasureError::Worker("no CUDA state".into()))
}

/// Loads, verifies and times one GPU kernel.
pub(crate) fn run_cuda(
    task: &CudaTask,
    slot: &mut Option<CudaState>,
    data: &mut DataCache,
    wd: &Watchdog,
) -> CudaOutcome {
    match run_inner(task, slot, data, wd) {
        Ok(t) => (Ok(t), false),
        Err((e, fatal)) => (Err(e), fatal),
    }
}

fn run_inner(
    task: &CudaTask,
    slot: &mut Option<CudaState>,
    data: &mut DataCache,
    wd: &Watchdog,
) -> Result<Timing, (MeasureError, bool)> {
    let c = &task.common;
    let ok = |e: MeasureError| (e, false);
    data.prepare(c).map_err(ok)?;
    let st = state_for(slot, task.device).map_err(ok)?;
    let key = (c.seed, c.io.input_lens.clone());
    if st.inputs_key.as_ref() != Some(&key) {
        st.inputs_key = None;
        st.inputs = data
            .inputs()
            .iter()
            .map(|b| st.stream.clone_htod(b.as_slice()))
            .collect::<Result<_, _>>()
            .map_err(run_err)?;
        st.inputs_key = Some(key);
    }
    let r = timed(task, st, data, wd);
    if let Err((MeasureError::WrongAnswer { kind, .. }, _)) = &r {
        if *kind == crate::WrongKind::InputModified {
            st.inputs_key = None;
        }
    }
    r
}

fn timed(
    task: &CudaTask,
    st: &CudaState,
    data: &mut DataCache,
    wd: &Watchdog,
) -> Result<Timing, (MeasureError, bool)> {
    let c = &task.common;
    let ok = |e: MeasureError| (e, false);
    let module = st
        .ctx
        .load_module(Ptx::from_file(task.image_path.clone()))
        .map_err(|e| ok(MeasureError::LoadError(format!("{e:?}"))))?;
    let func = module
        .load_function(&task.entry)
        .map_err(|e| ok(MeasureError::LoadError(format!("{e:?}"))))?;
    if task.shared_bytes > 48 * 1024 {
        func.set_attribute(
            sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            task.shared_bytes as i32,
        )
        .map_err(|e| ok(MeasureError::LaunchError(format!("{e:?}"))))?;
    }
    let n = c.io.output_len;
    let host_out = GuardedOutput::new(n);
    let mut out = st.stream.clone_htod(host_out.whole()).map_err(run_err)?;
    let out_ptr = {
        let (p, _sync) = out.device_ptr(&st.stream);
        p + (GUARD_ELEMS * 4) as u64
    };
    let flush_ptr = {
        let (p, _sync) = st.flush.device_ptr(&st.stream);
        p
    };
    let cu_stream = st.stream.cu_stream();
    let flags = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
    let start = st.ctx.new_event(flags).map_err(run_err)?;
    let end = st.ctx.new_event(flags).map_err(run_err)?;
    let cfg = LaunchConfig {
        grid_dim: (task.grid[0], task.grid[1], task.grid[2]),
        block_dim: (task.block[0], task.block[1], task.block[2]),
        shared_mem_bytes: task.shared_bytes,
    };
    let flush_len = st.flush.len();
    let limit = c.timing.run_timeout_s;
    let run = |flush: bool, out: &mut CudaSlice<f32>| -> Result<f64, (MeasureError, bool)> {
        // SAFETY: `out_ptr .. + n` and the flush buffer are live allocations on this stream.
        unsafe {
            sys::cuMemsetD32Async(out_ptr, POISON_BITS, n, cu_stream)
                .result()
                .map_err(run_err)?;
            if flush {
                cudarc::driver::result::memset_d8_async(flush_ptr, 1, flush_len, cu_stream)
                    .map_err(run_err)?;
            }
        }
        wd.arm(limit);
        start.record(&st.stream).map_err(run_err)?;
        let mut view = out.slice_mut(GUARD_ELEMS..GUARD_ELEMS + n);
        let mut b = st.stream.launch_builder(&func);
        for x in &st.inputs {
            b.arg(x);
        }
        b.arg(&mut view);
        // SAFETY: argument count and types follow the kernel ABI (`crate::kernel`); a kernel
        // that violates it can only fault inside this worker.
        unsafe { b.launch(cfg) }.map_err(|e| {
            if is_sticky(&e) {
                run_err(e)
            } else {
                (MeasureError::LaunchError(format!("{e:?}")), false)
            }
        })?;
        end.record(&st.stream).map_err(run_err)?;
        end.synchronize().map_err(run_err)?;
        wd.disarm();
        Ok(f64::from(start.elapsed_ms(&end).map_err(run_err)?) * 1e-3)
    };
    let verify = |out: &CudaSlice<f32>, data: &mut DataCache| -> Result<(), (MeasureError, bool)> {
        let whole = st.stream.clone_dtoh(out).map_err(run_err)?;
        check_guards(&whole, n).map_err(ok)?;
        let ins = st
            .inputs
            .iter()
            .map(|x| st.stream.clone_dtoh(x))
            .collect::<Result<Vec<_>, _>>()
            .map_err(run_err)?;
        data.check_inputs_copy(&ins).map_err(ok)?;
        check_output(
            &whole[GUARD_ELEMS..GUARD_ELEMS + n],
            data.expected(),
            c.tolerance,
        )
        .map_err(ok)
    };
    run(false, &mut out)?;
    verify(&out, data)?;
    for _ in 1..c.timing.warmup {
        run(false, &mut out)?;
    }
    let mut samples = Vec::new();
    let mut total = 0.0;
    while c.timing.wants_more(samples.len() as u32, total) {
        let dt = run(c.timing.gpu_flush_l2, &mut out)?;
        total += dt;
        samples.push(dt);
    }
    verify(&out, data)?;
    Timing::from_samples(samples).map_err(ok)
}
