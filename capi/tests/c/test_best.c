/* C test of the tilegrad C ABI: argv[1] = database, argv[2] = workload, argv[3] = target.
 * Prints one `key=value` line per fact; the Rust test capi/tests/c_abi.rs checks them.
 * Exit status 0 when every ABI contract checked here holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tilegrad.h"

static int failures = 0;
#define CHECK(cond)                                                    \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "CHECK failed line %d: %s\n", __LINE__, #cond); \
            failures++;                                                \
        }                                                              \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_best DB WORKLOAD TARGET\n");
        return 2;
    }
    printf("version=%s\n", tg_version());

    /* NULL safety and errors before anything is open. */
    CHECK(tg_db_open(NULL) == NULL);
    CHECK(strlen(tg_last_error()) > 0);
    CHECK(tg_db_open("/nonexistent/tilegrad.db") == NULL);
    printf("open_missing_error=%s\n", tg_last_error());
    tg_db_close(NULL);
    tg_kernel_free(NULL);
    CHECK(tg_kernel_source(NULL) == NULL);
    CHECK(isnan(tg_kernel_time_s(NULL)));
    CHECK(tg_kernel_is_exact(NULL) == -1);

    tg_db *db = tg_db_open(argv[1]);
    if (!db) {
        fprintf(stderr, "open: %s\n", tg_last_error());
        return 1;
    }
    tg_kernel *k = (tg_kernel *)1; /* must be reset to NULL on failure */
    CHECK(tg_db_best(db, NULL, argv[3], &k) == TG_ERR_ARG && k == NULL);
    CHECK(tg_db_best(db, argv[2], argv[3], NULL) == TG_ERR_ARG);
    CHECK(tg_db_best(NULL, argv[2], argv[3], &k) == TG_ERR_ARG);
    CHECK(tg_db_best(db, "matmul(M=64", argv[3], &k) == TG_ERR_ARG);
    CHECK(tg_db_best(db, argv[2], "no-such-gpu", &k) == TG_ERR_ARG);
    printf("bad_target_error=%s\n", tg_last_error());

    int st = tg_db_best(db, "matmul(M=8,N=8,K=8)", argv[3], &k);
    printf("not_tuned_status=%d\n", st);
    CHECK(st == TG_NOT_TUNED && k == NULL);
    printf("not_tuned_error=%s\n", tg_last_error());

    st = tg_db_best(db, argv[2], argv[3], &k);
    printf("status=%d\n", st);
    if (st != TG_OK) {
        fprintf(stderr, "best: %s\n", tg_last_error());
        tg_db_close(db);
        return 1;
    }
    const char *entry = tg_kernel_entry(k);
    const char *source = tg_kernel_source(k);
    printf("entry=%s\n", entry);
    const char *prepare = tg_kernel_prepare_entry(k);
    printf("prepare_entry=%s\n", prepare ? prepare : "(none)");
    CHECK(tg_kernel_prepare_entry(NULL) == NULL);
    printf("source_has_entry=%d\n", strstr(source, entry) != NULL);
    printf("source_bytes=%zu\n", strlen(source));
    printf("time_s=%.17g\n", tg_kernel_time_s(k));
    printf("exact=%d\n", tg_kernel_is_exact(k));
    printf("warning=%s\n", tg_kernel_warning(k) ? tg_kernel_warning(k) : "(none)");
    tg_launch l;
    memset(&l, 0xff, sizeof l);
    CHECK(tg_kernel_launch(k, &l) == TG_OK);
    CHECK(tg_kernel_launch(k, NULL) == TG_ERR_ARG);
    printf("launch_kind=%d threads=%u grid=%u,%u,%u block=%u,%u,%u shared=%u\n", l.kind,
           l.threads, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2],
           l.shared_bytes);
    int n = tg_kernel_param_count(k);
    printf("params=%d\n", n);
    for (int i = 0; i < n; i++) {
        printf("param=%s%s%s[", tg_kernel_param_name(k, i),
               tg_kernel_param_is_output(k, i) ? "(out)" : "",
               tg_kernel_param_is_prepared(k, i) ? "(prepared)" : "");
        for (int d = 0; d < tg_kernel_param_rank(k, i); d++)
            printf(d ? ",%lld" : "%lld", (long long)tg_kernel_param_dim(k, i, d));
        printf("]\n");
    }
    CHECK(tg_kernel_param_name(k, n) == NULL);
    CHECK(tg_kernel_param_rank(k, -1) == -1);
    CHECK(tg_kernel_param_is_prepared(k, n) == -1);
    CHECK(tg_kernel_param_dim(k, 0, 99) == -1);
    tg_kernel_free(k);
    tg_db_close(db);
    printf("failures=%d\n", failures);
    return failures == 0 ? 0 : 1;
}
