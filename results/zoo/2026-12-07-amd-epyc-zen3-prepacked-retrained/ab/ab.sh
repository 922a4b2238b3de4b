#!/bin/bash
# A/B: the same schedule with the old (per-call pack) and new (prepared) binaries, alternating.
cases=(
"matmul(M=512,N=512,K=512)|cpu-tiling/packed|sp_i_0=1,sp_i_1=64,sp_i_2=1,sp_j_0=8,sp_j_1=1,sp_j_2=64,rd_k_0=64,unroll=16"
"matmul(M=1024,N=1024,K=1024)|cpu-tiling/packed|sp_i_0=32,sp_i_1=2,sp_i_2=8,sp_j_0=1,sp_j_1=64,sp_j_2=8,rd_k_0=16,unroll=1"
"matmul(M=100,N=1024,K=1024,trans_b=1)|cpu-tiling/packed|sp_i_0=1,sp_i_1=20,sp_i_2=5,sp_j_0=4,sp_j_1=2,sp_j_2=16,rd_k_0=128,unroll=16"
"matmul(M=16,N=4096,K=4096,trans_b=1)|cpu-tiling/packed|sp_i_0=1,sp_i_1=4,sp_i_2=4,sp_j_0=1,sp_j_1=16,sp_j_2=16,rd_k_0=4,unroll=1"
"conv2d(N=1,H=32,W=32,C=128,K=128,R=3,S=3,stride=1,pad=1)+bias+relu|cpu-tiling/packed|sp_p_0=1,sp_p_1=32,sp_p_2=1,sp_q_0=1,sp_q_1=2,sp_q_2=2,sp_k_0=1,sp_k_1=1,sp_k_2=32,rd_rc_0=4,rd_r_0=3,rd_s_0=3,unroll=16"
"matmul(M=97,N=1000,K=4099)|cpu-tiling/padded|sp_i_0=1,sp_i_1=50,sp_i_2=2,sp_j_0=1,sp_j_1=1,sp_j_2=40,rd_k_0=40,unroll=16"
)
for c in "${cases[@]}"; do
  IFS='|' read -r w s a <<< "$c"
  for r in 1 2 3 4 5; do
    for side in old new; do
      if [ $side = old ]; then bin=${OLD:?binary of fa55402 (weights packed per call)}; else bin=${NEW:-target/release/tilegrad}; fi
      t=$($bin measure "$w" --sketch $s --assignment "$a" 2>&1 | grep -E "^\s+1\s" | awk "{print \$3, \$6}")
      echo "$w $side $t"
    done
  done
done
