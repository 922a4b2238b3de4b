//! Workload text form, validation errors, keys, FLOPs and compute structure.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tilegrad_templates::{
    Combiner, Conv2d, DType, EpilogueOp, IndexExpr, Matmul, Op, TemplateError, ValueExpr, Workload,
    WorkloadKey,
};

const CANONICAL: &[&str] = &[
    "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu",
    "matmul(M=512,N=512,K=512)",
    "batch_matmul(B=12,M=50,N=50,K=64,trans_b=1)+scale(0.125)",
    "conv2d(N=1,H=112,W=112,C=32,K=32,R=3,S=3,stride=1,pad=1,groups=32)+bias+relu6",
    "conv2d(N=1,H=9,W=9,C=8,K=8,R=3,S=3,stride=1,pad=2,dilation=2,groups=2)",
    "conv2d_transpose(N=1,H=4,W=4,C=512,K=256,R=4,S=4,stride=2,pad=1,output_pad=1)+bias+relu",
    "conv3d(N=1,D=16,H=112,W=112,C=3,K=64,T=3,R=7,S=7,stride_d=1,stride=2,pad_d=1,pad=3)+bias+relu",
    "max_pool2d(N=1,H=128,W=128,C=64,R=3,S=3,stride=2,pad=1)",
    "avg_pool2d(N=1,H=8,W=8,C=4,R=2,S=2,stride=2,pad=0)",
    "global_avg_pool2d(N=1,H=8,W=8,C=2048)",
    "global_avg_pool3d(N=1,D=2,H=7,W=7,C=512)",
    "softmax(M=3200,N=100)",
    "layer_norm(M=50,N=768)+res",
    "rms_norm(M=100,N=4096)",
    "elemwise(M=100,N=11008)+silu+mul",
    "add(B=16,M=50,N=768,bcast_b=1)",
    "maximum(M=4,N=4,bcast_m=1,bcast_n=1)+clip(-0.5,6)+leaky_relu(0.2)",
    "rope(B=32,M=100,N=128)",
    "batch_matmul(B=32,M=100,N=100,K=128,trans_b=1)+scale(0.08838834764831845)+causal",
    "matmul(M=1,N=1000,K=2048,trans_a=1,trans_b=1)+bias+gelu+sigmoid+tanh",
];

#[test]
fn canonical_text_prints_back_identically() {
    for s in CANONICAL {
        let w: Workload = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(&w.to_string(), s);
        assert_eq!(w.to_string().parse::<Workload>().unwrap(), w);
    }
}

#[test]
fn non_canonical_text_normalises() {
    let check = |input: &str, canonical: &str| {
        let w: Workload = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(w.to_string(), canonical, "from {input}");
    };
    let conv = "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)";
    check("conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,pad=1)", conv);
    check(
        "conv2d(pad=1,S=3,R=3,K=64,C=64,W=56,H=56,N=1,groups=1,dilation=1)",
        conv,
    );
    check(
        " conv2d ( N = 1, H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1 ) ",
        conv,
    );
    check(
        "matmul(M=2,N=3,K=4,trans_a=0,dtype=f32)+scale(0.50)",
        "matmul(M=2,N=3,K=4)+scale(0.5)",
    );
    check("add(B=1,M=2,N=3)+clip(0,6.0)", "add(M=2,N=3)+clip(0,6)");
    check(
        "max_pool2d(N=1,H=4,W=4,C=1,R=2,S=2)",
        "max_pool2d(N=1,H=4,W=4,C=1,R=2,S=2,stride=1,pad=0)",
    );
}

/// A random valid workload (for the round-trip property).
fn random_workload(rng: &mut ChaCha8Rng) -> Workload {
    let d = |rng: &mut ChaCha8Rng| rng.random_range(1..=64usize);
    let op = match rng.random_range(0..3) {
        0 => Op::Matmul(Matmul {
            m: d(rng),
            n: d(rng),
            k: d(rng),
            trans_a: rng.random(),
            trans_b: rng.random(),
        }),
        _ => {
            let groups = rng.random_range(1..=4usize);
            let r = rng.random_range(1..=5usize);
            Op::Conv2d(Conv2d {
                n: rng.random_range(1..=4),
                h: r + d(rng),
                w: r + d(rng),
                c: groups * rng.random_range(1..=8),
                k: groups * rng.random_range(1..=8),
                r,
                s: r,
                stride: rng.random_range(1..=3),
                pad: rng.random_range(0..=r / 2),
                dilation: 1,
                groups,
            })
        }
    };
    let steps = [
        EpilogueOp::Bias,
        EpilogueOp::Relu,
        EpilogueOp::Residual,
        EpilogueOp::Scale(rng.random_range(-4.0..4.0)),
        EpilogueOp::Clip { lo: -1.5, hi: 2.25 },
        EpilogueOp::LeakyRelu(rng.random_range(0.0..1.0)),
        EpilogueOp::Gelu,
    ];
    let n = rng.random_range(0..4);
    let epi = (0..n)
        .map(|_| steps[rng.random_range(0..steps.len())])
        .collect();
    Workload::new(op, DType::F32, epi).unwrap()
}

