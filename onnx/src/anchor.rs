//! Anchors: the ONNX operators that become a tilegrad operator (Conv, ConvTranspose, Gemm,
//! MatMul, MaxPool, AveragePool, GlobalAveragePool, Softmax, LayerNormalization,
//! RMSNormalization), each mapped to tilegrad's layout.
//!
//! Layout: ONNX images are NCHW (NCDHW), activations `[N,C,H,W]` and conv weights
//! `[K,C/groups,R,S]`; tilegrad's are NHWC (NDHWC) with weights `[R,S,C/groups,K]`. The
//! mapping reads the extents off the ONNX shapes (`N=x[0], C=x[1], H=x[2], W=x[3], K=w[0],
//! R=w[2], S=w[3]`); the tuned kernel computes the same convolution in tilegrad's layout, and
//! a runtime that uses it stores the activations NHWC and the weights `[R,S,C/groups,K]`.
//! Elementwise operators that no anchor before them took as an epilogue become tasks of their
//! own: an activation is `elemwise(M,N)+<activation>` over `[M,N]` rows (`N` the last axis),
//! a two-operand `Add`/`Sub`/`Mul`/`Div`/`Max`/`Min` is `add(B,M,N)`... with the broadcast
//! operand's axes grouped into at most three runs (`N` is the last axis, as the shipped
//! networks write it: `add(M=50,N=768)`).
//! Matrix products keep their row-major layout; a `Transpose` that swaps the last two axes of
//! a product's operand is folded into `trans_a`/`trans_b`.

use tilegrad_templates::{
    BatchMatmul, Binary, BinaryFn, Conv2d, Conv2dTranspose, Conv3d, EpilogueOp, GlobalAvgPool,
    Matmul, Op, Pool2d, PoolKind, Rows,
};

use crate::graph::{numel, Graph, Node, Source};
use crate::shape::{axis, window};

/// Where the channel of an anchor's ONNX output lies, for recognising a per-channel bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Axis 1 (NCHW convolutions).
    Second,
    /// The last axis (matrix products).
    Last,
    /// The anchor takes no epilogue (pooling, softmax, norms).
    None,
}

/// An anchor mapped to a tilegrad operator.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The operator.
    pub op: Op,
    /// Epilogue steps the node itself carries (a conv's bias input, Gemm's `C`).
    pub epilogue: Vec<EpilogueOp>,
    /// Earlier nodes folded in (transposes of a product's operands).
    pub folded: Vec<usize>,
    /// Where the channel is.
    pub channel: Channel,
}

/// Why an anchor operator is not tuned (it stays in the untuned list with this reason).
pub type Reason = String;

