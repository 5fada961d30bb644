/* bench_streaming.c - training the seed CNN from memory-mapped data
 * (bench/streaming.sh runs it under /usr/bin/time -v for the peak RSS).
 *
 *   bench_streaming generate DIR SAMPLES SHARDS
 *       writes DIR/x.npy ('|u1', (SAMPLES, 28, 28)) and DIR/y.npy ('<i4'), and
 *       the same samples split into DIR/x_K.npy, DIR/y_K.npy (K = 0..SHARDS-1)
 *   bench_streaming train STEPS BATCH memory|auto prefetch|noprefetch X[:Y]
 *       X may be a glob pattern (shards); STEPS optimizer steps of the seed
 *       CNN over a fully shuffled epoch, then samples/s on stdout
 */
#include "lamina.h"
#include "bench_common.h"

#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define PIX (SIDE * SIDE)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static FILE *npy_begin(const char *path, const char *descr, int64_t n, bool image)
{
    char h[256];
    int len = image ? snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': "
                                            "(%lld, %d, %d), }", descr, (long long)n, SIDE, SIDE)
                    : snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': "
                                            "(%lld,), }", descr, (long long)n);
    while ((10 + len + 1) % 64) h[len++] = ' ';
    h[len++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len, 0};
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(pre, 1, 10, f) != 10 || fwrite(h, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return f;
}

/* Sample i: noise with the quadrant of its class (i % 4) brighter. */
static void sample(int64_t i, uint8_t *px)
{
    const int label = (int)(i % 4);
    for (int p = 0; p < PIX; p++) {
        const int q = (p / SIDE >= SIDE / 2) * 2 + (p % SIDE >= SIDE / 2);
        px[p] = (uint8_t)(next() % 128 + (q == label ? 120 : 0));
    }
}

static int generate(const char *dir, int64_t n, int shards)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    FILE *x = npy_begin(path, "|u1", n, true);
    snprintf(path, sizeof path, "%s/y.npy", dir);
    FILE *y = npy_begin(path, "<i4", n, false);
    FILE *xs = NULL, *ys = NULL;
    int shard = -1;
    uint8_t px[PIX];
    for (int64_t i = 0; i < n; i++) {
        const int s = (int)(i * shards / n);
        if (s != shard) {
            if (xs) fclose(xs), fclose(ys);
            shard = s;
            const int64_t first = (s * n + shards - 1) / shards;
            const int64_t end = ((s + 1) * n + shards - 1) / shards;
            snprintf(path, sizeof path, "%s/x_%d.npy", dir, s);
            xs = npy_begin(path, "|u1", end - first, true);
            snprintf(path, sizeof path, "%s/y_%d.npy", dir, s);
            ys = npy_begin(path, "<i4", end - first, false);
        }
        sample(i, px);
        const int32_t label = (int32_t)(i % 4);
        if (fwrite(px, 1, PIX, x) != PIX || fwrite(&label, 4, 1, y) != 1 ||
            fwrite(px, 1, PIX, xs) != PIX || fwrite(&label, 4, 1, ys) != 1) {
            fprintf(stderr, "write failed (disk full?)\n");
            return 1;
        }
    }
    fclose(x);
    fclose(y);
    if (xs) fclose(xs), fclose(ys);
    return 0;
}

static lam_status open_data(const char *source, lam_storage storage, lam_dataset **out)
{
    char x[4096];
    snprintf(x, sizeof x, "%s", source);
    char *sep = strstr(x, ".npy:");
    const char *y = NULL;
    if (sep) {
        sep[4] = '\0';
        y = sep + 5;
    }
    if (!strpbrk(x, "*?[")) return lam_open_npy(x, y, storage, out);
    glob_t gx = {0}, gy = {0};
    if (glob(x, 0, NULL, &gx) != 0 || (y && glob(y, 0, NULL, &gy) != 0) ||
        (y && gx.gl_pathc != gy.gl_pathc)) {
        fprintf(stderr, "%s: no matching shards\n", source);
        exit(1);
    }
    lam_status s = lam_open_npy_shards((int)gx.gl_pathc, (const char *const *)gx.gl_pathv,
                                       y ? (const char *const *)gy.gl_pathv : NULL, out);
    globfree(&gx);
    if (y) globfree(&gy);
    return s;
}

typedef struct counter {
    int64_t steps, limit;
    double t_first;
} counter;

/* Stops lam_fit after limit steps; times from the end of the first step
 * (planning and the first touch of the buffers are not throughput). */
static void on_progress(const lam_progress *p, void *user)
{
    counter *c = user;
    if (p->event != LAM_PROGRESS_STEP) return;
    if (++c->steps == 1) c->t_first = bench_wall();
    if (c->steps >= c->limit) lam_request_stop();
}

static int train(int64_t steps, int batch, const char *storage, bool prefetch, const char *src)
{
    lam_dataset *ds = NULL;
    const double t0 = bench_wall();
    if (open_data(src, strcmp(storage, "memory") ? LAM_STORAGE_AUTO : LAM_STORAGE_MEMORY,
                  &ds) != LAM_OK) {
        fprintf(stderr, "%s\n", lam_last_error());
        return 1;
    }
    const double t_open = bench_wall() - t0;
    lam_model *m = lam_sequential(NULL);
    lam_model_set_seed(m, 42);
    bench_add_seed_cnn_body(m, SIDE);
    lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    lam_optimizer o = lam_adam();
    lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    counter c = {.limit = steps};
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = batch;
    fo.prefetch = prefetch;
    fo.progress = on_progress;
    fo.progress_user = &c;
    lam_status s = lam_fit(m, ds, &fo, NULL);
    const double t = bench_wall() - c.t_first;
    if (s != LAM_OK && s != LAM_ERR_INTERRUPTED) {
        fprintf(stderr, "%s\n", lam_last_error());
        return 1;
    }
    printf("%s: %lld samples, %s%s, prefetch %s: open %.2f s, %lld steps of %d, %.0f samples/s\n",
           src, (long long)lam_dataset_count(ds), storage,
           lam_dataset_is_mapped(ds) ? " (mapped)" : " (in memory)", prefetch ? "on" : "off",
           t_open, (long long)c.steps, batch, (double)((c.steps - 1) * batch) / t);
    lam_model_free(m);
    lam_dataset_free(ds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "generate"))
        return generate(argv[2], atoll(argv[3]), atoi(argv[4]));
    if (argc == 7 && !strcmp(argv[1], "train"))
        return train(atoll(argv[2]), atoi(argv[3]), argv[4], !strcmp(argv[5], "prefetch"),
                     argv[6]);
    fprintf(stderr, "usage: bench_streaming generate DIR SAMPLES SHARDS\n"
                    "       bench_streaming train STEPS BATCH memory|auto prefetch|noprefetch "
                    "X.npy[:Y.npy]\n");
    return 2;
}
