//! The training loop: mini-batches grouped by task, regression + RankNet loss, early stopping.

use std::collections::HashMap;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::batch::Sample;
use crate::error::{CostModelError, Result};
use crate::model::{FitOptions, FitReport};
use crate::net::{Net, NetInput};
use crate::norm::Normalizer;

/// Samples prepared once per fit: normalised rows, labels, task ids.
pub(crate) struct Prepared {
    data: Vec<Vec<f32>>,
    labels: Vec<Option<f32>>,
    tasks: Vec<u32>,
    /// Per task id: the lowest normalised label minus a margin (target ceiling for failures).
    floors: Vec<Option<f32>>,
    n_features: usize,
}

/// Failed candidates are pushed below their task's worst success by this many label stds.
const FAIL_MARGIN: f32 = 0.5;

impl Prepared {
    pub(crate) fn new(samples: &[Sample], norm: &Normalizer, n_features: usize) -> Self {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut tasks = Vec::with_capacity(samples.len());
        for s in samples {
            let next = ids.len() as u32;
            tasks.push(*ids.entry(s.task.as_str()).or_insert(next));
        }
        let labels: Vec<Option<f32>> = samples
            .iter()
            .map(|s| s.label.map(|l| norm.label(l)))
            .collect();
        let mut floors: Vec<Option<f32>> = vec![None; ids.len()];
        for (t, l) in tasks.iter().zip(&labels) {
            if let Some(l) = l {
                let f = &mut floors[*t as usize];
                *f = Some(f.map_or(*l, |x: f32| x.min(*l)));
            }
        }
        floors.iter_mut().flatten().for_each(|f| *f -= FAIL_MARGIN);
        Self {
            data: samples
                .iter()
                .map(|s| norm.apply(&s.features.rows))
                .collect(),
            labels,
            tasks,
            floors,
            n_features,
        }
    }
}

/// The tensors of one mini-batch.
struct Batch {
    input: NetInput,
    lab_idx: Option<(Tensor<1, Int>, Tensor<1>)>,
    fail_idx: Option<(Tensor<1, Int>, Tensor<1>)>,
    pairs: Option<(Tensor<1, Int>, Tensor<1, Int>)>,
}

fn int_tensor(v: Vec<i64>, dev: &Device) -> Tensor<1, Int> {
    let n = v.len();
    Tensor::<1, Int>::from_data(TensorData::new(v, [n]), dev)
}

