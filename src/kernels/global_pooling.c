/* global_pooling.c - global average and max pooling; vector lanes run along
 * the channels, threads across the batch. */
#include "kernels/global_pooling.h"

#include "kernels/kernels.h"

#include <string.h>

/* Samples are split across threads only when there is enough work. */
#define GLOBAL_POOL_PARALLEL_MIN 32768

LAM_VEC static void avg_sample(int64_t R, int64_t C, const float *restrict x, float *restrict y)
{
    for (int64_t c = 0; c < C; c++) y[c] = 0.0f;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < C; c++) y[c] += x[r * C + c];
    const float inv = 1.0f / (float)R;
    for (int64_t c = 0; c < C; c++) y[c] *= inv;
}

/* The real positions of a sample (mask != 0). */
static float mask_count(int64_t R, const float *mask)
{
    float count = 0.0f;
    for (int64_t r = 0; r < R; r++) count += mask[r] != 0.0f;
    return count;
}

/* Keras: sum(where(mask, x, 0)) / sum(mask); padded positions are skipped,
 * not multiplied by 0, so a NaN there stays out of the mean. */
LAM_VEC static void avg_sample_masked(int64_t R, int64_t C, const float *restrict x,
                                      const float *restrict mask, float *restrict y)
{
    for (int64_t c = 0; c < C; c++) y[c] = 0.0f;
    for (int64_t r = 0; r < R; r++)
        if (mask[r] != 0.0f)
            for (int64_t c = 0; c < C; c++) y[c] += x[r * C + c];
    const float count = mask_count(R, mask);
    for (int64_t c = 0; c < C; c++) y[c] = count > 0.0f ? y[c] / count : 0.0f;
}

void lam_global_avgpool_forward(int64_t N, int64_t R, int64_t C, const float *in,
                                const float *mask, float *out)
{
    #pragma omp parallel for schedule(static) if (N > 1 && N * R * C >= GLOBAL_POOL_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++) {
        if (mask) avg_sample_masked(R, C, in + n * R * C, mask + n * R, out + n * C);
        else avg_sample(R, C, in + n * R * C, out + n * C);
    }
}

LAM_VEC static void avg_sample_backward(int64_t R, int64_t C, const float *restrict dy,
                                        const float *restrict mask, float *restrict dx)
{
    const float count = mask ? mask_count(R, mask) : (float)R;
    const float inv = 1.0f / (float)R;
    for (int64_t r = 0; r < R; r++) {
        float *restrict d = dx + r * C;
        if (!mask) {
            for (int64_t c = 0; c < C; c++) d[c] = dy[c] * inv;
        } else if (mask[r] != 0.0f) {
            for (int64_t c = 0; c < C; c++) d[c] = dy[c] / count;
        } else {
            for (int64_t c = 0; c < C; c++) d[c] = 0.0f;
        }
    }
}

void lam_global_avgpool_backward(int64_t N, int64_t R, int64_t C, const float *dy,
                                 const float *mask, float *dx)
{
    #pragma omp parallel for schedule(static) if (N > 1 && N * R * C >= GLOBAL_POOL_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        avg_sample_backward(R, C, dy + n * C, mask ? mask + n * R : NULL, dx + n * R * C);
}

LAM_VEC static void max_sample(int64_t R, int64_t C, const float *restrict x, float *restrict y,
                               int32_t *restrict rec)
{
    for (int64_t c = 0; c < C; c++) {
        y[c] = x[c];
        if (rec) rec[c] = 0;
    }
    for (int64_t r = 1; r < R; r++) {
        const float *xr = x + r * C;
        if (rec) {
            for (int64_t c = 0; c < C; c++) {
                const bool win = xr[c] > y[c]; /* strict: ties stay with the first */
                y[c] = win ? xr[c] : y[c];
                rec[c] = win ? (int32_t)r : rec[c];
            }
        } else {
            for (int64_t c = 0; c < C; c++) y[c] = xr[c] > y[c] ? xr[c] : y[c];
        }
    }
}

void lam_global_maxpool_forward(int64_t N, int64_t R, int64_t C, const float *in, float *out,
                                int32_t *record)
{
    #pragma omp parallel for schedule(static) if (N > 1 && N * R * C >= GLOBAL_POOL_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        max_sample(R, C, in + n * R * C, out + n * C, record ? record + n * C : NULL);
}

void lam_global_maxpool_backward(int64_t N, int64_t R, int64_t C, const float *dy,
                                 const int32_t *record, float *dx)
{
    #pragma omp parallel for schedule(static) if (N > 1 && N * R * C >= GLOBAL_POOL_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++) {
        float *d = dx + n * R * C;
        memset(d, 0, sizeof(float) * (size_t)(R * C));
        for (int64_t c = 0; c < C; c++) d[(int64_t)record[n * C + c] * C + c] = dy[n * C + c];
    }
}
