//! The tuning log: append-only JSON Lines, the ground truth of every tuning run.
//!
//! One [`Record`] per measured candidate, one line each. Every record carries its schema
//! version (`v`); readers accept every version up to [`LOG_VERSION`] and refuse newer ones
//! with a clear error. Appends are written and flushed (and synced) per call, which the tuner
//! makes once per round, so a killed run loses at most the round in flight. A torn last line
//! (a kill in the middle of a write) is skipped with a warning; any other line that does not
//! parse is an error naming its line number. The schedule database, training sets and
//! reports can all be rebuilt from logs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DatasetError;

/// The schema version written by this build.
pub const LOG_VERSION: u32 = 1;

/// The device a record was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Stable key of the device class, e.g. `cuda/sm_90/NVIDIA H100 80GB HBM3` or
    /// `cpu/x86_64/Intel(R) Xeon(R) .../2`; records with the same key are comparable.
    pub key: String,
    /// `cuda` or `cpu`.
    pub kind: String,
    /// Device name (GPU name or CPU model name).
    pub name: String,
    /// GPU architecture (`sm_90`); empty for CPUs.
    #[serde(default)]
    pub arch: String,
    /// Streaming multiprocessors (GPU) or cores used (CPU).
    pub units: u32,
    /// Driver version (GPU), empty when unknown or not applicable.
    #[serde(default)]
    pub driver: String,
    /// CUDA version (GPU) or C compiler version (CPU), empty when unknown.
    #[serde(default)]
    pub toolchain: String,
}

/// Timings of a candidate that ran and verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Every timed run, seconds.
    pub samples_s: Vec<f64>,
    /// Median of the samples, seconds: the figure that ranks candidates.
    pub median_s: f64,
    /// Relative spread `(p90 - p10) / median`.
    pub spread: f64,
    /// Compile time, seconds.
    pub build_s: f64,
    /// CPU targets: the share of the machine's CPU time that other processes took while the
    /// samples were timed (see `tilegrad_measure::Timing::interference`); absent where unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interference: Option<f64>,
}

/// What measuring a candidate gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It built, ran, and its output matched the reference.
    Ok(Timings),
    /// It failed; `kind` is the measure error's variant (`build_error`, `run_timeout`,
    /// `crash`, `wrong_answer`, …) and `message` its text.
    Error {
        /// Failure class.
        kind: String,
        /// Human-readable cause (compiler log excerpt, signal, error sizes …).
        message: String,
    },
}

/// Where a record came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `tilegrad` version that wrote the record.
    pub tilegrad: String,
    /// Content hash of the cost model that proposed the candidate (empty if none).
    #[serde(default)]
    pub model: String,
    /// Search policy (`gradient`, `evolutionary`, `random`, …).
    #[serde(default)]
    pub policy: String,
    /// Seed of the run.
    pub seed: u64,
    /// Tuning round within the run (0-based).
    #[serde(default)]
    pub round: u32,
    /// Seconds since the Unix epoch when the measurement finished.
    pub timestamp: f64,
}

/// One measured candidate: one line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Schema version of this record.
    pub v: u32,
    /// `WorkloadKey` of the workload (16 hex digits).
    pub workload_key: String,
    /// Canonical workload text.
    pub workload: String,
    /// The device.
    pub target: TargetInfo,
    /// Sketch id (`gpu-tiling`, `cpu-tiling/no-cache`, …).
    pub sketch: String,
    /// The schedule: canonical assignment text `name=value,…`.
    pub assignment: String,
    /// Timings or the typed failure.
    pub outcome: Outcome,
    /// Where it came from.
    pub provenance: Provenance,
}

impl Record {
    /// The median time in seconds if the candidate measured correctly.
    pub fn median_s(&self) -> Option<f64> {
        match &self.outcome {
            Outcome::Ok(t) if t.median_s.is_finite() && t.median_s > 0.0 => Some(t.median_s),
            _ => None,
        }
    }
}

/// What reading a log gave: its records and any warnings (a skipped torn last line).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogContents {
    /// The records, in file order.
    pub records: Vec<Record>,
    /// Warnings, e.g. `log.jsonl:17: torn last line skipped (a killed write)`.
    pub warnings: Vec<String>,
}

