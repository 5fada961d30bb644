/* test_conv_kernels.c - the direct convolution (forward with bias and ReLU,
 * weight and bias gradients with and without the fused ReLU mask) and max
 * pooling (forward, backward, the 2x2 path and the general one) against
 * naive references, over paddings, strides, odd sizes, few channels, filter
 * counts that are not a multiple of a vector, batch 1 and more; every
 * instruction-set version of the direct kernels; and the same bits with 1
 * and 2 threads. */
#include "kernels/conv.h"
#include "test.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float *randv(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = test_rndf();
    return p;
}

/* The geometry as lam_window_build computes it (Keras's padding). */
static lam_window window(int N, int H, int W, int C, int KH, int KW, int SH, int SW, bool same)
{
    lam_window g = {N, H, W, C, KH, KW, SH, SW, 0, 0, 0, 0};
    if (same) {
        g.OH = (H + SH - 1) / SH;
        g.OW = (W + SW - 1) / SW;
        int ph = (g.OH - 1) * SH + KH - H, pw = (g.OW - 1) * SW + KW - W;
        g.PT = ph > 0 ? ph / 2 : 0;
        g.PL = pw > 0 ? pw / 2 : 0;
    } else {
        g.OH = (H - KH) / SH + 1;
        g.OW = (W - KW) / SW + 1;
    }
    return g;
}

/* Naive weight and bias gradients in double, and the sums of |terms| that
 * bound the rounding error of any summation order. */
static void wgrad_naive(const lam_window *g, int F, const float *x, const float *dz,
                        const float *ym, double *dw, double *db, double *dwabs, double *dbabs)
{
    const int K = g->KH * g->KW * g->C;
    memset(dw, 0, sizeof(double) * (size_t)K * F);
    memset(dwabs, 0, sizeof(double) * (size_t)K * F);
    memset(db, 0, sizeof(double) * (size_t)F);
    memset(dbabs, 0, sizeof(double) * (size_t)F);
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < F; f++) {
                    int64_t o = (((int64_t)n * g->OH + oh) * g->OW + ow) * F + f;
                    double d = ym && !(ym[o] > 0) ? 0.0 : dz[o];
                    db[f] += d;
                    dbabs[f] += fabs(d);
                    for (int kh = 0; kh < g->KH; kh++)
                        for (int kw = 0; kw < g->KW; kw++) {
                            int ih = oh * g->SH + kh - g->PT, iw = ow * g->SW + kw - g->PL;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            for (int c = 0; c < g->C; c++) {
                                double v = x[(((int64_t)n * g->H + ih) * g->W + iw) * g->C + c];
                                int64_t k = ((int64_t)kh * g->KW + kw) * g->C + c;
                                dw[k * F + f] += v * d;
                                dwabs[k * F + f] += fabs(v * d);
                            }
                        }
                }
}

/* Runs forward and weight gradient; out/dw/db receive the results. */
static void run_direct(const lam_window *g, int F, const float *x, const float *w,
                       const float *b, bool relu, const float *dz, const float *ym, float *y,
                       float *dw, float *db, float *scratch)
{
    lam_conv_direct_forward(g, F, x, w, b, relu, y);
    lam_conv_direct_backward_weights(g, F, x, dz, ym, dw, db, scratch);
}

