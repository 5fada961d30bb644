/* dropout.c - see dropout.h. */
#include "kernels/dropout.h"
#include "core/internal.h"

#include <string.h>

void lam_dropout_forward(int64_t n, float rate, uint64_t seed, uint64_t a, uint64_t b,
                         const float *x, float *mask, float *y)
{
    if (rate == 0.0f) {
        memcpy(y, x, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) mask[i] = 1.0f;
        return;
    }
    lam_rng r;
    lam_rng_derive(&r, seed, a, b);
    const float keep = 1.0f - rate, scale = 1.0f / keep;
    for (int64_t i = 0; i < n; i++) {
        mask[i] = lam_rng_uniform(&r) < keep ? scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

void lam_dropout_backward(int64_t n, const float *mask, const float *dy, float *dx)
{
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
