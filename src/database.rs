//! [`Database`]: what a compiler calls at compile time to get a tuned kernel.
//!
//! `Database::open(path)?.best(&workload, &target)` looks the workload up in the schedule
//! database ([`ScheduleDb::best`], whose lookup policy is exact target, else a compatible
//! target with a warning, else [`Error::NotTuned`]: never a silent fallback), then rebuilds
//! the kernel from the record: the sketch of that id among
//! [`tilegrad_templates::sketches`]`(workload, target)`, the record's assignment parsed against
//! its space and instantiated, and the concrete tree printed by the same code generator the
//! measurement used (C with the target's SIMD width, or CUDA), under the same entry name.
//! A record that no longer applies (unknown sketch, illegal assignment) is an
//! [`Error::RecordDoesNotApply`], not a different kernel.

use std::path::Path;

use serde::Serialize;
use tilegrad_datasets::{Lookup, Record, ScheduleDb, TargetInfo};
use tilegrad_measure::codegen::{c, cuda};
use tilegrad_measure::cpu_measurer::entry_name;
use tilegrad_symbolic::{LoopTree, Target, TargetSpec};
use tilegrad_templates::Workload;

use crate::Error;

/// The source language of a [`TunedKernel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// C with OpenMP, ABI `void entry(float *const *args)` (inputs, then the output).
    C,
    /// CUDA C, ABI `extern "C" __global__ void entry(const float* in0, …, float* out)`.
    Cuda,
}

/// How to launch a [`TunedKernel`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Launch {
    /// A CPU kernel: run with this many OpenMP threads (the tuned thread count).
    Cpu {
        /// OpenMP threads.
        threads: u32,
    },
    /// A CUDA kernel launch.
    Cuda {
        /// Grid dimensions (blocks).
        grid: [u32; 3],
        /// Block dimensions (threads).
        block: [u32; 3],
        /// Dynamic shared memory per block, bytes.
        shared_bytes: u32,
    },
}

/// One kernel argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Param {
    /// Buffer name in the generated source.
    pub name: String,
    /// Row-major extents.
    pub shape: Vec<usize>,
    /// Element type (`f32`).
    pub dtype: String,
    /// Whether this is the output (the argument after the inputs).
    pub output: bool,
    /// Whether this is a prepared buffer (after the output): scratch memory the caller
    /// allocates and fills by calling [`TunedKernel::prepare_entry`] once per set of layer
    /// parameters, before calling the kernel.
    pub prepared: bool,
}

/// Which lookup rule found the schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LookupKind {
    /// Tuned on this target.
    Exact,
    /// Tuned on a compatible target (same architecture); show the warning.
    Compatible {
        /// The target it was tuned on.
        tuned_on: TargetInfo,
        /// What to tell the user.
        warning: String,
    },
}

/// A tuned kernel, ready to compile and launch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TunedKernel {
    /// Canonical workload text.
    pub workload: String,
    /// Workload key (16 hex digits).
    pub workload_key: String,
    /// Key of the target asked for.
    pub target_key: String,
    /// Sketch id of the schedule.
    pub sketch: String,
    /// The schedule (assignment text).
    pub assignment: String,
    /// Source language.
    pub language: Language,
    /// Complete source (one translation unit).
    pub source: String,
    /// Name of the kernel function.
    pub entry: String,
    /// Name of the function that fills the prepared buffers from the constant inputs (a
    /// weight packed into the schedule's layout), when the kernel has any: call it once with
    /// the same arguments, then the kernel as often as the constant inputs stay the same.
    pub prepare_entry: Option<String>,
    /// Launch configuration.
    pub launch: Launch,
    /// Arguments in call order: inputs, the output, then the prepared buffers.
    pub params: Vec<Param>,
    /// Measured median time, seconds (on the target it was tuned on).
    pub median_s: f64,
    /// Exact or compatible lookup.
    pub lookup: LookupKind,
    /// The database record the kernel was rebuilt from (provenance, all samples).
    pub record: Record,
}

/// A schedule database opened for lookups.
#[derive(Debug)]
pub struct Database {
    db: ScheduleDb,
}

/// The database's description of `target` (the tuner's [`tilegrad_measure::record::target_info`]).
pub fn target_info(target: &Target) -> TargetInfo {
    tilegrad_measure::record::target_info(target)
}

impl Database {
    /// Opens an existing schedule database (a missing file is an error, not an empty
    /// database).
    pub fn open(path: impl AsRef<Path>) -> Result<Database, Error> {
        Ok(Database {
            db: ScheduleDb::open_existing(path)?,
        })
    }

    /// The underlying database.
    pub fn schedule_db(&self) -> &ScheduleDb {
        &self.db
    }