/// Maps node `i` to a tilegrad operator: `None` when it is no anchor, `Some(Err)` when it is
/// one that tilegrad cannot express (with why).
pub fn anchor(g: &Graph, i: usize, claimed: &[bool]) -> Option<Result<Anchor, Reason>> {
    let node = &g.nodes[i];
    let kind = match node.op.as_str() {
        "Conv" | "ConvTranspose" | "Gemm" | "MatMul" | "MaxPool" | "AveragePool"
        | "GlobalAveragePool" | "Softmax" | "LayerNormalization" | "RMSNormalization" => {
            node.op.as_str()
        }
        _ => return elementwise(g, node),
    };
    let shape = |k: usize| node.input(k).and_then(|n| g.shape(n)).cloned();
    let Some(x) = shape(0) else {
        return Some(Err("input shape unknown".into()));
    };
    let plain = |op: Op, channel: Channel| {
        Ok(Anchor {
            op,
            epilogue: Vec::new(),
            folded: Vec::new(),
            channel,
        })
    };
    Some(match kind {
        "Conv" => conv(g, node, &x),
        "ConvTranspose" => conv_transpose(g, node, &x),
        "Gemm" => gemm(g, node, &x),
        "MatMul" => matmul(g, node, &x, claimed),
        "MaxPool" | "AveragePool" => pool(node, &x),
        "GlobalAveragePool" => match x.len() {
            4 => plain(
                Op::GlobalAvgPool(GlobalAvgPool {
                    three_d: false,
                    n: x[0],
                    d: 1,
                    h: x[2],
                    w: x[3],
                    c: x[1],
                }),
                Channel::None,
            ),
            5 => plain(
                Op::GlobalAvgPool(GlobalAvgPool {
                    three_d: true,
                    n: x[0],
                    d: x[2],
                    h: x[3],
                    w: x[4],
                    c: x[1],
                }),
                Channel::None,
            ),
            r => Err(format!("{}-D global pooling", r.saturating_sub(2))),
        },
        _ => {
            // Softmax and the norms work on [M,N] rows: N = the trailing dims from the axis.
            let default = if kind == "Softmax" && g.opset < 13 {
                1
            } else {
                -1
            };
            let Some(a) = axis(node.int("axis", default), x.len()) else {
                return Some(Err("axis out of range".into()));
            };
            if kind == "Softmax" && g.opset >= 13 && a + 1 != x.len() {
                return Some(Err(format!("softmax along axis {a}, not the last")));
            }
            if kind != "Softmax" && node.input(1).is_none() {
                return Some(Err("no scale input".into()));
            }
            let rows = Rows {
                m: numel(&x[..a]),
                n: numel(&x[a..]),
            };
            let op = match kind {
                "Softmax" => Op::Softmax(rows),
                "LayerNormalization" => Op::LayerNorm(rows),
                _ => Op::RmsNorm(rows),
            };
            if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
                return Some(Err("the mean or inverse deviation outputs are used".into()));
            }
            plain(op, Channel::None)
        }
    })
}

/// One value for every spatial dimension, or why not.
fn uniform(what: &str, v: &[usize]) -> Result<usize, Reason> {
    match v.split_first() {
        Some((&a, rest)) if rest.iter().all(|&b| b == a) => Ok(a),
        None => Ok(0),
        _ => Err(format!("{what} {v:?} differ between dimensions")),
    }
}

fn bias(node: &Node) -> Vec<EpilogueOp> {
    if node.input(2).is_some() {
        vec![EpilogueOp::Bias]
    } else {
        Vec::new()
    }
}

fn conv(g: &Graph, node: &Node, x: &[usize]) -> Result<Anchor, Reason> {
    let w = node
        .input(1)
        .and_then(|n| g.shape(n))
        .ok_or("weight shape unknown")?;
    let win = window(node, &x[2..], &w[2..]).map_err(|e| e.to_string())?;
    let stride = uniform("strides", &win.strides)?;
    let dilation = uniform("dilations", &win.dilations)?;
    if win.pads_begin != win.pads_end {
        return Err(format!(
            "asymmetric padding {:?} / {:?}",
            win.pads_begin, win.pads_end
        ));
    }
    let pad = uniform("pads", &win.pads_begin)?;
    let groups = usize::try_from(node.int("group", 1)).map_err(|_| "bad group")?;
    let op = match x.len() {
        4 => Op::Conv2d(Conv2d {
            n: x[0],
            h: x[2],
            w: x[3],
            c: x[1],
            k: w[0],
            r: w[2],
            s: w[3],
            stride,
            pad,
            dilation,
            groups,
        }),
        5 => Op::Conv3d(Conv3d {
            n: x[0],
            d: x[2],
            h: x[3],
            w: x[4],
            c: x[1],
            k: w[0],
            t: w[2],
            r: w[3],
            s: w[4],
            stride_d: win.strides[0],
            stride: uniform("strides", &win.strides[1..])?,
            pad_d: win.pads_begin[0],
            pad: uniform("pads", &win.pads_begin[1..])?,
            dilation_d: win.dilations[0],
            dilation: uniform("dilations", &win.dilations[1..])?,
            groups,
        }),
        r => return Err(format!("{}-D convolution", r.saturating_sub(2))),
    };
    Ok(Anchor {
        op,
        epilogue: bias(node),
        folded: Vec::new(),
        channel: Channel::Second,
    })
}