#[test]
fn parse_of_print_is_identity_on_random_workloads() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for _ in 0..500 {
        let w = random_workload(&mut rng);
        let text = w.to_string();
        let back: Workload = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(back, w, "{text}");
        assert_eq!(back.key(), w.key());
    }
}

#[test]
fn keys_are_stable_fnv1a() {
    // Standard FNV-1a 64 test vectors.
    assert_eq!(WorkloadKey::of_text("").to_string(), "cbf29ce484222325");
    assert_eq!(WorkloadKey::of_text("a").to_string(), "af63dc4c8601ec8c");
    assert_eq!(
        WorkloadKey::of_text("foobar").to_string(),
        "85944171f73967e8"
    );
    // Fixed keys of canonical workloads (computed once; must never change).
    let fixed = [
        (CANONICAL[0], "dfad0297e2c50ee5"),
        (CANONICAL[1], "3a990984ef245a67"),
        (CANONICAL[2], "91f2c80dd0e0a19b"),
        (CANONICAL[3], "ee14cfa2e61ca23b"),
    ];
    for (text, key) in fixed {
        let w: Workload = text.parse().unwrap();
        assert_eq!(w.key().to_string(), key, "{text}");
        assert_eq!(key.parse::<WorkloadKey>().unwrap(), w.key());
    }
    // Non-canonical spellings of the same workload share the key.
    let w: Workload = "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,pad=1)+bias+relu"
        .parse()
        .unwrap();
    assert_eq!(w.key().to_string(), "dfad0297e2c50ee5");
    assert!("xyz".parse::<WorkloadKey>().is_err());
    assert!("dfad0297e2c50ee".parse::<WorkloadKey>().is_err());
    assert!("+fad0297e2c50ee5".parse::<WorkloadKey>().is_err());
}

fn err(text: &str) -> TemplateError {
    match text.parse::<Workload>() {
        Ok(w) => panic!("{text} parsed as {w}"),
        Err(e) => e,
    }
}

