#!/usr/bin/env python3
"""PyTorch baseline for the GPU sweep (scripts/gpu-sweep) and the comparison table.

Times the same tasks as `gpu_sweep --tasks-out tasks.json` with PyTorch on the GPU: cuBLAS
(matmul, bmm) and cuDNN (conv2d) in fp32, each with TF32 off (strict fp32, comparable to
tilegrad's fp32 CUDA-core kernels) and on, plus the epilogue as separate eager ops. Inputs
use tilegrad's layouts (conv: NHWC activations as channels_last, RSCK weights). Protocol
like tilegrad's: warm-up, then timed repetitions, each between CUDA events with L2 flushed
(a memset of 2x the L2 size) before it; the median is reported.

    python3 scripts/gpu_baseline.py --tasks tasks.json --out baseline.json \
        [--sweep sweep.jsonl --table compare.md]

With --sweep, prints (last) and saves a table: best verified tilegrad candidate per task vs
torch.
"""

import argparse
import json
import re
import statistics
import sys


def parse(text):
    """`op(a=1,b=2)+ep+ep(x)` -> (op, {a:1,...}, [(ep, arg or None), ...])."""
    m = re.fullmatch(r"(\w+)\(([^)]*)\)((?:\+\w+(?:\([^)]*\))?)*)", text)
    if not m:
        raise ValueError(f"cannot parse workload {text!r}")
    params = {}
    for kv in filter(None, m.group(2).split(",")):
        k, v = kv.split("=")
        params[k] = float(v) if "." in v else int(v)
    eps = [(e[0], e[1] or None) for e in re.findall(r"\+(\w+)(?:\(([^)]*)\))?", m.group(3))]
    return m.group(1), params, eps


def build(torch, F, text, dev):
    """Inputs and a closure computing the workload with PyTorch ops."""
    op, p, eps = parse(text)
    r = lambda *s: torch.rand(*s, device=dev) * 2 - 1  # noqa: E731
    if op == "matmul":
        a = r(p["K"], p["M"]).t() if p.get("trans_a") else r(p["M"], p["K"])
        b = r(p["N"], p["K"]).t() if p.get("trans_b") else r(p["K"], p["N"])
        core = lambda: a @ b  # noqa: E731
        out_shape, chan = (p["M"], p["N"]), p["N"]
    elif op == "batch_matmul":
        a = r(p["B"], p["K"], p["M"]).transpose(1, 2) if p.get("trans_a") else r(p["B"], p["M"], p["K"])
        b = r(p["B"], p["N"], p["K"]).transpose(1, 2) if p.get("trans_b") else r(p["B"], p["K"], p["N"])
        core = lambda: torch.bmm(a, b)  # noqa: E731
        out_shape, chan = (p["B"], p["M"], p["N"]), p["N"]
    elif op == "conv2d":
        g = p.get("groups", 1)
        x = r(p["N"], p["H"], p["W"], p["C"]).permute(0, 3, 1, 2)  # NHWC storage, channels_last
        w = r(p["R"], p["S"], p["C"] // g, p["K"]).permute(3, 2, 0, 1).contiguous(
            memory_format=torch.channels_last)
        st, pad, dil = p.get("stride", 1), p.get("pad", 0), p.get("dilation", 1)
        core = lambda: F.conv2d(x, w, stride=st, padding=pad, dilation=dil, groups=g)  # noqa: E731
        out_shape, chan = None, p["K"]
    elif op == "max_pool2d":
        x = r(p["N"], p["H"], p["W"], p["C"]).permute(0, 3, 1, 2)
        core = lambda: F.max_pool2d(x, (p["R"], p["S"]), p.get("stride", 1), p.get("pad", 0))  # noqa: E731
        out_shape, chan = None, p["C"]
    elif op == "global_avg_pool2d":
        x = r(p["N"], p["H"], p["W"], p["C"])
        core = lambda: x.mean(dim=(1, 2))  # noqa: E731
        out_shape, chan = None, p["C"]
    elif op == "softmax":
        x = r(p["M"], p["N"])
        core = lambda: torch.softmax(x, -1)  # noqa: E731
        out_shape, chan = None, p["N"]
    elif op == "rms_norm":
        x, w = r(p["M"], p["N"]), r(p["N"])
        core = lambda: F.rms_norm(x, (p["N"],), w, 1e-6)  # noqa: E731
        out_shape, chan = None, p["N"]
    elif op == "rope":
        x, c, s = r(p["B"], p["M"], p["N"]), r(p["M"], p["N"]), r(p["M"], p["N"])
        h = p["N"] // 2

        def core():
            rot = torch.cat((-x[..., h:], x[..., :h]), -1)
            return x * c + rot * s
        out_shape, chan = None, p["N"]
    else:
        raise ValueError(f"no PyTorch version of {op}")
    extra = []
    for name, arg in eps:
        if name == "bias":
            extra.append((name, r(chan)))
        elif name in ("res", "mul"):
            extra.append((name, None))
        else:
            extra.append((name, arg))
    # Residual / multiplier tensors need the output shape: make them once from a dry run.
    y0 = core()
    extra = [(n, torch.rand_like(y0) * 2 - 1 if n in ("res", "mul") else a) for n, a in extra]

    def run():
        y = core()
        for n, a in extra:
            if n == "bias":
                y = y + (a.view(1, -1, 1, 1) if y.dim() == 4 and op == "conv2d" else a)
            elif n == "relu":
                y = torch.relu(y)
            elif n == "silu":
                y = F.silu(y)
            elif n == "res":
                y = y + a
            elif n == "mul":
                y = y * a
            elif n == "scale":
                y = y * float(a)
            elif n == "causal":
                y = y.masked_fill(torch.ones(y.shape[-2:], dtype=torch.bool, device=y.device).triu(1), float("-inf"))
            else:
                raise ValueError(f"no PyTorch version of epilogue {n}")
        return y
    del out_shape
    return run


