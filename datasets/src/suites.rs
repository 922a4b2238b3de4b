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
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |msg: String| DatasetError::TaskLine {
                file: file.into(),
                line: i + 1,
                msg,
            };
            let (group, rest) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| err("expected `<group> <workload>`".into()))?;
            if group.contains('(') || !group.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(err(format!(
                    "group `{group}` must be a word (letters, digits, `_`)"
                )));
            }
            let workload: Workload =
                rest.trim()
                    .parse()
                    .map_err(|source| DatasetError::Workload {
                        file: file.into(),
                        line: i + 1,
                        source,
                    })?;
            workload
                .validate()
                .map_err(|source| DatasetError::Workload {
                    file: file.into(),
                    line: i + 1,
                    source,
                })?;
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