#[test]
fn bad_input_gets_an_error_naming_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("convolution(N=1)", "unknown operator `convolution`"),
        (
            "conv2d(N=1,H=5,W=5,C=4,K=4,R=3,S=3)+swish",
            "unknown epilogue `swish`",
        ),
        ("matmul(M=4,N=4)", "matmul: missing parameter `K`"),
        (
            "matmul(M=4,N=0,K=4)",
            "matmul: dimension `N` must be positive, got 0",
        ),
        (
            "matmul(M=-3,N=4,K=4)",
            "matmul: dimension `M` must be positive, got -3",
        ),
        ("matmul(M=4,N=4,K=4,L=2)", "matmul: unknown parameter `L`"),
        (
            "matmul(M=4,N=4,K=4,M=2)",
            "matmul: parameter `M` given twice",
        ),
        (
            "matmul(M=4,N=4,K=4,trans_a=2)",
            "`trans_a` = 2 is out of range (0 or 1)",
        ),
        (
            "conv2d(N=1,H=5,W=5,C=6,K=4,R=3,S=3,groups=4)",
            "C = 6 not divisible by groups = 4",
        ),
        (
            "conv2d(N=1,H=5,W=5,C=4,K=6,R=3,S=3,groups=4)",
            "K = 6 not divisible by groups = 4",
        ),
        (
            "conv2d(N=1,H=2,W=5,C=4,K=4,R=3,S=3)",
            "kernel larger than padded H",
        ),
        (
            "conv2d(N=1,H=5,W=5,C=4,K=4,R=3,S=3,pad=-1)",
            "`pad` = -1 is out of range (>= 0)",
        ),
        (
            "conv3d(N=1,D=1,H=5,W=5,C=4,K=4,T=3,R=3,S=3)",
            "kernel larger than padded D",
        ),
        (
            "conv2d_transpose(N=1,H=4,W=4,C=2,K=2,R=4,S=4,stride=2,pad=1,output_pad=2)",
            "output_pad 2 must be smaller than stride 2",
        ),
        (
            "max_pool2d(N=1,H=8,W=8,C=2,R=2,S=2,stride=2,pad=2)",
            "pad 2 exceeds half the window",
        ),
        ("rope(B=1,M=4,N=5)", "N = 5 must be even"),
        (
            "matmul(M=4,N=4,K=4,dtype=f16)",
            "dtype f16 is not supported yet",
        ),
        (
            "matmul(M=4,N=4,K=4,dtype=f8)",
            "dtype f8 is not supported yet",
        ),
        (
            "matmul(M=4,N=4,K=4)+clip(6,0)",
            "epilogue `clip`: lo must not exceed hi",
        ),
        (
            "matmul(M=4,N=4,K=4)+clip(1)",
            "epilogue `clip`: wrong number of arguments (1)",
        ),
        ("matmul(M=4,N=4,K=4)+scale(inf)", "is not a finite number"),
        ("matmul(M=4,N=4,K=4)+scale(x)", "`x` is not a number"),
        ("matmul(M=4,N=4,K=4) junk", "parse error at byte 20"),
        (
            "matmul(M=4,N=4,K=4",
            "expected `,` or `)`, found end of text",
        ),
        ("matmul(M=4;N=4,K=4)", "expected `,` or `)`, found `;`"),
        ("matmul(M=x,N=4,K=4)", "expected an integer"),
        (
            "matmul(M=99999999999999999999,N=4,K=4)",
            "is not an integer for `M`",
        ),
        (
            "matmul(M=4000000,N=4000000,K=4)",
            "tensor [4000000, 4000000] is too large",
        ),
        ("", "expected a name"),
    ];
    for (text, want) in cases {
        let msg = err(text).to_string();
        assert!(msg.contains(want), "{text}: got `{msg}`, want `{want}`");
    }
    assert!(matches!(
        err("matmul(M=4,N=0,K=4)"),
        TemplateError::NonPositiveDimension { .. }
    ));
    assert!(matches!(
        err("nope(M=1)"),
        TemplateError::UnknownOperator(_)
    ));
    assert!(matches!(
        err("conv2d(N=1,H=5,W=5,C=6,K=4,R=3,S=3,groups=4)"),
        TemplateError::ShapeMismatch { .. }
    ));
    assert!(matches!(
        err("softmax(M=4)"),
        TemplateError::MissingParameter { .. }
    ));
    // Programmatic construction is validated the same way.
    let bad = Op::Matmul(Matmul {
        m: 0,
        n: 1,
        k: 1,
        trans_a: false,
        trans_b: false,
    });
    assert!(matches!(
        Workload::plain(bad),
        Err(TemplateError::NonPositiveDimension { .. })
    ));
    let ok = Op::Matmul(Matmul {
        m: 2,
        n: 2,
        k: 2,
        trans_a: false,
        trans_b: false,
    });
    assert!(matches!(
        Workload::new(ok, DType::BF16, vec![]),
        Err(TemplateError::UnsupportedDtype(_))
    ));
}

