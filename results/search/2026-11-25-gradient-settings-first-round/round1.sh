#!/usr/bin/env bash
# The first round of a tuning run, the quick test of a policy setting: 8 candidates picked
# by the (pre-trained) model before any fine-tuning, measured; per task and seed.
#   results/search/2026-11-25-gradient-settings-first-round/round1.sh OUT_DIR LABEL [SEEDS] -- [tilegrad tune arguments...]
# e.g. round1.sh r1 screen512 0,1,2,3 -- --policy gradient --gradient screen=512
# Then: python3 results/search/2026-11-25-gradient-settings-first-round/round1.py OUT_DIR
set -eu
out=${1:?OUT_DIR}; label=${2:?LABEL}; seeds=${3:-0,1,2,3}; shift 3; [ "${1:-}" = "--" ] && shift
bin=${TILEGRAD:-target/release/tilegrad}
mkdir -p "$out/$label"
i=0
grep -v '^#' "$(dirname "$0")/tasks.txt" | while read -r _weight w; do
    i=$((i+1))
    case " ${ROUND1_TASKS:-1 3 5} " in *" $i "*) ;; *) continue ;; esac
    for s in ${seeds//,/ }; do
        log="$out/$label/task$i-seed$s.jsonl"
        [ -s "$log" ] && continue
        "$bin" tune "$w" --target cpu --trials 8 --per-round 8 --seed "$s" --log "$log" \
            --db "$out/$label/db.sqlite" --report "$out/$label/report.json" --quiet "$@" \
            > "$out/$label/task$i-seed$s.out" 2>&1 < /dev/null
    done
done