def time_fn(torch, fn, flush, reps=50, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        flush.fill_(1)
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) * 1e-3)
    return statistics.median(ts), min(ts)


def baseline(tasks, out):
    import torch
    import torch.nn.functional as F
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    flush = torch.empty(2 * l2, dtype=torch.uint8, device=dev)
    info = {"torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "device": props.name,
            "sm_count": props.multi_processor_count, "l2_bytes": l2}
    print("torch:", json.dumps(info), flush=True)
    rows = []
    for t in tasks:
        row = dict(t)
        try:
            fn = build(torch, F, t["workload"], dev)
            for tf32 in (False, True):
                torch.backends.cuda.matmul.allow_tf32 = tf32
                torch.backends.cudnn.allow_tf32 = tf32
                med, mn = time_fn(torch, fn, flush)
                key = "tf32" if tf32 else "fp32"
                row[f"{key}_median_s"], row[f"{key}_min_s"] = med, mn
                row[f"{key}_gflops"] = t["flops"] / med / 1e9
            del fn
        except Exception as e:  # keep going: one unsupported task must not stop the baseline
            row["error"] = f"{type(e).__name__}: {e}"
        torch.cuda.empty_cache()
        rows.append(row)
        print(f"torch {t['network']} #{t['task_index']} {t['workload']}: "
              + (f"fp32 {row['fp32_median_s']*1e6:.1f} us, tf32 {row['tf32_median_s']*1e6:.1f} us"
                 if "error" not in row else row["error"]), flush=True)
    json.dump({"info": info, "tasks": rows}, open(out, "w"), indent=1)
    return rows


def table(rows, sweep_path, table_path):
    best = {}
    for line in open(sweep_path):
        v = json.loads(line)
        if not v.get("ok"):
            continue
        k = (v["network"], v["task_index"])
        if k not in best or v["median_s"] < best[k]["median_s"]:
            best[k] = v
    lines = ["| network | # | w | workload | tilegrad best us (sketch) | GFLOP/s | torch fp32 us | "
             "torch tf32 us | torch fp32 / tilegrad |", "|---|---|---|---|---|---|---|---|---|"]
    totals = {}
    for r in rows:
        k = (r["network"], r["task_index"])
        b = best.get(k)
        tg = f"{b['median_s']*1e6:.1f} ({b['sketch']})" if b else "none verified"
        gf = f"{b['gflops']:.0f}" if b else "-"
        f32 = r.get("fp32_median_s")
        t32 = r.get("tf32_median_s")
        ratio = f"{f32 / b['median_s']:.2f}" if (b and f32) else "-"
        lines.append(f"| {r['network']} | {r['task_index']} | {r['weight']} | `{r['workload']}` | {tg} | {gf} | "
                     + (f"{f32*1e6:.1f}" if f32 else "-") + " | " + (f"{t32*1e6:.1f}" if t32 else "-")
                     + f" | {ratio} |")
        if b and f32:
            tot = totals.setdefault(r["network"], [0.0, 0.0, 0])
            tot[0] += r["weight"] * b["median_s"]
            tot[1] += r["weight"] * f32
            tot[2] += 1
    lines.append("")
    for net, (tg, f32, n) in totals.items():
        lines.append(f"{net}: weighted sum over {n} tasks with a verified candidate: tilegrad {tg*1e3:.3f} ms, "
                     f"torch fp32 {f32*1e3:.3f} ms (torch/tilegrad {f32/tg:.2f})")
    text = "\n".join(lines)
    open(table_path, "w").write(text + "\n")
    print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sweep")
    ap.add_argument("--table")
    a = ap.parse_args()
    rows = baseline(json.load(open(a.tasks)), a.out)
    if a.sweep:
        table(rows, a.sweep, a.table or "compare.md")


if __name__ == "__main__":
    sys.exit(main())
