//! The task list of `tilegrad tune` and `tilegrad bench search`: one workload, a shipped
//! network, an ONNX model, a file or a suite, optionally cut to one fold of a split by
//! workload.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{ArgGroup, Args};
use tilegrad_datasets::{networks, Split, Suite, Task};

use crate::cli::util::{bad_input, parse_workload, BadInput};

/// The task-list arguments shared by `tune` and `bench search`: exactly one of a workload (or
/// an ONNX model's path), `--network`, `--onnx`, `--file` or `--suite`, an optional
/// `--held-out` fold and `--tasks` limit.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["workload", "network", "onnx", "file", "suite"])))]
pub struct TaskArgs {
    /// A workload in canonical text form, e.g. `matmul(M=512,N=512,K=512)`, or an ONNX
    /// model's path (`model.onnx`: as `--onnx`).
    pub workload: Option<String>,
    /// An ONNX model: its tasks as `tilegrad networks model.onnx` lists them.
    #[arg(long, value_name = "PATH")]
    pub onnx: Option<PathBuf>,
    /// The shape of an ONNX model's input where the model leaves a dimension symbolic
    /// (`--input data=1x3x224x224`; repeat for several inputs).
    #[arg(long, value_name = "NAME=SHAPE")]
    pub input: Vec<String>,
    /// A shipped network (see `tilegrad networks`), e.g. `resnet50`.
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Batch size of `--network`.
    #[arg(long, value_name = "B", default_value_t = 1, requires = "network")]
    pub batch: u32,
    /// A file of workloads: `<weight> <workload>` or `<workload>` per line, `#` comments.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// A suite (`<group> <workload>` per line, as `bench kernels`), or `zoo` for the shipped
    /// model-zoo suite.
    #[arg(long, value_name = "PATH|zoo")]
    pub suite: Option<PathBuf>,
    /// Only the workloads in fold H of an N-way split by workload key (`H/N`, e.g. `0/4`):
    /// the held-out fold of a model trained with `model train --held-out H/N`.
    #[arg(long, value_name = "H/N", value_parser = crate::cli::model::parse_split)]
    pub held_out: Option<Split>,
    /// Only the first N tasks (of a network or file), for short runs.
    #[arg(long, value_name = "N")]
    pub tasks: Option<usize>,
}

impl TaskArgs {
    /// Where the tasks come from.
    pub fn source(&self) -> TaskSource<'_> {
        let model = self
            .workload
            .as_deref()
            .filter(|w| crate::cli::onnx::is_model_path(w))
            .map(Path::new);
        TaskSource {
            workload: self.workload.as_deref().filter(|_| model.is_none()),
            onnx: model.or(self.onnx.as_deref()),
            inputs: &self.input,
            network: self.network.as_deref().map(|n| (n, self.batch)),
            file: self.file.as_deref(),
            suite: self.suite.as_deref(),
            held_out: self.held_out,
        }
    }

    /// Loads the tasks (see [`load`]).
    pub fn load(&self) -> anyhow::Result<Vec<Task>> {
        load(&self.source(), self.tasks)
    }
}

/// Where the tasks come from (exactly one of the five is given; clap enforces it).
#[derive(Debug, Clone, Default)]
pub struct TaskSource<'a> {
    /// One workload in canonical text.
    pub workload: Option<&'a str>,
    /// An ONNX model.
    pub onnx: Option<&'a Path>,
    /// `--input` shapes of the ONNX model's inputs (`name=1x3x224x224`).
    pub inputs: &'a [String],
    /// A shipped network name and its batch size.
    pub network: Option<(&'a str, u32)>,
    /// A file of workloads: `<weight> <workload>` or `<workload>` per line, `#` comments.
    pub file: Option<&'a Path>,
    /// A suite file, or `zoo` for the shipped one (weight 1 each).
    pub suite: Option<&'a Path>,
    /// Keep only the workloads of this fold.
    pub held_out: Option<Split>,
}

/// A short name for default output paths: the network and batch, the file or model stem,
/// or the workload key.
pub fn label(src: &TaskSource<'_>, tasks: &[Task]) -> String {
    if let Some((name, batch)) = src.network {
        return format!("{name}-b{batch}");
    }
    if let Some(f) = src.file.or(src.suite).or(src.onnx) {
        if let Some(stem) = f.file_stem() {
            let stem = stem.to_string_lossy();
            return match src.held_out {
                Some(s) => format!("{stem}-fold{}of{}", s.fold, s.folds),
                None => stem.into_owned(),
            };
        }
    }
    tasks.first().map_or_else(
        || "tasks".to_string(),
        |t| {
            let text = t.workload.to_string();
            let op = text.split('(').next().unwrap_or("task");
            let key = t.workload.key().to_string();
            format!("{op}-{}", &key[..key.len().min(8)])
        },
    )
}

