#!/bin/bash
# Pre-training data for the CPU cost model: per workload, 40 trials of evolutionary search
# (8 random cold-start picks, then model-guided picks), seeds differ per workload.
cd /work/pretrain
i=0
while read -r w; do
  i=$((i+1))
  [ -s logs/$i.jsonl ] && continue
  ./tilegrad tune "$w" --target cpu --policy evolutionary --trials 40 --per-round 8 --seed $i --log logs/$i.jsonl --db db.sqlite > logs/$i.out 2>&1
  echo "$i $(date +%T) $(wc -l < logs/$i.jsonl) $w"
done < workloads.txt
echo done
