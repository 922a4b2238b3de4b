#!/bin/bash
# alternate two assignments in fresh processes
bin=${BIN:-/work/exp6/tg0}
A="sp_i_0=1,sp_i_1=128,sp_i_2=1,sp_j_0=1,sp_j_1=1,sp_j_2=64,rd_k_0=8,unroll=64"
B="sp_i_0=4,sp_i_1=2,sp_i_2=4,sp_j_0=2,sp_j_1=1,sp_j_2=16,rd_k_0=4,unroll=512"
for r in $(seq 1 ${ROUNDS:-8}); do
  a=$($bin measure "matmul(M=512,N=512,K=512)" --target cpu --sketch cpu-tiling --assignment "$A" | awk '$1=="1" {print $4}')
  b=$($bin measure "matmul(M=512,N=512,K=512)" --target cpu --sketch cpu-tiling --assignment "$B" | awk '$1=="1" {print $4}')
  echo "$r A $a B $b ratio $(python3 -c "print(round($a/$b,3))")"
done
