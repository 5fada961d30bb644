/* test_streaming.c - data larger than memory (docs/STREAMING.md): .npy and
 * IDX files read through memory mappings, .npy shard lists, and the prefetch
 * thread. The same samples must reach training bit for bit: the seed CNN
 * trained from memory, from a mapped file, from three shards, each with and
 * without prefetch, ends with identical weights. Broken files are refused
 * with messages naming them. */
#include "test.h"
#include "internal.h"

#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define N 250
#define SIDE 28
#define PIX (SIDE * SIDE)

static char dir[64];

static const char *tmp(const char *name)
{
    static char paths[16][128];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

/* A .npy file: descr, shape (rank axes) and the raw little-endian values. */
static void write_npy(const char *path, const char *descr, int rank, const int64_t *shape,
                      const void *data, size_t bytes)
{
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++) n += snprintf(h + n, sizeof h - (size_t)n, "%lld, ",
                                                 (long long)shape[i]);
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    while ((10 + n + 1) % 64) h[n++] = ' ';
    h[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, (size_t)n, f);
    fwrite(data, 1, bytes, f);
    fclose(f);
}

static uint8_t px[N * PIX];
static int32_t labels[N];
static float fx[N * PIX];

/* Images whose brightest quadrant tells the class, so that training moves. */
static void make_data(void)
{
    for (int i = 0; i < N; i++) {
        labels[i] = (int32_t)(test_rnd() % 4);
        for (int p = 0; p < PIX; p++) {
            const int r = p / SIDE, c = p % SIDE, q = (r >= SIDE / 2) * 2 + (c >= SIDE / 2);
            px[i * PIX + p] = (uint8_t)(test_rnd() % 128 + (q == labels[i] ? 120 : 0));
            fx[i * PIX + p] = (float)px[i * PIX + p] / 255.0f;
        }
    }
    write_npy(tmp("x.npy"), "|u1", 3, (int64_t[]){N, SIDE, SIDE}, px, sizeof px);
    write_npy(tmp("y.npy"), "<i4", 1, (int64_t[]){N}, labels, sizeof labels);
    write_npy(tmp("xf.npy"), "<f4", 3, (int64_t[]){N, SIDE, SIDE}, fx, sizeof fx);
    /* Three shards of uneven sizes, so that batches straddle their ends. */
    const int first[4] = {0, 70, 170, N};
    for (int s = 0; s < 3; s++) {
        char xn[32], yn[32];
        snprintf(xn, sizeof xn, "x_%d.npy", s);
        snprintf(yn, sizeof yn, "y_%d.npy", s);
        const int64_t n = first[s + 1] - first[s];
        write_npy(tmp(xn), "|u1", 3, (int64_t[]){n, SIDE, SIDE}, px + first[s] * PIX,
                  (size_t)(n * PIX));
        write_npy(tmp(yn), "<i4", 1, (int64_t[]){n}, labels + first[s], (size_t)n * 4);
    }
}

static lam_dataset *open_shards(void)
{
    const char *xs[3] = {tmp("x_0.npy"), tmp("x_1.npy"), tmp("x_2.npy")};
    const char *ys[3] = {tmp("y_0.npy"), tmp("y_1.npy"), tmp("y_2.npy")};
    lam_dataset *ds = NULL;
    CHECK_OK(lam_open_npy_shards(3, xs, ys, &ds));
    return ds;
}