#[test]
fn mangled_text_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let alphabet: Vec<char> = "(),=+-.0123456789abcdefgimnoprstuxMNKHWCRS_ é"
        .chars()
        .collect();
    for _ in 0..3000 {
        let base = CANONICAL[rng.random_range(0..CANONICAL.len())];
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..rng.random_range(1..4) {
            let pos = rng.random_range(0..=chars.len());
            match rng.random_range(0..3) {
                0 if pos < chars.len() => {
                    chars.remove(pos);
                }
                1 if pos < chars.len() => {
                    chars[pos] = alphabet[rng.random_range(0..alphabet.len())]
                }
                _ => chars.insert(pos, alphabet[rng.random_range(0..alphabet.len())]),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(w) = text.parse::<Workload>() {
            // Whatever parses is valid and round-trips.
            assert_eq!(w.to_string().parse::<Workload>().unwrap(), w);
        }
    }
}

#[test]
fn flops_follow_the_documented_conventions() {
    let f = |t: &str| t.parse::<Workload>().unwrap().flops();
    assert_eq!(f("matmul(M=512,N=512,K=512)"), 2.0 * 512.0 * 512.0 * 512.0);
    assert_eq!(
        f("batch_matmul(B=12,M=50,N=50,K=64,trans_b=1)+scale(0.125)"),
        12.0 * 50.0 * 50.0 * (2.0 * 64.0 + 1.0)
    );
    // conv: 2·N·P·Q·K·C·R·S, + bias (1) + relu (1) per output.
    let out = 56.0 * 56.0 * 64.0;
    assert_eq!(
        f("conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu"),
        out * (2.0 * 64.0 * 9.0 + 2.0)
    );
    // depthwise: C/G = 1 per output.
    assert_eq!(
        f("conv2d(N=1,H=8,W=8,C=32,K=32,R=3,S=3,stride=1,pad=1,groups=32)"),
        64.0 * 32.0 * 2.0 * 9.0
    );
    assert_eq!(f("global_avg_pool2d(N=1,H=8,W=8,C=4)"), 4.0 * (64.0 + 1.0));
    assert_eq!(
        f("max_pool2d(N=1,H=4,W=4,C=1,R=2,S=2,stride=2,pad=0)"),
        4.0 * 4.0
    );
    // softmax: max (1), sum of exp(x−max) (3), exp(x−max)/sum (3) per element.
    assert_eq!(f("softmax(M=2,N=10)"), 20.0 * 7.0);
}

#[test]
fn compute_structure_is_generic() {
    let w: Workload = "conv2d(N=1,H=56,W=56,C=64,K=64,R=3,S=3,stride=1,pad=1)+bias+relu"
        .parse()
        .unwrap();
    let def = w.compute();
    assert_eq!(def.stages.len(), 1);
    let st = &def.stages[0];
    let names: Vec<&str> = st.axes().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["n", "p", "q", "k", "rc", "r", "s"]);
    assert_eq!(st.combiner, Combiner::Sum);
    assert!((4..7).all(|a| st.is_reduce(a)));
    let loads = st.body.loads();
    assert_eq!(loads.len(), 2);
    assert_eq!(loads[0].2, Some(0.0), "padded input access is guarded");
    assert_eq!(loads[1].2, None, "weight access is always in bounds");
    assert_eq!(
        st.post.loads().len(),
        1,
        "bias is read in the post expression"
    );
    let inputs: Vec<&str> = def
        .inputs()
        .iter()
        .map(|&t| def.tensors[t].name.as_str())
        .collect();
    assert_eq!(inputs, ["data", "weight", "bias"]);
    // Softmax: three stages, two intermediates.
    let s: Workload = "softmax(M=4,N=8)".parse().unwrap();
    let def = s.compute();
    let combiners: Vec<Combiner> = def.stages.iter().map(|s| s.combiner).collect();
    assert_eq!(combiners, [Combiner::Max, Combiner::Sum, Combiner::None]);
    // Grouped conv views K as [G, K/G].
    let g: Workload = "conv2d(N=1,H=5,W=5,C=4,K=6,R=3,S=3,stride=1,pad=1,groups=2)"
        .parse()
        .unwrap();
    let def = g.compute();
    assert_eq!(def.tensors[def.output()].shape, vec![1, 5, 5, 2, 3]);
}

#[test]
fn validate_catches_broken_definitions() {
    let w: Workload = "conv2d(N=1,H=5,W=5,C=2,K=2,R=3,S=3,stride=1,pad=1)+bias"
        .parse()
        .unwrap();
    let good = w.compute();
    good.validate().unwrap();
    // Dropping the padding guard makes the input access unsafe.
    let mut def = good.clone();
    if let ValueExpr::Binary(_, lhs, _) = &mut def.stages[0].body {
        if let ValueExpr::Load { pad, .. } = lhs.as_mut() {
            *pad = None;
        }
    }
    assert!(def
        .validate()
        .unwrap_err()
        .to_string()
        .contains("unguarded load of data"));
    // Acc in a body, a post using a reduction axis, a wrong-rank load.
    let mut def = good.clone();
    def.stages[0].body = ValueExpr::Acc;
    assert!(def.validate().is_err());
    let mut def = good.clone();
    def.stages[0].post = ValueExpr::load(
        0,
        vec![
            IndexExpr::axis(0),
            IndexExpr::axis(5),
            IndexExpr::axis(2),
            IndexExpr::axis(3),
        ],
    );
    assert!(def.validate().is_err());
    let mut def = good;
    def.stages[0].post = ValueExpr::load(0, vec![IndexExpr::axis(0)]);
    assert!(def.validate().is_err());
    // Rope's shifted loads are in bounds only thanks to the Select guard.
    let r: Workload = "rope(B=1,M=2,N=8)".parse().unwrap();
    r.compute().validate().unwrap();
}
