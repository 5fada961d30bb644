/* embedding.c - Embedding's row gather and its gradient's scatter-add.
 * Both are memory-bound row copies; the inner loops vectorise. */
#include "kernels/embedding.h"
#include "kernels/kernels.h"

#include <string.h>

void lam_embedding_gather(const float *ids, int64_t n, const float *table, int64_t rows,
                          int64_t dim, float *y)
{
    for (int64_t i = 0; i < n; i++) {
        const int64_t r = lam_embedding_row(ids[i], rows);
        float *dst = y + i * dim;
        if (r < 0) memset(dst, 0, sizeof(float) * (size_t)dim);
        else memcpy(dst, table + r * dim, sizeof(float) * (size_t)dim);
    }
}

LAM_VEC void lam_embedding_scatter(const float *ids, int64_t n, const float *dy, int64_t rows,
                                   int64_t dim, float *dtable)
{
    memset(dtable, 0, sizeof(float) * (size_t)(rows * dim));
    for (int64_t i = 0; i < n; i++) {
        const int64_t r = lam_embedding_row(ids[i], rows);
        if (r < 0) continue;
        float *restrict dst = dtable + r * dim;
        const float *restrict src = dy + i * dim;
        for (int64_t j = 0; j < dim; j++) dst[j] += src[j];
    }
}

void lam_position_rows(const float *table, int64_t rows, int64_t dim, int64_t start, int64_t T,
                       int64_t copies, bool accumulate, float *y)
{
    for (int64_t c = 0; c < copies; c++)
        for (int64_t t = 0; t < T; t++) {
            float *restrict dst = y + (c * T + t) * dim;
            const int64_t r = start + t;
            if (r < 0 || r >= rows) {
                if (!accumulate) memset(dst, 0, sizeof(float) * (size_t)dim);
                continue;
            }
            const float *restrict src = table + r * dim;
            if (accumulate)
                for (int64_t j = 0; j < dim; j++) dst[j] += src[j];
            else
                memcpy(dst, src, sizeof(float) * (size_t)dim);
        }
}

LAM_VEC void lam_position_rows_grad(const float *dy, int64_t copies, int64_t T, int64_t dim,
                                    int64_t start, int64_t rows, float *dtable)
{
    memset(dtable, 0, sizeof(float) * (size_t)(rows * dim));
    for (int64_t c = 0; c < copies; c++)
        for (int64_t t = 0; t < T; t++) {
            const int64_t r = start + t;
            if (r < 0 || r >= rows) continue;
            float *restrict dst = dtable + r * dim;
            const float *restrict src = dy + (c * T + t) * dim;
            for (int64_t j = 0; j < dim; j++) dst[j] += src[j];
        }
}
