//! Hardware descriptions: the plain limits and rates that features and constraints read.
//!
//! A [`Target`] is data only: presets for common GPUs live here ([`Target::preset`]); filling
//! one from an attached GPU or from the host CPU is the job of the `measure` crate (device
//! query), since this crate does no IO. Preset figures are vendor datasheet values (boost
//! clocks, dense FP32 without tensor cores); a device query overrides them on real hardware.

use serde::{Deserialize, Serialize};

use crate::{Result, SymbolicError};

/// Limits and rates of an NVIDIA GPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuSpec {
    /// Architecture as NVRTC names it, e.g. `sm_90`.
    pub arch: String,
    /// Streaming multiprocessors.
    pub sm_count: u32,
    /// Maximum threads per block (1024 on every current GPU).
    pub max_threads_per_block: u32,
    /// Maximum resident threads per SM.
    pub max_threads_per_sm: u32,
    /// Maximum resident blocks per SM.
    pub max_blocks_per_sm: u32,
    /// Threads per warp.
    pub warp_size: u32,
    /// Shared memory per block without opt-in, bytes (48 KiB).
    pub shared_mem_per_block: u64,
    /// Shared memory per block with the opt-in attribute, bytes.
    pub shared_mem_per_block_optin: u64,
    /// Shared memory per SM, bytes.
    pub shared_mem_per_sm: u64,
    /// 32-bit registers per SM.
    pub registers_per_sm: u32,
    /// Maximum registers per thread (255).
    pub registers_per_thread: u32,
    /// L2 cache, bytes.
    pub l2_bytes: u64,
    /// DRAM bandwidth, bytes per second.
    pub mem_bandwidth: f64,
    /// Peak FP32 rate, FLOP per second (an FMA counts 2).
    pub peak_fp32: f64,
    /// Largest virtual-thread extent a schedule may use (TVM's `max_vthread_extent`).
    pub max_vthread: u32,
    /// Widest vector access, bytes (16: `float4`).
    pub max_vector_bytes: u32,
}

/// Limits and rates of a host CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuSpec {
    /// Physical cores used for parallel loops.
    pub cores: u32,
    /// SIMD register width, bytes (32 for AVX2, 64 for AVX-512).
    pub simd_bytes: u32,
    /// L1 data cache per core, bytes.
    pub l1_bytes: u64,
    /// L2 cache per core, bytes.
    pub l2_bytes: u64,
    /// Last-level cache (shared), bytes.
    pub l3_bytes: u64,
    /// DRAM bandwidth, bytes per second (an estimate where not measured).
    pub mem_bandwidth: f64,
    /// Peak FP32 rate of all cores, FLOP per second.
    pub peak_fp32: f64,
}

/// What kind of device a target is, with its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TargetSpec {
    /// An NVIDIA GPU programmed in CUDA C.
    Cuda(GpuSpec),
    /// The host CPU programmed in C with OpenMP.
    Cpu(CpuSpec),
}

/// A hardware target: a name plus its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Human-readable device name, e.g. `NVIDIA H100 80GB HBM3` or a CPU model name.
    pub name: String,
    /// Limits and rates.
    pub spec: TargetSpec,
}

/// Names accepted by [`Target::preset`].
pub const PRESETS: [&str; 10] = [
    "h100-sxm",
    "h100-pcie",
    "h200",
    "a100",
    "a10g",
    "rtx-a5000",
    "rtx-4090",
    "l4",
    "t4",
    "orin",
];

struct Row {
    key: &'static str,
    name: &'static str,
    arch: &'static str,
    sms: u32,
    threads_per_sm: u32,
    blocks_per_sm: u32,
    smem_optin_kib: u64,
    smem_per_sm_kib: u64,
    l2_mib: f64,
    bw_gbs: f64,
    tflops: f64,
}

