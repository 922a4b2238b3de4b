#!/usr/bin/env bash
# tasks in the order 1,3,4,5,2 (the 1024^3 task last: it takes longest)
cd /work/main
out=results/cpu-bench/session5-confirm-best
for i in 1 3 4 5 2; do
  w=$(grep -v '^#' results/cpu-bench/tasks.txt | sed -n "${i}p" | cut -d' ' -f2-)
  echo "== task $i: $w ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  /work/bench6/tilegrad bench search "$w" --target cpu --trials 128 --per-round 8 --seeds 0,1,2 \
      --model auto --confirm 3 --confirm-best 2 --quiet --json "$out/task$i.json"
done
echo "== done $(date +%T)"
