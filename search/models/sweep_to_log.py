#!/usr/bin/env python3
"""Turns the H100 random sweep (results/gpu/sweep.jsonl, written by measure/examples/gpu_sweep.rs)
into tuning-log records (datasets/src/log.rs, schema v1) on stdout, so that `tilegrad model
train` reads it like any log. The sweep kept the median (not every sample): `samples_s` holds
the median alone. Usage: sweep_to_log.py results/gpu/sweep.jsonl > cuda-h100.jsonl
"""
import json
import sys

# The device of results/gpu/machine.txt, as measure/src/record.rs `target_info` writes it.
TARGET = {"key": "cuda/sm_90/NVIDIA H100 80GB HBM3", "kind": "cuda",
          "name": "NVIDIA H100 80GB HBM3", "arch": "sm_90", "units": 132,
          "driver": "580.159.04", "toolchain": "nvrtc 12.9"}
TIMESTAMP = 1795614231.0  # 2026-11-25T13:43:51Z, the sweep's start


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main(path):
    for line in open(path):
        s = json.loads(line)
        if s.get("ok"):
            outcome = {"ok": {"samples_s": [s["median_s"]], "median_s": s["median_s"],
                              "spread": s.get("spread", 0.0), "build_s": s.get("build_s", 0.0)}}
        else:
            outcome = {"error": {"kind": s.get("error_kind", "unknown"),
                                 "message": s.get("error", "")}}
        rec = {"v": 1, "workload_key": fnv1a64(s["workload"]), "workload": s["workload"],
               "target": TARGET, "sketch": s["sketch"], "assignment": s["assignment"],
               "outcome": outcome,
               "provenance": {"tilegrad": "0.1.0", "model": "", "policy": "random(sweep)",
                              "seed": 1, "round": s.get("task_index", 0), "timestamp": TIMESTAMP}}
        print(json.dumps(rec, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1])
