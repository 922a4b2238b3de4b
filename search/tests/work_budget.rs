//! The work of one gradient-search round stays under `GradientConfig::work_budget`, counted
//! in rows through the tape and the model (never in wall time), on the workload whose rounds
//! once took 80 s (conv2d 14x14, C 80, K 480, 1x1: many prime-exponent coordinates and
//! mixed-sign register constraints); a budgeted round still depends on the seed alone.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tilegrad_search::tuner::TunerModel;
use tilegrad_search::work::planned;
use tilegrad_search::{
    GradientConfig, GradientSearch, ModelObjective, Objective, Proposal, SearchPolicy, SeenSet,
};
use tilegrad_symbolic::Target;
use tilegrad_templates::{sketches, Workload};

const CONV_1X1: &str = "conv2d(N=1,H=14,W=14,C=80,K=480,R=1,S=1,stride=1,pad=0)+bias";

fn round(model: &TunerModel, config: GradientConfig, seed: u64) -> (Vec<Proposal>, usize) {
    let target = Target::example_cpu();
    let w: Workload = CONV_1X1.parse().unwrap();
    let objs: Vec<ModelObjective> = sketches(&w, &target)
        .unwrap()
        .into_iter()
        .map(|s| ModelObjective::build(Arc::new(s), &target, model.as_ref()).unwrap())
        .collect();
    let tasks: Vec<&dyn Objective> = objs.iter().map(|o| o as &dyn Objective).collect();
    let mut g = GradientSearch::new(config).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let picks = g.propose(&tasks, &SeenSet::new(), 8, &mut rng).unwrap();
    (picks, g.last_work().units())
}

fn model() -> TunerModel {
    TunerModel::pretrained_for(&Target::example_cpu())
        .unwrap()
        .expect("a shipped CPU model")
}

#[test]
fn a_round_on_the_1x1_conv_stays_within_the_work_budget() {
    let model = model();
    let c = GradientConfig::default();
    let (picks, units) = round(&model, c, 0);
    assert_eq!(picks.len(), 8);
    assert!(
        units > 0 && units <= c.work_budget,
        "{units} > {}",
        c.work_budget
    );
    // Three sketches at full share fit the default budget: nothing was scaled down.
    assert!(3 * planned(&c, 1.0).units() <= c.work_budget);

    let tight = GradientConfig {
        work_budget: 3000,
        ..c
    };
    let (picks, small) = round(&model, tight, 0);
    assert_eq!(picks.len(), 8);
    assert!(
        small <= tight.work_budget,
        "{small} > {}",
        tight.work_budget
    );
    assert!(small < units / 2, "{small} vs {units}");
}

#[test]
fn a_budgeted_round_depends_on_the_seed_alone() {
    let model = model();
    let c = GradientConfig {
        work_budget: 3000,
        ..GradientConfig::default()
    };
    let texts = |p: Vec<Proposal>| -> Vec<String> {
        p.iter()
            .map(|p| format!("{}:{}", p.sketch, p.assignment))
            .collect()
    };
    let a = texts(round(&model, c, 7).0);
    let b = texts(round(&model, c, 7).0);
    assert_eq!(a, b);
}
