/* activation.c - elementwise activations and their derivatives, written in
 * terms of the output y so the backward pass needs no extra buffer.
 *
 * exp, sigmoid and tanh are branch-free polynomials (about 1 ulp) rather
 * than libm calls, so that every loop here vectorises: a scalar tanhf per
 * element would cost more than the matrix products of a recurrent step. */
#include "kernels/activation.h"
#include "kernels/fast_math.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ACT_INLINE static inline __attribute__((always_inline))

/* GELU's two Keras forms: the exact x * Phi(x), Phi(x) = erfc(-x/sqrt2)/2
 * through the vectorised fast_erfc, and the tanh form. */
#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

ACT_INLINE float gelu_tanh_of(float x)
{
    return 0.5f * x * (1.0f + fast_tanh(GELU_K * (x + GELU_C * x * x * x)));
}

/* Softmax across one row, stably (max subtracted). */
ACT_INLINE void softmax_row(float *row, int64_t cols)
{
    float mx = row[0];
    for (int64_t j = 1; j < cols; j++) mx = row[j] > mx ? row[j] : mx;
    float s = 0;
    for (int64_t j = 0; j < cols; j++) {
        row[j] = fast_exp(row[j] - mx);
        s += row[j];
    }
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < cols; j++) row[j] *= inv;
}

LAM_VEC void lam_act_rows(lam_activation act, float *y, const float *bias, float *keep,
                          int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias)
            for (int64_t j = 0; j < cols; j++) row[j] += bias[j];
        /* Row by row, while it is in L1: one pass over memory, not three. */
        if (keep) memcpy(keep + r * cols, row, sizeof(float) * (size_t)cols);
        switch (act) {
        case LAM_ACT_RELU:
            for (int64_t j = 0; j < cols; j++) row[j] = row[j] > 0 ? row[j] : 0;
            break;
        case LAM_ACT_SIGMOID:
            for (int64_t j = 0; j < cols; j++) row[j] = fast_sigmoid(row[j]);
            break;
        case LAM_ACT_TANH:
            for (int64_t j = 0; j < cols; j++) row[j] = fast_tanh(row[j]);
            break;
        case LAM_ACT_SOFTMAX:
            softmax_row(row, cols);
            break;
        case LAM_ACT_GELU:
            for (int64_t j = 0; j < cols; j++)
                row[j] = 0.5f * row[j] * fast_erfc(-row[j] * INV_SQRT2);
            break;
        case LAM_ACT_GELU_TANH:
            for (int64_t j = 0; j < cols; j++) row[j] = gelu_tanh_of(row[j]);
            break;
        default:
            break;
        }
    }
}

LAM_VEC void lam_act_grad_rows(lam_activation act, const float *y, float *dy, int64_t rows,
                               int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols;
        float *d = dy + r * cols;
        switch (act) {
        case LAM_ACT_RELU:
            for (int64_t j = 0; j < cols; j++) d[j] = yr[j] > 0 ? d[j] : 0;
            break;
        case LAM_ACT_SIGMOID:
            for (int64_t j = 0; j < cols; j++) d[j] *= yr[j] * (1 - yr[j]);
            break;
        case LAM_ACT_TANH:
            for (int64_t j = 0; j < cols; j++) d[j] *= 1 - yr[j] * yr[j];
            break;
        case LAM_ACT_SOFTMAX: {
            /* dz = y * (dy - sum(dy * y)) */
            float s = 0;
            for (int64_t j = 0; j < cols; j++) s += d[j] * yr[j];
            for (int64_t j = 0; j < cols; j++) d[j] = yr[j] * (d[j] - s);
            break;
        }
        default:
            break;
        }
    }
}

LAM_VEC void lam_act_grad_preact_rows(lam_activation act, const float *z, float *dy,
                                      int64_t rows, int64_t cols)
{
    const int64_t n = rows * cols;
    switch (act) {
    case LAM_ACT_GELU:
        /* d/dz z Phi(z) = Phi(z) + z phi(z) */
        for (int64_t i = 0; i < n; i++) {
            const float x = z[i];
            const float cdf = 0.5f * fast_erfc(-x * INV_SQRT2);
            dy[i] *= cdf + x * INV_SQRT_2PI * fast_exp(-0.5f * x * x);
        }
        break;
    case LAM_ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            const float x = z[i], x2 = x * x;
            const float t = fast_tanh(GELU_K * (x + GELU_C * x2 * x));
            dy[i] *= 0.5f * (1.0f + t) +
                     0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x2);
        }
        break;
    default:
        break;
    }
}

bool lam_act_needs_preact(lam_activation act)
{
    return act == LAM_ACT_GELU || act == LAM_ACT_GELU_TANH;
}

