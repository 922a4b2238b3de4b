#!/usr/bin/env python3
"""Generates the network task lists in this folder (run from anywhere).

Each output line is `<weight> <workload text>`; `#` starts a comment. The
layer lists follow shared/reference/felix.md section 4 (NHWC/NDHWC, fp32);
BatchNorm is folded into the conv weights and a per-channel `+bias`.
The `.txt` files are the shipped artifact; this script documents how they
were derived and regenerates them byte-identically.
"""
import os
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))


class Net:
    def __init__(self):
        self.tasks = OrderedDict()  # text -> weight
        self.lines = []

    def comment(self, text):
        self.lines.append("# " + text)

    def add(self, text, weight=1):
        if text in self.tasks:
            self.tasks[text] += weight
        else:
            self.tasks[text] = weight
            self.lines.append(text)

    def render(self, header):
        out = ["# " + h for h in header]
        for line in self.lines:
            out.append(line if line.startswith("#") else f"{self.tasks[line]} {line}")
        return "\n".join(out) + "\n"


def conv(n, h, c, k, r, stride=1, pad=None, groups=1, epi=""):
    if pad is None:
        pad = r // 2
    g = f",groups={groups}" if groups != 1 else ""
    return f"conv2d(N={n},H={h},W={h},C={c},K={k},R={r},S={r},stride={stride},pad={pad}{g}){epi}"


def dense(m, n, k, epi="+bias"):
    return f"matmul(M={m},N={n},K={k},trans_b=1){epi}"


def resnet50(b):
    net = Net()
    net.comment("stem: 7x7/2 conv at 256x256, then 3x3/2 max pool")
    net.add(conv(b, 256, 3, 64, 7, 2, 3, epi="+bias+relu"))
    net.add(f"max_pool2d(N={b},H=128,W=128,C=64,R=3,S=3,stride=2,pad=1)")
    # (input size, in-planes of the stage, width, blocks, stride of first block)
    stages = [(64, 64, 64, 3, 1), (64, 256, 128, 4, 2), (32, 512, 256, 6, 2), (16, 1024, 512, 3, 2)]
    for h, cin, width, blocks, stride in stages:
        out = width * 4
        ho = h // stride
        net.comment(f"bottleneck stage width {width}: {blocks} blocks, input {h}x{h}x{cin}")
        for i in range(blocks):
            c_in = cin if i == 0 else out
            s = stride if i == 0 else 1
            hi = h if i == 0 else ho
            net.add(conv(b, hi, c_in, width, 1, epi="+bias+relu"))
            net.add(conv(b, hi, width, width, 3, s, 1, epi="+bias+relu"))
            net.add(conv(b, ho, width, out, 1, epi="+bias+res+relu"))
            if i == 0:
                net.comment("downsample projection (feeds the residual)")
                net.add(conv(b, h, c_in, out, 1, s, 0, epi="+bias"))
    net.comment("head: global average pool and classifier")
    net.add(f"global_avg_pool2d(N={b},H=8,W=8,C=2048)")
    net.add(dense(b, 1000, 2048))
    return net


def mobilenet_v2(b):
    net = Net()
    act = "+bias+relu6"
    net.comment("stem: 3x3/2 conv at 256x256")
    net.add(conv(b, 256, 3, 32, 3, 2, 1, epi=act))
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    h, cin = 128, 32
    for t, c, n, s in settings:
        net.comment(f"inverted residual t={t} c={c} n={n} s={s}, input {h}x{h}x{cin}")
        for i in range(n):
            stride = s if i == 0 else 1
            hid = cin * t
            if t != 1:
                net.add(conv(b, h, cin, hid, 1, epi=act))
            net.add(conv(b, h, hid, hid, 3, stride, 1, groups=hid, epi=act))
            h2 = h // stride
            res = stride == 1 and cin == c
            net.add(conv(b, h2, hid, c, 1, epi="+bias+res" if res else "+bias"))
            h, cin = h2, c
    net.comment("last 1x1 conv, pool, classifier")
    net.add(conv(b, 8, 320, 1280, 1, epi=act))
    net.add(f"global_avg_pool2d(N={b},H=8,W=8,C=1280)")
    net.add(dense(b, 1000, 1280))
    return net


def conv3d(n, d, h, c, k, kt, kr, sd, s, pd, p, epi):
    return (f"conv3d(N={n},D={d},H={h},W={h},C={c},K={k},T={kt},R={kr},S={kr},"
            f"stride_d={sd},stride={s},pad_d={pd},pad={p}){epi}")


def r3d_18(b):
    net = Net()
    net.comment("stem: 3x7x7 conv, stride (1,2,2), pad (1,3,3) on 16x112x112")
    net.add(conv3d(b, 16, 112, 3, 64, 3, 7, 1, 2, 1, 3, "+bias+relu"))
    d, h, cin = 16, 56, 64
    for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        net.comment(f"basic-block stage width {width}: 2 blocks, input {d}x{h}x{h}x{cin}")
        do, ho = d // stride, h // stride
        for i in range(2):
            s = stride if i == 0 else 1
            c_in = cin if i == 0 else width
            di, hi = (d, h) if i == 0 else (do, ho)
            net.add(conv3d(b, di, hi, c_in, width, 3, 3, s, s, 1, 1, "+bias+relu"))
            net.add(conv3d(b, do, ho, width, width, 3, 3, 1, 1, 1, 1, "+bias+res+relu"))
            if i == 0 and stride != 1:
                net.comment("downsample projection (feeds the residual)")
                net.add(conv3d(b, d, h, c_in, width, 1, 1, s, s, 0, 0, "+bias"))
        d, h, cin = do, ho, width
    net.comment("head: global average pool and classifier")
    net.add(f"global_avg_pool3d(N={b},D=2,H=7,W=7,C=512)")
    net.add(dense(b, 400, 512))
    return net


