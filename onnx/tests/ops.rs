//! Operator variants the committed models do not exercise, on models built here with the
//! crate's own protobuf types: each graph's expected tasks and untuned operators.

use std::collections::BTreeMap;

use prost::Message;
use tilegrad_onnx::proto::{
    AttributeProto, DimensionProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use tilegrad_onnx::{import, Import};

/// A graph under construction: `x` is its first input; weights are further inputs.
struct G {
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
    n: usize,
}

enum A<'a> {
    I(i64),
    F(f32),
    Is(&'a [i64]),
    S(&'a str),
}

impl G {
    fn new(x: &[i64]) -> G {
        let mut g = G {
            nodes: vec![],
            inputs: vec![],
            inits: vec![],
            n: 0,
        };
        g.input("x", x);
        g
    }

    fn input(&mut self, name: &str, shape: &[i64]) -> String {
        self.inputs.push(ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: shape
                            .iter()
                            .map(|&d| DimensionProto {
                                dim_value: Some(d),
                                dim_param: None,
                            })
                            .collect(),
                    }),
                }),
            }),
        });
        name.into()
    }

    fn weight(&mut self, shape: &[i64]) -> String {
        self.n += 1;
        let name = format!("w{}", self.n);
        self.input(&name, shape)
    }

    fn scalar(&mut self, v: f32) -> String {
        self.n += 1;
        let name = format!("c{}", self.n);
        self.inits.push(TensorProto {
            name: name.clone(),
            data_type: 1,
            float_data: vec![v],
            ..Default::default()
        });
        name
    }

    fn ints(&mut self, v: &[i64]) -> String {
        self.n += 1;
        let name = format!("i{}", self.n);
        self.inits.push(TensorProto {
            name: name.clone(),
            data_type: 7,
            dims: vec![v.len() as i64],
            int64_data: v.to_vec(),
            ..Default::default()
        });
        name
    }

    fn op(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, A)]) -> String {
        self.n += 1;
        let out = format!("{}{}", op.to_lowercase(), self.n);
        let attribute = attrs
            .iter()
            .map(|(name, a)| {
                let mut p = AttributeProto {
                    name: name.to_string(),
                    ..Default::default()
                };
                match a {
                    A::I(i) => (p.r#type, p.i) = (2, *i),
                    A::F(f) => (p.r#type, p.f) = (1, *f),
                    A::Is(v) => (p.r#type, p.ints) = (7, v.to_vec()),
                    A::S(s) => (p.r#type, p.s) = (3, s.as_bytes().to_vec()),
                }
                p
            })
            .collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
        out
    }

    fn import(self, y: &str, opset: i64) -> Import {
        let model = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            graph: Some(GraphProto {
                node: self.nodes,
                name: "g".into(),
                initializer: self.inits,
                input: self.inputs,
                output: vec![ValueInfoProto {
                    name: y.into(),
                    r#type: None,
                }],
                value_info: vec![],
            }),
            ..Default::default()
        };
        import(&model.encode_to_vec(), &BTreeMap::new()).unwrap()
    }
}

/// Every task must have a sketch on the CPU, or `tilegrad tune model.onnx` would refuse it.
fn schedulable(m: &Import) {
    let cpu = tilegrad_symbolic::Target::example_cpu();
    for t in &m.tasks {
        let s = tilegrad_templates::sketches(&t.workload, &cpu);
        assert!(
            s.is_ok_and(|s| !s.is_empty()),
            "no CPU sketch for {}",
            t.workload
        );
    }
}

fn check(m: &Import, tasks: &[&str], untuned: &[&str]) {
    schedulable(m);
    let got: Vec<String> = m
        .tasks
        .iter()
        .map(|t| format!("{} {}", t.weight, t.workload))
        .collect();
    assert_eq!(got, tasks);
    let got: Vec<String> = m
        .untuned
        .iter()
        .map(|u| {
            if u.reason.is_empty() {
                format!("{} {}", u.count, u.op)
            } else {
                format!("{} {}: {}", u.count, u.op, u.reason)
            }
        })
        .collect();
    assert_eq!(got, untuned);
}

fn conv(g: &mut G, x: &str, c: i64, k: i64, r: i64, attrs: &[(&str, A)]) -> String {
    let w = g.weight(&[k, c, r, r]);
    let b = g.weight(&[k]);
    g.op("Conv", &[x, &w, &b], attrs)
}

#[test]
fn gelu_op_leaky_relu_sigmoid_and_old_clip() {
    let mut g = G::new(&[1, 8, 10, 10]);
    let a = conv(&mut g, "x", 8, 8, 3, &[("pads", A::Is(&[1, 1, 1, 1]))]);
    let a = g.op("Gelu", &[&a], &[]);
    let b = conv(&mut g, &a, 8, 8, 1, &[]);
    let b = g.op("LeakyRelu", &[&b], &[("alpha", A::F(0.25))]);
    let c = conv(&mut g, &b, 8, 8, 1, &[]);
    let c = g.op("Sigmoid", &[&c], &[]);
    let d = conv(&mut g, &c, 8, 8, 1, &[]);
    let y = g.op("Gelu", &[&d], &[("approximate", A::S("tanh"))]);
    check(
        &g.import(&y, 20),
        &[
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=3,S=3,stride=1,pad=1)+bias+gelu",
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=1,S=1,stride=1,pad=0)+bias+leaky_relu(0.25)",
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=1,S=1,stride=1,pad=0)+bias+sigmoid",
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=1,S=1,stride=1,pad=0)+bias",
        ],
        &["1 Gelu"],
    );
    // Opset 10: Clip's bounds are attributes.
    let mut g = G::new(&[1, 8, 10, 10]);
    let a = conv(&mut g, "x", 8, 8, 1, &[]);
    let a = g.op("Clip", &[&a], &[("min", A::F(0.0)), ("max", A::F(6.0))]);
    let b = conv(&mut g, &a, 8, 8, 1, &[]);
    let y = g.op("Clip", &[&b], &[("min", A::F(-1.0)), ("max", A::F(1.0))]);
    check(
        &g.import(&y, 10),
        &[
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=1,S=1,stride=1,pad=0)+bias+relu6",
            "1 conv2d(N=1,H=10,W=10,C=8,K=8,R=1,S=1,stride=1,pad=0)+bias+clip(-1,1)",
        ],
        &[],
    );
}

