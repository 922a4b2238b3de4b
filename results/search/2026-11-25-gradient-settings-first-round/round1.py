"""Summarises round1.sh runs: per label and task, over seeds, the mean of the best and of the
geometric mean of the 8 measured candidates, in GFLOP/s (from each log's median times).
    python3 results/search/2026-11-25-gradient-settings-first-round/round1.py OUT_DIR"""
import json, math, pathlib, re, sys
from statistics import mean

FLOPS = {}
def flops(w):
    """2*M*N*K for matmul; 2*N*P*Q*K*C*R*S/groups for conv2d (the tasks of tasks.txt)."""
    d = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', w))
    if w.startswith('matmul'):
        return 2 * d['M'] * d['N'] * d['K']
    p = (d['H'] + 2 * d['pad'] - d['R']) // d['stride'] + 1
    q = (d['W'] + 2 * d['pad'] - d['S']) // d['stride'] + 1
    return 2 * d['N'] * p * q * d['K'] * d['C'] * d['R'] * d['S'] // d.get('groups', 1)

def median(xs):
    xs = sorted(xs); n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])

root = pathlib.Path(sys.argv[1])
rows = {}
for log in sorted(root.glob('*/task*-seed*.jsonl')):
    label, task = log.parent.name, log.name.split('-')[0]
    g = []
    for line in open(log):
        r = json.loads(line)
        ok = r.get('outcome', {}).get('ok')
        if ok:
            g.append(flops(r['workload']) / median(ok['samples_s']) / 1e9)
    if g:
        rows.setdefault(label, {}).setdefault(task, []).append(
            (max(g), math.exp(mean(math.log(x) for x in g)), len(g)))
tasks = sorted({t for v in rows.values() for t in v})
print('label'.ljust(28) + ''.join(f'{t:>20}' for t in tasks) + '   (best / geomean of picks, mean over seeds; n seeds)')
for label, per in sorted(rows.items()):
    cells = []
    for t in tasks:
        v = per.get(t, [])
        cells.append(f'{mean(b for b, _, _ in v):7.1f} /{mean(m for _, m, _ in v):6.1f} n{len(v)}' if v else ' ' * 20)
    print(label.ljust(28) + ''.join(f'{c:>20}' for c in cells))
