//! GPU discovery and the device query.

use crate::MeasureError;
use cudarc::driver::{result, sys};
use serde::{Deserialize, Serialize};

/// Hardware facts read from a GPU through the driver API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Marketing name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Compute capability (major, minor).
    pub compute_capability: (u32, u32),
    /// Streaming multiprocessors.
    pub sm_count: u32,
    /// Threads per warp.
    pub warp_size: u32,
    /// Maximum threads per block.
    pub max_threads_per_block: u32,
    /// Maximum resident threads per SM.
    pub max_threads_per_sm: u32,
    /// Shared memory per block without opt-in, bytes.
    pub shared_mem_per_block: u64,
    /// Shared memory per block with opt-in (`cuFuncSetAttribute`), bytes.
    pub shared_mem_per_block_optin: u64,
    /// Shared memory per SM, bytes.
    pub shared_mem_per_sm: u64,
    /// 32-bit registers per block.
    pub regs_per_block: u32,
    /// 32-bit registers per SM.
    pub regs_per_sm: u32,
    /// L2 cache size, bytes.
    pub l2_bytes: u64,
    /// Global memory, bytes.
    pub global_mem_bytes: u64,
    /// Peak SM clock, kHz.
    pub clock_khz: u32,
    /// Peak memory clock, kHz.
    pub mem_clock_khz: u32,
    /// Memory bus width, bits.
    pub mem_bus_bits: u32,
    /// Driver's CUDA version as (major, minor), from `cuDriverGetVersion`.
    pub driver_version: (u32, u32),
    /// CUDA version this crate's bindings target (cudarc feature `cuda-12090`).
    pub cuda_version: (u32, u32),
}

/// CUDA version of the bindings compiled in.
pub const CUDA_BINDINGS_VERSION: (u32, u32) = (12, 9);

/// Number of CUDA devices, or `Unavailable` when libcuda is missing, the driver fails to
/// initialize, or there is no device. Never panics (cudarc's loader would on a missing library).
pub fn cuda_device_count() -> Result<usize, MeasureError> {
    // SAFETY: only tries to dlopen the driver library.
    if !unsafe { sys::is_culib_present() } {
        return Err(MeasureError::Unavailable(
            "no GPU: libcuda.so not found (no NVIDIA driver)".into(),
        ));
    }
    let count = std::panic::catch_unwind(|| {
        result::init()?;
        result::device::get_count()
    })
    .map_err(|_| MeasureError::Unavailable("no GPU: CUDA driver panicked".into()))?
    .map_err(|e| MeasureError::Unavailable(format!("no GPU: {e:?}")))?;
    if count <= 0 {
        return Err(MeasureError::Unavailable("no GPU: 0 CUDA devices".into()));
    }
    Ok(count as usize)
}

/// Reads [`DeviceInfo`] for device `ordinal` (no context is created).
pub fn query_device(ordinal: usize) -> Result<DeviceInfo, MeasureError> {
    let count = cuda_device_count()?;
    if ordinal >= count {
        return Err(MeasureError::Unavailable(format!(
            "no GPU {ordinal}: only {count} devices"
        )));
    }
    let err = |e: result::DriverError| MeasureError::Unavailable(format!("device query: {e:?}"));
    let dev = result::device::get(ordinal as i32).map_err(err)?;
    let attr = |a: sys::CUdevice_attribute| -> Result<u32, MeasureError> {
        // SAFETY: `dev` is a valid device handle from `device::get`.
        unsafe { result::device::get_attribute(dev, a) }
            .map(|v| v.max(0) as u32)
            .map_err(err)
    };
    use sys::CUdevice_attribute::*;
    let mut driver = 0i32;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut driver) }
        .result()
        .map_err(err)?;
    Ok(DeviceInfo {
        ordinal,
        name: result::device::get_name(dev).map_err(err)?,
        compute_capability: (
            attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        ),
        sm_count: attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
        warp_size: attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE)?,
        max_threads_per_block: attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
        max_threads_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR)?,
        shared_mem_per_block: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK)?.into(),
        shared_mem_per_block_optin: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)?
            .into(),
        shared_mem_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR)?.into(),
        regs_per_block: attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK)?,
        regs_per_sm: attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR)?,
        l2_bytes: attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)?.into(),
        // SAFETY: `dev` is valid.
        global_mem_bytes: unsafe { result::device::total_mem(dev) }.map_err(err)? as u64,
        clock_khz: attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE)?,
        mem_clock_khz: attr(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)?,
        mem_bus_bits: attr(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)?,
        driver_version: ((driver / 1000) as u32, ((driver % 1000) / 10) as u32),
        cuda_version: CUDA_BINDINGS_VERSION,
    })
}
