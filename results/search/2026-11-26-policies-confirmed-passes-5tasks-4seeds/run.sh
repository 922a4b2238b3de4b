#!/usr/bin/env bash
# Issue 8's CPU policy benchmark, one `tilegrad bench search` per task so that a partial run
# keeps its finished tasks: gradient vs evolutionary vs random, same tasks, target, trial
# budget and measurer; gradient and evolutionary start from the same shipped model.
#   results/search/2026-11-26-policies-confirmed-passes-5tasks-4seeds/run.sh OUT_DIR [TRIALS] [SEEDS] [MODEL]
# Then: tilegrad bench summarize OUT_DIR/task*.json
set -eu
out=${1:?OUT_DIR}; trials=${2:-128}; seeds=${3:-0,1,2}; model=${4:-auto}
bin=${TILEGRAD:-target/release/tilegrad}
mkdir -p "$out"
i=0
grep -v '^#' "$(dirname "$0")/tasks.txt" | while read -r _weight w; do
    i=$((i+1))
    [ -s "$out/task$i.json" ] && continue
    echo "== task $i: $w ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
    "$bin" bench search "$w" --target cpu --trials "$trials" --per-round 8 --seeds "$seeds" \
        --model "$model" --quiet --json "$out/task$i.json"
done
echo "== done $(date +%T)"
