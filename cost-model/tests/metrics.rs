//! Calibration metrics on hand-made cases.

use tilegrad_cost_model::calibration;
use tilegrad_cost_model::metrics::{average_ranks, spearman};

fn check(
    labels: &[Option<f64>],
    preds: &[f32],
    pairwise: Option<f64>,
    rho: Option<f64>,
    top1: Option<f64>,
    top5: Option<f64>,
) {
    let tasks = vec!["t"; labels.len()];
    let c = calibration(&tasks, labels, preds).unwrap();
    let m = &c.per_task[0];
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    };
    assert!(
        close(m.pairwise_accuracy, pairwise),
        "pairwise {:?} vs {pairwise:?}",
        m.pairwise_accuracy
    );
    assert!(
        close(m.spearman, rho),
        "spearman {:?} vs {rho:?}",
        m.spearman
    );
    assert_eq!((m.top1_recall, m.top5_recall), (top1, top5));
}

#[test]
fn per_task_metrics() {
    let s = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    // perfect order
    check(
        &s(&[1.0, 2.0, 3.0]),
        &[0.1, 0.2, 0.3],
        Some(1.0),
        Some(1.0),
        Some(1.0),
        Some(1.0),
    );
    // reversed
    check(
        &s(&[1.0, 2.0, 3.0]),
        &[0.3, 0.2, 0.1],
        Some(0.0),
        Some(-1.0),
        Some(0.0),
        Some(1.0),
    );
    // the best is predicted 6th of 6: outside top-5
    check(
        &s(&[6.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
        &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        Some(10.0 / 15.0),
        Some(1.0 / 7.0),
        Some(0.0),
        Some(0.0),
    );
    // a failed candidate ranks last: predicting it last is correct
    check(
        &[Some(1.0), None, Some(2.0)],
        &[0.5, -1.0, 0.9],
        Some(1.0),
        Some(1.0),
        Some(1.0),
        Some(1.0),
    );
    // predicting the failed one best is wrong on both of its pairs
    check(
        &[Some(1.0), None, Some(2.0)],
        &[0.5, 3.0, 0.9],
        Some(1.0 / 3.0),
        Some(-0.5),
        Some(0.0),
        Some(1.0),
    );
    // all failed: no pairs, no best
    check(&[None, None], &[0.1, 0.2], None, None, None, None);
    // prediction ties count one half
    check(
        &s(&[1.0, 2.0]),
        &[0.5, 0.5],
        Some(0.5),
        None,
        Some(1.0),
        Some(1.0),
    );
}

#[test]
fn ranks_and_means_over_tasks() {
    assert_eq!(
        average_ranks(&[3.0, 1.0, 3.0, 2.0]),
        vec![3.5, 1.0, 3.5, 2.0]
    );
    assert_eq!(spearman(&[1.0], &[1.0]), None);
    let c = calibration(
        &["a", "a", "b", "b"],
        &[Some(1.0), Some(2.0), Some(1.0), Some(2.0)],
        &[0.0, 1.0, 1.0, 0.0],
    )
    .unwrap();
    assert_eq!(c.per_task.len(), 2);
    assert_eq!(c.pairwise_accuracy, Some(0.5));
    assert_eq!(c.top1_recall, Some(0.5));
    assert!(calibration(&["a"], &[], &[]).is_err());
}