#[test]
fn what_tilegrad_cannot_express_stays_untuned_with_a_reason() {
    let mut g = G::new(&[1, 4, 9, 9]);
    let a = conv(&mut g, "x", 4, 4, 3, &[("pads", A::Is(&[0, 0, 1, 1]))]);
    let b = conv(&mut g, &a, 4, 4, 3, &[("strides", A::Is(&[1, 2]))]);
    let c = g.op(
        "AveragePool",
        &[&b],
        &[
            ("kernel_shape", A::Is(&[3, 3])),
            ("pads", A::Is(&[1, 1, 1, 1])),
        ],
    );
    let y = g.op(
        "MaxPool",
        &[&c],
        &[
            ("kernel_shape", A::Is(&[2, 2])),
            ("strides", A::Is(&[2, 2])),
            ("ceil_mode", A::I(1)),
        ],
    );
    let m = g.import(&y, 13);
    check(
        &m,
        &[],
        &[
            "1 AveragePool: average pooling with padding and count_include_pad=0",
            "1 Conv: asymmetric padding [0, 0] / [1, 1]",
            "1 Conv: strides [1, 2] differ between dimensions",
            "1 MaxPool: ceil_mode changes the output size",
        ],
    );
    assert_eq!(m.coverage(), 0.0);
    assert!(m.untuned_flops > 0.0);
}

#[test]
fn batch_norm_scale_and_gemm_variants() {
    // A conv with its own bias, then BatchNorm: one bias. A Mul by a scalar: scale.
    let mut g = G::new(&[2, 3, 8, 8]);
    let a = conv(&mut g, "x", 3, 4, 3, &[("pads", A::Is(&[1, 1, 1, 1]))]);
    let bn: Vec<String> = (0..4).map(|_| g.weight(&[4])).collect();
    let a = g.op(
        "BatchNormalization",
        &[&a, &bn[0], &bn[1], &bn[2], &bn[3]],
        &[],
    );
    let half = g.scalar(0.5);
    let a = g.op("Mul", &[&half, &a], &[]);
    let f = g.op("Flatten", &[&a], &[]);
    // Gemm with alpha and a [M,N] C (a residual), then a bias Add on the left.
    let w = g.weight(&[256, 16]);
    let r = g.weight(&[2, 16]);
    let y = g.op("Gemm", &[&f, &w, &r], &[("alpha", A::F(2.0))]);
    let b = g.weight(&[16]);
    let y = g.op("Add", &[&b, &y], &[]);
    check(
        &g.import(&y, 13),
        &[
            "1 conv2d(N=2,H=8,W=8,C=3,K=4,R=3,S=3,stride=1,pad=1)+bias+scale(0.5)",
            "1 matmul(M=2,N=16,K=256)+scale(2)+res+bias",
        ],
        &["1 Flatten"],
    );
}

