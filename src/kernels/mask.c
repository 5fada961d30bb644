/* mask.c - producing and combining masks (one float per position). These
 * are a few values per sample, next to the layers' work: plain loops. */
#include "kernels/mask.h"

void lam_mask_nonzero(const float *ids, int64_t n, float *mask)
{
    for (int64_t i = 0; i < n; i++) mask[i] = ids[i] != 0.0f ? 1.0f : 0.0f;
}

void lam_mask_or(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = dst[i] != 0.0f || src[i] != 0.0f ? 1.0f : 0.0f;
}

void lam_mask_fill_ones(float *dst, int64_t stride, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) dst[r * stride + j] = 1.0f;
}
