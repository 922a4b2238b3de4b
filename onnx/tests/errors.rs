//! Bad input gets a typed error with a clear message, never a panic: the committed bad
//! models, `--input` shapes, and random and mutated bytes (proptest).

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use tilegrad_onnx::{import, parse_input_shape, Error, Shape};

fn bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/onnx")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn err(name: &str, inputs: &[(&str, &[usize])]) -> Error {
    let inputs: BTreeMap<String, Shape> = inputs
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect();
    match import(&bytes(name), &inputs) {
        Ok(m) => panic!("{name} imported: {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn not_onnx_and_truncated() {
    let e = err("bad/not_onnx.onnx", &[]);
    assert!(
        matches!(e, Error::Decode(_) | Error::NotOnnx { .. }),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("not an ONNX model"), "{e}");
    let e = err("bad/truncated.onnx", &[]);
    assert!(matches!(e, Error::Decode(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("not an ONNX model, or a truncated one"),
        "{e}"
    );
    let e = import(b"", &BTreeMap::new()).unwrap_err();
    assert_eq!(e.to_string(), "not an ONNX model: no IR version");
}

#[test]
fn unsupported_opset() {
    let e = err("bad/opset_99.onnx", &[]);
    assert_eq!(
        e.to_string(),
        "unsupported opset 99 of the default ONNX domain (supported: 7 to 28)"
    );
}

#[test]
fn symbolic_dim_needs_an_input_shape() {
    let e = err("bad/symbolic_batch.onnx", &[]);
    assert_eq!(
        e.to_string(),
        "input `x` has a symbolic dimension 0 (`batch`): give its shape, e.g. --input x=1x4"
    );
    let m = import(
        &bytes("bad/symbolic_batch.onnx"),
        &[("x".to_string(), vec![8, 4])].into(),
    )
    .unwrap();
    assert_eq!(m.tasks[0].workload.to_string(), "matmul(M=8,N=4,K=4)");
}

#[test]
fn input_shapes_must_fit_the_model() {
    let e = err("bad/symbolic_batch.onnx", &[("x", &[8, 4, 1])]);
    assert_eq!(
        e.to_string(),
        "--input x: the model gives it 2 dimensions, not 3"
    );
    let e = err("bad/symbolic_batch.onnx", &[("x", &[8, 5])]);
    assert_eq!(
        e.to_string(),
        "--input x: dimension 1 is 4 in the model, not 5"
    );
    let e = err("bad/symbolic_batch.onnx", &[("y", &[8, 4])]);
    assert_eq!(
        e.to_string(),
        "--input y: the model has no such input (inputs: w, x)"
    );
    assert_eq!(
        parse_input_shape("data=1x3x224x224").unwrap(),
        ("data".to_string(), vec![1, 3, 224, 224])
    );
    for bad in ["1x3", "x=", "x=1xx3", "x=0x3", "=1x3"] {
        assert!(
            matches!(
                parse_input_shape(bad),
                Err(Error::MalformedInputShape { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn cycle() {
    let e = err("bad/cycle.onnx", &[]);
    assert_eq!(
        e.to_string(),
        "the graph has a cycle through node `r1` (Relu)"
    );
}

#[test]
fn missing_initializer() {
    let e = err("bad/missing_initializer.onnx", &[]);
    assert_eq!(
        e.to_string(),
        "node `fc` (Gemm) reads `bias`, which no node, graph input or initializer provides \
         (missing initializer?)"
    );
}

fn seeds() -> Vec<Vec<u8>> {
    [
        "resnet_cnn.onnx",
        "mobilenet_v2_block.onnx",
        "transformer_block.onnx",
        "resnet50.onnx",
        "bad/ok_tiny.onnx",
    ]
    .iter()
    .map(|n| bytes(n))
    .collect()
}

/// Imports and, when it succeeds, checks what the result promises.
fn never_panics(data: &[u8]) {
    if let Ok(m) = import(data, &BTreeMap::new()) {
        assert!((0.0..=1.0).contains(&m.coverage()));
        for t in &m.tasks {
            assert!(t.weight >= 1);
            assert!(t.workload.validate().is_ok());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        never_panics(&data);
    }

    #[test]
    fn mutated_models(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut data = seeds().swap_remove(which);
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if truncate {
            data.truncate(cut.index(data.len() + 1));
        }
        never_panics(&data);
    }
}

/// One structured edit of a decoded model: an attribute's integers, an initializer's or
/// input's dims, or a node input renamed to another value.
#[derive(Debug, Clone)]
enum Edit {
    Attr(prop::sample::Index, prop::sample::Index, Vec<i64>),
    Dims(prop::sample::Index, Vec<i64>),
    InputDims(prop::sample::Index, Vec<i64>),
    Rewire(
        prop::sample::Index,
        prop::sample::Index,
        prop::sample::Index,
    ),
    Opset(i64),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ints = proptest::collection::vec(
        prop_oneof![-3i64..80, Just(0), Just(1 << 31), Just(i64::MAX)],
        0..6,
    );
    prop_oneof![
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            ints.clone()
        )
            .prop_map(|(n, a, v)| Edit::Attr(n, a, v)),
        (any::<prop::sample::Index>(), ints.clone()).prop_map(|(t, v)| Edit::Dims(t, v)),
        (any::<prop::sample::Index>(), ints).prop_map(|(t, v)| Edit::InputDims(t, v)),
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(a, b, c)| Edit::Rewire(a, b, c)),
        (5i64..30).prop_map(Edit::Opset),
    ]
}

fn apply(m: &mut tilegrad_onnx::proto::ModelProto, e: &Edit) {
    use tilegrad_onnx::proto::DimensionProto;
    let Some(g) = m.graph.as_mut() else { return };
    match e {
        Edit::Attr(n, a, v) if !g.node.is_empty() => {
            let node = n.get_mut(&mut g.node);
            if !node.attribute.is_empty() {
                let attr = a.get_mut(&mut node.attribute);
                attr.i = v.first().copied().unwrap_or(0);
                attr.ints = v.clone();
            }
        }
        Edit::Dims(t, v) if !g.initializer.is_empty() => {
            t.get_mut(&mut g.initializer).dims = v.clone()
        }
        Edit::InputDims(t, v) if !g.input.is_empty() => {
            let input = t.get_mut(&mut g.input);
            if let Some(s) = input
                .r#type
                .as_mut()
                .and_then(|t| t.tensor_type.as_mut())
                .and_then(|t| t.shape.as_mut())
            {
                s.dim = v
                    .iter()
                    .map(|&d| DimensionProto {
                        dim_value: Some(d),
                        dim_param: None,
                    })
                    .collect();
            }
        }
        Edit::Rewire(a, b, c) if !g.node.is_empty() => {
            let names: Vec<String> = g.node.iter().flat_map(|n| n.output.clone()).collect();
            let name = c.get(&names).clone();
            let node = a.get_mut(&mut g.node);
            if !node.input.is_empty() {
                *b.get_mut(&mut node.input) = name;
            }
        }
        Edit::Opset(v) => {
            if let Some(o) = m.opset_import.first_mut() {
                o.version = *v;
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn structurally_edited_models(
        which in 0usize..5,
        edits in proptest::collection::vec(edit(), 1..5),
    ) {
        use prost::Message;
        let mut m = tilegrad_onnx::proto::ModelProto::decode(seeds()[which].as_slice()).unwrap();
        for e in &edits {
            apply(&mut m, e);
        }
        never_panics(&m.encode_to_vec());
    }
}