/* Every sample of a and b, gathered in a shuffled order, is the same. */
static void check_same_samples(const lam_dataset *a, const lam_dataset *b, const char *what)
{
    CHECK(lam_dataset_count(a) == lam_dataset_count(b), "%s: %lld vs %lld samples", what,
          (long long)lam_dataset_count(a), (long long)lam_dataset_count(b));
    const int64_t n = lam_dataset_count(a), d = lam_dataset_sample_size(a);
    int64_t *idx = malloc(sizeof *idx * (size_t)n);
    float *xa = malloc(sizeof *xa * (size_t)(n * d)), *xb = malloc(sizeof *xb * (size_t)(n * d));
    int32_t *la = malloc(sizeof *la * (size_t)n), *lb = malloc(sizeof *lb * (size_t)n);
    for (int64_t i = 0; i < n; i++) idx[i] = (i * 97) % n;
    CHECK_OK(lam_dataset_gather(a, idx, n, xa, la, NULL));
    CHECK_OK(lam_dataset_gather(b, idx, n, xb, lb, NULL));
    CHECK(memcmp(xa, xb, sizeof *xa * (size_t)(n * d)) == 0, "%s: samples differ", what);
    CHECK(memcmp(la, lb, sizeof *la * (size_t)n) == 0, "%s: labels differ", what);
    free(idx);
    free(xa);
    free(xb);
    free(la);
    free(lb);
}

static void mapped_readers(void)
{
    lam_dataset *mem = NULL, *map = NULL, *auto_ = NULL, *fmem = NULL, *fmap = NULL;
    CHECK_OK(lam_load_npy(tmp("x.npy"), tmp("y.npy"), &mem));
    CHECK_OK(lam_open_npy(tmp("x.npy"), tmp("y.npy"), LAM_STORAGE_MAPPED, &map));
    /* 196 kB is below the threshold: AUTO reads it. */
    CHECK_OK(lam_open_npy(tmp("x.npy"), tmp("y.npy"), LAM_STORAGE_AUTO, &auto_));
    CHECK(!lam_dataset_is_mapped(mem) && lam_dataset_is_mapped(map) &&
          !lam_dataset_is_mapped(auto_), "storage: %d %d %d", lam_dataset_is_mapped(mem),
          lam_dataset_is_mapped(map), lam_dataset_is_mapped(auto_));
    CHECK(lam_dataset_x(map) == NULL, "a mapped set exposes no x buffer");
    CHECK(lam_dataset_dtype(map) == LAM_U8, "uint8 stays uint8 when mapped");
    check_same_samples(mem, map, "u8 memory vs mapped");
    lam_dataset *shards = open_shards();
    if (shards) check_same_samples(mem, shards, "u8 memory vs 3 shards");
    lam_dataset_free(shards);
    CHECK_OK(lam_load_npy(tmp("xf.npy"), NULL, &fmem));
    CHECK_OK(lam_open_npy(tmp("xf.npy"), NULL, LAM_STORAGE_MAPPED, &fmap));
    if (fmem && fmap) check_same_samples(fmem, fmap, "f32 memory vs mapped");

    /* A slice of a mapped set (the validation split) stays mapped. */
    lam_dataset *sm = NULL, *sp = NULL;
    CHECK_OK(lam_dataset_slice(mem, 37, 101, &sm));
    CHECK_OK(lam_dataset_slice(map, 37, 101, &sp));
    CHECK(lam_dataset_is_mapped(sp), "a slice of a mapped set is mapped");
    if (sm && sp) check_same_samples(sm, sp, "slices");
    lam_dataset_free(map); /* the slice keeps the mapping alive */
    map = NULL;
    if (sm && sp) check_same_samples(sm, sp, "slice after its parent is freed");
    lam_dataset_free(sm);
    lam_dataset_free(sp);

    /* IDX: plain images mapped, the same samples as read. */
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, N >> 8, N & 255, 0, 0, 0, SIDE, 0, 0, 0, SIDE};
    unsigned char lhdr[8] = {0, 0, 8, 1, 0, 0, N >> 8, N & 255};
    uint8_t lab8[N];
    for (int i = 0; i < N; i++) lab8[i] = (uint8_t)labels[i];
    FILE *f = fopen(tmp("im.idx"), "wb");
    fwrite(hdr, 1, 16, f);
    fwrite(px, 1, sizeof px, f);
    fclose(f);
    f = fopen(tmp("lb.idx"), "wb");
    fwrite(lhdr, 1, 8, f);
    fwrite(lab8, 1, N, f);
    fclose(f);
    gzFile gz = gzopen(tmp("im.idx.gz"), "wb");
    gzwrite(gz, hdr, 16);
    gzwrite(gz, px, sizeof px);
    gzclose(gz);
    lam_dataset *imem = NULL, *imap = NULL, *igz = NULL;
    CHECK_OK(lam_load_idx(tmp("im.idx"), tmp("lb.idx"), &imem));
    CHECK_OK(lam_open_idx(tmp("im.idx"), tmp("lb.idx"), LAM_STORAGE_MAPPED, &imap));
    CHECK(imap && lam_dataset_is_mapped(imap), "plain IDX images are mapped");
    if (imem && imap) check_same_samples(imem, imap, "IDX memory vs mapped");
    if (imap) check_same_samples(mem, imap, "npy vs IDX mapped");
    CHECK_FAILS(lam_open_idx(tmp("im.idx.gz"), tmp("lb.idx"), LAM_STORAGE_MAPPED, &igz),
                LAM_ERR_UNSUPPORTED, "gzip");
    CHECK_OK(lam_open_idx(tmp("im.idx.gz"), tmp("lb.idx"), LAM_STORAGE_AUTO, &igz));
    CHECK(igz && !lam_dataset_is_mapped(igz), "gzip IDX is read");
    lam_dataset_free(igz);
    lam_dataset_free(imem);
    lam_dataset_free(imap);
    lam_dataset_free(mem);
    lam_dataset_free(auto_);
    lam_dataset_free(fmem);
    lam_dataset_free(fmap);
}

