/* conv.c - im2col/col2im and pooling for NHWC tensors. These loops are
 * memory traffic, parallel across the batch. */
#include "kernels/conv.h"

#include "kernels/kernels.h"

#include <math.h>
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

/* Max pooling keeps, per output, a record of which input won, for backward.
 * 2x2 windows at stride 2 with no padding (the seed's pools) tile the input:
 * the record is one byte per output, the winner's place in its window
 * (0..3, row-major), and backward writes every input once (dx = dy where
 * it won, 0 elsewhere) with no separate clearing pass. Any other window
 * records the winner's index in its sample, (h*W + w)*C + c, and backward
 * scatters. Ties go to the first input in window order; padded positions
 * never win. */

/* Rows [h0, h1) and columns [w0, w1) of the input under pooling window
 * (oh, ow): the window clipped to the input (padding never takes part). */
static inline void pool_window(const lam_window *g, int oh, int ow, int *h0, int *w0, int *h1,
                               int *w1)
{
    const int r = oh * g->SH - g->PT, c = ow * g->SW - g->PL;
    *h0 = r < 0 ? 0 : r;
    *w0 = c < 0 ? 0 : c;
    *h1 = r + g->KH > g->H ? g->H : r + g->KH;
    *w1 = c + g->KW > g->W ? g->W : c + g->KW;
}

static bool maxpool_is_2x2(const lam_window *g)
{
    return g->KH == 2 && g->KW == 2 && g->SH == 2 && g->SW == 2 && g->PT == 0 && g->PL == 0 &&
           2 * g->OH <= g->H && 2 * g->OW <= g->W;
}

int64_t lam_maxpool_record_ints(const lam_window *g)
{
    const int64_t outs = (int64_t)g->OH * g->OW * g->C;
    return maxpool_is_2x2(g) ? (outs + 3) / 4 : outs;
}

/* One output row of a 2x2 pool: r0, r1 are the two input rows. */
LAM_VEC static void maxpool2x2_row(const float *r0, const float *r1, float *restrict y,
                                   uint8_t *restrict win, int OW, int C)
{
    for (int ow = 0; ow < OW; ow++) {
        const float *restrict a = r0 + (int64_t)2 * ow * C, *restrict b = a + C;
        const float *restrict c2 = r1 + (int64_t)2 * ow * C, *restrict d = c2 + C;
        float *restrict yo = y + (int64_t)ow * C;
        if (win) {
            uint8_t *restrict wo = win + (int64_t)ow * C;
            for (int c = 0; c < C; c++) {
                /* Selects, not branches: strict > keeps the first of equals. */
                float m = a[c];
                int32_t i = 0;
                i = b[c] > m ? 1 : i;
                m = b[c] > m ? b[c] : m;
                i = c2[c] > m ? 2 : i;
                m = c2[c] > m ? c2[c] : m;
                i = d[c] > m ? 3 : i;
                m = d[c] > m ? d[c] : m;
                yo[c] = m;
                wo[c] = (uint8_t)i;
            }
        } else {
            for (int c = 0; c < C; c++) {
                float m = a[c];
                m = b[c] > m ? b[c] : m;
                m = c2[c] > m ? c2[c] : m;
                m = d[c] > m ? d[c] : m;
                yo[c] = m;
            }
        }
    }
}

/* The two input rows under output row oh: dy where the input won, else 0;
 * an odd last column (left out by "valid") gets 0. */
LAM_VEC static void maxpool2x2_backward_row(const float *restrict dy, const uint8_t *restrict win,
                                            float *restrict d0, float *restrict d1, int OW,
                                            int W, int C)
{
    for (int ow = 0; ow < OW; ow++) {
        const float *restrict g = dy + (int64_t)ow * C;
        const uint8_t *restrict wo = win + (int64_t)ow * C;
        float *restrict a = d0 + (int64_t)2 * ow * C, *restrict b = a + C;
        float *restrict c2 = d1 + (int64_t)2 * ow * C, *restrict d = c2 + C;
        for (int c = 0; c < C; c++) {
            /* Bit masks: as selects GCC turns the read of dy into four
             * masked loads. */
            const uint32_t i = wo[c];
            uint32_t v, o;
            memcpy(&v, g + c, sizeof v);
            o = v & -(uint32_t)(i == 0);
            memcpy(a + c, &o, sizeof o);
            o = v & -(uint32_t)(i == 1);
            memcpy(b + c, &o, sizeof o);
            o = v & -(uint32_t)(i == 2);
            memcpy(c2 + c, &o, sizeof o);
            o = v & -(uint32_t)(i == 3);
            memcpy(d + c, &o, sizeof o);
        }
    }
    if (W > 2 * OW) {
        memset(d0 + (int64_t)2 * OW * C, 0, sizeof(float) * (size_t)(W - 2 * OW) * C);
        memset(d1 + (int64_t)2 * OW * C, 0, sizeof(float) * (size_t)(W - 2 * OW) * C);
    }
}