#[rustfmt::skip]
const ROWS: [Row; 10] = [
    Row { key: "h100-sxm", name: "NVIDIA H100 SXM5 80GB", arch: "sm_90", sms: 132, threads_per_sm: 2048, blocks_per_sm: 32, smem_optin_kib: 227, smem_per_sm_kib: 228, l2_mib: 50.0, bw_gbs: 3350.0, tflops: 66.9 },
    Row { key: "h100-pcie", name: "NVIDIA H100 PCIe 80GB", arch: "sm_90", sms: 114, threads_per_sm: 2048, blocks_per_sm: 32, smem_optin_kib: 227, smem_per_sm_kib: 228, l2_mib: 50.0, bw_gbs: 2000.0, tflops: 51.2 },
    Row { key: "h200", name: "NVIDIA H200 141GB", arch: "sm_90", sms: 132, threads_per_sm: 2048, blocks_per_sm: 32, smem_optin_kib: 227, smem_per_sm_kib: 228, l2_mib: 50.0, bw_gbs: 4800.0, tflops: 66.9 },
    Row { key: "a100", name: "NVIDIA A100 SXM4 80GB", arch: "sm_80", sms: 108, threads_per_sm: 2048, blocks_per_sm: 32, smem_optin_kib: 163, smem_per_sm_kib: 164, l2_mib: 40.0, bw_gbs: 2039.0, tflops: 19.5 },
    Row { key: "a10g", name: "NVIDIA A10G", arch: "sm_86", sms: 80, threads_per_sm: 1536, blocks_per_sm: 16, smem_optin_kib: 99, smem_per_sm_kib: 100, l2_mib: 6.0, bw_gbs: 600.0, tflops: 31.2 },
    Row { key: "rtx-a5000", name: "NVIDIA RTX A5000", arch: "sm_86", sms: 64, threads_per_sm: 1536, blocks_per_sm: 16, smem_optin_kib: 99, smem_per_sm_kib: 100, l2_mib: 6.0, bw_gbs: 768.0, tflops: 27.8 },
    Row { key: "rtx-4090", name: "NVIDIA GeForce RTX 4090", arch: "sm_89", sms: 128, threads_per_sm: 1536, blocks_per_sm: 24, smem_optin_kib: 99, smem_per_sm_kib: 100, l2_mib: 72.0, bw_gbs: 1008.0, tflops: 82.6 },
    Row { key: "l4", name: "NVIDIA L4", arch: "sm_89", sms: 58, threads_per_sm: 1536, blocks_per_sm: 24, smem_optin_kib: 99, smem_per_sm_kib: 100, l2_mib: 48.0, bw_gbs: 300.0, tflops: 30.3 },
    Row { key: "t4", name: "NVIDIA T4", arch: "sm_75", sms: 40, threads_per_sm: 1024, blocks_per_sm: 16, smem_optin_kib: 64, smem_per_sm_kib: 64, l2_mib: 4.0, bw_gbs: 320.0, tflops: 8.1 },
    Row { key: "orin", name: "NVIDIA Jetson AGX Orin 64GB", arch: "sm_87", sms: 16, threads_per_sm: 1536, blocks_per_sm: 16, smem_optin_kib: 163, smem_per_sm_kib: 164, l2_mib: 4.0, bw_gbs: 204.8, tflops: 5.3 },
];

impl Target {
    /// A GPU preset by its key (see [`PRESETS`]); keys are case-insensitive.
    pub fn preset(key: &str) -> Result<Target> {
        let key = key.to_ascii_lowercase();
        let row = ROWS.iter().find(|r| r.key == key).ok_or_else(|| {
            SymbolicError::InvalidRef(format!(
                "unknown target preset `{key}`; known: {}",
                PRESETS.join(", ")
            ))
        })?;
        Ok(Target {
            name: row.name.to_string(),
            spec: TargetSpec::Cuda(GpuSpec {
                arch: row.arch.to_string(),
                sm_count: row.sms,
                max_threads_per_block: 1024,
                max_threads_per_sm: row.threads_per_sm,
                max_blocks_per_sm: row.blocks_per_sm,
                warp_size: 32,
                shared_mem_per_block: 48 * 1024,
                shared_mem_per_block_optin: row.smem_optin_kib * 1024,
                shared_mem_per_sm: row.smem_per_sm_kib * 1024,
                registers_per_sm: 65536,
                registers_per_thread: 255,
                l2_bytes: (row.l2_mib * 1024.0 * 1024.0) as u64,
                mem_bandwidth: row.bw_gbs * 1e9,
                peak_fp32: row.tflops * 1e12,
                max_vthread: 8,
                max_vector_bytes: 16,
            }),
        })
    }

