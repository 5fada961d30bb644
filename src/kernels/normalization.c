/* normalization.c - batch and layer normalisation loops. Reductions across
 * the batch run over fixed chunks of the outer axis, each summed in double
 * by one thread and then added in chunk order, so results are the same bits
 * whatever the number of threads; vectors along C stay in vector lanes when
 * C is the last axis (inner == 1). */
#include "kernels/normalization.h"

#include "kernels/kernels.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* Below this many values one thread does it all. */
#define NORM_PARALLEL_MIN 32768
#define NORM_MAX_CHUNKS 32

/* Depends on the shape only, never on the threads. */
static int64_t chunk_count(const lam_norm_shape *s)
{
    const int64_t total = s->outer * s->C * s->inner;
    if (total < NORM_PARALLEL_MIN) return 1;
    return s->outer < NORM_MAX_CHUNKS ? s->outer : NORM_MAX_CHUNKS;
}

static void chunk_range(const lam_norm_shape *s, int64_t k, int64_t nchunks, int64_t *o0,
                        int64_t *o1)
{
    *o0 = s->outer * k / nchunks;
    *o1 = s->outer * (k + 1) / nchunks;
}

/* The chunk partials, then the totals. */
int64_t lam_batchnorm_scratch_doubles(const lam_norm_shape *s)
{
    return 2 * (chunk_count(s) + 1) * s->C;
}

/* Over outer rows [o0, o1): sa[c] = sum of u, sb[c] = sum of u * (v - vm[c])
 * (v == NULL: u * u with vm ignored). */
LAM_VEC static void sums_chunk(const lam_norm_shape *s, const float *restrict u,
                               const float *restrict v, const float *restrict vm, int64_t o0,
                               int64_t o1, double *restrict sa, double *restrict sb)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t c = 0; c < C; c++) sa[c] = sb[c] = 0.0;
    if (inner == 1) {
        for (int64_t o = o0; o < o1; o++) {
            const float *ur = u + o * C;
            if (v) {
                const float *vr = v + o * C;
                for (int64_t c = 0; c < C; c++) {
                    const double a = ur[c];
                    sa[c] += a;
                    sb[c] += a * (double)(vr[c] - vm[c]);
                }
            } else {
                for (int64_t c = 0; c < C; c++) {
                    const double a = ur[c];
                    sa[c] += a;
                    sb[c] += a * a;
                }
            }
        }
        return;
    }
    for (int64_t o = o0; o < o1; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *ur = u + (o * C + c) * inner;
            const float *vr = v ? v + (o * C + c) * inner : NULL;
            double ta = 0.0, tb = 0.0;
            for (int64_t i = 0; i < inner; i++) {
                const double a = ur[i];
                ta += a;
                tb += a * (vr ? (double)(vr[i] - vm[c]) : a);
            }
            sa[c] += ta;
            sb[c] += tb;
        }
}

/* Per-channel sums over the whole tensor, chunk by chunk, then in chunk
 * order; returns the totals (sa: C doubles, then sb: C) inside scratch. */
static double *channel_sums(const lam_norm_shape *s, const float *u, const float *v,
                            const float *vm, double *scratch)
{
    const int64_t nchunks = chunk_count(s), C = s->C;
    #pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t k = 0; k < nchunks; k++) {
        int64_t o0, o1;
        chunk_range(s, k, nchunks, &o0, &o1);
        sums_chunk(s, u, v, vm, o0, o1, scratch + 2 * k * C, scratch + (2 * k + 1) * C);
    }
    double *sa = scratch + 2 * nchunks * C, *sb = sa + C;
    for (int64_t c = 0; c < C; c++) sa[c] = sb[c] = 0.0;
    for (int64_t k = 0; k < nchunks; k++) {
        const double *pa = scratch + 2 * k * C, *pb = pa + C;
        for (int64_t c = 0; c < C; c++) {
            sa[c] += pa[c];
            sb[c] += pb[c];
        }
    }
    return sa;
}

void lam_batchnorm_moments(const lam_norm_shape *s, const float *x, float *mean, float *var,
                           double *scratch)
{
    const int64_t C = s->C;
    const double *tot = channel_sums(s, x, NULL, NULL, scratch);
    const double count = (double)(s->outer * s->inner);
    for (int64_t c = 0; c < C; c++) {
        /* One pass, E[x^2] - E[x]^2: in double the cancellation costs
         * nothing a float input could show. */
        const double m = tot[c] / count, v = tot[C + c] / count - m * m;
        mean[c] = (float)m;
        var[c] = (float)(v > 0.0 ? v : 0.0);
    }
}

