/* dropout.c - see dropout.h. */
#include "kernels/dropout.h"
#include "core/internal.h"

#include <string.h>

void lam_dropout_forward(int batch, int64_t size, float rate, uint64_t seed, uint64_t a,
                         uint64_t b, int64_t first, const float *x, float *mask, float *y)
{
    const int64_t n = (int64_t)batch * size;
    if (rate == 0.0f) {
        memcpy(y, x, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) mask[i] = 1.0f;
        return;
    }
    const float keep = 1.0f - rate, scale = 1.0f / keep;
    for (int j = 0; j < batch; j++) {
        /* A generator per sample, keyed by its position in the global batch. */
        lam_rng r;
        lam_rng_derive(&r, seed, a, b | (uint64_t)(first + j) << 32);
        const int64_t o = (int64_t)j * size;
        for (int64_t i = o; i < o + size; i++) {
            mask[i] = lam_rng_uniform(&r) < keep ? scale : 0.0f;
            y[i] = x[i] * mask[i];
        }
    }
}

void lam_dropout_backward(int64_t n, const float *mask, const float *dy, float *dx)
{
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
