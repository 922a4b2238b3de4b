/* Hand-written C reference for matmul M^3 (not built by cargo): the loop structure of the
 * `cpu-tiling` sketch -- parallel over (i0, j0); S1 (i1, j1); R0 k0 [-DPACK: copy the B tile,
 * as `cpu-tiling/packed` does]; S2 (i2, j2); R1 k1; S3 register tile (i3 unrolled, j3 in
 * 8-float vectors, accumulators in locals across R1; -DMEMACC: in memory) -- with the tile
 * sizes as macros. Reports the best of 40 runs in GFLOP/s, wall clock.
 * On this Zen3 VM (2026-11-26, 2 threads, wall clock) the copied B tile pays at 1024^3:
 * I=4,1,32,8 J=32,1,4,8 R1=256 74.0 -> 90.3, I=16,1,16,4 J=16,1,4,16 R1=128 54.9 -> 76.1,
 * I=16,1,8,8 J=16,1,8,8 R1=128 58.1 -> 64.5; at 512^3 less (79.6 -> 88.6, 63.3 -> 68.7).
 * (Until 2026-11-25 this file timed the master thread's CPU time, which overstates a
 * parallel run: a thread that waits at the barrier stops its clock.)
 *   gcc -O3 -march=native -fopenmp -DI3=2 -DJ3=32 -DI1=1 -DI2=16 -DJ1=4 -DJ2=1 -DR1=4 \
 *     cpu_matmul_ref.c -lm && OMP_NUM_THREADS=2 ./a.out
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
#include <omp.h>
#ifndef M
#define M 512
#endif
#define N M
#define K M
#ifndef I3
#define I3 4
#endif
#ifndef J3
#define J3 16
#endif
#ifndef I2
#define I2 8
#endif
#ifndef J2
#define J2 8
#endif
#ifndef I1
#define I1 4
#endif
#ifndef J1
#define J1 1
#endif
#ifndef R1
#define R1 64
#endif
#define I0 (M/(I1*I2*I3))
#define J0 (N/(J1*J2*J3))
typedef float v8f __attribute__((vector_size(32)));
static inline v8f ld(const float*p){v8f r; __builtin_memcpy(&r,p,32); return r;}
static inline void st(float*p,v8f x){__builtin_memcpy(p,&x,32);}
static inline v8f sp(float x){return (v8f){x,x,x,x,x,x,x,x};}
void mm(const float*restrict A,const float*restrict B,float*restrict C){
  #pragma omp parallel for
  for(long p=0;p<I0*J0;p++){
    long i0=p/J0, j0=p%J0;
    float loc[I2*J2*I3*J3] __attribute__((aligned(64)));
#ifdef PACK
    float Bp[J2*R1*J3] __attribute__((aligned(64)));
#endif
    for(long i1=0;i1<I1;i1++) for(long j1=0;j1<J1;j1++){
      for(long q=0;q<I2*J2*I3*J3;q+=8) st(&loc[q],sp(0));
      for(long k0=0;k0<K/R1;k0++){
#ifdef PACK
        for(long j2=0;j2<J2;j2++) for(long k1=0;k1<R1;k1++) 
          #pragma GCC unroll 8
          for(long j3=0;j3<J3;j3+=8)
            st(&Bp[j2*R1*J3+k1*J3+j3], ld(&B[(k0*R1+k1)*N + ((j0*J1+j1)*J2+j2)*J3+j3]));
#endif
        for(long i2=0;i2<I2;i2++) for(long j2=0;j2<J2;j2++){
          /* The register tile's accumulators in locals across the R1 loop (what code
           * generation emits; -DMEMACC: through `loc` every step, as before). */
          float*c=&loc[(i2*J2+j2)*I3*J3];
#ifndef MEMACC
          v8f acc[I3][J3/8];
          #pragma GCC unroll 16
          for(long i3=0;i3<I3;i3++)
            #pragma GCC unroll 8
            for(long j3=0;j3<J3;j3+=8) acc[i3][j3/8]=ld(&c[i3*J3+j3]);
#endif
          #pragma GCC unroll 8
          for(long k1=0;k1<R1;k1++){
            #pragma GCC unroll 16
            for(long i3=0;i3<I3;i3++){
              v8f a=sp(A[(((i0*I1+i1)*I2+i2)*I3+i3)*K+k0*R1+k1]);
              #pragma GCC unroll 8
              for(long j3=0;j3<J3;j3+=8){
#ifdef PACK
                v8f b=ld(&Bp[j2*R1*J3+k1*J3+j3]);
#else
                v8f b=ld(&B[(k0*R1+k1)*N + ((j0*J1+j1)*J2+j2)*J3+j3]);
#endif
#ifdef MEMACC
                st(&c[i3*J3+j3], ld(&c[i3*J3+j3])+a*b);
#else
                acc[i3][j3/8]+=a*b;
#endif
              }
            }
          }
#ifndef MEMACC
          #pragma GCC unroll 16
          for(long i3=0;i3<I3;i3++)
            #pragma GCC unroll 8
            for(long j3=0;j3<J3;j3+=8) st(&c[i3*J3+j3],acc[i3][j3/8]);
#endif
        }
      }
      for(long i2=0;i2<I2;i2++) for(long j2=0;j2<J2;j2++) for(long i3=0;i3<I3;i3++) for(long j3=0;j3<J3;j3+=8)
        st(&C[(((i0*I1+i1)*I2+i2)*I3+i3)*N+((j0*J1+j1)*J2+j2)*J3+j3], ld(&loc[((i2*J2+j2)*I3+i3)*J3+j3]));
    }
  }
}
int main(){
  float*A=aligned_alloc(64,4L*M*K),*B=aligned_alloc(64,4L*K*N),*C=aligned_alloc(64,4L*M*N);
  for(long i=0;i<(long)M*K;i++)A[i]=(float)((i*7)%13)/13-0.5f;
  for(long i=0;i<(long)K*N;i++)B[i]=(float)((i*5)%11)/11-0.5f;
  mm(A,B,C);
  double err=0; for(int t=0;t<20;t++){long i=(t*37)%M,j=(t*91)%N; double s=0; for(long k=0;k<K;k++) s+=(double)A[i*K+k]*B[k*N+j]; double e=fabs(s-C[i*N+j]); if(e>err)err=e;}
  double best=1e9; 
  for(int r=0;r<40;r++){struct timespec a0,a1; clock_gettime(CLOCK_MONOTONIC,&a0); mm(A,B,C); clock_gettime(CLOCK_MONOTONIC,&a1); double t=(a1.tv_sec-a0.tv_sec)+1e-9*(a1.tv_nsec-a0.tv_nsec); if(t<best)best=t;}
  printf("I=%d,%d,%d,%d J=%d,%d,%d,%d R1=%d thr=%d: %.1f GFLOP/s (err %.2g)\n",I0,I1,I2,I3,J0,J1,J2,J3,R1,omp_get_max_threads(),2.0*M*N*K/best/1e9,err);
}