void lam_batchnorm_grad_sums(const lam_norm_shape *s, const float *x, const float *mean,
                             const float *dy, double *sum_dy, double *sum_dyx, double *scratch)
{
    const int64_t C = s->C;
    const double *tot = channel_sums(s, dy, x, mean, scratch);
    for (int64_t c = 0; c < C; c++) {
        sum_dy[c] = tot[c];
        sum_dyx[c] = tot[C + c];
    }
}

/* Rows [o0, o1) of y = (x - mean) * scale + shift. */
LAM_VEC static void apply_rows(const lam_norm_shape *s, const float *restrict x,
                               const float *restrict mean, const float *restrict scale,
                               const float *restrict shift, int64_t o0, int64_t o1,
                               float *restrict y)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t o = o0; o < o1; o++) {
        if (inner == 1) {
            const float *xr = x + o * C;
            float *yr = y + o * C;
            for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
            continue;
        }
        for (int64_t c = 0; c < C; c++) {
            const float *xr = x + (o * C + c) * inner;
            float *yr = y + (o * C + c) * inner;
            const float m = mean[c], a = scale[c], b = shift[c];
            for (int64_t i = 0; i < inner; i++) yr[i] = (xr[i] - m) * a + b;
        }
    }
}

/* Rows [o0, o1) of dx = a * dy + b * (x - mean) + d. */
LAM_VEC static void backward_rows(const lam_norm_shape *s, const float *restrict x,
                                  const float *restrict mean, const float *restrict dy,
                                  const float *restrict a, const float *restrict b,
                                  const float *restrict d, int64_t o0, int64_t o1,
                                  float *restrict dx)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t o = o0; o < o1; o++) {
        if (inner == 1) {
            const float *xr = x + o * C, *gr = dy + o * C;
            float *dr = dx + o * C;
            if (b)
                for (int64_t c = 0; c < C; c++)
                    dr[c] = a[c] * gr[c] + b[c] * (xr[c] - mean[c]) + d[c];
            else
                for (int64_t c = 0; c < C; c++) dr[c] = a[c] * gr[c];
            continue;
        }
        for (int64_t c = 0; c < C; c++) {
            const int64_t off = (o * C + c) * inner;
            const float ac = a[c], bc = b ? b[c] : 0.0f, dc = b ? d[c] : 0.0f, m = mean[c];
            for (int64_t i = 0; i < inner; i++)
                dx[off + i] = ac * dy[off + i] + bc * (x[off + i] - m) + dc;
        }
    }
}

static int64_t row_blocks(const lam_norm_shape *s)
{
    const int64_t total = s->outer * s->C * s->inner;
    return total < NORM_PARALLEL_MIN || s->outer < 2 ? 1 : s->outer;
}

void lam_batchnorm_apply(const lam_norm_shape *s, const float *x, const float *mean,
                         const float *scale, const float *shift, float *y)
{
    const int64_t nb = row_blocks(s) > 1 ? 64 : 1, outer = s->outer;
    #pragma omp parallel for schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++)
        apply_rows(s, x, mean, scale, shift, outer * k / nb, outer * (k + 1) / nb, y);
}

void lam_batchnorm_backward_data(const lam_norm_shape *s, const float *x, const float *mean,
                                 const float *dy, const float *a, const float *b,
                                 const float *d, float *dx)
{
    const int64_t nb = row_blocks(s) > 1 ? 64 : 1, outer = s->outer;
    #pragma omp parallel for schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++)
        backward_rows(s, x, mean, dy, a, b, d, outer * k / nb, outer * (k + 1) / nb, dx);
}

void lam_batchnorm_moments_naive(const lam_norm_shape *s, const float *x, float *mean,
                                 float *var)
{
    const double count = (double)(s->outer * s->inner);
    for (int64_t c = 0; c < s->C; c++) {
        double sum = 0, sq = 0;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) sum += x[(o * s->C + c) * s->inner + i];
        const double m = sum / count;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) {
                const double dv = x[(o * s->C + c) * s->inner + i] - m;
                sq += dv * dv;
            }
        mean[c] = (float)m;
        var[c] = (float)(sq / count);
    }
}

/* ------------------------------------------------------------ layer norm */

/* Sums of a[c] and a[c] * b[c] (b NULL: a[c] * a[c]) over one contiguous
 * vector, in 8 double lanes (vector code) added in a fixed order. */
