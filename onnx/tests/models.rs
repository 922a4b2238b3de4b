//! The committed test models (`scripts/make-onnx-models`) against hand-computed task lists,
//! and the ONNX ResNet-50 against the shipped `resnet50` list.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tilegrad_onnx::{import, Import};

fn model(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/onnx")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(name: &str) -> Import {
    import(&model(name), &BTreeMap::new()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `<weight> <workload>` lines.
fn tasks(m: &Import) -> Vec<String> {
    m.tasks
        .iter()
        .map(|t| format!("{} {}", t.weight, t.workload))
        .collect()
}

/// `<count> <op>` (with `: reason` when there is one), in the importer's order.
fn untuned(m: &Import) -> Vec<String> {
    m.untuned
        .iter()
        .map(|u| {
            if u.reason.is_empty() {
                format!("{} {}", u.count, u.op)
            } else {
                format!("{} {}: {}", u.count, u.op, u.reason)
            }
        })
        .collect()
}

fn check(name: &str, want_tasks: &str, want_untuned: &[&str]) -> Import {
    let m = load(name);
    // Every task must have a sketch on the CPU, or `tilegrad tune model.onnx` would refuse it.
    let cpu = tilegrad_symbolic::Target::example_cpu();
    for t in &m.tasks {
        let s = tilegrad_templates::sketches(&t.workload, &cpu);
        assert!(
            s.is_ok_and(|s| !s.is_empty()),
            "no CPU sketch for {}",
            t.workload
        );
    }
    let want: Vec<String> = want_tasks
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    assert_eq!(tasks(&m), want, "{name}: tasks");
    assert_eq!(untuned(&m), want_untuned, "{name}: untuned");
    m
}

#[test]
fn resnet_style_cnn() {
    let m = check(
        "resnet_cnn.onnx",
        "
        1 conv2d(N=1,H=32,W=32,C=3,K=16,R=3,S=3,stride=1,pad=1)+bias+relu
        1 max_pool2d(N=1,H=32,W=32,C=16,R=2,S=2,stride=2,pad=0)
        2 conv2d(N=1,H=16,W=16,C=16,K=16,R=3,S=3,stride=1,pad=1)+bias+relu
        2 conv2d(N=1,H=16,W=16,C=16,K=16,R=3,S=3,stride=1,pad=1)+bias+res+relu
        1 conv2d(N=1,H=16,W=16,C=16,K=32,R=3,S=3,stride=2,pad=1)+bias+relu
        1 conv2d(N=1,H=8,W=8,C=32,K=32,R=3,S=3,stride=1,pad=1)+bias+res+relu
        1 conv2d(N=1,H=16,W=16,C=16,K=32,R=1,S=1,stride=2,pad=0)+bias
        1 global_avg_pool2d(N=1,H=8,W=8,C=32)
        1 matmul(M=1,N=10,K=32,trans_b=1)+bias
        ",
        &["1 Flatten"],
    );
    assert_eq!(m.coverage(), 1.0);
}

#[test]
fn mobilenet_v2_block() {
    let m = check(
        "mobilenet_v2_block.onnx",
        "
        2 conv2d(N=1,H=28,W=28,C=16,K=96,R=1,S=1,stride=1,pad=0)+bias+relu6
        1 conv2d(N=1,H=28,W=28,C=96,K=96,R=3,S=3,stride=1,pad=1,groups=96)+bias+relu6
        1 conv2d(N=1,H=28,W=28,C=96,K=16,R=1,S=1,stride=1,pad=0)+bias+res
        1 conv2d(N=1,H=28,W=28,C=96,K=96,R=3,S=3,stride=2,pad=1,groups=96)+bias+relu6
        1 conv2d(N=1,H=14,W=14,C=96,K=24,R=1,S=1,stride=1,pad=0)+bias
        1 conv2d(N=1,H=14,W=14,C=24,K=32,R=1,S=1,stride=1,pad=0)+bias+silu
        ",
        &[],
    );
    assert_eq!(m.coverage(), 1.0);
}

#[test]
fn transformer_block() {
    let m = check(
        "transformer_block.onnx",
        "
        2 layer_norm(M=16,N=64)
        3 matmul(M=16,N=64,K=64)+bias
        1 batch_matmul(B=4,M=16,N=16,K=16,trans_b=1)+scale(0.25)
        1 softmax(M=64,N=16)
        1 batch_matmul(B=4,M=16,N=16,K=16)
        1 matmul(M=16,N=64,K=64)+bias+res
        1 matmul(M=16,N=256,K=64,trans_b=1)+bias+gelu
        1 matmul(M=16,N=64,K=256)+bias+res
        ",
        &["6 Reshape", "4 Transpose"],
    );
    // Reshapes and transposes move data: no FLOPs.
    assert_eq!(m.untuned_flops, 0.0);
}

#[test]
fn resnet50_equals_the_shipped_list() {
    let m = load("resnet50.onnx");
    let shipped = tilegrad_datasets::networks::load("resnet50", 1).unwrap();
    let want: Vec<String> = shipped
        .iter()
        .map(|t| format!("{} {}", t.weight, t.workload))
        .collect();
    assert_eq!(tasks(&m), want);
    assert_eq!(untuned(&m), ["1 Flatten"]);
    assert_eq!(m.coverage(), 1.0);
}