#[test]
fn softmax_axes_norms_conv3d_and_transposed_conv() {
    // Opset 11: softmax over the dims from axis 1 of a 3-D input (coerced to 2-D).
    let mut g = G::new(&[2, 3, 5]);
    let y = g.op("Softmax", &["x"], &[]);
    check(&g.import(&y, 11), &["1 softmax(M=2,N=15)"], &[]);
    // Opset 13: only the last axis.
    let mut g = G::new(&[2, 3, 5]);
    let y = g.op("Softmax", &["x"], &[("axis", A::I(1))]);
    check(
        &g.import(&y, 13),
        &[],
        &["1 Softmax: softmax along axis 1, not the last"],
    );
    let mut g = G::new(&[2, 3, 8]);
    let s = g.weight(&[8]);
    let y = g.op("RMSNormalization", &["x", &s], &[]);
    check(&g.import(&y, 23), &["1 rms_norm(M=6,N=8)"], &[]);
    let mut g = G::new(&[1, 4, 6, 8, 8]);
    let w = g.weight(&[8, 4, 3, 3, 3]);
    let y = g.op("Conv", &["x", &w], &[("pads", A::Is(&[1; 6]))]);
    let y = g.op("Relu", &[&y], &[]);
    check(
        &g.import(&y, 13),
        &["1 conv3d(N=1,D=6,H=8,W=8,C=4,K=8,T=3,R=3,S=3,stride_d=1,stride=1,pad_d=1,pad=1)+relu"],
        &[],
    );
    let mut g = G::new(&[1, 8, 4, 4]);
    let w = g.weight(&[8, 3, 4, 4]);
    let y = g.op(
        "ConvTranspose",
        &["x", &w],
        &[("strides", A::Is(&[2, 2])), ("pads", A::Is(&[1, 1, 1, 1]))],
    );
    let y = g.op("Tanh", &[&y], &[]);
    check(
        &g.import(&y, 13),
        &["1 conv2d_transpose(N=1,H=4,W=4,C=8,K=3,R=4,S=4,stride=2,pad=1)+tanh"],
        &[],
    );
}

#[test]
fn computed_reshape_targets_and_products() {
    // Reshape to [B*S, D] through Shape -> Gather -> Concat, as exporters write it; then a
    // product with a transposed weight (trans_b) and one of two activations (batch_matmul).
    let mut g = G::new(&[2, 3, 4]);
    let shape = g.op("Shape", &["x"], &[]);
    let last = g.ints(&[2]);
    let d = g.op("Gather", &[&shape, &last], &[]);
    let minus1 = g.ints(&[-1]);
    let target = g.op("Concat", &[&minus1, &d], &[("axis", A::I(0))]);
    let flat = g.op("Reshape", &["x", &target], &[]);
    let w = g.weight(&[5, 4]);
    let wt = g.op("Transpose", &[&w], &[("perm", A::Is(&[1, 0]))]);
    let y = g.op("MatMul", &[&flat, &wt], &[]);
    let y = g.op("Mul", &[&y, &y], &[]);
    let z = g.op("Transpose", &[&y], &[("perm", A::Is(&[1, 0]))]);
    let p = g.op("MatMul", &[&y, &z], &[]);
    check(
        &g.import(&p, 13),
        &[
            "1 matmul(M=6,N=5,K=4,trans_b=1)",
            "1 mul(M=6,N=5)",
            "1 batch_matmul(B=1,M=6,N=6,K=5,trans_b=1)",
        ],
        &["1 Concat", "1 Gather", "1 Reshape", "1 Shape"],
    );
}

