/* conv.c - im2col/col2im and pooling for NHWC tensors. These loops are
 * memory traffic, parallel across the batch. */
#include "kernels/conv.h"

#include <float.h>
#include <stdbool.h>
#include <string.h>

void lam_im2col(const lam_window *g, const float *in, float *cols)
{
    const int64_t K = (int64_t)g->KH * g->KW * g->C;
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        const float *x = in + n * in_sz;
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                float *col = cols + (((int64_t)n * g->OH + oh) * g->OW + ow) * K;
                for (int kh = 0; kh < g->KH; kh++) {
                    int ih = oh * g->SH + kh - g->PT;
                    float *dst = col + (int64_t)kh * g->KW * g->C;
                    if (ih < 0 || ih >= g->H) {
                        memset(dst, 0, sizeof(float) * (size_t)g->KW * g->C);
                        continue;
                    }
                    int iw0 = ow * g->SW - g->PL;
                    if (iw0 >= 0 && iw0 + g->KW <= g->W) {
                        /* The whole row of the window is inside: one copy. */
                        memcpy(dst, x + ((int64_t)ih * g->W + iw0) * g->C,
                               sizeof(float) * (size_t)g->KW * g->C);
                        continue;
                    }
                    for (int kw = 0; kw < g->KW; kw++) {
                        int iw = iw0 + kw;
                        float *d = dst + (int64_t)kw * g->C;
                        if (iw < 0 || iw >= g->W) memset(d, 0, sizeof(float) * (size_t)g->C);
                        else memcpy(d, x + ((int64_t)ih * g->W + iw) * g->C,
                                    sizeof(float) * (size_t)g->C);
                    }
                }
            }
    }
}

void lam_col2im(const lam_window *g, const float *cols, float *dx)
{
    const int64_t K = (int64_t)g->KH * g->KW * g->C;
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        float *x = dx + n * in_sz;
        memset(x, 0, sizeof(float) * (size_t)in_sz);
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                const float *col = cols + (((int64_t)n * g->OH + oh) * g->OW + ow) * K;
                for (int kh = 0; kh < g->KH; kh++) {
                    int ih = oh * g->SH + kh - g->PT;
                    if (ih < 0 || ih >= g->H) continue;
                    for (int kw = 0; kw < g->KW; kw++) {
                        int iw = ow * g->SW + kw - g->PL;
                        if (iw < 0 || iw >= g->W) continue;
                        const float *s = col + ((int64_t)kh * g->KW + kw) * g->C;
                        float *d = x + ((int64_t)ih * g->W + iw) * g->C;
                        for (int c = 0; c < g->C; c++) d[c] += s[c];
                    }
                }
            }
    }
}

void lam_maxpool_forward(const lam_window *g, const float *in, float *out, int32_t *argmax)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    const int C = g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        const float *x = in + n * in_sz;
        float *y = out + n * out_sz;
        int32_t *am = argmax + n * out_sz;
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                float *restrict yo = y + ((int64_t)oh * g->OW + ow) * C;
                int32_t *restrict ao = am + ((int64_t)oh * g->OW + ow) * C;
                /* The window clipped to the input: padded positions never win. */
                int h0 = oh * g->SH - g->PT, w0 = ow * g->SW - g->PL;
                int h1 = h0 + g->KH, w1 = w0 + g->KW;
                h0 = h0 < 0 ? 0 : h0;
                w0 = w0 < 0 ? 0 : w0;
                h1 = h1 > g->H ? g->H : h1;
                w1 = w1 > g->W ? g->W : w1;
                const int32_t first = (int32_t)(((int64_t)h0 * g->W + w0) * C);
                for (int c = 0; c < C; c++) {
                    yo[c] = x[first + c];
                    ao[c] = first + c;
                }
                /* Branch-free selects over channels: the compiler vectorises them. */
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) {
                        const int32_t base = (int32_t)(((int64_t)ih * g->W + iw) * C);
                        const float *restrict xs = x + base;
                        for (int c = 0; c < C; c++) {
                            /* Masks, not branches: random data would mispredict
                             * every other compare. */
                            const int32_t gt = -(int32_t)(xs[c] > yo[c]);
                            yo[c] = xs[c] > yo[c] ? xs[c] : yo[c];
                            ao[c] = (ao[c] & ~gt) | ((base + c) & gt);
                        }
                    }
            }
    }
}