/// An append-only tuning log file.
#[derive(Debug)]
pub struct TuningLog {
    path: PathBuf,
    file: File,
    repaired: Option<String>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DatasetError {
    DatasetError::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

impl TuningLog {
    /// Opens (creating if needed) the log at `path` for appending.
    ///
    /// If the file ends in a torn line (a write cut short by a kill), that partial line is
    /// removed so the log stays readable after new appends ([`TuningLog::repaired`] says so);
    /// a complete record that only lacks its newline gets one.
    pub fn open(path: impl AsRef<Path>) -> Result<TuningLog, DatasetError> {
        let path = path.as_ref().to_path_buf();
        let mut repaired = None;
        if let Ok(bytes) = std::fs::read(&path) {
            let tail_start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let tail = &bytes[tail_start..];
            if !String::from_utf8_lossy(tail).trim().is_empty() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| io_err(&path, e))?;
                if parse_record(String::from_utf8_lossy(tail).trim()).is_ok() {
                    let mut f = file;
                    use std::io::{Seek, SeekFrom};
                    f.seek(SeekFrom::End(0)).map_err(|e| io_err(&path, e))?;
                    f.write_all(b"\n").map_err(|e| io_err(&path, e))?;
                } else {
                    file.set_len(tail_start as u64)
                        .map_err(|e| io_err(&path, e))?;
                    let line = bytes[..tail_start].iter().filter(|&&b| b == b'\n').count() + 1;
                    repaired = Some(format!(
                        "{}:{line}: removed a torn last line ({} bytes) left by a killed write",
                        path.display(),
                        tail.len()
                    ));
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        Ok(TuningLog {
            path,
            file,
            repaired,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A warning if [`TuningLog::open`] removed a torn last line.
    pub fn repaired(&self) -> Option<&str> {
        self.repaired.as_deref()
    }

    /// Appends `records` (one line each) in one write, then flushes and syncs the file.
    pub fn append(&mut self, records: &[Record]) -> Result<(), DatasetError> {
        let mut buf = String::new();
        for r in records {
            buf.push_str(&serde_json::to_string(r).map_err(|e| io_err(&self.path, e))?);
            buf.push('\n');
        }
        self.file
            .write_all(buf.as_bytes())
            .map_err(|e| io_err(&self.path, e))?;
        self.file.flush().map_err(|e| io_err(&self.path, e))?;
        self.file.sync_data().map_err(|e| io_err(&self.path, e))
    }

    /// Reads every record of the log at `path` (see the module docs for error handling).
    pub fn read(path: impl AsRef<Path>) -> Result<LogContents, DatasetError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
        parse_log(&path.display().to_string(), &bytes)
    }
}

/// Parses the bytes of a log; `name` prefixes line numbers in messages.
pub fn parse_log(name: &str, bytes: &[u8]) -> Result<LogContents, DatasetError> {
    let mut out = LogContents::default();
    let torn_possible = !bytes.is_empty() && !bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let lineno = i + 1;
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_record(text) {
            Ok(r) => out.records.push(r),
            Err(LineError::Bad(msg)) if torn_possible && i + 1 == lines.len() => out.warnings.push(
                format!("{name}:{lineno}: torn last line skipped (a killed write): {msg}"),
            ),
            Err(e) => {
                let msg = match e {
                    LineError::Newer(v) => format!("record version {v} is newer than this build reads ({LOG_VERSION}); upgrade tilegrad"),
                    LineError::Bad(msg) => msg,
                };
                return Err(DatasetError::LogLine {
                    file: name.to_string(),
                    line: lineno,
                    msg,
                });
            }
        }
    }
    Ok(out)
}

enum LineError {
    Newer(u32),
    Bad(String),
}

fn parse_record(text: &str) -> Result<Record, LineError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| LineError::Bad(e.to_string()))?;
    let v = value
        .get("v")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| LineError::Bad("missing schema version `v`".into()))?;
    if v > LOG_VERSION as u64 {
        return Err(LineError::Newer(v as u32));
    }
    serde_json::from_value(value).map_err(|e| LineError::Bad(e.to_string()))
}
