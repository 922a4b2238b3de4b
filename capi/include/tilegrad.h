/*
 * tilegrad.h: C ABI of the tilegrad schedule database (library tilegrad_capi).
 *
 * Look up the best tuned kernel of a workload on a target and get its source, entry point,
 * launch configuration, parameters and measured time:
 *
 *     tg_db *db = tg_db_open("tilegrad.db");
 *     tg_kernel *k = NULL;
 *     int st = tg_db_best(db, "matmul(M=512,N=512,K=512)", "cpu", &k);
 *     if (st == TG_OK) { puts(tg_kernel_source(k)); tg_kernel_free(k); }
 *     else fprintf(stderr, "%s\n", tg_last_error());
 *     tg_db_close(db);
 *
 * Lookup policy: a schedule tuned on this target, else one tuned on a compatible target
 * (same GPU architecture, or same CPU ISA) with a warning (tg_kernel_is_exact() == 0,
 * tg_kernel_warning()), else TG_NOT_TUNED: never a silent fallback.
 *
 * Every function is NULL-safe and never unwinds into C. Strings returned by tg_kernel_*
 * live as long as the kernel; tg_last_error() is per thread and lives until the next
 * failing call on that thread. Kernel ABI: C kernels are `void entry(float *const *args)`
 * (inputs, then the output), CUDA kernels `extern "C" __global__ void entry(const float*
 * in0, ..., float* out)`; all buffers f32, row-major, contiguous.
 *
 * Kept in sync with capi/src/ffi.rs by the test capi/tests/header.rs.
 */
#ifndef TILEGRAD_H
#define TILEGRAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define TG_OK 0
#define TG_NOT_TUNED 1
#define TG_ERR_ARG 2
#define TG_ERR_DB 3
#define TG_ERR_CODEGEN 4
#define TG_ERR_INTERNAL 5

/* tg_launch.kind */
#define TG_LAUNCH_CPU 0
#define TG_LAUNCH_CUDA 1

typedef struct tg_db tg_db;
typedef struct tg_kernel tg_kernel;

typedef struct tg_launch {
    int32_t kind;          /* TG_LAUNCH_CPU or TG_LAUNCH_CUDA */
    uint32_t threads;      /* CPU: OpenMP threads; CUDA: 0 */
    uint32_t grid[3];      /* CUDA grid (blocks); zeros for CPU */
    uint32_t block[3];     /* CUDA block (threads); zeros for CPU */
    uint32_t shared_bytes; /* CUDA dynamic shared memory per block; 0 for CPU */
} tg_launch;

/* Opens an existing database; NULL on failure (see tg_last_error). */
tg_db *tg_db_open(const char *path);
/* Closes a database (NULL: no-op). */
void tg_db_close(tg_db *db);
/* Best kernel of `workload` (canonical text) on `target` ("auto", "cpu", "cpu:N", "cuda",
 * "cuda:N" or a GPU preset such as "h100-sxm"). On TG_OK *out is a new kernel to free with
 * tg_kernel_free; otherwise *out is NULL and tg_last_error says why. */
int tg_db_best(const tg_db *db, const char *workload, const char *target, tg_kernel **out);

/* Frees a kernel (NULL: no-op). */
void tg_kernel_free(tg_kernel *k);
/* Complete kernel source (C or CUDA C). */
const char *tg_kernel_source(const tg_kernel *k);
/* Entry point (function name). */
const char *tg_kernel_entry(const tg_kernel *k);
/* The function filling the prepared buffers (a weight packed into the schedule's layout) from
 * the constant inputs, NULL when the kernel has none. Same arguments as the kernel; call it
 * once per set of layer parameters, before the kernel. */
const char *tg_kernel_prepare_entry(const tg_kernel *k);
/* Writes the launch configuration to *out; TG_OK or TG_ERR_ARG. */
int tg_kernel_launch(const tg_kernel *k, tg_launch *out);
/* Measured median time in seconds (on the target it was tuned on); NaN if k is NULL. */
double tg_kernel_time_s(const tg_kernel *k);
/* 1: tuned on this target; 0: tuned on a compatible target; -1: k is NULL. */
int tg_kernel_is_exact(const tg_kernel *k);
/* The compatible-target warning, NULL for an exact match. */
const char *tg_kernel_warning(const tg_kernel *k);
/* Parameters in call order (inputs, the output, then prepared buffers the caller allocates).
 * -1 / NULL on bad arguments. */
int tg_kernel_param_count(const tg_kernel *k);
const char *tg_kernel_param_name(const tg_kernel *k, int index);
int tg_kernel_param_rank(const tg_kernel *k, int index);
int64_t tg_kernel_param_dim(const tg_kernel *k, int index, int dim);
int tg_kernel_param_is_output(const tg_kernel *k, int index);
int tg_kernel_param_is_prepared(const tg_kernel *k, int index);

/* The calling thread's last error message (empty if none); never NULL. */
const char *tg_last_error(void);
/* Library version, e.g. "0.1.0". */
const char *tg_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TILEGRAD_H */
