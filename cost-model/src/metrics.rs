//! Calibration metrics per task: pairwise accuracy, Spearman, top-1 / top-5 recall of the best.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::batch::{batch_of, Sample};
use crate::error::{CostModelError, Result};
use crate::model::CostModel;

/// Metrics of one task. Failed candidates (no label) rank below every success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// Task key.
    pub task: String,
    /// Programs in the task.
    pub n: usize,
    /// Share of pairs with different true rank that the model orders correctly (ties count 1/2).
    pub pairwise_accuracy: Option<f64>,
    /// Spearman rank correlation of predictions and truth.
    pub spearman: Option<f64>,
    /// 1 if the truly best program is the model's top-1, else 0 (None without successes).
    pub top1_recall: Option<f64>,
    /// 1 if the truly best program is in the model's top-5, else 0.
    pub top5_recall: Option<f64>,
}

/// Per-task metrics and their unweighted means over the tasks where they are defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// One entry per task, sorted by task key.
    pub per_task: Vec<TaskMetrics>,
    /// Mean pairwise accuracy.
    pub pairwise_accuracy: Option<f64>,
    /// Mean Spearman correlation.
    pub spearman: Option<f64>,
    /// Mean top-1 recall.
    pub top1_recall: Option<f64>,
    /// Mean top-5 recall.
    pub top5_recall: Option<f64>,
}

/// Average ranks (1-based, ties share their mean rank).
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman correlation (None when fewer than 2 values or either side is constant).
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || a.len() != b.len() {
        return None;
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut c, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        c += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 0.0 && vb > 0.0).then(|| c / (va * vb).sqrt())
}

fn task_metrics(task: &str, labels: &[Option<f64>], preds: &[f64]) -> TaskMetrics {
    let truth: Vec<f64> = labels
        .iter()
        .map(|l| l.unwrap_or(f64::NEG_INFINITY))
        .collect();
    let (mut good, mut total) = (0.0, 0usize);
    for i in 0..truth.len() {
        for j in i + 1..truth.len() {
            if truth[i] == truth[j] {
                continue;
            }
            total += 1;
            let (t, p) = (truth[i] - truth[j], preds[i] - preds[j]);
            if p == 0.0 {
                good += 0.5;
            } else if (t > 0.0) == (p > 0.0) {
                good += 1.0;
            }
        }
    }
    // Failed candidates share the lowest rank; keep them finite for the rank computation.
    let finite: Vec<f64> = truth
        .iter()
        .map(|&t| if t.is_finite() { t } else { f64::MIN })
        .collect();
    let best = (0..truth.len())
        .filter(|&i| truth[i].is_finite())
        .max_by(|&a, &b| truth[a].total_cmp(&truth[b]));
    let recall = |k: usize| {
        best.map(|b| {
            let above = preds.iter().filter(|&&p| p > preds[b]).count();
            if above < k {
                1.0
            } else {
                0.0
            }
        })
    };
    TaskMetrics {
        task: task.to_string(),
        n: truth.len(),
        pairwise_accuracy: (total > 0).then(|| good / total as f64),
        spearman: spearman(&finite, preds),
        top1_recall: recall(1),
        top5_recall: recall(5),
    }
}

fn mean_of(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let xs: Vec<f64> = v.flatten().collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Metrics from task keys, true labels (None = failed) and predicted scores, aligned by index.
pub fn calibration(tasks: &[&str], labels: &[Option<f64>], preds: &[f32]) -> Result<Calibration> {
    if tasks.len() != labels.len() || tasks.len() != preds.len() {
        return Err(CostModelError::MalformedFeatures(
            "tasks, labels and predictions differ in length".into(),
        ));
    }
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in tasks.iter().enumerate() {
        groups.entry(t).or_default().push(i);
    }
    let per_task: Vec<TaskMetrics> = groups
        .into_iter()
        .map(|(t, idx)| {
            let l: Vec<Option<f64>> = idx.iter().map(|&i| labels[i]).collect();
            let p: Vec<f64> = idx.iter().map(|&i| preds[i] as f64).collect();
            task_metrics(t, &l, &p)
        })
        .collect();
    Ok(Calibration {
        pairwise_accuracy: mean_of(per_task.iter().map(|m| m.pairwise_accuracy)),
        spearman: mean_of(per_task.iter().map(|m| m.spearman)),
        top1_recall: mean_of(per_task.iter().map(|m| m.top1_recall)),
        top5_recall: mean_of(per_task.iter().map(|m| m.top5_recall)),
        per_task,
    })
}

/// Scores `samples` with `model` and computes the calibration metrics.
pub fn evaluate(model: &dyn CostModel, samples: &[Sample]) -> Result<Calibration> {
    let batch = batch_of(model.n_features(), samples)?;
    let preds = model.predict(&batch)?;
    let tasks: Vec<&str> = samples.iter().map(|s| s.task.as_str()).collect();
    let labels: Vec<Option<f64>> = samples.iter().map(|s| s.label).collect();
    calibration(&tasks, &labels, &preds)
}