/// Loads the tasks, keeping the first `limit` when given. Every failure is [`BadInput`].
pub fn load(src: &TaskSource<'_>, limit: Option<usize>) -> anyhow::Result<Vec<Task>> {
    if src.onnx.is_none() && !src.inputs.is_empty() {
        return Err(bad_input(
            "--input gives the shapes of an ONNX model's inputs: give the model",
        ));
    }
    let mut tasks = if let Some(text) = src.workload {
        vec![Task {
            workload: parse_workload(text)?,
            weight: 1,
        }]
    } else if let Some((name, batch)) = src.network {
        networks::load(name, batch).map_err(|e| {
            anyhow::Error::new(e).context(BadInput(format!(
                "no shipped network `{name}` at batch {batch} (see `tilegrad networks`)"
            )))
        })?
    } else if let Some(path) = src.onnx {
        crate::cli::onnx::import(path, src.inputs)?.tasks
    } else if let Some(path) = src.file {
        let text = std::fs::read_to_string(path)
            .with_context(|| BadInput(format!("cannot read {}", path.display())))?;
        parse_file(&path.display().to_string(), &text)?
    } else if let Some(path) = src.suite {
        let suite = Suite::named(path)
            .with_context(|| BadInput(format!("cannot read the suite {}", path.display())))?;
        suite
            .entries
            .into_iter()
            .map(|e| Task {
                workload: e.workload,
                weight: 1,
            })
            .collect()
    } else {
        return Err(bad_input(
            "nothing to tune: give a workload, a model.onnx, --network, --onnx, --file or --suite",
        ));
    };
    if let Some(split) = src.held_out {
        tasks.retain(|t| split.holds(&t.workload));
        if tasks.is_empty() {
            return Err(bad_input(format!("no task falls in fold {split}")));
        }
    }
    if let Some(n) = limit {
        if n == 0 {
            return Err(bad_input("--tasks must be at least 1"));
        }
        tasks.truncate(n);
    }
    if tasks.is_empty() {
        return Err(bad_input("the task list is empty"));
    }
    Ok(tasks)
}

/// Parses a workload file: the network list format, where the weight may be left out.
pub fn parse_file(name: &str, text: &str) -> anyhow::Result<Vec<Task>> {
    let normalized: Vec<String> = text
        .lines()
        .map(|raw| {
            let line = raw.trim();
            let first = line.split_whitespace().next().unwrap_or("");
            if line.is_empty() || line.starts_with('#') || first.parse::<u64>().is_ok() {
                line.to_string()
            } else {
                format!("1 {line}")
            }
        })
        .collect();
    let tasks = networks::parse(name, &normalized.join("\n")).map_err(|e| {
        anyhow::Error::new(e).context(BadInput(format!("bad workload file {name}")))
    })?;
    for t in &tasks {
        t.workload
            .validate()
            .with_context(|| BadInput(format!("invalid workload `{}` in {name}", t.workload)))?;
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_take_optional_weights_and_comments() {
        let t = parse_file(
            "w.txt",
            "# two tasks\nmatmul(M=8,N=8,K=8)\n\n3 matmul(M=16,N=16,K=16)+relu\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].weight, t[1].weight), (1, 3));
        assert_eq!(t[1].workload.to_string(), "matmul(M=16,N=16,K=16)+relu");
        let e = parse_file("w.txt", "matmul(M=8,N=8\n").unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some(), "{e:#}");
        assert!(format!("{e:#}").contains("w.txt"), "{e:#}");
    }

    #[test]
    fn suites_load_whole_or_one_fold() {
        let zoo = Path::new("zoo");
        let all = TaskSource {
            suite: Some(zoo),
            ..Default::default()
        };
        let t = load(&all, None).unwrap();
        assert_eq!(t.len(), Suite::zoo().unwrap().entries.len());
        assert_eq!(label(&all, &t), "zoo");
        let split: Split = "0/4".parse().unwrap();
        let fold = TaskSource {
            held_out: Some(split),
            ..all
        };
        let f = load(&fold, None).unwrap();
        assert!(!f.is_empty() && f.len() < t.len());
        assert!(f.iter().all(|t| split.holds(&t.workload)));
        assert_eq!(label(&fold, &f), "zoo-fold0of4");
        let missing = TaskSource {
            suite: Some(Path::new("no/such/suite.txt")),
            ..Default::default()
        };
        assert!(load(&missing, None)
            .unwrap_err()
            .downcast_ref::<BadInput>()
            .is_some());
    }

    #[test]
    fn networks_are_cut_to_the_first_tasks() {
        let src = TaskSource {
            network: Some(("resnet50", 1)),
            ..Default::default()
        };
        let t = load(&src, Some(3)).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(label(&src, &t), "resnet50-b1");
        let e = load(&src, Some(0)).unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some());
        let bad = TaskSource {
            network: Some(("nosuchnet", 1)),
            ..Default::default()
        };
        assert!(load(&bad, None)
            .unwrap_err()
            .downcast_ref::<BadInput>()
            .is_some());
    }
}