fn conv_transpose(g: &Graph, node: &Node, x: &[usize]) -> Result<Anchor, Reason> {
    let w = node
        .input(1)
        .and_then(|n| g.shape(n))
        .ok_or("weight shape unknown")?;
    if x.len() != 4 {
        return Err(format!(
            "{}-D transposed convolution",
            x.len().saturating_sub(2)
        ));
    }
    if node.int("group", 1) != 1 {
        return Err("grouped transposed convolution".into());
    }
    if node.ints("output_shape").is_some() || node.string("auto_pad", "NOTSET") != "NOTSET" {
        return Err("output_shape or auto_pad".into());
    }
    let get = |name: &str, d: i64| node.ints(name).map_or(vec![d, d], <[i64]>::to_vec);
    let (s, d, op) = (
        get("strides", 1),
        get("dilations", 1),
        get("output_padding", 0),
    );
    let p = node.ints("pads").map_or(vec![0; 4], <[i64]>::to_vec);
    let same = |v: &[i64]| v.len() >= 2 && v.iter().all(|&a| a == v[0]) && v[0] >= 0;
    if !(same(&s) && same(&op) && same(&p) && d.iter().all(|&v| v == 1)) {
        return Err("strides, pads or output_padding differ between dimensions, or dilated".into());
    }
    Ok(Anchor {
        op: Op::Conv2dTranspose(Conv2dTranspose {
            n: x[0],
            h: x[2],
            w: x[3],
            c: x[1],
            k: w[1],
            r: w[2],
            s: w[3],
            stride: s[0] as usize,
            pad: p[0] as usize,
            output_pad: op[0] as usize,
        }),
        epilogue: bias(node),
        folded: Vec::new(),
        channel: Channel::Second,
    })
}

fn pool(node: &Node, x: &[usize]) -> Result<Anchor, Reason> {
    if x.len() != 4 {
        return Err(format!("{}-D pooling", x.len().saturating_sub(2)));
    }
    let kernel: Vec<usize> = node
        .ints("kernel_shape")
        .unwrap_or(&[])
        .iter()
        .map(|&k| k.max(0) as usize)
        .collect();
    let win = window(node, &x[2..], &kernel).map_err(|e| e.to_string())?;
    if node.int("ceil_mode", 0) == 1 {
        let floor = window(&floor_mode(node), &x[2..], &kernel).map_err(|e| e.to_string())?;
        if floor.out != win.out {
            return Err("ceil_mode changes the output size".into());
        }
    }
    if win.dilations.iter().any(|&d| d != 1) {
        return Err("dilated pooling".into());
    }
    if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
        return Err("the indices output is used".into());
    }
    if win.pads_begin != win.pads_end {
        return Err(format!(
            "asymmetric padding {:?} / {:?}",
            win.pads_begin, win.pads_end
        ));
    }
    let pad = uniform("pads", &win.pads_begin)?;
    let kind = if node.op == "MaxPool" {
        PoolKind::Max
    } else {
        if pad > 0 && node.int("count_include_pad", 0) == 0 {
            return Err("average pooling with padding and count_include_pad=0".into());
        }
        PoolKind::Avg
    };
    Ok(Anchor {
        op: Op::Pool2d(Pool2d {
            kind,
            n: x[0],
            h: x[2],
            w: x[3],
            c: x[1],
            r: kernel[0],
            s: kernel[1],
            stride: uniform("strides", &win.strides)?,
            pad,
        }),
        epilogue: Vec::new(),
        folded: Vec::new(),
        channel: Channel::None,
    })
}

fn floor_mode(node: &Node) -> Node {
    let mut n = node.clone();
    n.attrs.remove("ceil_mode");
    n
}

/// A parameter: an initializer, a `Constant`, or a graph input read directly (models that
/// keep their weights out of the file feed them as inputs).
fn is_param(g: &Graph, name: &str) -> bool {
    matches!(g.source(name), Some(Source::Constant | Source::Input))
}

