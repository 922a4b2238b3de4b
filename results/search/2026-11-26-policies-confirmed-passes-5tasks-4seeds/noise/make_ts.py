"""Writes ts.c: schedules A and B of README.md section 3 as hand-written C, timed alternately.

The loop nest is measure/examples/cpu_matmul_ref.c's, instantiated twice with the tile sizes
of A and B. Usage (from this folder):
    python3 make_ts.py && gcc -O3 -march=native -fopenmp ts.c -o ts -lm
    OMP_NUM_THREADS=2 ./ts 0.25 40    # window seconds, rounds
"""
import pathlib

ref = (pathlib.Path(__file__).parents[4] / "measure/examples/cpu_matmul_ref.c").read_text()
body = ref[ref.index("void mm(") : ref.index("int main(){")]
head = ref[: ref.index("void mm(")]


def instance(name, i1, i2, i3, j1, j2, j3, r1):
    macros = ["I1", "I2", "I3", "J1", "J2", "J3", "R1", "I0", "J0"]
    out = "".join(f"#undef {m}\n" for m in macros)
    for m, v in zip(macros, (i1, i2, i3, j1, j2, j3, r1)):
        out += f"#define {m} {v}\n"
    out += "#define I0 (M/(I1*I2*I3))\n#define J0 (N/(J1*J2*J3))\n"
    return out + body.replace("void mm(", f"static void {name}(")


MAIN = r"""
static double now(){struct timespec a; clock_gettime(CLOCK_MONOTONIC,&a); return a.tv_sec+1e-9*a.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
/* Median GFLOP/s of f over a window of `span` seconds. */
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
"""

# Tile sizes (S1, S2, S3 of i, then of j, then R1) of schedules A and B.
src = head + instance("mmA", 1, 128, 1, 1, 1, 64, 8) + instance("mmB", 4, 2, 4, 2, 1, 16, 4) + MAIN
pathlib.Path(__file__).with_name("ts.c").write_text(src)
