/* scaling.c - per-feature statistics and the affine map of feature scaling.
 * Memory-bound loops: the map is one read and one write per value, so it is
 * split over the outer rows; statistics are split over features, each summed
 * in one fixed order (the same bits whatever the threads). */
#include "kernels/scaling.h"

#include <float.h>
#include <math.h>

/* Below this many values one thread does it all (thread start-up costs more). */
#define SCALING_PARALLEL_MIN 32768

void lam_feature_stats_reset(lam_feature_stats *st)
{
    st->count = 0.0;
    for (int64_t c = 0; c < st->C; c++) {
        st->mean[c] = st->m2[c] = 0.0;
        st->min[c] = INFINITY;
        st->max[c] = -INFINITY;
    }
}

/* Value j of feature c, j running over the outer and inner positions. */
static inline float at(const lam_norm_shape *s, const float *x, int64_t c, int64_t o,
                       int64_t i)
{
    return x[(o * s->C + c) * s->inner + i];
}

void lam_feature_stats_add(lam_feature_stats *st, const lam_norm_shape *s, const float *x,
                           double *scratch)
{
    const int64_t C = s->C, N = s->outer * s->inner;
    if (N == 0) return;
    double *cmean = scratch, *cm2 = scratch + C;
#pragma omp parallel for schedule(static) if (N * C >= SCALING_PARALLEL_MIN)
    for (int64_t c = 0; c < C; c++) {
        double sum = 0.0, lo = st->min[c], hi = st->max[c];
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) {
                const double v = at(s, x, c, o, i);
                sum += v;
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
        const double mean = sum / (double)N;
        double m2 = 0.0;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) {
                const double dv = at(s, x, c, o, i) - mean;
                m2 += dv * dv;
            }
        cmean[c] = mean;
        cm2[c] = m2;
        st->min[c] = lo;
        st->max[c] = hi;
    }
    const double na = st->count, nb = (double)N, n = na + nb;
    for (int64_t c = 0; c < C; c++) {
        const double delta = cmean[c] - st->mean[c];
        st->mean[c] += delta * nb / n;
        st->m2[c] += cm2[c] + delta * delta * na * nb / n;
    }
    st->count = n;
}

void lam_feature_stats_scaling(const lam_feature_stats *st, bool minmax, double *offset,
                               double *scale)
{
    const double n = st->count, eps = DBL_EPSILON;
    for (int64_t c = 0; c < st->C; c++) {
        if (minmax) {
            const double range = st->max[c] - st->min[c];
            offset[c] = st->min[c];
            scale[c] = range < 10.0 * eps ? 1.0 : range;
        } else {
            const double var = n > 0 ? st->m2[c] / n : 0.0, mean = st->mean[c];
            const bool constant = var <= n * eps * var + (n * mean * eps) * (n * mean * eps);
            offset[c] = mean;
            scale[c] = constant ? 1.0 : sqrt(var);
        }
    }
}

void lam_feature_stats_naive(const lam_norm_shape *s, const float *x, double *mean,
                             double *var, double *min, double *max)
{
    const double N = (double)(s->outer * s->inner);
    for (int64_t c = 0; c < s->C; c++) {
        double sum = 0.0, lo = INFINITY, hi = -INFINITY;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) {
                const double v = at(s, x, c, o, i);
                sum += v;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        double m2 = 0.0;
        for (int64_t o = 0; o < s->outer; o++)
            for (int64_t i = 0; i < s->inner; i++) {
                const double dv = at(s, x, c, o, i) - sum / N;
                m2 += dv * dv;
            }
        mean[c] = sum / N;
        var[c] = m2 / N;
        min[c] = lo;
        max[c] = hi;
    }
}

void lam_scale_features(const lam_norm_shape *s, const float *x, const float *mean,
                        const float *den, bool invert, float *y)
{
    const int64_t C = s->C, inner = s->inner;
#pragma omp parallel for schedule(static) if (s->outer * C * inner >= SCALING_PARALLEL_MIN)
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *xr = x + (o * C + c) * inner;
            float *yr = y + (o * C + c) * inner;
            if (invert)
                for (int64_t i = 0; i < inner; i++) yr[i] = mean[c] + xr[i] * den[c];
            else /* a division, as Keras: the same rounding as its output */
                for (int64_t i = 0; i < inner; i++) yr[i] = (xr[i] - mean[c]) / den[c];
        }
}

void lam_scale_features_backward(const lam_norm_shape *s, const float *dy, const float *den,
                                 bool invert, float *dx)
{
    const int64_t C = s->C, inner = s->inner;
#pragma omp parallel for schedule(static) if (s->outer * C * inner >= SCALING_PARALLEL_MIN)
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *gr = dy + (o * C + c) * inner;
            float *dr = dx + (o * C + c) * inner;
            for (int64_t i = 0; i < inner; i++) dr[i] = invert ? gr[i] * den[c] : gr[i] / den[c];
        }
}