/* Any window: the running max over the clipped window, per output pixel. */
LAM_VEC static void maxpool_image(const lam_window *g, const float *x, float *y, int32_t *am)
{
    const int C = g->C;
    for (int oh = 0; oh < g->OH; oh++)
        for (int ow = 0; ow < g->OW; ow++) {
            float *restrict yo = y + ((int64_t)oh * g->OW + ow) * C;
            int32_t *restrict ao = am ? am + ((int64_t)oh * g->OW + ow) * C : NULL;
            /* The window clipped to the input: padded positions never win. */
            int h0, w0, h1, w1;
            pool_window(g, oh, ow, &h0, &w0, &h1, &w1);
            const int32_t first = (int32_t)(((int64_t)h0 * g->W + w0) * C);
            for (int c = 0; c < C; c++) yo[c] = x[first + c];
            if (ao)
                for (int c = 0; c < C; c++) ao[c] = first + c;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++) {
                    const int32_t base = (int32_t)(((int64_t)ih * g->W + iw) * C);
                    const float *restrict xs = x + base;
                    if (ao)
                        for (int c = 0; c < C; c++) {
                            /* Masks, not branches: random data would
                             * mispredict every other compare. */
                            const int32_t gt = -(int32_t)(xs[c] > yo[c]);
                            yo[c] = xs[c] > yo[c] ? xs[c] : yo[c];
                            ao[c] = (ao[c] & ~gt) | ((base + c) & gt);
                        }
                    else
                        for (int c = 0; c < C; c++) yo[c] = xs[c] > yo[c] ? xs[c] : yo[c];
                }
        }
}

void lam_maxpool_forward(const lam_window *g, const float *in, float *out, int32_t *record)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    const int64_t row = (int64_t)g->W * g->C, orow = (int64_t)g->OW * g->C;
    if (maxpool_is_2x2(g)) {
        uint8_t *win = (uint8_t *)record;
        #pragma omp parallel for schedule(static) if (g->N > 1)
        for (int n = 0; n < g->N; n++)
            for (int oh = 0; oh < g->OH; oh++) {
                const float *r0 = in + n * in_sz + 2 * oh * row;
                maxpool2x2_row(r0, r0 + row, out + n * out_sz + oh * orow,
                               win ? win + n * out_sz + oh * orow : NULL, g->OW, g->C);
            }
        return;
    }
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++)
        maxpool_image(g, in + n * in_sz, out + n * out_sz, record ? record + n * out_sz : NULL);
}

void lam_maxpool_backward(const lam_window *g, const float *dy, const int32_t *record, float *dx)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C;
    const int64_t out_sz = (int64_t)g->OH * g->OW * g->C;
    const int64_t row = (int64_t)g->W * g->C, orow = (int64_t)g->OW * g->C;
    if (maxpool_is_2x2(g)) {
        const uint8_t *win = (const uint8_t *)record;
        #pragma omp parallel for schedule(static) if (g->N > 1)
        for (int n = 0; n < g->N; n++) {
            float *d = dx + n * in_sz;
            for (int oh = 0; oh < g->OH; oh++)
                maxpool2x2_backward_row(dy + n * out_sz + oh * orow, win + n * out_sz + oh * orow,
                                        d + 2 * oh * row, d + (2 * oh + 1) * row, g->OW, g->W,
                                        g->C);
            if (g->H > 2 * g->OH) /* an odd last row, left out by "valid" */
                memset(d + 2 * g->OH * row, 0, sizeof(float) * (size_t)((g->H - 2 * g->OH) * row));
        }
        return;
    }
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        float *d = dx + n * in_sz;
        memset(d, 0, sizeof(float) * (size_t)in_sz);
        const float *dyn = dy + n * out_sz;
        const int32_t *am = record + n * out_sz;
        for (int64_t i = 0; i < out_sz; i++) d[am[i]] += dyn[i];
    }
}

void lam_maxpool_forward_naive(const lam_window *g, const float *in, float *out)
{
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int c = 0; c < g->C; c++) {
                    float m = -INFINITY;
                    bool any = false;
                    for (int kh = 0; kh < g->KH; kh++)
                        for (int kw = 0; kw < g->KW; kw++) {
                            int ih = oh * g->SH + kh - g->PT, iw = ow * g->SW + kw - g->PL;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            float v = in[(((int64_t)n * g->H + ih) * g->W + iw) * g->C + c];
                            if (!any || v > m) m = v;
                            any = true;
                        }
                    out[(((int64_t)n * g->OH + oh) * g->OW + ow) * g->C + c] = m;
                }
}