fn make_batch(
    p: &Prepared,
    idx: &[usize],
    max_pairs: usize,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> Batch {
    let mut data = Vec::new();
    let mut offsets = vec![0usize];
    for &i in idx {
        data.extend_from_slice(&p.data[i]);
        offsets.push(data.len() / p.n_features.max(1));
    }
    let input = NetInput::new(data, p.n_features, &offsets, dev);
    let (mut li, mut ly, mut fi, mut fy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, &i) in idx.iter().enumerate() {
        if let Some(y) = p.labels[i] {
            li.push(k as i64);
            ly.push(y);
        } else if let Some(floor) = p.floors[p.tasks[i] as usize] {
            fi.push(k as i64);
            fy.push(floor);
        }
    }
    let pack = |i: Vec<i64>, y: Vec<f32>| {
        let n = y.len();
        (n > 0).then(|| {
            (
                int_tensor(i, dev),
                Tensor::<1>::from_data(TensorData::new(y, [n]), dev),
            )
        })
    };
    let lab_idx = pack(li, ly);
    let fail_idx = pack(fi, fy);
    // Ranking pairs within a task: (better, worse); a failed candidate is worse than any success.
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    for a in 0..idx.len() {
        for b in a + 1..idx.len() {
            if p.tasks[idx[a]] != p.tasks[idx[b]] {
                continue;
            }
            let ya = p.labels[idx[a]].unwrap_or(f32::NEG_INFINITY);
            let yb = p.labels[idx[b]].unwrap_or(f32::NEG_INFINITY);
            if ya > yb {
                pairs.push((a as i64, b as i64));
            } else if yb > ya {
                pairs.push((b as i64, a as i64));
            }
        }
    }
    if pairs.len() > max_pairs {
        pairs.shuffle(rng);
        pairs.truncate(max_pairs);
    }
    let pairs = (!pairs.is_empty()).then(|| {
        let (hi, lo): (Vec<i64>, Vec<i64>) = pairs.into_iter().unzip();
        (int_tensor(hi, dev), int_tensor(lo, dev))
    });
    Batch {
        input,
        lab_idx,
        fail_idx,
        pairs,
    }
}

fn batch_loss(net: &Net, b: Batch, opts: &FitOptions) -> Option<Tensor<1>> {
    let n = b.input.n_programs;
    let out = net.forward(b.input).reshape([n]);
    let mut loss: Option<Tensor<1>> = None;
    if let (Some((li, ly)), true) = (b.lab_idx, opts.reg_weight > 0.0) {
        let l = (out.clone().select(0, li) - ly).square().mean() * opts.reg_weight;
        loss = Some(l);
    }
    // A failed candidate is only penalised when it scores above its task's floor.
    if let (Some((fi, fy)), true) = (b.fail_idx, opts.fail_weight > 0.0) {
        let l = relu(out.clone().select(0, fi) - fy).square().mean() * opts.fail_weight;
        loss = Some(match loss {
            Some(x) => x + l,
            None => l,
        });
    }
    if let (Some((hi, lo)), true) = (b.pairs, opts.rank_weight > 0.0) {
        let d = out.clone().select(0, lo) - out.select(0, hi);
        let l = softplus(d, 1.0).mean() * opts.rank_weight;
        loss = Some(match loss {
            Some(x) => x + l,
            None => l,
        });
    }
    loss
}

/// Orders indices so that each task's samples are contiguous (shuffled within and across tasks),
/// then cuts them into mini-batches.
fn epoch_batches(
    p: &Prepared,
    train: &[usize],
    batch_size: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut by_task: HashMap<u32, Vec<usize>> = HashMap::new();
    for &i in train {
        by_task.entry(p.tasks[i]).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_task.into_values().collect();
    groups.sort_by_key(|g| g[0]);
    let mut chunks = Vec::new();
    for g in &mut groups {
        g.shuffle(rng);
        chunks.extend(g.chunks(batch_size).map(<[usize]>::to_vec));
    }
    chunks.shuffle(rng);
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut cur = Vec::new();
    for c in chunks {
        if !cur.is_empty() && cur.len() + c.len() > batch_size {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn eval_loss(net: &Net, p: &Prepared, idx: &[usize], opts: &FitOptions, seed: u64) -> f64 {
    let inner = net.valid();
    let dev = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    let mut n = 0usize;
    for chunk in idx.chunks(4096) {
        let b = make_batch(p, chunk, opts.max_pairs, &mut rng, &dev);
        if let Some(l) = batch_loss(&inner, b, opts) {
            total += l.into_scalar::<f32>() as f64 * chunk.len() as f64;
            n += chunk.len();
        }
    }
    if n == 0 {
        0.0
    } else {
        total / n as f64
    }
}

/// Trains `net` (on the autodiff device `dev`) and returns the best weights seen.
pub(crate) fn train(
    mut net: Net,
    p: &Prepared,
    opts: &FitOptions,
    dev: &Device,
) -> Result<(Net, FitReport)> {
    if opts.batch_size == 0 || opts.max_epochs == 0 || opts.lr <= 0.0 {
        return Err(CostModelError::InvalidConfig(
            "batch_size, max_epochs and lr must be positive".into(),
        ));
    }
    let n = p.data.len();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let n_val = if n >= 20 && opts.val_fraction > 0.0 {
        ((n as f64 * opts.val_fraction).ceil() as usize).clamp(1, n / 2)
    } else {
        0
    };
    let (val, train) = order.split_at(n_val);
    let val_seed: u64 = rng.random();

    let mut cfg = AdamConfig::new();
    if opts.weight_decay > 0.0 {
        cfg = cfg.with_weight_decay(Some(WeightDecayConfig::new(opts.weight_decay as f32)));
    }
    if opts.grad_clip > 0.0 {
        cfg = cfg.with_grad_clipping(Some(GradientClippingConfig::Norm(opts.grad_clip as f32)));
    }
    let mut optim = cfg.init();
    let mut lr = opts.lr;
    let mut report = FitReport {
        epochs: 0,
        train_loss: Vec::new(),
        val_loss: Vec::new(),
        best_loss: f64::INFINITY,
        stopped_early: false,
        n_samples: n,
    };
    let mut best = net.clone();
    let mut stale = 0usize;
    for _ in 0..opts.max_epochs {
        let (mut sum, mut cnt) = (0.0, 0usize);
        for idx in epoch_batches(p, train, opts.batch_size, &mut rng) {
            let b = make_batch(p, &idx, opts.max_pairs, &mut rng, dev);
            let Some(loss) = batch_loss(&net, b, opts) else {
                continue;
            };
            sum += loss.clone().into_scalar::<f32>() as f64 * idx.len() as f64;
            cnt += idx.len();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
        }
        let train_loss = if cnt > 0 { sum / cnt as f64 } else { 0.0 };
        report.train_loss.push(train_loss);
        report.epochs += 1;
        let monitored = if val.is_empty() {
            train_loss
        } else {
            let v = eval_loss(&net, p, val, opts, val_seed);
            report.val_loss.push(v);
            v
        };
        if !monitored.is_finite() {
            break;
        }
        let improved = !report.best_loss.is_finite()
            || monitored < report.best_loss - 1e-4 * report.best_loss.abs().max(1e-3);
        if improved {
            report.best_loss = monitored;
            best = net.clone();
            stale = 0;
        } else {
            stale += 1;
            if stale.is_multiple_of((opts.patience / 2).max(1)) {
                lr *= 0.5;
            }
            if stale >= opts.patience {
                report.stopped_early = true;
                break;
            }
        }
    }
    Ok((best, report))
}