void lam_maxpool_backward(const lam_window *g, const float *dy, const int32_t *argmax, float *dx)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        float *d = dx + n * in_sz;
        memset(d, 0, sizeof(float) * (size_t)in_sz);
        const float *dyn = dy + n * out_sz;
        const int32_t *am = argmax + n * out_sz;
        for (int64_t i = 0; i < out_sz; i++) d[am[i]] += dyn[i];
    }
}

/* Number of real (unpadded) inputs under the window at (oh, ow). */
static int window_count(const lam_window *g, int oh, int ow)
{
    int h0 = oh * g->SH - g->PT, w0 = ow * g->SW - g->PL;
    int h1 = h0 + g->KH, w1 = w0 + g->KW;
    if (h0 < 0) h0 = 0;
    if (w0 < 0) w0 = 0;
    if (h1 > g->H) h1 = g->H;
    if (w1 > g->W) w1 = g->W;
    return (h1 - h0) * (w1 - w0);
}

void lam_avgpool_forward(const lam_window *g, const float *in, float *out)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        const float *x = in + n * in_sz;
        float *y = out + n * out_sz;
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                float *yo = y + ((int64_t)oh * g->OW + ow) * g->C;
                memset(yo, 0, sizeof(float) * (size_t)g->C);
                for (int kh = 0; kh < g->KH; kh++) {
                    int ih = oh * g->SH + kh - g->PT;
                    if (ih < 0 || ih >= g->H) continue;
                    for (int kw = 0; kw < g->KW; kw++) {
                        int iw = ow * g->SW + kw - g->PL;
                        if (iw < 0 || iw >= g->W) continue;
                        const float *xs = x + ((int64_t)ih * g->W + iw) * g->C;
                        for (int c = 0; c < g->C; c++) yo[c] += xs[c];
                    }
                }
                float inv = 1.0f / (float)window_count(g, oh, ow);
                for (int c = 0; c < g->C; c++) yo[c] *= inv;
            }
    }
}

void lam_avgpool_backward(const lam_window *g, const float *dy, float *dx)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        float *d = dx + n * in_sz;
        memset(d, 0, sizeof(float) * (size_t)in_sz);
        const float *dyn = dy + n * out_sz;
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                const float *go = dyn + ((int64_t)oh * g->OW + ow) * g->C;
                float inv = 1.0f / (float)window_count(g, oh, ow);
                for (int kh = 0; kh < g->KH; kh++) {
                    int ih = oh * g->SH + kh - g->PT;
                    if (ih < 0 || ih >= g->H) continue;
                    for (int kw = 0; kw < g->KW; kw++) {
                        int iw = ow * g->SW + kw - g->PL;
                        if (iw < 0 || iw >= g->W) continue;
                        float *ds = d + ((int64_t)ih * g->W + iw) * g->C;
                        for (int c = 0; c < g->C; c++) ds[c] += go[c] * inv;
                    }
                }
            }
    }
}

void lam_conv2d_naive(const lam_window *g, const float *in, const float *kernel,
                      const float *bias, int F, float *out)
{
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < F; f++) {
                    double acc = bias ? bias[f] : 0.0;
                    for (int kh = 0; kh < g->KH; kh++) {
                        int ih = oh * g->SH + kh - g->PT;
                        if (ih < 0 || ih >= g->H) continue;
                        for (int kw = 0; kw < g->KW; kw++) {
                            int iw = ow * g->SW + kw - g->PL;
                            if (iw < 0 || iw >= g->W) continue;
                            for (int c = 0; c < g->C; c++)
                                acc += (double)in[(((int64_t)n * g->H + ih) * g->W + iw) * g->C + c] *
                                       kernel[(((int64_t)kh * g->KW + kw) * g->C + c) * F + f];
                        }
                    }
                    out[(((int64_t)n * g->OH + oh) * g->OW + ow) * F + f] = (float)acc;
                }
}
