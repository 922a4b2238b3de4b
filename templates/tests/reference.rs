//! The generic ComputeDef evaluator must agree with the hand-written
//! reference for every operator and epilogue, on small shapes and seeded
//! random inputs: this proves the compute definitions right.

use tilegrad_templates::{evaluate, reference::reference, TensorRole, Workload};

const CASES: &[&str] = &[
    // matmul / dense, every transpose combination
    "matmul(M=3,N=4,K=5)",
    "matmul(M=3,N=4,K=5,trans_a=1)",
    "matmul(M=3,N=4,K=5,trans_b=1)+bias",
    "matmul(M=3,N=4,K=5,trans_a=1,trans_b=1)+bias+gelu",
    "matmul(M=5,N=5,K=2)+causal",
    // batch matmul
    "batch_matmul(B=2,M=3,N=4,K=5)",
    "batch_matmul(B=2,M=3,N=4,K=5,trans_b=1)+scale(0.125)",
    "batch_matmul(B=2,M=3,N=4,K=5,trans_a=1)+res",
    "batch_matmul(B=3,M=4,N=4,K=3,trans_b=1)+scale(0.5)+causal",
    // conv2d: padding, stride, dilation, groups, depthwise
    "conv2d(N=2,H=7,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1)+bias+relu",
    "conv2d(N=1,H=7,W=7,C=3,K=5,R=3,S=2,stride=2,pad=0)",
    "conv2d(N=1,H=9,W=8,C=2,K=3,R=3,S=3,stride=1,pad=2,dilation=2)+bias",
    "conv2d(N=1,H=6,W=6,C=4,K=6,R=3,S=3,stride=1,pad=1,groups=2)+bias+res+relu",
    "conv2d(N=1,H=6,W=6,C=4,K=4,R=3,S=3,stride=2,pad=1,groups=4)+bias+relu6",
    "conv2d(N=1,H=5,W=5,C=3,K=6,R=3,S=3,stride=1,pad=1,groups=3)",
    "conv2d(N=1,H=5,W=5,C=4,K=2,R=1,S=1,stride=1,pad=0,groups=2)",
    "conv2d(N=1,H=5,W=4,C=1,K=3,R=2,S=2,stride=1,pad=1)+leaky_relu(0.2)",
    "conv2d(N=1,H=5,W=5,C=4,K=6,R=3,S=3,stride=1,pad=1,groups=2)+causal",
    "conv2d(N=1,H=4,W=4,C=2,K=1,R=4,S=4,stride=1,pad=0)+sigmoid",
    // transposed conv
    "conv2d_transpose(N=1,H=4,W=3,C=3,K=2,R=4,S=4,stride=2,pad=1)+bias+relu",
    "conv2d_transpose(N=2,H=3,W=3,C=2,K=2,R=3,S=3,stride=1,pad=0)",
    "conv2d_transpose(N=1,H=3,W=4,C=2,K=3,R=3,S=3,stride=2,pad=1,output_pad=1)+tanh",
    "conv2d_transpose(N=1,H=1,W=1,C=4,K=3,R=4,S=4,stride=1,pad=0)",
    "conv2d_transpose(N=1,H=3,W=2,C=2,K=2,R=2,S=3,stride=3,pad=0)",
    "conv2d_transpose(N=1,H=3,W=3,C=2,K=2,R=5,S=5,stride=2,pad=2,output_pad=1)",
    "conv2d_transpose(N=1,H=3,W=2,C=2,K=3,R=6,S=6,stride=3,pad=3)",
    // conv3d
    "conv3d(N=1,D=4,H=5,W=5,C=2,K=3,T=3,R=3,S=3,stride_d=1,stride=2,pad_d=1,pad=1)+bias+res+relu",
    "conv3d(N=2,D=3,H=4,W=4,C=4,K=4,T=1,R=1,S=1,stride_d=2,stride=2,pad_d=0,pad=0,groups=2)",
    "conv3d(N=1,D=5,H=5,W=5,C=2,K=2,T=2,R=2,S=2,stride_d=1,stride=1,pad_d=1,pad=1,dilation_d=2,dilation=2)",
    // pooling
    "max_pool2d(N=1,H=7,W=7,C=3,R=3,S=3,stride=2,pad=1)",
    "max_pool2d(N=2,H=4,W=6,C=2,R=2,S=2,stride=2,pad=0)",
    "avg_pool2d(N=1,H=6,W=5,C=2,R=3,S=3,stride=1,pad=1)+relu",
    "global_avg_pool2d(N=2,H=3,W=4,C=5)",
    "global_avg_pool3d(N=1,D=2,H=3,W=3,C=4)+bias",
    // row-wise
    "softmax(M=3,N=7)",
    "softmax(M=2,N=5)+scale(2)",
    "layer_norm(M=3,N=8)",
    "layer_norm(M=2,N=5)+res",
    "rms_norm(M=2,N=8)+mul",
    // elementwise and broadcast
    "elemwise(M=3,N=5)+gelu",
    "elemwise(M=3,N=5)+silu+mul",
    "elemwise(M=2,N=4)+scale(10)+relu6",
    "elemwise(M=2,N=4)+clip(-0.5,0.25)+sigmoid+tanh",
    "add(B=2,M=3,N=4)",
    "add(M=3,N=4,bcast_b=1,bcast_m=1)",
    "sub(B=2,M=3,N=4,bcast_b=1)",
    "mul(B=2,M=3,N=4,bcast_n=1)+relu",
    "div(B=2,M=2,N=3,bcast_m=1)",
    "maximum(B=2,M=2,N=3,bcast_b=1,bcast_m=1,bcast_n=1)",
    "minimum(M=3,N=3)+causal",
    "rope(B=2,M=3,N=4)",
    "rope(B=1,M=2,N=6)+res",
];