/// If `name` is the output of a single-use `Transpose` that swaps the last two axes (and keeps
/// the others), that node's index and its input.
fn swapped<'a>(g: &'a Graph, name: &str, claimed: &[bool]) -> Option<(usize, &'a str)> {
    let Some(Source::Node(p)) = g.source(name) else {
        return None;
    };
    let t = &g.nodes[p];
    let rank = g.shape(name)?.len();
    let perm = t.ints("perm")?;
    let swap = rank >= 2
        && perm.len() == rank
        && (0..rank).all(|i| {
            let want = if i + 2 == rank {
                rank - 1
            } else if i + 1 == rank {
                rank - 2
            } else {
                i
            };
            perm[i] == want as i64
        });
    (t.op == "Transpose"
        && swap
        && !claimed[p]
        && g.consumers(name).len() == 1
        && !g.outputs.contains(name))
    .then(|| (p, t.input(0).unwrap_or("")))
}

fn gemm(g: &Graph, node: &Node, a: &[usize]) -> Result<Anchor, Reason> {
    let b = node
        .input(1)
        .and_then(|n| g.shape(n))
        .ok_or("B shape unknown")?;
    if a.len() != 2 || b.len() != 2 {
        return Err("Gemm operands not 2-D".into());
    }
    let trans_a = node.int("transA", 0) != 0;
    let trans_b = node.int("transB", 0) != 0;
    let (m, k) = if trans_a { (a[1], a[0]) } else { (a[0], a[1]) };
    let n = if trans_b { b[0] } else { b[1] };
    let alpha = node.float("alpha", 1.0);
    let beta = node.float("beta", 1.0);
    let mut epilogue = Vec::new();
    if alpha != 1.0 {
        epilogue.push(EpilogueOp::Scale(f64::from(alpha)));
    }
    if let Some(c) = node.input(2) {
        let cs = g.shape(c).ok_or("C shape unknown")?;
        if beta != 1.0 {
            return Err(format!("beta {beta} with a C input"));
        }
        if cs.len() <= 2 && cs.last() == Some(&n) && numel(cs) == n {
            epilogue.push(EpilogueOp::Bias);
        } else if cs.as_slice() == [m, n] {
            epilogue.push(EpilogueOp::Residual);
        } else {
            return Err(format!("C of shape {cs:?} broadcast over [{m},{n}]"));
        }
    }
    let op = if node.input(1).is_some_and(|b| is_param(g, b)) {
        Op::Matmul(Matmul {
            m,
            n,
            k,
            trans_a,
            trans_b,
        })
    } else {
        Op::BatchMatmul(BatchMatmul {
            b: 1,
            m,
            n,
            k,
            trans_a,
            trans_b,
        })
    };
    Ok(Anchor {
        op,
        epilogue,
        folded: Vec::new(),
        channel: Channel::Last,
    })
}

fn matmul(g: &Graph, node: &Node, a: &[usize], claimed: &[bool]) -> Result<Anchor, Reason> {
    let (an, bn) = (node.input(0).unwrap_or(""), node.input(1).unwrap_or(""));
    let b = g.shape(bn).ok_or("B shape unknown")?;
    if a.len() < 2 || b.len() < 2 {
        return Err("a 1-D operand (a vector product)".into());
    }
    let (k, n) = (b[b.len() - 2], b[b.len() - 1]);
    let m = a[a.len() - 2];
    let mut folded = Vec::new();
    let (mut trans_a, mut trans_b) = (false, false);
    let tb = swapped(g, bn, claimed);
    let b_param = match tb {
        Some((_, src)) => is_param(g, src),
        None => is_param(g, bn),
    };
    if let Some((p, _)) = tb {
        folded.push(p);
        trans_b = true;
    }
    let op = if b.len() == 2 && b_param {
        // A weight: every row of A (batch dims included) times B.
        if a.len() == 2 {
            if let Some((p, _)) = swapped(g, an, claimed) {
                folded.push(p);
                trans_a = true;
            }
        }
        Op::Matmul(Matmul {
            m: numel(a) / k.max(1),
            n,
            k,
            trans_a,
            trans_b,
        })
    } else if b.len() == 2 {
        // A product of two activations with a 2-D right side: one batch.
        Op::BatchMatmul(BatchMatmul {
            b: 1,
            m: numel(a) / k.max(1),
            n,
            k,
            trans_a,
            trans_b,
        })
    } else {
        let (ba, bb) = (&a[..a.len() - 2], &b[..b.len() - 2]);
        if ba != bb {
            return Err(format!("batch dims {ba:?} and {bb:?} broadcast"));
        }
        if let Some((p, _)) = swapped(g, an, claimed) {
            folded.push(p);
            trans_a = true;
        }
        Op::BatchMatmul(BatchMatmul {
            b: numel(ba),
            m,
            n,
            k,
            trans_a,
            trans_b,
        })
    };
    Ok(Anchor {
        op,
        epilogue: Vec::new(),
        folded,
        channel: Channel::Last,
    })
}