    /// A fixed 2-core AVX2 CPU named `test cpu` (32 KiB L1, 1 MiB L2, 8 MiB L3, 20 GB/s,
    /// 200 GFLOP/s): for tests, examples and golden files that must not depend on the host
    /// (the host's own description comes from `tilegrad_measure::host_cpu`).
    pub fn example_cpu() -> Target {
        Target {
            name: "test cpu".into(),
            spec: TargetSpec::Cpu(CpuSpec {
                cores: 2,
                simd_bytes: 32,
                l1_bytes: 32 << 10,
                l2_bytes: 1 << 20,
                l3_bytes: 8 << 20,
                mem_bandwidth: 20e9,
                peak_fp32: 2e11,
            }),
        }
    }

    /// The GPU limits, if this is a CUDA target.
    pub fn gpu(&self) -> Option<&GpuSpec> {
        match &self.spec {
            TargetSpec::Cuda(g) => Some(g),
            TargetSpec::Cpu(_) => None,
        }
    }

    /// The CPU limits, if this is a CPU target.
    pub fn cpu(&self) -> Option<&CpuSpec> {
        match &self.spec {
            TargetSpec::Cpu(c) => Some(c),
            TargetSpec::Cuda(_) => None,
        }
    }

    /// `cuda` or `cpu`.
    pub fn kind(&self) -> &'static str {
        match self.spec {
            TargetSpec::Cuda(_) => "cuda",
            TargetSpec::Cpu(_) => "cpu",
        }
    }

    /// Peak FP32 rate, FLOP/s.
    pub fn peak_fp32(&self) -> f64 {
        match &self.spec {
            TargetSpec::Cuda(g) => g.peak_fp32,
            TargetSpec::Cpu(c) => c.peak_fp32,
        }
    }

    /// DRAM bandwidth, bytes/s.
    pub fn mem_bandwidth(&self) -> f64 {
        match &self.spec {
            TargetSpec::Cuda(g) => g.mem_bandwidth,
            TargetSpec::Cpu(c) => c.mem_bandwidth,
        }
    }

    /// The text form: one line of JSON (field names as in the structs), parsed back by
    /// [`Target::from_text`].
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the text form, or a preset key.
    pub fn from_text(text: &str) -> Result<Target> {
        let t = text.trim();
        if !t.starts_with('{') {
            return Target::preset(t);
        }
        serde_json::from_str(t).map_err(|e| SymbolicError::Parse {
            pos: e.column().saturating_sub(1),
            msg: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_exists_and_round_trips() {
        for key in PRESETS {
            let t = Target::preset(key).unwrap();
            let g = t.gpu().unwrap();
            assert!(
                g.sm_count > 0
                    && g.peak_fp32 > 1e12
                    && g.shared_mem_per_block_optin >= g.shared_mem_per_block
            );
            assert_eq!(Target::from_text(&t.to_text()).unwrap(), t);
        }
        assert_eq!(
            Target::from_text("H100-SXM")
                .unwrap()
                .gpu()
                .unwrap()
                .sm_count,
            132
        );
    }

    #[test]
    fn unknown_preset_and_bad_text_are_errors() {
        assert!(
            matches!(Target::preset("v100"), Err(SymbolicError::InvalidRef(m)) if m.contains("h100-sxm"))
        );
        assert!(matches!(
            Target::from_text("{\"name\": 3}"),
            Err(SymbolicError::Parse { .. })
        ));
    }
}