void lam_maxpool_backward_naive(const lam_window *g, const float *in, const float *dy, float *dx)
{
    memset(dx, 0, sizeof(float) * (size_t)g->N * g->H * g->W * g->C);
    for (int n = 0; n < g->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int c = 0; c < g->C; c++) {
                    int64_t best = -1;
                    float m = 0;
                    for (int kh = 0; kh < g->KH; kh++)
                        for (int kw = 0; kw < g->KW; kw++) {
                            int ih = oh * g->SH + kh - g->PT, iw = ow * g->SW + kw - g->PL;
                            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                            int64_t at = (((int64_t)n * g->H + ih) * g->W + iw) * g->C + c;
                            if (best < 0 || in[at] > m) best = at, m = in[at];
                        }
                    dx[best] += dy[(((int64_t)n * g->OH + oh) * g->OW + ow) * g->C + c];
                }
}

/* Channels of one window handled together by lam_maxpool_tangent. */
#define MAXPOOL_TANGENT_CHUNK 64

/* Channels [c0, c0 + cn) of one window of image x (tangent dx), rows
 * [h0, h1) and columns [w0, w1): the winner's tangent into dy, and the
 * distances at which another entry catches up into the lanes tf (ahead)
 * and tb (behind). */
LAM_VEC static void maxpool_tangent_window(const lam_window *g, const float *x, const float *dx,
                                           int h0, int h1, int w0, int w1, int c0, int cn,
                                           float *restrict dy, float *restrict tf,
                                           float *restrict tb)
{
    float m[MAXPOOL_TANGENT_CHUNK], dm[MAXPOOL_TANGENT_CHUNK];
    const int64_t first = ((int64_t)h0 * g->W + w0) * g->C + c0;
    for (int c = 0; c < cn; c++) m[c] = x[first + c], dm[c] = dx[first + c];
    /* The winner, as the forward pass picks it: the first of the largest. */
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) {
            const int64_t at = ((int64_t)ih * g->W + iw) * g->C + c0;
            for (int c = 0; c < cn; c++) {
                const bool gt = x[at + c] > m[c];
                m[c] = gt ? x[at + c] : m[c];
                dm[c] = gt ? dx[at + c] : dm[c];
            }
        }
    for (int c = 0; c < cn; c++) dy[c] = dm[c];
    /* Entry i catches up where x_i + t dx_i = m + t dm (the winner itself
     * and entries moving with it have d = 0, which no select takes). */
    for (int ih = h0; ih < h1; ih++)
        for (int iw = w0; iw < w1; iw++) {
            const int64_t at = ((int64_t)ih * g->W + iw) * g->C + c0;
            for (int c = 0; c < cn; c++) {
                const float d = dx[at + c] - dm[c], t = (m[c] - x[at + c]) / fabsf(d);
                tf[c] = d > 0 && t < tf[c] ? t : tf[c];
                tb[c] = d < 0 && t < tb[c] ? t : tb[c];
            }
        }
}

void lam_maxpool_tangent(const lam_window *g, const float *in, const float *din, float *dy,
                         double *span)
{
    const int64_t in_sz = (int64_t)g->H * g->W * g->C, out_sz = (int64_t)g->OH * g->OW * g->C;
    for (int n = 0; n < g->N; n++) {
        float tf[MAXPOOL_TANGENT_CHUNK], tb[MAXPOOL_TANGENT_CHUNK];
        for (int c = 0; c < MAXPOOL_TANGENT_CHUNK; c++) tf[c] = tb[c] = INFINITY;
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++) {
                /* The window clipped to the input, as the forward pass reads it. */
                int h0, w0, h1, w1;
                pool_window(g, oh, ow, &h0, &w0, &h1, &w1);
                float *yo = dy + n * out_sz + ((int64_t)oh * g->OW + ow) * g->C;
                for (int c0 = 0; c0 < g->C; c0 += MAXPOOL_TANGENT_CHUNK) {
                    const int cn = g->C - c0 < MAXPOOL_TANGENT_CHUNK ? g->C - c0
                                                                     : MAXPOOL_TANGENT_CHUNK;
                    maxpool_tangent_window(g, in + n * in_sz, din + n * in_sz, h0, h1, w0, w1,
                                           c0, cn, yo + c0, tf, tb);
                }
            }
        for (int c = 0; c < MAXPOOL_TANGENT_CHUNK; c++) {
            span[2 * n] = tf[c] < span[2 * n] ? tf[c] : span[2 * n];
            span[2 * n + 1] = tb[c] < span[2 * n + 1] ? tb[c] : span[2 * n + 1];
        }
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