/// An elementwise anchor (see the module doc); `None` for other operators and for
/// computations on constants (shape arithmetic).
fn elementwise(g: &Graph, node: &Node) -> Option<Result<Anchor, Reason>> {
    let out = node.outputs.first()?;
    if g.constant(out).is_some() {
        return None;
    }
    let func = match node.op.as_str() {
        "Add" => BinaryFn::Add,
        "Sub" => BinaryFn::Sub,
        "Mul" => BinaryFn::Mul,
        "Div" => BinaryFn::Div,
        "Max" => BinaryFn::Max,
        "Min" => BinaryFn::Min,
        _ => {
            let step = crate::extract::unary_step(g, node)?;
            let Some(s) = g.shape(out).filter(|s| !s.is_empty()) else {
                return Some(Err("input shape unknown".into()));
            };
            let n = s[s.len() - 1];
            return Some(Ok(Anchor {
                op: Op::Elemwise(Rows {
                    m: numel(s) / n.max(1),
                    n,
                }),
                epilogue: vec![step],
                folded: Vec::new(),
                channel: Channel::Last,
            }));
        }
    };
    if node.inputs.len() != 2 {
        return None;
    }
    let shapes = (
        g.shape(out),
        node.input(0).and_then(|a| g.shape(a)),
        node.input(1).and_then(|b| g.shape(b)),
    );
    let (Some(s), Some(a), Some(b)) = shapes else {
        return Some(Err("input shape unknown".into()));
    };
    if s.is_empty() {
        return None;
    }
    let commutative = matches!(
        func,
        BinaryFn::Add | BinaryFn::Mul | BinaryFn::Max | BinaryFn::Min
    );
    let rhs = if a == s {
        b
    } else if b == s && commutative {
        a
    } else {
        return Some(Err(format!("both operands broadcast ({a:?}, {b:?})")));
    };
    // Runs of axes (the last on its own) where the right operand is full or broadcast.
    let r = s.len();
    let pad = r - rhs.len().min(r);
    let bcast = |i: usize| s[i] != 1 && (i < pad || rhs[i - pad] == 1);
    let mut runs: Vec<(usize, bool)> = Vec::new();
    for (i, &d) in s.iter().enumerate().take(r - 1) {
        if d == 1 {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.1 == bcast(i) => last.0 *= d,
            _ => runs.push((d, bcast(i))),
        }
    }
    let ((b, bb), (m, bm)) = match runs.as_slice() {
        [] => ((1, false), (1, false)),
        [m] => ((1, false), *m),
        [b, m] => (*b, *m),
        _ => return Some(Err("a broadcast over more than three runs of axes".into())),
    };
    Some(Ok(Anchor {
        op: Op::Binary(Binary {
            func,
            b,
            m,
            n: s[r - 1],
            bcast_b: bb,
            bcast_m: bm,
            bcast_n: bcast(r - 1),
        }),
        epilogue: Vec::new(),
        folded: Vec::new(),
        channel: Channel::Last,
    }))
}
