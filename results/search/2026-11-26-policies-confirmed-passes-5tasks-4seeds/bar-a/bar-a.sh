#!/bin/bash
# Issue 8 bar (a): the acceptance commands, on the idle machine, then OpenBLAS.
#   TILEGRAD=<copy of the binary> results/search/2026-11-26-policies-confirmed-passes-5tasks-4seeds/bar-a/bar-a.sh OUT_DIR > OUT_DIR/bar-a.log
# Reports go to OUT_DIR; logs and databases to a fresh temporary folder.
set -u
T=${TILEGRAD:-target/release/tilegrad}
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?OUT_DIR}
tmp=$(mktemp -d)
mkdir -p "$out"; cd "$out"
for seed in 0 1 2; do
  echo "== matmul 512^3, 64 trials, 60 s, seed $seed ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  /usr/bin/time -f "wall %e s" $T tune "matmul(M=512,N=512,K=512)" --target cpu --trials 64 --time-limit 60 --seed $seed \
    --log $tmp/512-$seed.jsonl --db $tmp/512-$seed.db --report 512-seed$seed.report.json 2>&1 | grep -v "^\s*$" | tail -8
done
echo "== matmul 1024^3, 128 trials, seed 0 ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
/usr/bin/time -f "wall %e s" $T tune "matmul(M=1024,N=1024,K=1024)" --target cpu --trials 128 --seed 0 \
  --log $tmp/1024-0.jsonl --db $tmp/1024-0.db --report 1024-seed0.report.json 2>&1 | grep -v "^\s*$" | tail -8
echo "== OpenBLAS ($(date +%T))"
SECONDS_EACH=3 "$here/../../../../scripts/cpu-baseline" 2>&1 | tail -3
