//! `scripts/ort_kernels.py` (the ONNX Runtime baseline of `tilegrad bench kernels`) builds a
//! valid ONNX model for every kind of operator and epilogue and computes the same numbers as
//! tilegrad's reference on tiny workloads (inputs in tilegrad's layouts, converted by the
//! script). Skipped, with a note, when no Python can import onnxruntime (`scripts/setup-ort`
//! installs it). No timing here.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tilegrad::templates::reference::reference;
use tilegrad::templates::Workload;

const WORKLOADS: &[&str] = &[
    "matmul(M=5,N=7,K=9)+relu",
    "matmul(M=3,N=6,K=4,trans_a=1)",
    "matmul(M=3,N=6,K=4,trans_b=1)+bias+gelu",
    "matmul(M=3,N=6,K=4,trans_a=1,trans_b=1)+bias+res",
    "batch_matmul(B=2,M=4,N=4,K=3,trans_b=1)+scale(0.5)+causal",
    "batch_matmul(B=2,M=3,N=5,K=4,trans_a=1)+mul",
    "conv2d(N=1,H=6,W=5,C=4,K=6,R=3,S=3,stride=2,pad=1)+bias+relu6",
    "conv2d(N=1,H=7,W=7,C=6,K=6,R=3,S=3,stride=1,pad=1,groups=6)+bias+silu",
    "conv2d(N=2,H=6,W=6,C=4,K=4,R=3,S=3,stride=1,pad=2,dilation=2,groups=2)+res",
    "conv2d_transpose(N=1,H=3,W=3,C=4,K=2,R=4,S=4,stride=2,pad=1)+bias+tanh",
    "conv3d(N=1,D=3,H=4,W=4,C=2,K=3,T=3,R=3,S=3,stride_d=1,stride=2,pad_d=1,pad=1)+bias+res+relu",
    "max_pool2d(N=1,H=6,W=6,C=3,R=3,S=3,stride=2,pad=1)",
    "avg_pool2d(N=1,H=6,W=6,C=3,R=3,S=3,stride=2,pad=1)",
    "global_avg_pool2d(N=1,H=4,W=4,C=5)+bias",
    "global_avg_pool3d(N=1,D=2,H=3,W=3,C=4)",
    "softmax(M=3,N=7)",
    "layer_norm(M=3,N=8)",
    "rms_norm(M=3,N=8)",
    "rope(B=2,M=3,N=8)",
    "add(B=2,M=3,N=4,bcast_m=1)+sigmoid",
    "elemwise(M=2,N=8)+gelu",
    "elemwise(M=2,N=8)+leaky_relu(0.2)+clip(-0.5,0.5)",
];

fn python_with_ort() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("TILEGRAD_PYTHON").map(PathBuf::from),
        Some(root.join(".cache/ort/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import onnxruntime, onnx, numpy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn value(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("inf/-inf/nan"),
        v => v.as_f64().expect("a number"),
    }
}

#[test]
fn ort_graphs_compute_what_the_reference_computes() {
    let Some(python) = python_with_ort() else {
        eprintln!("note: no Python imports onnxruntime; skipped (scripts/setup-ort installs it)");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ort_kernels.py");
    let mut child = Command::new(&python)
        .arg("-u")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    assert_eq!(read()["ready"], json!(true));
    for text in WORKLOADS {
        let w: Workload = text.parse().unwrap();
        let inputs = w.random_inputs(7);
        let want = reference(&w, &inputs).unwrap();
        let req = json!({"cmd": "check", "workload": text, "threads": 1, "inputs": inputs});
        writeln!(stdin, "{req}").unwrap();
        stdin.flush().unwrap();
        let reply = read();
        assert_eq!(reply["ok"], json!(true), "{text}: {reply}");
        let got: Vec<f64> = reply["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(value)
            .collect();
        assert_eq!(got.len(), want.len(), "{text}: output size");
        for (i, (g, r)) in got.iter().zip(&want).enumerate() {
            let r = f64::from(*r);
            let ok = if r.is_finite() {
                (g - r).abs() <= 1e-4 * (1.0 + r.abs())
            } else {
                *g == r
            };
            assert!(
                ok,
                "{text} ({}): output {i}: ORT {g}, reference {r}",
                reply["graph"]
            );
        }
    }
    // Errors are replies, not crashes: the process answers the next request.
    for (text, want) in [
        ("matmul(M=2,N=2,K=2,dtype=f16)", "unsupported"),
        ("nosuchop(M=2)", "unsupported"),
        ("matmul(M=2,N=2", "malformed"),
    ] {
        writeln!(stdin, "{}", json!({"cmd": "graph", "workload": text})).unwrap();
        stdin.flush().unwrap();
        let reply = read();
        assert_eq!(reply["ok"], json!(false), "{text}: {reply}");
        assert!(
            reply["error"].as_str().unwrap().contains(want),
            "{text}: {reply}"
        );
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
