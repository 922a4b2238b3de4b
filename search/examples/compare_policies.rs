//! Compares the search policies on the synthetic objectives, seeded: evaluations used and
//! best exact score found.
//!
//! `cargo run --release -p tilegrad-search --example compare_policies`

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::synthetic::{tiled_space, LogModel, Quadratic, Roofline, Synthetic};
use tilegrad_search::{
    EvolutionConfig, EvolutionarySearch, GradientConfig, GradientSearch, LbfgsConfig, Optimizer,
    RandomConfig, RandomSearch, Result, SearchPolicy, SeenSet,
};

fn large_quadratic() -> Result<Synthetic<Quadratic>> {
    let space = tiled_space(
        &[("a", 2304, 3), ("b", 2304, 3), ("c", 1024, 2)],
        &[("u", &[1, 2, 4, 8, 16, 32, 64, 128])],
    )?;
    let target =
        space.parse_assignment("a_0=8,a_1=12,a_2=2,b_0=3,b_1=16,b_2=4,c_0=32,c_1=4,u=16")?;
    Quadratic::objective(space, &target, &[])
}

/// One round of `k = 32` proposals from a fresh objective; prints the counts and best score.
fn row<M: LogModel>(
    label: &str,
    policy_label: &str,
    make: &dyn Fn() -> Result<Synthetic<M>>,
    policy: &mut dyn SearchPolicy,
    seed: u64,
) -> Result<()> {
    let obj = make()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let props = policy.propose(&[&obj], &SeenSet::new(), 32, &mut rng)?;
    let best = props
        .iter()
        .map(|p| p.predicted)
        .fold(f64::NEG_INFINITY, f64::max);
    println!(
        "{label:<10} {policy_label:<26} seed {seed}: relaxed {:>6}  exact {:>6}  best {best:>9.4}",
        obj.counters().relaxed_rows(),
        obj.counters().exact_rows(),
    );
    Ok(())
}

fn policies() -> Result<Vec<(String, Box<dyn SearchPolicy>)>> {
    let base = GradientConfig {
        n_starts: 32,
        n_steps: 40,
        epsilon: 0.0,
        kappa: 0.0,
        ..GradientConfig::default()
    };
    Ok(vec![
        (
            "adam".into(),
            Box::new(GradientSearch::new(base)?) as Box<dyn SearchPolicy>,
        ),
        (
            "adam-nopolish".into(),
            Box::new(GradientSearch::new(GradientConfig {
                polish_top: 0,
                ..base
            })?),
        ),
        (
            "adam-exponent-round-only".into(),
            Box::new(GradientSearch::new(GradientConfig {
                value_rounding: false,
                polish_top: 0,
                ..base
            })?),
        ),
        (
            "lbfgs".into(),
            Box::new(GradientSearch::new(GradientConfig {
                n_starts: 8,
                n_steps: 30,
                optimizer: Optimizer::Lbfgs(LbfgsConfig::default()),
                ..base
            })?),
        ),
        (
            "evolutionary".into(),
            Box::new(EvolutionarySearch::new(EvolutionConfig {
                population: 256,
                generations: 4,
                epsilon: 0.0,
                ..EvolutionConfig::default()
            })?),
        ),
        (
            "random-2k".into(),
            Box::new(RandomSearch::new(RandomConfig {
                oversample: 64,
                rank_by_model: true,
                kappa: 0.0,
            })?),
        ),
        (
            "random-32k".into(),
            Box::new(RandomSearch::new(RandomConfig {
                oversample: 1024,
                rank_by_model: true,
                kappa: 0.0,
            })?),
        ),
    ])
}

fn main() -> Result<()> {
    for seed in 0..3 {
        for (label, mut p) in policies()? {
            row("quadratic", &label, &large_quadratic, p.as_mut(), seed)?;
        }
        for (label, mut p) in policies()? {
            row(
                "roofline",
                &label,
                &|| Roofline::matmul(1024, 1024, 512),
                p.as_mut(),
                seed,
            )?;
        }
    }
    Ok(())
}
