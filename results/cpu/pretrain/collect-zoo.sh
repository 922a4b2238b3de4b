#!/bin/bash
# Pre-training and evaluation data for the CPU cost model over the model-zoo suite, split
# by workload fold:
#   collect-zoo.sh PASS HELD/FOLDS [TRIALS] [train|eval]
# `train` (default) tunes every workload of datasets/suites/zoo.txt whose fold (workload
# key mod FOLDS, `tilegrad_datasets::suites::Split`) is not HELD; `eval` only the workloads
# of fold HELD (to score a model trained with `--held-out HELD/FOLDS` on workloads it never
# saw). Uniform random legal picks (every sketch drawn alike), TRIALS (default 24) per
# workload, 8 per round, seeds 600+line (train) or 700+line (eval).
# SKETCHES (optional, e.g. `cpu-tiling/packed,cpu-tiling/padded`): only those sketches;
# workloads with none of them are skipped.
# Writes DIR/PASS/<line>.jsonl (DIR: $OUT, default .); TILEGRAD: the binary (a copy, so that
# rebuilding during the pass cannot change it). Re-running skips finished workloads. Run it
# on a machine doing nothing else.
set -eu
pass=${1:?PASS name}; split=${2:?HELD/FOLDS, e.g. 0/4}; trials=${3:-24}; mode=${4:-train}
held=${split%/*}; folds=${split#*/}
case $mode in train) base=600 ;; eval) base=700 ;; *) echo "mode: train or eval" >&2; exit 2 ;; esac
bin=${TILEGRAD:-tilegrad}; out=${OUT:-.}; here=$(dirname "$0")
mkdir -p "$out/$pass"
i=0
grep -v '^#' "$here/../../../datasets/suites/zoo.txt" | grep . | while read -r _group w; do
  i=$((i+1))
  fold=$(python3 -c 'import sys
h=0xcbf29ce484222325
for b in sys.argv[1].encode(): h=((h^b)*0x100000001b3)&(2**64-1)
print(h%int(sys.argv[2]))' "$w" "$folds")
  if [ "$mode" = train ]; then [ "$fold" = "$held" ] && continue; else [ "$fold" = "$held" ] || continue; fi
  [ -s "$out/$pass/$i.jsonl" ] && continue
  "$bin" tune "$w" --target cpu --trials "$trials" --per-round 8 --seed $((base+i)) \
    --policy random --model none ${SKETCHES:+--sketch "$SKETCHES"} \
    --log "$out/$pass/$i.jsonl" --db "$out/$pass/db.sqlite" --report "$out/$pass/$i.report.json" \
    --quiet > "$out/$pass/$i.out" 2>&1 < /dev/null || echo "$i failed: $w"
  echo "$i $(date +%T) $(wc -l < "$out/$pass/$i.jsonl") load $(cut -d' ' -f1-3 /proc/loadavg) $w"
done
echo done