/* Bad files: each refused with a message naming the file. */
static void refusals(void)
{
    lam_dataset *ds = NULL;
    /* Truncated: the last sample cut short. */
    size_t n = 0;
    unsigned char *b = test_read_file(tmp("x.npy"), &n);
    FILE *f = fopen(tmp("short.npy"), "wb");
    fwrite(b, 1, n - 100, f);
    fclose(f);
    CHECK_FAILS(lam_open_npy(tmp("short.npy"), NULL, LAM_STORAGE_MAPPED, &ds), LAM_ERR_FORMAT,
                "short.npy: truncated");
    /* Trailing bytes: the header is wrong. */
    f = fopen(tmp("long.npy"), "wb");
    fwrite(b, 1, n, f);
    fwrite("xyz", 1, 3, f);
    fclose(f);
    CHECK_FAILS(lam_open_npy(tmp("long.npy"), NULL, LAM_STORAGE_MAPPED, &ds), LAM_ERR_FORMAT,
                "long.npy: unexpected bytes");
    free(b);
    /* NaN in a mapped float32 file, found when it is opened. */
    float bad[2 * 3] = {0, 1, 2, 3, NAN, 5};
    write_npy(tmp("nan.npy"), "<f4", 2, (int64_t[]){2, 3}, bad, sizeof bad);
    CHECK_FAILS(lam_open_npy(tmp("nan.npy"), NULL, LAM_STORAGE_MAPPED, &ds), LAM_ERR_FORMAT,
                "nan.npy: element 4 is nan");
    /* float64 cannot be mapped; AUTO reads it instead. */
    double d8[2 * 3] = {0, 1, 2, 3, 4, 5};
    write_npy(tmp("f8.npy"), "<f8", 2, (int64_t[]){2, 3}, d8, sizeof d8);
    CHECK_FAILS(lam_open_npy(tmp("f8.npy"), NULL, LAM_STORAGE_MAPPED, &ds), LAM_ERR_UNSUPPORTED,
                "f8.npy: x dtype '<f8' cannot be memory-mapped");
    CHECK_OK(lam_open_npy(tmp("f8.npy"), NULL, LAM_STORAGE_AUTO, &ds));
    lam_dataset_free(ds);
    ds = NULL;
    /* Shards that disagree: the message names the shard. */
    uint8_t small[5 * 27 * 28] = {0};
    write_npy(tmp("odd.npy"), "|u1", 3, (int64_t[]){5, 27, 28}, small, sizeof small);
    const char *xs[3] = {tmp("x_0.npy"), tmp("odd.npy"), tmp("x_2.npy")};
    CHECK_FAILS(lam_open_npy_shards(3, xs, NULL, &ds), LAM_ERR_SHAPE, "shard 2 of 3");
    CHECK(strstr(lam_last_error(), "odd.npy") != NULL, "message names the shard: %s",
          lam_last_error());
    const char *xs2[2] = {tmp("x_0.npy"), tmp("short.npy")};
    CHECK_FAILS(lam_open_npy_shards(2, xs2, NULL, &ds), LAM_ERR_FORMAT, "short.npy: truncated");
    const char *ys[2] = {tmp("y_0.npy"), tmp("y_0.npy")};
    const char *xs3[2] = {tmp("x_0.npy"), tmp("x_1.npy")};
    CHECK_FAILS(lam_open_npy_shards(2, xs3, ys, &ds), LAM_ERR_SHAPE, "shard 2 of 2");
    CHECK(ds == NULL, "no data set after a refusal");
}

