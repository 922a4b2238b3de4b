//! The C++ text the emulator puts around generated CUDA sources.

/// Defines the CUDA dialect used by generated kernels for a host C++17 compiler, and the
/// cooperative thread scheduler: every CUDA thread of a block is a `ucontext` fiber on one OS
/// thread; `__syncthreads()` switches back to the scheduler, which resumes the fibers in
/// thread order until all of them reach the barrier (or all finish). A barrier reached by
/// some threads while others have finished is reported (exit code 3), as is a stack or
/// launch problem.
pub(crate) const PRELUDE: &str = r#"// tilegrad CUDA emulator prelude
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>
#include <ucontext.h>

struct dim3 { unsigned x, y, z; };
static dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
static inline float2 make_float2(float a, float b) { return float2{a, b}; }
static inline float4 make_float4(float a, float b, float c, float d) { return float4{a, b, c, d}; }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

static ucontext_t tg_sched;
static std::vector<ucontext_t> tg_fibers;
static std::vector<char> tg_done;
static std::vector<char> tg_stacks;
static unsigned tg_cur;
static std::function<void()> tg_body;
static const size_t TG_STACK = 256 * 1024;

static void __syncthreads() { swapcontext(&tg_fibers[tg_cur], &tg_sched); }

static void tg_trampoline() {
  tg_body();
  tg_done[tg_cur] = 1;
}

static void tg_launch(dim3 grid, dim3 block, std::function<void()> body) {
  unsigned n = block.x * block.y * block.z;
  if (n == 0 || n > 1024) { std::fprintf(stderr, "bad block size %u\n", n); std::exit(3); }
  gridDim = grid;
  blockDim = block;
  tg_body = std::move(body);
  tg_fibers.assign(n, ucontext_t());
  tg_done.assign(n, 0);
  tg_stacks.assign(n * TG_STACK, 0);
  for (unsigned bz = 0; bz < grid.z; ++bz)
  for (unsigned by = 0; by < grid.y; ++by)
  for (unsigned bx = 0; bx < grid.x; ++bx) {
    blockIdx = dim3{bx, by, bz};
    for (unsigned t = 0; t < n; ++t) {
      getcontext(&tg_fibers[t]);
      tg_fibers[t].uc_stack.ss_sp = &tg_stacks[t * TG_STACK];
      tg_fibers[t].uc_stack.ss_size = TG_STACK;
      tg_fibers[t].uc_link = &tg_sched;
      makecontext(&tg_fibers[t], tg_trampoline, 0);
      tg_done[t] = 0;
    }
    for (;;) {
      unsigned finished = 0;
      for (unsigned t = 0; t < n; ++t) {
        tg_cur = t;
        threadIdx = dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
        swapcontext(&tg_sched, &tg_fibers[t]);
        finished += tg_done[t];
      }
      if (finished == n) break;
      if (finished != 0) {
        std::fprintf(stderr, "__syncthreads reached by %u of %u threads\n", n - finished, n);
        std::exit(3);
      }
    }
  }
}

static float* tg_read(const char* path, long* n) {
  FILE* f = std::fopen(path, "rb");
  if (!f) { std::perror(path); std::exit(2); }
  std::fseek(f, 0, SEEK_END);
  long bytes = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  *n = bytes / 4;
  float* p = static_cast<float*>(std::aligned_alloc(64, (size_t)(bytes / 64 + 1) * 64));
  if (std::fread(p, 4, *n, f) != (size_t)*n) { std::perror(path); std::exit(2); }
  std::fclose(f);
  return p;
}
"#;
