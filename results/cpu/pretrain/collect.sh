#!/bin/bash
# Pre-training data for the CPU cost model, one pass over workloads.txt (32 trials per
# workload, 8 per round), on a machine doing nothing else:
#   collect.sh random-a            uniform random legal picks, seeds 201..223
#   collect.sh random-b            the same, seeds 301..323
#   collect.sh random-c            the same, seeds 501..523 (after cpu-tiling/packed was added)
#   collect.sh gradient MODEL      gradient search from MODEL (trained on the random passes),
#                                  seeds 401..423
# Writes DIR/<pass>/<line>.jsonl (DIR: $OUT, default .); TILEGRAD: the binary (a copy, so that
# rebuilding during the pass cannot change it). Re-running skips finished workloads.
set -eu
pass=${1:?random-a, random-b, random-c or gradient MODEL}
bin=${TILEGRAD:-tilegrad}; out=${OUT:-.}; here=$(dirname "$0")
case $pass in
  random-a) args=(--policy random --model none); base=200 ;;
  random-b) args=(--policy random --model none); base=300 ;;
  random-c) args=(--policy random --model none); base=500 ;;
  gradient) args=(--policy gradient --model "${2:?MODEL}"); base=400 ;;
  *) echo "unknown pass $pass" >&2; exit 2 ;;
esac
mkdir -p "$out/$pass"
i=0
while read -r w; do
  i=$((i+1))
  [ -s "$out/$pass/$i.jsonl" ] && continue
  "$bin" tune "$w" --target cpu --trials 32 --per-round 8 --seed $((base+i)) "${args[@]}" \
    --log "$out/$pass/$i.jsonl" --db "$out/$pass/db.sqlite" --report "$out/$pass/$i.report.json" \
    --quiet > "$out/$pass/$i.out" 2>&1 < /dev/null
  echo "$i $(date +%T) $(wc -l < "$out/$pass/$i.jsonl") load $(cut -d' ' -f1-3 /proc/loadavg) $w"
done < "$here/workloads.txt"
echo done