/* Rows split across threads when there are enough of them to pay for it. */
static int act_threads(int64_t rows, int64_t cols)
{
#ifdef _OPENMP
    if (rows > 1 && rows * cols > 32768 && !omp_in_parallel()) return omp_get_max_threads();
#endif
    (void)rows;
    (void)cols;
    return 1;
}

void lam_bias_act_forward(lam_activation act, float *y, const float *bias, float *keep,
                          int64_t rows, int64_t cols)
{
    const int nt = act_threads(rows, cols);
    if (nt == 1) {
        lam_act_rows(act, y, bias, keep, rows, cols);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
        const int64_t r0 = rows * t / k, r1 = rows * (t + 1) / k;
        lam_act_rows(act, y + r0 * cols, bias, keep ? keep + r0 * cols : NULL, r1 - r0, cols);
    }
}

void lam_act_backward(lam_activation act, const float *y, float *dy, int64_t rows, int64_t cols)
{
    if (act == LAM_ACT_LINEAR) return;
    const int nt = act_threads(rows, cols);
    if (nt == 1) {
        lam_act_grad_rows(act, y, dy, rows, cols);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
        const int64_t r0 = rows * t / k, r1 = rows * (t + 1) / k;
        lam_act_grad_rows(act, y + r0 * cols, dy + r0 * cols, r1 - r0, cols);
    }
}

void lam_act_backward_preact(lam_activation act, const float *z, float *dy, int64_t rows,
                             int64_t cols)
{
    const int nt = act_threads(rows, cols);
    if (nt == 1) {
        lam_act_grad_preact_rows(act, z, dy, rows, cols);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
        const int64_t r0 = rows * t / k, r1 = rows * (t + 1) / k;
        lam_act_grad_preact_rows(act, z + r0 * cols, dy + r0 * cols, r1 - r0, cols);
    }
}

/* One unit: its tangent masked, its switching distance into the lanes. */
static inline __attribute__((always_inline)) void relu_tangent_unit(float zi, float *d,
                                                                    float *fl, float *bl)
{
    /* On units switch off as z falls to 0, off units on as it rises past 0:
     * ahead when dz points that way, else behind. dz == 0 gives t = inf or
     * NaN, which no select takes. */
    const float t = fabsf(zi) / fabsf(*d);
    const int on = zi > 0, off = !on, neg = *d < 0, pos = *d > 0;
    const float ahead = ((on & neg) | (off & pos)) ? t : INFINITY;
    const float behind = ((on & pos) | (off & neg)) ? t : INFINITY;
    *fl = ahead < *fl ? ahead : *fl;
    *bl = behind < *bl ? behind : *bl;
    *d = on ? *d : 0.0f;
}

LAM_VEC void lam_relu_tangent(const float *restrict z, float *restrict dz, int64_t n,
                              double span[2])
{
    /* Float selects into 16 lanes of minima, so that the loop vectorises:
     * as a scalar loop in double it took 12% of exact IG on the seed CNN. */
    enum { L = 16 };
    float fl[L], bl[L];
    for (int j = 0; j < L; j++) fl[j] = bl[j] = INFINITY;
    int64_t i0 = 0;
    for (; i0 + L <= n; i0 += L)
        for (int j = 0; j < L; j++) relu_tangent_unit(z[i0 + j], dz + i0 + j, fl + j, bl + j);
    for (int j = 0; i0 + j < n; j++) relu_tangent_unit(z[i0 + j], dz + i0 + j, fl + j, bl + j);
    for (int j = 0; j < L; j++) {
        span[0] = fl[j] < span[0] ? fl[j] : span[0];
        span[1] = bl[j] < span[1] ? bl[j] : span[1];
    }
}

/* db[j0..j1) summed over rows in a fixed order. */
LAM_VEC static void bias_grad_cols(const float *restrict dz, int64_t rows, int64_t cols,
                                   int64_t j0, int64_t j1, float *restrict db)
{
    for (int64_t j = j0; j < j1; j++) db[j] = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *d = dz + r * cols;
        for (int64_t j = j0; j < j1; j++) db[j] += d[j];
    }
}

void lam_bias_grad(const float *dz, int64_t rows, int64_t cols, float *db)
{
    /* Threads take blocks of columns, never of rows: each sum keeps one
     * order, so the result does not depend on the number of threads. */
    const int nt = cols >= 32 ? act_threads(rows, cols) : 1;
    if (nt == 1) {
        bias_grad_cols(dz, rows, cols, 0, cols, db);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
        const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
        /* Blocks of 16 columns: whole vectors for each thread. */
        const int64_t blocks = (cols + 15) / 16;
        const int64_t j0 = 16 * (blocks * t / k), j1 = 16 * (blocks * (t + 1) / k);
        bias_grad_cols(dz, rows, cols, j0, j1 < cols ? j1 : cols, db);
    }
}
