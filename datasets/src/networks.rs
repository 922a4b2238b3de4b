//! Network task lists: the distinct tuning tasks of the benchmark networks
//! (shared/reference/felix.md section 4), shipped as text under
//! `datasets/networks/<name>_b<batch>.txt` and embedded here.
//!
//! Format (version 1): one task per line, `<weight> <workload text>`, where
//! the weight is how often the task occurs in one forward pass (a positive
//! integer) and the workload is in canonical text form; `#` starts a comment
//! line; blank lines are ignored.
//!
//! Distinct-task counts match the Felix artifact's test for the four
//! networks it checks: ResNet-50 27, MobileNet-V2 32, R3D-18 17, DCGAN 10
//! (BatchNorm folded into conv weights plus a per-channel bias, pooling
//! included). ViT-B/32 has 11 and the LLaMA-7B block (+ lm_head) 11; the
//! layout transposes between attention heads are not separate tasks here
//! (they are pure data movement, assumed folded into the neighbouring
//! batch_matmul accesses).

use tilegrad_templates::Workload;

use crate::error::DatasetError;
use crate::lines::word_lines;

/// One tuning task: a workload and how often it occurs in the network.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The workload.
    pub workload: Workload,
    /// Occurrences per forward pass (>= 1).
    pub weight: u32,
}

/// Shipped lists: (network name, batch, text).
const LISTS: &[(&str, u32, &str)] = &[
    ("resnet50", 1, include_str!("../networks/resnet50_b1.txt")),
    ("resnet50", 16, include_str!("../networks/resnet50_b16.txt")),
    (
        "mobilenet_v2",
        1,
        include_str!("../networks/mobilenet_v2_b1.txt"),
    ),
    (
        "mobilenet_v2",
        16,
        include_str!("../networks/mobilenet_v2_b16.txt"),
    ),
    ("r3d_18", 1, include_str!("../networks/r3d_18_b1.txt")),
    ("r3d_18", 16, include_str!("../networks/r3d_18_b16.txt")),
    ("dcgan", 1, include_str!("../networks/dcgan_b1.txt")),
    ("dcgan", 16, include_str!("../networks/dcgan_b16.txt")),
    ("vit_b32", 1, include_str!("../networks/vit_b32_b1.txt")),
    ("vit_b32", 16, include_str!("../networks/vit_b32_b16.txt")),
    ("llama_7b", 1, include_str!("../networks/llama_7b_b1.txt")),
    ("llama_7b", 16, include_str!("../networks/llama_7b_b16.txt")),
];

/// Names of the shipped networks.
pub fn list() -> &'static [&'static str] {
    &[
        "resnet50",
        "mobilenet_v2",
        "r3d_18",
        "dcgan",
        "vit_b32",
        "llama_7b",
    ]
}

/// Batch sizes shipped for every network.
pub fn batches() -> &'static [u32] {
    &[1, 16]
}

/// The raw text of a shipped list.
pub fn text(name: &str, batch: u32) -> Result<&'static str, DatasetError> {
    LISTS
        .iter()
        .find(|(n, b, _)| *n == name && *b == batch)
        .map(|(_, _, t)| *t)
        .ok_or_else(|| DatasetError::UnknownNetwork {
            name: name.into(),
            batch,
            known: LISTS
                .iter()
                .map(|(n, b, _)| format!("{n}_b{b}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Loads the tasks of a shipped network at a batch size.
pub fn load(name: &str, batch: u32) -> Result<Vec<Task>, DatasetError> {
    parse(&format!("{name}_b{batch}"), text(name, batch)?)
}

/// Parses a task list; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Task>, DatasetError> {
    let mut tasks = Vec::new();
    for line in word_lines(file, text, "expected `<weight> <workload>`") {
        let line = line?;
        let weight = line.word;
        let weight: u32 = weight
            .parse()
            .map_err(|_| line.err(format!("weight `{weight}` is not a positive integer")))?;
        if weight == 0 {
            return Err(line.err("weight must be positive".into()));
        }
        tasks.push(Task {
            workload: line.workload()?,
            weight,
        });
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(name: &str, batch: u32) -> usize {
        load(name, batch).unwrap().len()
    }

    #[test]
    fn task_counts_match_felix() {
        for batch in [1, 16] {
            assert_eq!(count("resnet50", batch), 27);
            assert_eq!(count("mobilenet_v2", batch), 32);
            assert_eq!(count("r3d_18", batch), 17);
            assert_eq!(count("dcgan", batch), 10);
            assert_eq!(count("vit_b32", batch), 11);
            assert_eq!(count("llama_7b", batch), 11);
        }
    }

    #[test]
    fn every_line_is_canonical_distinct_and_positive() {
        for name in list() {
            for &batch in batches() {
                let text = text(name, batch).unwrap();
                let tasks = load(name, batch).unwrap();
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .collect();
                assert_eq!(lines.len(), tasks.len());
                for (line, task) in lines.iter().zip(&tasks) {
                    let printed = format!("{} {}", task.weight, task.workload);
                    assert_eq!(&printed, line, "{name}_b{batch}: not canonical");
                    assert!(task.workload.flops() > 0.0);
                    task.workload.compute().validate().unwrap();
                }
                let mut keys: Vec<_> = tasks.iter().map(|t| t.workload.key()).collect();
                keys.sort();
                keys.dedup();
                assert_eq!(keys.len(), tasks.len(), "{name}_b{batch}: duplicate tasks");
            }
        }
    }

    #[test]
    fn occurrence_weights_add_up() {
        // ResNet-50: 53 conv layers (incl. 4 downsample), 1 dense, 2 pools.
        let total: u32 = load("resnet50", 1).unwrap().iter().map(|t| t.weight).sum();
        assert_eq!(total, 53 + 1 + 2);
        // ViT-B/32: 12 layers × (2 LN, Q, K, V, scores, softmax, attn·V, O,
        // 2 MLP) + patch conv, pos add, final LN, head.
        let total: u32 = load("vit_b32", 16).unwrap().iter().map(|t| t.weight).sum();
        assert_eq!(total, 12 * 11 + 4);
        // Batch scales the leading dimension.
        let b1 = load("resnet50", 1).unwrap();
        let b16 = load("resnet50", 16).unwrap();
        for (a, b) in b1.iter().zip(&b16) {
            assert_eq!(a.weight, b.weight);
            assert!((b.workload.flops() / a.workload.flops() - 16.0).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_lists_give_errors() {
        assert!(matches!(
            load("resnet51", 1),
            Err(DatasetError::UnknownNetwork { .. })
        ));
        assert!(matches!(
            load("resnet50", 2),
            Err(DatasetError::UnknownNetwork { .. })
        ));
        let bad = |t: &str| parse("t", t).unwrap_err().to_string();
        assert!(bad("x matmul(M=1,N=1,K=1)").contains("t:1: weight `x`"));
        assert!(bad("# c\n0 matmul(M=1,N=1,K=1)").contains("t:2: weight must be positive"));
        assert!(bad("3").contains("expected `<weight> <workload>`"));
        assert!(bad("1 matmul(M=1,N=1)").contains("missing parameter `K`"));
    }

    #[test]
    fn workload_serde_is_its_text() {
        let w = load("dcgan", 1).unwrap().remove(0).workload;
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(json, format!("\"{w}\""));
        let back: Workload = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w);
        let key = serde_json::to_string(&w.key()).unwrap();
        assert_eq!(key, format!("\"{}\"", w.key()));
        assert!(serde_json::from_str::<Workload>("\"matmul(M=0,N=1,K=1)\"").is_err());
    }
}
