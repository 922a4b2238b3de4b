#!/bin/bash
# Pre-training data for the CPU cost model: per workload, 32 uniform random trials
# (policy random: every pick uniform over the legal space), seeds 101..123.
cd /work/pretrain  # pass 2, run after collect.sh
i=0
while read -r w; do
  i=$((i+1))
  [ -s logs2/$i.jsonl ] && continue
  ./tilegrad tune "$w" --target cpu --policy random --trials 32 --per-round 8 --seed $((100+i)) --log logs2/$i.jsonl --db db2.sqlite > logs2/$i.out 2>&1
  echo "$i $(date +%T) $(wc -l < logs2/$i.jsonl) $w"
done < workloads.txt
echo done