static void check_direct(int N, int H, int W, int C, int F, int KH, int KW, int SH, int SW,
                         bool same)
{
    lam_window g = window(N, H, W, C, KH, KW, SH, SW, same);
    const int K = KH * KW * C;
    CHECK(lam_conv_direct_applies(&g), "K = %d should take the direct path", K);
    const size_t nx = (size_t)N * H * W * C, ny = (size_t)N * g.OH * g.OW * F;
    float *x = randv(nx), *w = randv((size_t)K * F), *b = randv((size_t)F), *dz = randv(ny);
    float *y = malloc(sizeof(float) * ny), *ref = malloc(sizeof(float) * ny);
    float *y2 = malloc(sizeof(float) * ny);
    float *dw = malloc(sizeof(float) * (size_t)K * F), *db = malloc(sizeof(float) * (size_t)F);
    float *dw2 = malloc(sizeof(float) * (size_t)K * F), *db2 = malloc(sizeof(float) * (size_t)F);
    double *rdw = malloc(sizeof(double) * (size_t)K * F), *rdb = malloc(sizeof(double) * (size_t)F);
    double *adw = malloc(sizeof(double) * (size_t)K * F), *adb = malloc(sizeof(double) * (size_t)F);
    float *scratch = malloc(sizeof(float) * (size_t)lam_conv_direct_scratch_floats(&g, F));
    if (!x || !w || !b || !dz || !y || !ref || !y2 || !dw || !db || !dw2 || !db2 || !rdw ||
        !rdb || !adw || !adb || !scratch) {
        CHECK(0, "out of memory");
        goto done;
    }
    lam_conv2d_naive(&g, x, w, b, F, ref);
    for (int isa = 2; isa >= 0; isa--) {
        lam_conv_direct_isa(isa);
        for (int mode = 0; mode < 4; mode++) {
            /* mode bit 0: bias; bit 1: ReLU in forward and the mask in backward. */
            const bool with_bias = mode & 1, relu = mode & 2;
            float *ym = relu ? y : NULL;
            run_direct(&g, F, x, w, with_bias ? b : NULL, relu, dz, ym, y, dw, with_bias ? db : NULL,
                       scratch);
            int bad = 0;
            for (size_t i = 0; i < ny && bad < 1; i++) {
                double r = ref[i] - (with_bias ? 0.0 : b[i % (size_t)F]);
                if (relu) r = r > 0 ? r : 0;
                if (!(fabs(y[i] - r) <= 1e-5 * (sqrt((double)K) + 1))) bad++;
                if (relu && !(y[i] >= 0)) bad++;
            }
            CHECK(!bad, "forward: isa %d mode %d N=%d %dx%dx%d F=%d k%dx%d s%dx%d %s", isa, mode,
                  N, H, W, C, F, KH, KW, SH, SW, same ? "same" : "valid");
            wgrad_naive(&g, F, x, dz, ym, rdw, rdb, adw, adb);
            bad = 0;
            for (int i = 0; i < K * F; i++)
                if (!(fabs(dw[i] - rdw[i]) <= 1e-5 * adw[i] + 1e-6)) bad++;
            if (with_bias)
                for (int f = 0; f < F; f++)
                    if (!(fabs(db[f] - rdb[f]) <= 1e-5 * adb[f] + 1e-6)) bad++;
            CHECK(!bad, "gradients: %d wrong, isa %d mode %d N=%d %dx%dx%d F=%d k%dx%d s%dx%d %s",
                  bad, isa, mode, N, H, W, C, F, KH, KW, SH, SW, same ? "same" : "valid");
#ifdef _OPENMP
            /* The same bits with 1 and 2 threads. */
            int saved = omp_get_max_threads();
            omp_set_num_threads(1);
            run_direct(&g, F, x, w, with_bias ? b : NULL, relu, dz, ym, y2, dw2,
                       with_bias ? db2 : NULL, scratch);
            omp_set_num_threads(2);
            run_direct(&g, F, x, w, with_bias ? b : NULL, relu, dz, ym, y, dw,
                       with_bias ? db : NULL, scratch);
            omp_set_num_threads(saved);
            CHECK(!memcmp(y, y2, sizeof(float) * ny) &&
                      !memcmp(dw, dw2, sizeof(float) * (size_t)K * F) &&
                      (!with_bias || !memcmp(db, db2, sizeof(float) * (size_t)F)),
                  "1 vs 2 threads differ: isa %d mode %d N=%d F=%d", isa, mode, N, F);
#endif
        }
    }
    lam_conv_direct_isa(2);
done:
    free(x), free(w), free(b), free(dz), free(y), free(ref), free(y2), free(dw), free(db);
    free(dw2), free(db2), free(rdw), free(rdb), free(adw), free(adb), free(scratch);
}

/* ties: inputs drawn from a few values, so windows hold equal maxima and the
 * first one must win. */
