/* merge_kernels.c - elementwise merges and their gradients: plain loops
 * over contiguous arrays, one pass per input, so each one vectorises. They
 * are memory-bound, so no threads: a team would cost more than it saves at
 * the sizes a merge sees. */
#include "kernels/merge_kernels.h"
#include "kernels/kernels.h"

#include <string.h>

LAM_VEC void lam_merge_add(const float *const *x, int n, int64_t count, float *y)
{
    memcpy(y, x[0], sizeof(float) * (size_t)count);
    for (int k = 1; k < n; k++) {
        const float *restrict xk = x[k];
        for (int64_t i = 0; i < count; i++) y[i] += xk[i];
    }
}

LAM_VEC void lam_merge_average(const float *const *x, int n, int64_t count, float *y)
{
    lam_merge_add(x, n, count, y);
    /* Keras divides the sum by the count; a multiply by 1/n could differ in
     * the last bit. */
    const float d = (float)n;
    for (int64_t i = 0; i < count; i++) y[i] /= d;
}

LAM_VEC void lam_merge_subtract(const float *a, const float *b, int64_t count, float *y)
{
    for (int64_t i = 0; i < count; i++) y[i] = a[i] - b[i];
}

LAM_VEC void lam_merge_multiply(const float *const *x, int n, int64_t count, float *y)
{
    memcpy(y, x[0], sizeof(float) * (size_t)count);
    for (int k = 1; k < n; k++) {
        const float *restrict xk = x[k];
        for (int64_t i = 0; i < count; i++) y[i] *= xk[i];
    }
}

LAM_VEC void lam_merge_select(const float *const *x, int n, bool maximum, int64_t count, float *y)
{
    memcpy(y, x[0], sizeof(float) * (size_t)count);
    for (int k = 1; k < n; k++) {
        const float *restrict xk = x[k];
        /* The running value stays where it is >= (max) or <= (min) the next
         * input: the same test as the gradient's, so the value returned is
         * the value of the input that receives the gradient. */
        if (maximum)
            for (int64_t i = 0; i < count; i++) y[i] = y[i] >= xk[i] ? y[i] : xk[i];
        else
            for (int64_t i = 0; i < count; i++) y[i] = y[i] <= xk[i] ? y[i] : xk[i];
    }
}

LAM_VEC void lam_merge_scale(const float *dy, float a, int64_t count, float *dx)
{
    for (int64_t i = 0; i < count; i++) dx[i] = a * dy[i];
}

LAM_VEC void lam_merge_multiply_grad(const float *const *x, int n, int k, const float *dy,
                                     int64_t count, float *dx)
{
    /* Products of the others, not y / x[k]: exact where x[k] is zero. */
    memcpy(dx, dy, sizeof(float) * (size_t)count);
    for (int j = 0; j < n; j++) {
        if (j == k) continue;
        const float *restrict xj = x[j];
        for (int64_t i = 0; i < count; i++) dx[i] *= xj[i];
    }
}

/* Elements per block of lam_merge_select_grad: the running extreme and the
 * winner's index stay in two stack arrays (4 KiB), in L1. */
#define SELECT_BLOCK 512

LAM_VEC void lam_merge_select_grad(const float *const *x, int n, bool maximum, const float *dy,
                                   int64_t count, float *const *dx)
{
    float best[SELECT_BLOCK];
    int32_t who[SELECT_BLOCK];
    for (int64_t i0 = 0; i0 < count; i0 += SELECT_BLOCK) {
        const int64_t len = count - i0 < SELECT_BLOCK ? count - i0 : SELECT_BLOCK;
        memcpy(best, x[0] + i0, sizeof(float) * (size_t)len);
        for (int64_t i = 0; i < len; i++) who[i] = 0;
        for (int k = 1; k < n; k++) {
            const float *restrict xk = x[k] + i0;
            for (int64_t i = 0; i < len; i++) {
                /* The running value keeps the gradient where it wins or ties. */
                const bool keep = maximum ? best[i] >= xk[i] : best[i] <= xk[i];
                best[i] = keep ? best[i] : xk[i];
                who[i] = keep ? who[i] : k;
            }
        }
        for (int k = 0; k < n; k++) {
            if (!dx[k]) continue;
            float *restrict d = dx[k] + i0;
            const float *restrict g = dy + i0;
            for (int64_t i = 0; i < len; i++) d[i] = who[i] == k ? g[i] : 0.0f;
        }
    }
}

void lam_merge_select_grad_naive(const float *const *x, int n, bool maximum, const float *dy,
                                 int64_t count, float *const *dx)
{
    for (int64_t i = 0; i < count; i++) {
        int win = 0;
        float v = x[0][i];
        for (int k = 1; k < n; k++) {
            const bool keep = maximum ? v >= x[k][i] : v <= x[k][i];
            if (!keep) {
                v = x[k][i];
                win = k;
            }
        }
        for (int k = 0; k < n; k++)
            if (dx[k]) dx[k][i] = k == win ? dy[i] : 0.0f;
    }
}