    /// The raw lookup of `workload` on `target` (no code generation).
    pub fn lookup(&self, workload: &Workload, target: &Target) -> Result<Lookup, Error> {
        Ok(self
            .db
            .best(&workload.key().to_string(), &target_info(target))?)
    }

    /// The best tuned kernel of `workload` on `target`; [`Error::NotTuned`] when the database
    /// has none for the target or a compatible one.
    pub fn best(&self, workload: &Workload, target: &Target) -> Result<TunedKernel, Error> {
        let info = target_info(target);
        let (record, kind) = match self.db.best(&workload.key().to_string(), &info)? {
            Lookup::Exact { record } => (record, LookupKind::Exact),
            Lookup::Compatible {
                record,
                tuned_on,
                warning,
            } => (record, LookupKind::Compatible { tuned_on, warning }),
            Lookup::NotTuned { reason } => {
                return Err(Error::NotTuned {
                    workload: workload.to_string(),
                    target: info.key,
                    reason,
                })
            }
        };
        kernel_of(record, workload, target, &info.key, kind)
    }
}

/// Rebuilds the kernel of `record` for `workload` on `target` (see the module docs).
pub fn kernel_of(
    record: Record,
    workload: &Workload,
    target: &Target,
    target_key: &str,
    lookup: LookupKind,
) -> Result<TunedKernel, Error> {
    let text = workload.to_string();
    let fail = |msg: String| Error::RecordDoesNotApply {
        workload: text.clone(),
        sketch: record.sketch.clone(),
        assignment: record.assignment.clone(),
        msg,
    };
    if record.workload != text {
        return Err(fail(format!(
            "the record is for `{}` (same key {})",
            record.workload, record.workload_key
        )));
    }
    let median_s = record
        .median_s()
        .ok_or_else(|| fail("the record has no usable time".into()))?;
    let sketches = tilegrad_templates::sketches(workload, target)?;
    let ids: Vec<&str> = sketches.iter().map(|s| s.id.as_str()).collect();
    let sketch = sketches
        .iter()
        .find(|s| s.id == record.sketch)
        .ok_or_else(|| {
            fail(format!(
                "no sketch `{}` for this workload on {} (sketches: {})",
                record.sketch,
                target.name,
                ids.join(", ")
            ))
        })?;
    let assignment = sketch
        .space
        .parse_assignment(&record.assignment)
        .map_err(|e| fail(e.to_string()))?;
    let tree = sketch
        .instantiate(&assignment)
        .map_err(|e| fail(e.to_string()))?;
    let entry = entry_name(&tree);
    let (language, source, launch) = match &target.spec {
        TargetSpec::Cpu(cpu) => {
            let opts = c::COptions {
                simd_bytes: cpu.simd_bytes,
            };
            let source = c::emit_with(&tree, &entry, &opts)?;
            let launch = Launch::Cpu { threads: cpu.cores };
            (Language::C, source, launch)
        }
        TargetSpec::Cuda(_) => {
            let k = cuda::emit(&tree, &entry)?;
            let launch = Launch::Cuda {
                grid: k.grid,
                block: k.block,
                shared_bytes: k.shared_bytes,
            };
            (Language::Cuda, k.source, launch)
        }
    };
    let params = params_of(&tree).map_err(fail)?;
    let prepare_entry = params
        .iter()
        .any(|p| p.prepared)
        .then(|| c::prepare_entry(&entry));
    Ok(TunedKernel {
        workload: text.clone(),
        workload_key: record.workload_key.clone(),
        target_key: target_key.to_string(),
        sketch: record.sketch.clone(),
        assignment: record.assignment.clone(),
        language,
        source,
        entry,
        prepare_entry,
        launch,
        params,
        median_s,
        lookup,
        record,
    })
}

/// The kernel arguments of a concrete tree: inputs in order, the output, the prepared buffers.
fn params_of(tree: &LoopTree) -> Result<Vec<Param>, String> {
    let output = tree
        .output()
        .ok_or_else(|| "the kernel has no output buffer".to_string())?;
    let mut ids = tree.inputs();
    ids.push(output);
    ids.extend(tree.prepared());
    ids.into_iter()
        .map(|id| {
            let b = tree.buffer(id);
            let shape = tree
                .const_shape(id)
                .ok_or_else(|| format!("buffer `{}` has no constant shape", b.name))?;
            Ok(Param {
                name: b.name.clone(),
                shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
                dtype: match b.dtype {
                    tilegrad_symbolic::looptree::DType::F32 => "f32".into(),
                },
                output: id == output,
                prepared: b.role == tilegrad_symbolic::looptree::BufferRole::Prepared,
            })
        })
        .collect()
}