#[test]
fn norms_written_out_in_elementary_operators() {
    // RMS norm as LLaMA exports write it (opset 13: ReduceMean axes as an attribute), then
    // its division form with the axes as an input (opset 18), without γ.
    let mut g = G::new(&[1, 5, 16]);
    let two = g.scalar(2.0);
    let sq = g.op("Pow", &["x", &two], &[]);
    let ms = g.op("ReduceMean", &[&sq], &[("axes", A::Is(&[-1]))]);
    let eps = g.scalar(1e-6);
    let v = g.op("Add", &[&ms, &eps], &[]);
    let v = g.op("Sqrt", &[&v], &[]);
    let v = g.op("Reciprocal", &[&v], &[]);
    let v = g.op("Mul", &["x", &v], &[]);
    let gamma = g.weight(&[16]);
    let y = g.op("Mul", &[&v, &gamma], &[]);
    check(&g.import(&y, 13), &["1 rms_norm(M=5,N=16)"], &[]);
    let mut g = G::new(&[1, 5, 16]);
    let sq = g.op("Mul", &["x", "x"], &[]);
    let axes = g.ints(&[2]);
    let ms = g.op("ReduceMean", &[&sq, &axes], &[]);
    let eps = g.scalar(1e-6);
    let v = g.op("Add", &[&eps, &ms], &[]);
    let v = g.op("Sqrt", &[&v], &[]);
    let y = g.op("Div", &["x", &v], &[]);
    check(&g.import(&y, 18), &["1 rms_norm(M=5,N=16)"], &[]);
    // Layer norm as BERT exports write it below opset 17.
    let mut g = G::new(&[2, 7, 32]);
    let mu = g.op("ReduceMean", &["x"], &[("axes", A::Is(&[-1]))]);
    let d = g.op("Sub", &["x", &mu], &[]);
    let two = g.scalar(2.0);
    let sq = g.op("Pow", &[&d, &two], &[]);
    let var = g.op("ReduceMean", &[&sq], &[("axes", A::Is(&[-1]))]);
    let eps = g.scalar(1e-12);
    let v = g.op("Add", &[&var, &eps], &[]);
    let v = g.op("Sqrt", &[&v], &[]);
    let v = g.op("Div", &[&d, &v], &[]);
    let gamma = g.weight(&[32]);
    let v = g.op("Mul", &[&v, &gamma], &[]);
    let beta = g.weight(&[32]);
    let y = g.op("Add", &[&v, &beta], &[]);
    check(&g.import(&y, 13), &["1 layer_norm(M=14,N=32)"], &[]);
    // A mean over another axis is no norm.
    let mut g = G::new(&[2, 7, 32]);
    let sq = g.op("Mul", &["x", "x"], &[]);
    let ms = g.op("ReduceMean", &[&sq], &[("axes", A::Is(&[1]))]);
    let y = g.op("Sqrt", &[&ms], &[]);
    check(
        &g.import(&y, 13),
        &["1 mul(M=14,N=32)"],
        &["1 ReduceMean", "1 Sqrt"],
    );
}

#[test]
fn half_precision_models_are_tuned_in_float32_with_a_warning() {
    let mut g = G::new(&[4, 8]);
    g.inputs[0]
        .r#type
        .as_mut()
        .and_then(|t| t.tensor_type.as_mut())
        .unwrap()
        .elem_type = 10;
    let w = g.weight(&[8, 8]);
    let y = g.op("MatMul", &["x", &w], &[]);
    let m = g.import(&y, 13);
    check(&m, &["1 matmul(M=4,N=8,K=8)"], &[]);
    assert_eq!(
        m.warnings,
        [
            "the model has float16 tensors: its tasks are tuned in float32, the one type tilegrad \
          implements"
        ]
    );
}