static inline __attribute__((always_inline)) void lane_sums(const float *restrict a,
                                                            const float *restrict b, int64_t C,
                                                            double *s1, double *s2)
{
    double l1[8] = {0}, l2[8] = {0};
    int64_t c = 0;
    for (; c + 8 <= C; c += 8)
        for (int j = 0; j < 8; j++) {
            const double u = a[c + j], w = b ? b[c + j] : a[c + j];
            l1[j] += u;
            l2[j] += u * w;
        }
    double t1 = 0, t2 = 0;
    for (int j = 0; j < 8; j++) {
        t1 += l1[j];
        t2 += l2[j];
    }
    for (; c < C; c++) {
        const double u = a[c], w = b ? b[c] : a[c];
        t1 += u;
        t2 += u * w;
    }
    *s1 = t1;
    *s2 = t2;
}

LAM_VEC static void ln_forward_rows(const lam_norm_shape *s, const float *restrict x,
                                    const float *restrict gamma, const float *restrict beta,
                                    float eps, int64_t o0, int64_t o1, float *restrict y,
                                    float *restrict mean, float *restrict inv)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t o = o0; o < o1; o++) {
        if (inner == 1) {
            const float *xr = x + o * C;
            float *yr = y + o * C;
            double sum, sq;
            lane_sums(xr, NULL, C, &sum, &sq);
            const double md = sum / (double)C, vd = sq / (double)C - md * md;
            const float m = (float)md, iv = (float)(1.0 / sqrt((vd > 0.0 ? vd : 0.0) + eps));
            mean[o] = m;
            inv[o] = iv;
            if (gamma && beta)
                for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * iv * gamma[c] + beta[c];
            else
                for (int64_t c = 0; c < C; c++)
                    yr[c] = (xr[c] - m) * iv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
            continue;
        }
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * C * inner + i;
            float *yr = y + o * C * inner + i;
            double sum = 0, sq = 0;
            for (int64_t c = 0; c < C; c++) {
                const double u = xr[c * inner];
                sum += u;
                sq += u * u;
            }
            const double md = sum / (double)C, vd = sq / (double)C - md * md;
            const float m = (float)md, iv = (float)(1.0 / sqrt((vd > 0.0 ? vd : 0.0) + eps));
            mean[o * inner + i] = m;
            inv[o * inner + i] = iv;
            for (int64_t c = 0; c < C; c++)
                yr[c * inner] = (xr[c * inner] - m) * iv * (gamma ? gamma[c] : 1.0f) +
                                (beta ? beta[c] : 0.0f);
        }
    }
}

void lam_layernorm_forward(const lam_norm_shape *s, const float *x, const float *gamma,
                           const float *beta, float eps, float *y, float *mean, float *inv)
{
    const int64_t nb = row_blocks(s) > 1 ? 64 : 1, outer = s->outer;
    #pragma omp parallel for schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++)
        ln_forward_rows(s, x, gamma, beta, eps, outer * k / nb, outer * (k + 1) / nb, y, mean,
                        inv);
}

int64_t lam_layernorm_scratch_doubles(const lam_norm_shape *s)
{
    return 2 * chunk_count(s) * s->C;
}

/* One contiguous vector (inner == 1): dx (may be NULL) and its share of
 * dgamma (pg) and dbeta (pb). The row sums run in 8 double lanes (vector
 * code) added in a fixed order; gamma's presence is a compile-time
 * constant in each caller, so neither loop branches. */
static inline __attribute__((always_inline)) void
ln_backward_vector(int64_t C, const float *restrict x, const float *restrict dy,
                   const float *restrict gamma, bool has_gamma, float m, float iv,
                   float *restrict dx, double *restrict pg, double *restrict pb)
{
    double l1[8] = {0}, l2[8] = {0};
    int64_t c = 0;
    for (; c + 8 <= C; c += 8)
        for (int j = 0; j < 8; j++) {
            const float xh = (x[c + j] - m) * iv, g = dy[c + j];
            const float gg = has_gamma ? g * gamma[c + j] : g;
            l1[j] += gg;
            l2[j] += (double)gg * xh;
            pg[c + j] += (double)g * xh;
            pb[c + j] += g;
        }
    double s1 = 0, s2 = 0;
    for (int j = 0; j < 8; j++) {
        s1 += l1[j];
        s2 += l2[j];
    }
    for (; c < C; c++) {
        const float xh = (x[c] - m) * iv, g = dy[c];
        const float gg = has_gamma ? g * gamma[c] : g;
        s1 += gg;
        s2 += (double)gg * xh;
        pg[c] += (double)g * xh;
        pb[c] += g;
    }
    if (!dx) return;
    const float m1 = (float)(s1 / (double)C), m2 = (float)(s2 / (double)C);
    for (c = 0; c < C; c++) {
        const float xh = (x[c] - m) * iv;
        const float gg = has_gamma ? dy[c] * gamma[c] : dy[c];
        dx[c] = iv * (gg - m1 - xh * m2);
    }
}

