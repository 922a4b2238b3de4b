//! Does starting from a pre-trained model and fine-tuning it on a run's first measurements
//! rank the rest of the run better than fitting an untrained model on them (what
//! `--model none` does)? On the CPU pretraining logs, for every workload: a model trained
//! without that workload (4 folds over workloads), then the workload's first `n` logged
//! records as the run's measurements and the remaining ones as the test set.
//!
//! `cargo run --release -p tilegrad-search --example pretrain_finetune -- results/cpu/pretrain/gradient.jsonl [EPOCHS LR]`
//! (fine-tuning epochs and learning rate; default [`FitOptions::finetune`]'s).

use std::collections::BTreeMap;

use tilegrad_cost_model::{evaluate, CostModel, EnsembleModel, FitOptions, MlpConfig, Sample};
use tilegrad_datasets::{Record, TuningLog};
use tilegrad_search::pretrain::{pretrain, training_set, PretrainConfig};
use tilegrad_search::{feature_spec, Result};
use tilegrad_symbolic::Target;

fn samples(records: &[Record], target: &Target) -> Result<Vec<Sample>> {
    Ok(training_set(records, target)?.samples)
}

fn spearman(model: &dyn CostModel, test: &[Sample]) -> Option<f64> {
    evaluate(model, test).ok().and_then(|c| c.spearman)
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or("results/cpu/pretrain/gradient.jsonl".into());
    let records = TuningLog::read(std::path::Path::new(&path))
        .map_err(|e| tilegrad_search::SearchError::Log(e.to_string()))?
        .records;
    let target = tilegrad_measure::host_cpu(records.first().map(|r| r.target.units));
    let mut by_workload: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for r in &records {
        by_workload
            .entry(r.workload.clone())
            .or_default()
            .push(r.clone());
    }
    let names: Vec<String> = by_workload.keys().cloned().collect();
    let folds = 4;
    let arg = |i: usize| std::env::args().nth(i);
    let base_ft = FitOptions::finetune();
    let epochs = arg(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(base_ft.max_epochs);
    let lr = arg(3).and_then(|a| a.parse().ok()).unwrap_or(base_ft.lr);
    println!("fine-tuning: {epochs} epochs, lr {lr}");
    let cfg = PretrainConfig {
        hidden: Some(128),
        folds: 0,
        fit: FitOptions {
            rank_weight: 1.0,
            ..FitOptions::default()
        },
        ..PretrainConfig::default()
    };
    // rows: (n first, [pretrained, pretrained+finetune, untrained fitted])
    let mut sums: BTreeMap<usize, [Vec<f64>; 3]> = BTreeMap::new();
    for f in 0..folds {
        let train: Vec<Record> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != f)
            .flat_map(|(_, n)| by_workload[n].clone())
            .collect();
        let (base, _) = pretrain(&samples(&train, &target)?, "cpu:fold", &cfg)?;
        for (i, n) in names.iter().enumerate().filter(|(i, _)| i % folds == f) {
            let recs = &by_workload[n];
            for first in [8usize, 16, 24] {
                let seen = samples(&recs[..first], &target)?;
                let test = samples(&recs[first..], &target)?;
                let ft = FitOptions {
                    seed: i as u64,
                    max_epochs: epochs,
                    lr,
                    ..FitOptions::finetune()
                };
                let mut tuned = base.clone();
                tuned
                    .fit(&seen, &ft)
                    .map_err(|e| tilegrad_search::SearchError::Model(e.to_string()))?;
                let mut cold = EnsembleModel::new(
                    &feature_spec(),
                    "cpu:cold",
                    MlpConfig {
                        seed: i as u64,
                        ..MlpConfig::default()
                    },
                    3,
                )
                .map_err(|e| tilegrad_search::SearchError::Model(e.to_string()))?;
                cold.fit(&seen, &ft)
                    .map_err(|e| tilegrad_search::SearchError::Model(e.to_string()))?;
                let row = sums.entry(first).or_default();
                for (k, m) in [&base as &dyn CostModel, &tuned, &cold]
                    .into_iter()
                    .enumerate()
                {
                    if let Some(s) = spearman(m, &test) {
                        row[k].push(s);
                    }
                }
            }
        }
    }
    println!(
        "mean Spearman on each workload's later records ({} workloads):",
        names.len()
    );
    println!("first n | pretrained | pretrained+finetune | untrained fitted on n");
    for (n, r) in &sums {
        let m = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
        println!(
            "{n:7} | {:10.3} | {:19.3} | {:21.3}",
            m(&r[0]),
            m(&r[1]),
            m(&r[2])
        );
    }
    Ok(())
}
