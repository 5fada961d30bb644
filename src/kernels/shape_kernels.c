/* shape_kernels.c - copies that rearrange values. Memory-bound and cheap
 * next to the layers around them, so single-threaded. */
#include "kernels/shape_kernels.h"
#include "kernels/kernels.h"

#include <string.h>

void lam_copy_blocks(const float *src, int64_t src_stride, float *dst, int64_t dst_stride,
                     int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * (size_t)cols);
}

/* The output walked in order, five nested axes (padded with leading axes of
 * size 1); st[i] is the input stride of output axis i. The innermost axis is
 * a memcpy when the permutation keeps the last axis last, else a gather
 * with a constant stride. */
LAM_VEC void lam_permute(const float *x, int rank, const int64_t *dim, const int *perm, float *y)
{
    int64_t in_stride[5], od[5] = {1, 1, 1, 1, 1}, st[5] = {0, 0, 0, 0, 0};
    int64_t s = 1;
    for (int a = rank - 1; a >= 0; a--) {
        in_stride[a] = s;
        s *= dim[a];
    }
    const int pad = 5 - rank;
    for (int i = 0; i < rank; i++) {
        od[pad + i] = dim[perm[i]];
        st[pad + i] = in_stride[perm[i]];
    }
    const int64_t n4 = od[4], s4 = st[4];
    for (int64_t i0 = 0; i0 < od[0]; i0++)
        for (int64_t i1 = 0; i1 < od[1]; i1++)
            for (int64_t i2 = 0; i2 < od[2]; i2++)
                for (int64_t i3 = 0; i3 < od[3]; i3++) {
                    const float *restrict src = x + i0 * st[0] + i1 * st[1] + i2 * st[2] + i3 * st[3];
                    if (s4 == 1) {
                        memcpy(y, src, sizeof(float) * (size_t)n4);
                    } else {
                        for (int64_t i4 = 0; i4 < n4; i4++) y[i4] = src[i4 * s4];
                    }
                    y += n4;
                }
}

void lam_permute_naive(const float *x, int rank, const int64_t *dim, const int *perm, float *y)
{
    int64_t total = 1, in_stride[5];
    for (int a = rank - 1; a >= 0; a--) {
        in_stride[a] = total;
        total *= dim[a];
    }
    for (int64_t o = 0; o < total; o++) {
        /* Output coordinates from the flat index, last axis fastest. */
        int64_t rest = o, src = 0;
        for (int i = rank - 1; i >= 0; i--) {
            const int64_t n = dim[perm[i]];
            src += (rest % n) * in_stride[perm[i]];
            rest /= n;
        }
        y[o] = x[src];
    }
}

void lam_repeat_rows(const float *x, int64_t rows, int64_t cols, int repeats, float *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int t = 0; t < repeats; t++)
            memcpy(y + (r * repeats + t) * cols, x + r * cols, sizeof(float) * (size_t)cols);
}

LAM_VEC void lam_repeat_rows_grad(const float *dy, int64_t rows, int64_t cols, int repeats,
                                  float *dx)
{
    for (int64_t r = 0; r < rows; r++) {
        float *restrict d = dx + r * cols;
        const float *g = dy + r * repeats * cols;
        memcpy(d, g, sizeof(float) * (size_t)cols);
        for (int t = 1; t < repeats; t++) {
            const float *restrict gt = g + t * cols;
            for (int64_t j = 0; j < cols; j++) d[j] += gt[j];
        }
    }
}
