//! Benchmark suites: lists of workloads compared against other implementations (the
//! model-zoo suite of `tilegrad bench kernels`, `datasets/suites/zoo.txt`, embedded here).
//!
//! Format (version 1): one workload per line, `<group> <workload text>`, where the group is
//! a word naming where the workload comes from (a network, `odd`, ...) and the workload is
//! in canonical text form; `#` starts a comment line; blank lines are ignored. A workload
//! appears at most once (by canonical text). Held-out evaluation splits a suite by group
//! ([`Suite::groups`]) or by workload ([`fold`]).

use std::collections::HashSet;
use std::path::Path;

use tilegrad_templates::Workload;

use crate::error::DatasetError;
use crate::lines::word_lines;

/// The shipped model-zoo suite (`datasets/suites/zoo.txt`).
pub const ZOO: &str = include_str!("../suites/zoo.txt");

/// One workload of a suite.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteEntry {
    /// Where the workload comes from (`resnet50`, `llama_7b_decode`, `odd`, ...).
    pub group: String,
    /// The workload.
    pub workload: Workload,
}

/// A parsed suite, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Suite {
    /// The workloads.
    pub entries: Vec<SuiteEntry>,
}

impl Suite {
    /// Parses suite text; `file` names it in errors. Malformed lines, invalid workloads and
    /// duplicate workloads (same canonical text) are errors.
    pub fn parse(file: &str, text: &str) -> Result<Suite, DatasetError> {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for line in word_lines(file, text, "expected `<group> <workload>`") {
            let line = line?;
            let (group, err) = (line.word, |m: String| line.err(m));
            if group.contains('(') || !group.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(err(format!(
                    "group `{group}` must be a word (letters, digits, `_`)"
                )));
            }
            let workload = line.workload()?;
            workload.validate().map_err(|e| line.workload_err(e))?;
            if !seen.insert(workload.to_string()) {
                return Err(err(format!("duplicate workload `{workload}`")));
            }
            entries.push(SuiteEntry {
                group: group.to_string(),
                workload,
            });
        }
        Ok(Suite { entries })
    }

    /// Reads and parses a suite file.
    pub fn load(path: &Path) -> Result<Suite, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Io {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Suite::parse(&path.display().to_string(), &text)
    }

    /// The shipped model-zoo suite.
    pub fn zoo() -> Result<Suite, DatasetError> {
        Suite::parse("zoo.txt", ZOO)
    }

    /// The suite a command-line argument names: `zoo` is the shipped suite, anything else a
    /// file ([`Suite::load`]).
    pub fn named(path: &Path) -> Result<Suite, DatasetError> {
        if path == Path::new("zoo") {
            Suite::zoo()
        } else {
            Suite::load(path)
        }
    }

    /// The distinct groups, in order of first appearance.
    pub fn groups(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !out.contains(&e.group.as_str()) {
                out.push(&e.group);
            }
        }
        out
    }
}

/// One fold of a `folds`-way split of workloads by key ([`fold`]), written `H/N`: the
/// held-out fold of a held-out evaluation. `tilegrad model train --held-out H/N` trains on
/// every other fold (and records the split in the model's metadata); `tilegrad bench search
/// --held-out H/N` compares the search policies on this fold alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// The fold, `0..folds`.
    pub fold: u64,
    /// The number of folds, at least 2.
    pub folds: u64,
}

impl Split {
    /// Whether `workload` falls in this fold.
    pub fn holds(&self, workload: &Workload) -> bool {
        self.holds_key(workload.key().0)
    }

    /// Whether the workload of key `key` ([`Workload::key`]) falls in this fold.
    pub fn holds_key(&self, key: u64) -> bool {
        key % self.folds == self.fold
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.fold, self.folds)
    }
}

impl std::str::FromStr for Split {
    type Err = DatasetError;

    fn from_str(text: &str) -> Result<Split, DatasetError> {
        let err = |msg: &str| DatasetError::Split {
            text: text.into(),
            msg: msg.into(),
        };
        let (h, n) = text
            .split_once('/')
            .ok_or_else(|| err("expected `H/N`, e.g. `0/4`"))?;
        let (fold, folds) = match (h.trim().parse::<u64>(), n.trim().parse::<u64>()) {
            (Ok(h), Ok(n)) => (h, n),
            _ => return Err(err("H and N must be whole numbers")),
        };
        if folds < 2 || fold >= folds {
            return Err(err("need at least 2 folds and H < N"));
        }
        Ok(Split { fold, folds })
    }
}

/// The fold (`0..folds`) of a workload in a `folds`-way split by workload: its key modulo
/// `folds`, so the split is stable across suites, runs and machines. `folds == 0` is 0.
pub fn fold(workload: &Workload, folds: u64) -> u64 {
    if folds == 0 {
        0
    } else {
        workload.key().0 % folds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_and_partition_the_zoo() {
        let s: Split = "1/4".parse().unwrap();
        assert_eq!((s.fold, s.folds, s.to_string()), (1, 4, "1/4".to_string()));
        for bad in ["4/4", "1/1", "1", "a/4", "1/4/2", ""] {
            assert!(bad.parse::<Split>().is_err(), "{bad}");
        }
        let zoo = Suite::zoo().unwrap();
        let sizes: Vec<usize> = (0..4)
            .map(|fold| {
                let s = Split { fold, folds: 4 };
                zoo.entries.iter().filter(|e| s.holds(&e.workload)).count()
            })
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), zoo.entries.len());
        assert!(sizes.iter().all(|&n| n >= 10), "{sizes:?}");
    }

    #[test]
    fn lines_need_a_group_and_a_unique_workload() {
        let s = Suite::parse(
            "t",
            "# c\n\nodd matmul(M=8,N=8,K=8)\nx_1 softmax(M=2,N=3)\n",
        )
        .unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.groups(), vec!["odd", "x_1"]);
        for bad in [
            "matmul(M=8,N=8,K=8)",
            "odd matmul(M=8,N=8",
            "a matmul(M=8,N=8,K=8)\nb matmul(K=8,N=8,M=8)",
            "1+2 matmul(M=8,N=8,K=8)",
        ] {
            assert!(Suite::parse("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folds_cover_every_workload() {
        let s = Suite::zoo().unwrap();
        let mut counts = [0usize; 5];
        for e in &s.entries {
            counts[fold(&e.workload, 5) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }
}
