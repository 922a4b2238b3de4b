//! Messages between the parent and the measurement worker: one JSON object per line.
//! Bulk data (the reference output) travels through files in the build directory.

use crate::{KernelIo, MeasureError, Timing, TimingConfig, Tolerance};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What every run request carries besides the kernel itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskCommon {
    pub io: KernelIo,
    pub seed: u64,
    /// Raw little-endian `f32` file holding the reference output.
    pub expected_path: PathBuf,
    pub tolerance: Tolerance,
    pub timing: TimingConfig,
}

/// Run a shared object on the CPU.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CpuTask {
    pub lib_path: PathBuf,
    pub entry: String,
    /// Lengths of the prepared buffers (`<entry>_prepare` fills them once, untimed).
    #[serde(default)]
    pub prepared_lens: Vec<usize>,
    /// OpenMP threads (0 = leave the OpenMP default).
    pub threads: usize,
    pub common: TaskCommon,
}

/// Run a PTX or cubin image on a GPU.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CudaTask {
    pub image_path: PathBuf,
    pub entry: String,
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
    pub device: usize,
    pub common: TaskCommon,
}

/// Parent to worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Request {
    Hello,
    RunCpu(CpuTask),
    RunCuda(CudaTask),
}

/// Worker to parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Response {
    Hello {
        pid: u32,
    },
    /// `fatal`: the worker exits right after this message (its state is unusable).
    Done {
        result: Result<Timing, MeasureError>,
        fatal: bool,
    },
}

/// A request with its sequence number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RequestEnvelope {
    pub id: u64,
    pub request: Request,
}

/// A response with the sequence number of the request it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResponseEnvelope {
    pub id: u64,
    pub response: Response,
}

/// Writes `data` as raw little-endian `f32`.
pub(crate) fn write_f32_file(path: &Path, data: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

/// Reads a raw little-endian `f32` file.
pub(crate) fn read_f32_file(path: &Path) -> std::io::Result<Vec<f32>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