static void check_maxpool(int N, int H, int W, int C, int KH, int KW, int SH, int SW, bool same,
                          bool ties)
{
    lam_window g = window(N, H, W, C, KH, KW, SH, SW, same);
    const size_t nx = (size_t)N * H * W * C, ny = (size_t)N * g.OH * g.OW * C;
    float *x = randv(nx), *dy = randv(ny), *y = malloc(sizeof(float) * ny);
    float *ry = malloc(sizeof(float) * ny), *dx = malloc(sizeof(float) * nx);
    float *rdx = malloc(sizeof(float) * nx), *dx2 = malloc(sizeof(float) * nx);
    int32_t *rec = malloc(sizeof(int32_t) * (size_t)(N * lam_maxpool_record_ints(&g) + 1));
    if (!x || !dy || !y || !ry || !dx || !rdx || !dx2 || !rec) {
        CHECK(0, "out of memory");
        goto done;
    }
    if (ties)
        for (size_t i = 0; i < nx; i++) x[i] = (float)(test_rnd() % 3) - (test_rnd() % 4 == 0 ? 0.0f : 0.5f);
    for (size_t i = 0; i < nx; i++) dx[i] = NAN; /* every input must be written */
    lam_maxpool_forward_naive(&g, x, ry);
    lam_maxpool_backward_naive(&g, x, dy, rdx);
    lam_maxpool_forward(&g, x, y, rec);
    lam_maxpool_backward(&g, dy, rec, dx);
    CHECK(!memcmp(y, ry, sizeof(float) * ny), "forward: N=%d %dx%dx%d pool %dx%d s%dx%d %s ties %d",
          N, H, W, C, KH, KW, SH, SW, same ? "same" : "valid", ties);
    int bad = 0;
    for (size_t i = 0; i < nx; i++)
        if (!(fabsf(dx[i] - rdx[i]) <= 1e-6f * (1 + fabsf(rdx[i])))) bad++;
    CHECK(!bad, "backward: %d wrong, N=%d %dx%dx%d pool %dx%d s%dx%d %s ties %d", bad, N, H, W,
          C, KH, KW, SH, SW, same ? "same" : "valid", ties);
    /* Without a record (inference) the output is the same. */
    memset(y, 0, sizeof(float) * ny);
    lam_maxpool_forward(&g, x, y, NULL);
    CHECK(!memcmp(y, ry, sizeof(float) * ny), "forward without record differs");
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    lam_maxpool_forward(&g, x, y, rec);
    lam_maxpool_backward(&g, dy, rec, dx2);
    omp_set_num_threads(saved);
    CHECK(!memcmp(y, ry, sizeof(float) * ny) && !memcmp(dx, dx2, sizeof(float) * nx),
          "1 vs 2 threads differ: N=%d %dx%dx%d pool %dx%d", N, H, W, C, KH, KW);
#endif
done:
    free(x), free(dy), free(y), free(ry), free(dx), free(rdx), free(dx2), free(rec);
}

int main(void)
{
    /* The seed's first layer, then paddings, strides, odd sizes, few
     * channels, F around the vector widths, K up to the limit. */
    check_direct(3, 28, 28, 1, 32, 3, 3, 1, 1, false);
    check_direct(1, 28, 28, 1, 32, 3, 3, 1, 1, false);
    check_direct(1, 13, 11, 1, 32, 3, 3, 1, 1, true);
    check_direct(2, 9, 7, 2, 20, 3, 3, 2, 2, true);
    check_direct(4, 8, 11, 3, 5, 3, 3, 1, 2, false);
    check_direct(1, 6, 5, 3, 48, 5, 3, 2, 1, true);
    check_direct(2, 7, 7, 1, 16, 1, 1, 1, 1, false);
    check_direct(3, 10, 9, 2, 33, 4, 4, 3, 2, true);
    check_direct(2, 5, 5, 1, 7, 5, 5, 1, 1, true);
    check_direct(1, 9, 10, 4, 64, 4, 4, 1, 1, true);
    check_direct(2, 3, 3, 2, 3, 3, 3, 1, 1, true);
    check_direct(5, 30, 17, 1, 40, 3, 3, 1, 1, false);

    /* The seed's pools, odd sizes (left-out last row and column, clipped
     * "same" windows), overlapping windows, strides other than the pool. */
    for (int ties = 0; ties < 2; ties++) {
        check_maxpool(3, 26, 26, 32, 2, 2, 2, 2, false, ties);
        check_maxpool(2, 11, 11, 64, 2, 2, 2, 2, false, ties);
        check_maxpool(1, 26, 26, 32, 2, 2, 2, 2, false, ties);
        check_maxpool(2, 5, 7, 3, 2, 2, 2, 2, true, ties);
        check_maxpool(2, 6, 6, 5, 3, 3, 2, 2, true, ties);
        check_maxpool(3, 7, 5, 2, 3, 2, 1, 1, false, ties);
        check_maxpool(1, 4, 4, 1, 2, 2, 2, 2, false, ties);
        check_maxpool(2, 5, 5, 17, 2, 2, 1, 1, false, ties);
        check_maxpool(2, 9, 8, 3, 2, 2, 3, 3, false, ties);
        check_maxpool(1, 7, 9, 2, 3, 3, 3, 3, true, ties);
    }
    return test_summary("test_conv_kernels");
}
