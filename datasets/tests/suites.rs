//! The shipped model-zoo suite (`datasets/suites/zoo.txt`) parses, is canonical and covers
//! what it claims to.

use std::collections::HashSet;

use tilegrad_datasets::{networks, suites, Suite};

#[test]
fn the_zoo_suite_parses_and_is_canonical() {
    let suite = Suite::zoo().expect("zoo.txt parses");
    let on_disk =
        Suite::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/zoo.txt"))
            .expect("the file on disk parses");
    assert_eq!(suite, on_disk);
    // Every line is written in canonical text (so `--only` substrings match what is printed).
    for line in suites::ZOO
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let text = line.split_once(' ').unwrap().1;
        let w: tilegrad_templates::Workload = text.parse().unwrap();
        assert_eq!(w.to_string(), text, "not canonical");
    }
    let texts: HashSet<String> = suite
        .entries
        .iter()
        .map(|e| e.workload.to_string())
        .collect();
    assert_eq!(texts.len(), suite.entries.len(), "duplicates");
    // Every distinct task of every shipped network at batch 1.
    for name in networks::list() {
        for t in networks::load(name, 1).unwrap() {
            assert!(
                texts.contains(&t.workload.to_string()),
                "{name}: {} missing",
                t.workload
            );
        }
    }
    // The decode set and the odd extents.
    for w in [
        "matmul(M=1,N=4096,K=4096,trans_b=1)",
        "matmul(M=16,N=11008,K=4096,trans_b=1)+silu",
        "matmul(M=1,N=32000,K=4096,trans_b=1)",
        "matmul(M=97,N=1000,K=4099)",
        "matmul(M=100,N=1024,K=1024,trans_b=1)",
        "matmul(M=1,N=1000,K=1280,trans_b=1)+bias",
        "matmul(M=128,N=256,K=512,trans_a=1)",
        "conv2d(N=1,H=56,W=56,C=24,K=144,R=1,S=1,stride=1,pad=0)+bias+silu",
        "conv2d(N=1,H=7,W=7,C=1152,K=1152,R=5,S=5,stride=1,pad=2,groups=1152)+bias+silu",
    ] {
        assert!(texts.contains(w), "{w} missing");
    }
    let groups = suite.groups();
    assert!(
        groups.contains(&"llama_7b_decode") && groups.contains(&"odd"),
        "{groups:?}"
    );
    assert_eq!(suite.entries.len(), 128);
}
