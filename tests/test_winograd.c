/* test_winograd.c - the F(2x2, 3x3) and F(4x4, 3x3) convolutions against direct references:
 * forward against lam_conv2d_naive, the kernel and input gradients against
 * direct sums, over paddings, odd sizes (partial tiles), channel and filter
 * counts that are not multiples of the vector width, and one image or
 * several; then bit-identical results with 1 and 2 threads. */
#include "kernels/winograd.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float *random_floats(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) p[i] = test_rndf();
    return p;
}

static lam_window window(int N, int H, int W, int C, bool same)
{
    lam_window g = {.N = N, .H = H, .W = W, .C = C, .KH = 3, .KW = 3, .SH = 1, .SW = 1};
    g.PT = g.PL = same ? 1 : 0;
    g.OH = same ? H : H - 2;
    g.OW = same ? W : W - 2;
    return g;
}

/* Direct gradients of y = conv(x, k): dk[kh,kw,c,f] = sum x . dz and
 * dx[ih,iw,c] = sum k . dz, in double. */
static void naive_backward(const lam_window *g, int F, const float *x, const float *k,
                           const float *dz, double *dk, double *dx)
{
    memset(dk, 0, sizeof(double) * 9 * (size_t)g->C * F);
    memset(dx, 0, sizeof(double) * (size_t)g->N * g->H * g->W * g->C);
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = oh + kh - g->PT, iw = ow + kw - g->PL;
                        if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                        for (int c = 0; c < g->C; c++)
                            for (int f = 0; f < F; f++) {
                                double d = dz[(((int64_t)n * g->OH + oh) * g->OW + ow) * F + f];
                                int64_t xi = (((int64_t)n * g->H + ih) * g->W + iw) * g->C + c;
                                int64_t ki = ((int64_t)(kh * 3 + kw) * g->C + c) * F + f;
                                dk[ki] += x[xi] * d;
                                dx[xi] += k[ki] * d;
                            }
                    }
}

/* Largest |a - b| relative to the largest |b| (the arrays' scale). */
static double scaled_error(const float *a, const double *b, int64_t n)
{
    double worst = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    return worst / scale;
}

static double worst[5]; /* by m: the largest error seen, printed at the end */