def dcgan(b):
    net = Net()
    net.comment("generator: 4x4 transposed convs (BN folded into bias), last one + tanh")
    net.add(f"conv2d_transpose(N={b},H=1,W=1,C=100,K=512,R=4,S=4,stride=1,pad=0)+bias+relu")
    for h, c, k in [(4, 512, 256), (8, 256, 128), (16, 128, 64)]:
        net.add(f"conv2d_transpose(N={b},H={h},W={h},C={c},K={k},R=4,S=4,stride=2,pad=1)+bias+relu")
    net.add(f"conv2d_transpose(N={b},H=32,W=32,C=64,K=3,R=4,S=4,stride=2,pad=1)+tanh")
    net.comment("discriminator: 4x4/2 convs with leaky relu, last one + sigmoid")
    net.add(conv(b, 64, 3, 64, 4, 2, 1, epi="+leaky_relu(0.2)"))
    for h, c, k in [(32, 64, 128), (16, 128, 256), (8, 256, 512)]:
        net.add(conv(b, h, c, k, 4, 2, 1, epi="+bias+leaky_relu(0.2)"))
    net.add(conv(b, 4, 512, 1, 4, 1, 0, epi="+sigmoid"))
    return net


def vit_b32(b):
    net = Net()
    t, d, heads, layers = 50, 768, 12, 12
    rows = b * t
    net.comment("patch embedding (32x32/32 conv) and position-embedding add")
    net.add(conv(b, 224, 3, d, 32, 32, 0, epi="+bias"))
    # the position embedding [1,50,768] broadcasts over the batch
    net.add(f"add(B={b},M={t},N={d},bcast_b=1)" if b > 1 else f"add(M={t},N={d})")
    net.comment("encoder layer (x12): LN, Q/K/V, QK^T/8, softmax, attn*V, O+res, LN, MLP+gelu, MLP+res")
    for _ in range(layers):
        net.add(f"layer_norm(M={rows},N={d})")
        for _ in range(3):
            net.add(dense(rows, d, d))
        net.add(f"batch_matmul(B={b * heads},M={t},N={t},K=64,trans_b=1)+scale(0.125)")
        net.add(f"softmax(M={b * heads * t},N={t})")
        net.add(f"batch_matmul(B={b * heads},M={t},N=64,K={t})")
        net.add(dense(rows, d, d, "+bias+res"))
        net.add(f"layer_norm(M={rows},N={d})")
        net.add(dense(rows, 3072, d, "+bias+gelu"))
        net.add(dense(rows, d, 3072, "+bias+res"))
    net.comment("final layer norm (merged into the layer_norm line above), classifier on the class token")
    net.add(f"layer_norm(M={rows},N={d})")
    net.add(dense(b, 1000, d))
    return net


def llama_7b(b):
    net = Net()
    s, d, heads, hd, ff = 100, 4096, 32, 128, 11008
    rows = b * s
    scale = repr(hd ** 0.5 / hd)  # 1/sqrt(128), correctly rounded
    net.comment("one decoder block at sequence 100 (weights = per-block occurrences)")
    net.add(f"rms_norm(M={rows},N={d})")
    for _ in range(3):
        net.add(dense(rows, d, d, ""))
    for _ in range(2):
        net.add(f"rope(B={b * heads},M={s},N={hd})")
    net.add(f"batch_matmul(B={b * heads},M={s},N={s},K={hd},trans_b=1)+scale({scale})+causal")
    net.add(f"softmax(M={b * heads * s},N={s})")
    net.add(f"batch_matmul(B={b * heads},M={s},N={hd},K={s})")
    net.add(dense(rows, d, d, "+res"))
    net.add(f"rms_norm(M={rows},N={d})")
    net.add(dense(rows, ff, d, "+silu"))
    net.add(dense(rows, ff, d, "+mul"))
    net.add(dense(rows, d, ff, "+res"))
    net.comment("final norm (merged into the rms_norm line above) and lm_head (vocabulary 32000)")
    net.add(f"rms_norm(M={rows},N={d})")
    net.add(dense(rows, 32000, d, ""))
    return net


NETS = {
    "resnet50": (resnet50, "ResNet-50 (torchvision), input 3x256x256"),
    "mobilenet_v2": (mobilenet_v2, "MobileNet-V2 (torchvision), input 3x256x256"),
    "r3d_18": (r3d_18, "R3D-18 (torchvision), input 3x16x112x112"),
    "dcgan": (dcgan, "DCGAN generator + discriminator (nz=100, ngf=ndf=64, nc=3)"),
    "vit_b32": (vit_b32, "ViT-B/32, input 3x224x224 (49 patches + class token)"),
    "llama_7b": (llama_7b, "LLaMA-7B: one decoder block at sequence length 100, plus lm_head"),
}

if __name__ == "__main__":
    for name, (fn, desc) in NETS.items():
        for b in (1, 16):
            net = fn(b)
            header = [
                f"{desc}, batch {b}.",
                "Generated by generate.py; one distinct tuning task per line: <weight> <workload>.",
                f"{len(net.tasks)} tasks.",
            ]
            with open(os.path.join(HERE, f"{name}_b{b}.txt"), "w") as f:
                f.write(net.render(header))
