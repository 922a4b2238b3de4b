/* Hand-written C reference for matmul M^3 (not built by cargo): the loop structure of the
 * `cpu-tiling` sketch -- parallel over (i0, j0); S1 (i1, j1); R0 k0 [-DPACK: copy the B tile];
 * S2 (i2, j2); R1 k1; S3 register tile (i3 unrolled, j3 in 8-float vectors, accumulators in
 * locals across R1; -DMEMACC: in memory) -- with the tile sizes as macros. Reports the best
 * of 40 runs in GFLOP/s (per-thread CPU time). With -DPACK the copied B tile is no faster on
 * this Zen3 VM (2026-11-25: 65 unpacked, 63 packed at R1=4, 50-51 packed at R1=16/64).
 *   gcc -O3 -march=native -fopenmp -DI3=2 -DJ3=32 -DI1=1 -DI2=16 -DJ1=4 -DJ2=1 -DR1=4 \
 *     cpu_matmul_ref.c -lm && OMP_NUM_THREADS=1 ./a.out
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
#undef I1
#undef I2
#undef I3
#undef J1
#undef J2
#undef J3
#undef R1
#undef I0
#undef J0
#define I1 1
#define I2 128
#define I3 1
#define J1 1
#define J2 1
#define J3 64
#define R1 8
#define I0 (M/(I1*I2*I3))
#define J0 (N/(J1*J2*J3))
static void mmA(const float*restrict A,const float*restrict B,float*restrict C){
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
#undef I1
#undef I2
#undef I3
#undef J1
#undef J2
#undef J3
#undef R1
#undef I0
#undef J0
#define I1 4
#define I2 2
#define I3 4
#define J1 2
#define J2 1
#define J3 16
#define R1 4
#define I0 (M/(I1*I2*I3))
#define J0 (N/(J1*J2*J3))
static void mmB(const float*restrict A,const float*restrict B,float*restrict C){
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

static double now(){struct timespec a; clock_gettime(CLOCK_MONOTONIC,&a); return a.tv_sec+1e-9*a.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
static double window(void(*f)(const float*,const float*,float*),const float*A,const float*B,float*C,double span){
  double ts[1000]; int n=0; double t0=now();
  while(now()-t0<span && n<1000){double a=now(); f(A,B,C); ts[n++]=now()-a;}
  qsort(ts,n,sizeof(double),cmp); return 2.0*M*N*K/ts[n/2]/1e9;
}
int main(int argc,char**argv){
  float*A=aligned_alloc(64,4L*M*K),*B=aligned_alloc(64,4L*K*N),*C=aligned_alloc(64,4L*M*N);
  for(long i=0;i<(long)M*K;i++)A[i]=(float)((i*7)%13)/13-0.5f;
  for(long i=0;i<(long)K*N;i++)B[i]=(float)((i*5)%11)/11-0.5f;
  double span=argc>1?atof(argv[1]):0.25; int rounds=argc>2?atoi(argv[2]):40;
  for(int r=0;r<rounds;r++){double a=window(mmA,A,B,C,span),b=window(mmB,A,B,C,span); printf("%3d A %6.1f B %6.1f ratio %.3f\n",r,a,b,a/b);}
}
