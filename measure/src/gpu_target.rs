//! A [`Target`] for a CUDA device found on this machine, from its [`DeviceInfo`].
//!
//! The driver reports limits exactly; the rates are estimates: DRAM bandwidth =
//! 2 (double data rate) × memory clock × bus width / 8, peak FP32 = SMs × clock × 2 (FMA) ×
//! FP32 lanes per SM (64 for compute capability 6.0, 7.x and 8.0, else 128). Resident blocks
//! per SM are not reported by the driver and come from the CUDA occupancy tables.

use crate::DeviceInfo;
use tilegrad_symbolic::{GpuSpec, Target, TargetSpec};

/// FP32 lanes per SM for a compute capability.
fn fp32_lanes(cc: (u32, u32)) -> f64 {
    match cc {
        (6, 0) | (7, _) | (8, 0) => 64.0,
        _ => 128.0,
    }
}

/// Maximum resident blocks per SM for a compute capability.
fn blocks_per_sm(cc: (u32, u32)) -> u32 {
    match cc {
        (7, 5) | (8, 6) | (8, 7) => 16,
        (8, 9) => 24,
        (8, 0) | (9, _) | (10.., _) => 32,
        _ => 16,
    }
}

/// The target of a detected device (see the module docs for the estimated rates).
pub fn target_from_device(info: &DeviceInfo) -> Target {
    let cc = info.compute_capability;
    let regs_per_thread = 255;
    Target {
        name: info.name.clone(),
        spec: TargetSpec::Cuda(GpuSpec {
            arch: format!("sm_{}{}", cc.0, cc.1),
            sm_count: info.sm_count,
            max_threads_per_block: info.max_threads_per_block,
            max_threads_per_sm: info.max_threads_per_sm,
            max_blocks_per_sm: blocks_per_sm(cc),
            warp_size: info.warp_size,
            shared_mem_per_block: info.shared_mem_per_block,
            shared_mem_per_block_optin: info.shared_mem_per_block_optin,
            shared_mem_per_sm: info.shared_mem_per_sm,
            registers_per_sm: info.regs_per_sm,
            registers_per_thread: regs_per_thread,
            l2_bytes: info.l2_bytes,
            mem_bandwidth: 2.0 * f64::from(info.mem_clock_khz) * 1e3 * f64::from(info.mem_bus_bits)
                / 8.0,
            peak_fp32: f64::from(info.sm_count)
                * f64::from(info.clock_khz)
                * 1e3
                * 2.0
                * fp32_lanes(cc),
            max_vthread: 8,
            max_vector_bytes: 16,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h100_like_device() {
        let info = DeviceInfo {
            ordinal: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            compute_capability: (9, 0),
            sm_count: 132,
            warp_size: 32,
            max_threads_per_block: 1024,
            max_threads_per_sm: 2048,
            shared_mem_per_block: 48 << 10,
            shared_mem_per_block_optin: 227 << 10,
            shared_mem_per_sm: 228 << 10,
            regs_per_block: 65536,
            regs_per_sm: 65536,
            l2_bytes: 50 << 20,
            global_mem_bytes: 80 << 30,
            clock_khz: 1_980_000,
            mem_clock_khz: 2_619_000,
            mem_bus_bits: 5120,
            driver_version: (12, 9),
            cuda_version: (12, 9),
        };
        let t = target_from_device(&info);
        let g = t.gpu().unwrap();
        assert_eq!(
            (g.arch.as_str(), g.sm_count, g.max_blocks_per_sm),
            ("sm_90", 132, 32)
        );
        // 132 SMs × 1.98 GHz × 2 × 128 = 66.9 TFLOP/s, as in the h100-sxm preset.
        assert!((g.peak_fp32 / 1e12 - 66.9).abs() < 0.1, "{}", g.peak_fp32);
        // 2 × 2.619 GHz × 640 B = 3.35 TB/s.
        assert!(
            (g.mem_bandwidth / 1e9 - 3352.3).abs() < 1.0,
            "{}",
            g.mem_bandwidth
        );
    }
}