static void check_case(int m, int N, int H, int W, int C, int F, bool same)
{
    /* F(4x4) rounds more: its transforms have factors up to 8 and 1/24. */
    const double tol = m == 4 ? 2e-5 : 2e-6;
    lam_window g = window(N, H, W, C, same);
    const int64_t nx = (int64_t)N * H * W * C, ny = (int64_t)N * g.OH * g.OW * F;
    const int64_t nk = 9 * (int64_t)C * F;
    float *x = random_floats(nx), *k = random_floats(nk), *dz = random_floats(ny);
    float *V = malloc(sizeof(float) * (size_t)(N * lam_winograd_saved_floats(&g, m)));
    float *scratch = malloc(sizeof(float) * (size_t)lam_winograd_scratch_floats(&g, m, F));
    float *y = malloc(sizeof(float) * (size_t)ny), *yr = malloc(sizeof(float) * (size_t)ny);
    float *dk = malloc(sizeof(float) * (size_t)nk), *dx = malloc(sizeof(float) * (size_t)nx);
    double *dkr = malloc(sizeof(double) * (size_t)nk), *dxr = malloc(sizeof(double) * (size_t)nx);
    double *yd = malloc(sizeof(double) * (size_t)ny);
    float *U = malloc(sizeof(float) * (size_t)lam_winograd_kernel_floats(&g, m, F));
    float *bias = random_floats(F);

    lam_winograd_transform_kernel(&g, m, F, k, U);
    lam_winograd_forward(&g, m, F, x, U, NULL, false, V, y, scratch);
    lam_conv2d_naive(&g, x, k, NULL, F, yr);
    for (int64_t i = 0; i < ny; i++) yd[i] = yr[i];
    double ey = scaled_error(y, yd, ny);
    CHECK(ey < tol, "m=%d forward N=%d %dx%dx%d F=%d %s: error %.3g", m, N, H, W, C, F,
          same ? "same" : "valid", ey);

    /* Bias and ReLU fused into the output transform: the same sums, then
     * + bias, then max(., 0), exactly (the pre-activation is shared). */
    float *yb = malloc(sizeof(float) * (size_t)ny);
    lam_winograd_forward(&g, m, F, x, U, bias, true, V, yb, scratch);
    int fused_bad = 0;
    for (int64_t i = 0; i < ny; i++) {
        float z = y[i] + bias[i % F];
        fused_bad += memcmp(&yb[i], &(float){z > 0 ? z : 0.0f}, sizeof(float)) != 0;
    }
    CHECK(fused_bad == 0, "m=%d: %d outputs of the fused bias+ReLU differ", m, fused_bad);
    free(yb);

    naive_backward(&g, F, x, k, dz, dkr, dxr);
    memset(dx, 0xff, sizeof(float) * (size_t)nx); /* NaN: every element must be written */
    lam_winograd_backward(&g, m, F, k, V, dz, dk, dx, scratch);
    double ek = scaled_error(dk, dkr, nk), ex = scaled_error(dx, dxr, nx);
    worst[m] = fmax(worst[m], fmax(ey, fmax(ek, ex)));
    CHECK(ek < tol, "m=%d dkernel N=%d %dx%dx%d F=%d: error %.3g", m, N, H, W, C, F, ek);
    CHECK(ex < tol, "m=%d dx N=%d %dx%dx%d F=%d: error %.3g", m, N, H, W, C, F, ex);

    /* Without dx the kernel gradient is the same, bit for bit. */
    float *dk2 = malloc(sizeof(float) * (size_t)nk);
    lam_winograd_backward(&g, m, F, k, V, dz, dk2, NULL, scratch);
    CHECK(memcmp(dk, dk2, sizeof(float) * (size_t)nk) == 0, "dkernel depends on dx");

#ifdef _OPENMP
    /* The same with one thread and with two, bit for bit. */
    float *y1 = malloc(sizeof(float) * (size_t)ny), *dx1 = malloc(sizeof(float) * (size_t)nx);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    lam_winograd_forward(&g, m, F, x, U, NULL, false, V, y1, scratch);
    lam_winograd_backward(&g, m, F, k, V, dz, dk2, dx1, scratch);
    omp_set_num_threads(2);
    lam_winograd_forward(&g, m, F, x, U, NULL, false, V, y, scratch);
    lam_winograd_backward(&g, m, F, k, V, dz, dk, dx, scratch);
    omp_set_num_threads(threads);
    CHECK(memcmp(y, y1, sizeof(float) * (size_t)ny) == 0, "forward differs with 1 and 2 threads");
    CHECK(memcmp(dk, dk2, sizeof(float) * (size_t)nk) == 0, "dkernel differs with 1 and 2 threads");
    CHECK(memcmp(dx, dx1, sizeof(float) * (size_t)nx) == 0, "dx differs with 1 and 2 threads");
    free(y1);
    free(dx1);
#endif
    free(x), free(k), free(dz), free(V), free(scratch), free(y), free(yr), free(dk), free(dx);
    free(dkr), free(dxr), free(yd), free(dk2), free(U), free(bias);
}

int main(void)
{
    struct { int N, H, W, C, F; bool same; } cases[] = {
        {1, 4, 4, 1, 1, false},   /* one tile */
        {2, 13, 13, 32, 64, false}, /* the seed CNN's second convolution */
        {8, 13, 13, 32, 64, false}, /* ... at a batch that splits across threads */
        {3, 7, 6, 20, 17, true},  /* odd height, channel and filter tails */
        {1, 5, 9, 8, 3, true},
        {2, 3, 3, 16, 33, true},  /* the padding is most of the patch */
        {4, 6, 7, 35, 16, false},
    };
    for (int m = 2; m <= 4; m += 2)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            check_case(m, cases[i].N, cases[i].H, cases[i].W, cases[i].C, cases[i].F, cases[i].same);

    printf("largest error relative to the output's scale: F(2x2) %.2e, F(4x4) %.2e\n", worst[2],
           worst[4]);

    lam_window g = window(1, 8, 8, 4, true);
    CHECK(lam_winograd_applies(&g), "3x3 stride 1 applies");
    CHECK(lam_winograd_tile(&g) == 4, "8x8 outputs take 4x4 tiles");
    g.OW = 3;
    CHECK(lam_winograd_tile(&g) == 2, "3 output columns take 2x2 tiles");
    g.SH = 2;
    CHECK(!lam_winograd_applies(&g), "stride 2 does not apply");
    g.SH = 1;
    g.KW = 5;
    CHECK(!lam_winograd_applies(&g), "3x5 does not apply");
    return test_summary("test_winograd");
}