/* The seed CNN trained 2 epochs on ds (validation split 0.2: 200 samples,
 * 7 steps of 32 an epoch, the last of 8); its weights. */
static float *train(const lam_dataset *ds, bool prefetch, int64_t *np, double *loss)
{
    lam_model *m = lam_sequential(NULL);
    lam_model_set_seed(m, 7);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){SIDE, SIDE, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_conv2d(m, 64, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 64, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX));
    lam_optimizer o = lam_adam();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.epochs = 2;
    fo.validation_split = 0.2f;
    fo.prefetch = prefetch;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    *loss = h ? h->log[1].loss + h->log[1].val_loss : NAN;
    lam_history_free(h);
    *np = lam_model_param_count(m);
    float *w = malloc(sizeof(float) * (size_t)*np);
    memcpy(w, lam_model_params(m), sizeof(float) * (size_t)*np);
    lam_model_free(m);
    return w;
}

static void same_weights(void)
{
    lam_dataset *mem = NULL, *map = NULL;
    CHECK_OK(lam_load_npy(tmp("x.npy"), tmp("y.npy"), &mem));
    CHECK_OK(lam_open_npy(tmp("x.npy"), tmp("y.npy"), LAM_STORAGE_MAPPED, &map));
    lam_dataset *shards = open_shards();
    if (!mem || !map || !shards) return;
    const struct {
        const lam_dataset *ds;
        bool prefetch;
        const char *name;
    } runs[] = {{mem, false, "memory"},       {mem, true, "memory + prefetch"},
                {map, false, "mapped"},       {map, true, "mapped + prefetch"},
                {shards, false, "3 shards"},  {shards, true, "3 shards + prefetch"}};
    int64_t np0 = 0;
    double loss0 = 0;
    float *w0 = train(mem, false, &np0, &loss0);
    CHECK(loss0 < 1.4, "training moved: loss + val_loss %g after 2 epochs", loss0);
    for (size_t r = 1; r < sizeof runs / sizeof *runs; r++) {
        int64_t np = 0;
        double loss = 0;
        float *w = train(runs[r].ds, runs[r].prefetch, &np, &loss);
        CHECK(np == np0 && memcmp(w, w0, sizeof(float) * (size_t)np0) == 0,
              "%s: weights differ from training in memory", runs[r].name);
        CHECK(loss == loss0, "%s: loss %.17g, in memory %.17g", runs[r].name, loss, loss0);
        free(w);
    }
    free(w0);
    lam_dataset_free(mem);
    lam_dataset_free(map);
    lam_dataset_free(shards);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lam_streaming_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_data();
    mapped_readers();
    refusals();
    same_weights();
    const char *names[] = {"x.npy", "y.npy", "xf.npy", "x_0.npy", "x_1.npy", "x_2.npy",
                           "y_0.npy", "y_1.npy", "y_2.npy", "im.idx", "lb.idx", "im.idx.gz",
                           "short.npy", "long.npy", "nan.npy", "f8.npy", "odd.npy"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) unlink(tmp(names[i]));
    rmdir(dir);
    return test_summary("test_streaming");
}