#[test]
fn slice_pad_resize_and_tile_keep_shapes_known() {
    // Each op's output feeds a conv, whose task shows the inferred shape.
    let mut g = G::new(&[1, 4, 20, 20]);
    let starts = g.ints(&[2, -18]);
    let ends = g.ints(&[i64::MAX, 18]);
    let axes = g.ints(&[2, 3]);
    let steps = g.ints(&[2, 1]);
    let s = g.op("Slice", &["x", &starts, &ends, &axes, &steps], &[]); // [1,4,9,16]
    let a = conv(&mut g, &s, 4, 4, 1, &[]);
    let pads = g.ints(&[0, 0, 1, 2, 0, 0, 1, 2]);
    let p = g.op("Pad", &[&a, &pads], &[]); // [1,4,11,20]
    let b = conv(&mut g, &p, 4, 4, 1, &[]);
    let scales = g.scalar(0.0);
    let two = g.ints(&[1, 1, 2, 2]);
    let two_f = g.op("Cast", &[&two], &[("to", A::I(1))]);
    let r = g.op("Resize", &[&b, &scales, &two_f], &[]); // [1,4,22,40]
    let c = conv(&mut g, &r, 4, 4, 1, &[]);
    let reps = g.ints(&[1, 2, 1, 1]);
    let t = g.op("Tile", &[&c, &reps], &[]); // [1,8,22,40]
    let y = conv(&mut g, &t, 8, 4, 1, &[]);
    check(
        &g.import(&y, 13),
        &[
            "1 conv2d(N=1,H=9,W=16,C=4,K=4,R=1,S=1,stride=1,pad=0)+bias",
            "1 conv2d(N=1,H=11,W=20,C=4,K=4,R=1,S=1,stride=1,pad=0)+bias",
            "1 conv2d(N=1,H=22,W=40,C=4,K=4,R=1,S=1,stride=1,pad=0)+bias",
            "1 conv2d(N=1,H=22,W=40,C=8,K=4,R=1,S=1,stride=1,pad=0)+bias",
        ],
        &["1 Cast", "1 Pad", "1 Resize", "1 Slice", "1 Tile"],
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    /// Any constants in the shape operators give a shape or an error, never a panic.
    #[test]
    fn shape_operators_never_panic(
        v in proptest::collection::vec(
            proptest::prop_oneof![-40i64..40, proptest::prelude::Just(i64::MAX), proptest::prelude::Just(i64::MIN)],
            0..10,
        ),
        f in proptest::collection::vec(-3.0f32..5.0, 0..5),
        pick in 0usize..6,
    ) {
        let mut g = G::new(&[1, 4, 20, 20]);
        let a = g.ints(&v);
        let b = g.ints(&v[v.len() / 2..]);
        let y = match pick {
            0 => g.op("Slice", &["x", &a, &b], &[]),
            1 => g.op("Pad", &["x", &a], &[]),
            2 => g.op("Tile", &["x", &a], &[]),
            3 => g.op("Reshape", &["x", &a], &[]),
            4 => g.op("Expand", &["x", &a], &[]),
            _ => {
                let fl: Vec<f32> = f.clone();
                g.n += 1;
                let name = format!("f{}", g.n);
                g.inits.push(TensorProto { name: name.clone(), data_type: 1, dims: vec![fl.len() as i64], float_data: fl, ..Default::default() });
                let empty = g.scalar(0.0);
                g.op("Resize", &["x", &empty, &name], &[])
            }
        };
        let w = g.weight(&[4, 4, 1, 1]);
        let z = g.op("Conv", &[&y, &w], &[]);
        let model = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
            graph: Some(GraphProto { node: g.nodes, initializer: g.inits, input: g.inputs, output: vec![ValueInfoProto { name: z, r#type: None }], ..Default::default() }),
            ..Default::default()
        };
        let _ = import(&model.encode_to_vec(), &BTreeMap::new());
    }
}

#[test]
fn elementwise_operators_no_anchor_took_become_tasks() {
    // ViT's position embedding at batch 16 (broadcast over the batch), a relu after a concat,
    // a subtraction whose left side broadcasts (not expressible), a scalar multiply.
    let mut g = G::new(&[16, 49, 768]);
    let cls = g.weight(&[16, 1, 768]);
    let t = g.op("Concat", &[&cls, "x"], &[("axis", A::I(1))]);
    let pos = g.weight(&[1, 50, 768]);
    let t = g.op("Add", &[&t, &pos], &[]);
    let r = g.op("Relu", &[&t], &[]);
    let row = g.weight(&[768]);
    let d = g.op("Sub", &[&row, &r], &[]);
    let two = g.scalar(2.0);
    let y = g.op("Mul", &[&d, &two], &[]);
    check(
        &g.import(&y, 13),
        &[
            "1 add(B=16,M=50,N=768,bcast_b=1)+relu",
            "1 mul(M=800,N=768,bcast_m=1,bcast_n=1)",
        ],
        &[
            "1 Concat",
            "1 Sub: both operands broadcast ([768], [16, 50, 768])",
        ],
    );
    let mut g = G::new(&[3, 5]);
    let c = g.op("Concat", &["x", "x"], &[("axis", A::I(0))]);
    let y = g.op("Sigmoid", &[&c], &[]);
    check(
        &g.import(&y, 13),
        &["1 elemwise(M=6,N=5)+sigmoid"],
        &["1 Concat"],
    );
}