/* Rows [o0, o1): dx, and this chunk's dgamma (pg) and dbeta (pb) sums. */
LAM_VEC static void ln_backward_rows(const lam_norm_shape *s, const float *restrict x,
                                     const float *restrict dy, const float *restrict gamma,
                                     const float *restrict mean, const float *restrict inv,
                                     int64_t o0, int64_t o1, float *restrict dx,
                                     double *restrict pg, double *restrict pb)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t c = 0; c < C; c++) pg[c] = pb[c] = 0.0;
    if (inner == 1) {
        for (int64_t o = o0; o < o1; o++) {
            float *dxr = dx ? dx + o * C : NULL;
            if (gamma)
                ln_backward_vector(C, x + o * C, dy + o * C, gamma, true, mean[o], inv[o], dxr,
                                   pg, pb);
            else
                ln_backward_vector(C, x + o * C, dy + o * C, NULL, false, mean[o], inv[o], dxr,
                                   pg, pb);
        }
        return;
    }
    for (int64_t o = o0; o < o1; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t base = o * C * inner + i, v = o * inner + i;
            const float m = mean[v], iv = inv[v];
            /* m1 = mean of g = dy * gamma, m2 = mean of g * xhat. */
            double s1 = 0, s2 = 0;
            for (int64_t c = 0; c < C; c++) {
                const float xh = (x[base + c * inner] - m) * iv, g = dy[base + c * inner];
                const float gg = gamma ? g * gamma[c] : g;
                s1 += gg;
                s2 += (double)gg * xh;
                pg[c] += (double)g * xh;
                pb[c] += g;
            }
            if (!dx) continue;
            const float m1 = (float)(s1 / (double)C), m2 = (float)(s2 / (double)C);
            for (int64_t c = 0; c < C; c++) {
                const float xh = (x[base + c * inner] - m) * iv;
                const float gg = gamma ? dy[base + c * inner] * gamma[c] : dy[base + c * inner];
                dx[base + c * inner] = iv * (gg - m1 - xh * m2);
            }
        }
}

void lam_layernorm_backward(const lam_norm_shape *s, const float *x, const float *dy,
                            const float *gamma, const float *mean, const float *inv, float *dx,
                            float *dgamma, float *dbeta, double *scratch)
{
    const int64_t nchunks = chunk_count(s), C = s->C;
    #pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t k = 0; k < nchunks; k++) {
        int64_t o0, o1;
        chunk_range(s, k, nchunks, &o0, &o1);
        ln_backward_rows(s, x, dy, gamma, mean, inv, o0, o1, dx, scratch + 2 * k * C,
                         scratch + (2 * k + 1) * C);
    }
    for (int64_t c = 0; c < C; c++) {
        double tg = 0, tb = 0;
        for (int64_t k = 0; k < nchunks; k++) {
            tg += scratch[2 * k * C + c];
            tb += scratch[(2 * k + 1) * C + c];
        }
        if (dgamma) dgamma[c] = (float)tg;
        if (dbeta) dbeta[c] = (float)tb;
    }
}

void lam_layernorm_forward_naive(const lam_norm_shape *s, const float *x, const float *gamma,
                                 const float *beta, float eps, float *y)
{
    const int64_t C = s->C, inner = s->inner;
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t base = o * C * inner + i;
            double sum = 0, sq = 0;
            for (int64_t c = 0; c < C; c++) sum += x[base + c * inner];
            const double m = sum / (double)C;
            for (int64_t c = 0; c < C; c++) {
                const double d = x[base + c * inner] - m;
                sq += d * d;
            }
            const double iv = 1.0 / sqrt(sq / (double)C + eps);
            for (int64_t c = 0; c < C; c++)
                y[base + c * inner] = (float)((x[base + c * inner] - m) * iv *
                                                  (gamma ? gamma[c] : 1.0) +
                                              (beta ? beta[c] : 0.0));
        }
}