fn close(a: f32, b: f32) -> bool {
    a == b || (a - b).abs() <= 1e-5 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn compute_def_matches_reference_for_every_operator_and_epilogue() {
    for (i, text) in CASES.iter().enumerate() {
        let w: Workload = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let def = w.compute();
        def.validate().unwrap_or_else(|e| panic!("{text}: {e}"));
        // Input tensors of the definition are views of the workload's inputs.
        let shapes = w.input_shapes();
        let ids = def.inputs();
        assert_eq!(ids.len(), shapes.len(), "{text}: input count");
        for (&id, s) in ids.iter().zip(&shapes) {
            assert_eq!(
                def.tensors[id].numel(),
                s.iter().product::<usize>(),
                "{text}: input {id}"
            );
        }
        let out = def.output();
        assert_eq!(def.tensors[out].role, TensorRole::Output);
        assert_eq!(
            def.tensors[out].numel(),
            w.output_shape().iter().product::<usize>(),
            "{text}"
        );
        assert_eq!(
            def.stages.last().map(|s| s.output),
            Some(out),
            "{text}: last stage writes output"
        );

        let inputs = w.random_inputs(1000 + i as u64);
        let want = reference(&w, &inputs).unwrap();
        let got = evaluate(&def, &inputs).unwrap();
        assert_eq!(want.len(), got.len(), "{text}");
        for (k, (a, b)) in want.iter().zip(&got).enumerate() {
            assert!(
                close(*a, *b),
                "{text}: element {k}: reference {a} vs compute {b}"
            );
        }
        assert!(
            want.iter().any(|v| *v != 0.0),
            "{text}: all-zero output proves nothing"
        );
    }
}

#[test]
fn reference_checks_input_buffers() {
    let w: Workload = "matmul(M=2,N=2,K=2)+bias".parse().unwrap();
    let mut inputs = w.random_inputs(1);
    assert_eq!(inputs.len(), 3);
    assert!(evaluate(&w.compute(), &inputs[..2]).is_err());
    assert!(reference(&w, &inputs[..2]).is_err());
    inputs[2].push(0.0);
    assert!(evaluate(&w.compute(), &inputs).is_err());
    assert!(reference(&w, &inputs).is_err());
}

#[test]
fn known_small_results() {
    // A 2x2 matmul by hand: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]].
    let w: Workload = "matmul(M=2,N=2,K=2)".parse().unwrap();
    let a = vec![1.0, 2.0, 3.0, 4.0];
    let b = vec![5.0, 6.0, 7.0, 8.0];
    let want = vec![19.0, 22.0, 43.0, 50.0];
    assert_eq!(reference(&w, &[a.clone(), b.clone()]).unwrap(), want);
    assert_eq!(evaluate(&w.compute(), &[a, b]).unwrap(), want);
    // Softmax of equal values is uniform.
    let s: Workload = "softmax(M=1,N=4)".parse().unwrap();
    assert_eq!(
        evaluate(&s.compute(), &[vec![0.3; 4]]).unwrap(),
        vec![0.25; 4]
    );
}

#[test]
fn random_inputs_are_deterministic_and_in_range() {
    let w: Workload = "conv2d(N=1,H=5,W=5,C=3,K=4,R=3,S=3,stride=1,pad=1)+bias"
        .parse()
        .unwrap();
    let a = w.random_inputs(7);
    assert_eq!(a, w.random_inputs(7));
    assert_ne!(a, w.random_inputs(8));
    for buf in &a {
        assert!(buf.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(buf.iter().any(|v| *v != 0.0));
    }
}
