/* shape_kernels.h - moving values without arithmetic: strided block copies
 * (Concatenate), axis permutations (Permute) and repetition (RepeatVector). */
#ifndef LAM_KERNELS_SHAPE_H
#define LAM_KERNELS_SHAPE_H

#include <stdint.h>

/* dst[r * dst_stride + j] = src[r * src_stride + j] for r < rows, j < cols. */
void lam_copy_blocks(const float *src, int64_t src_stride, float *dst, int64_t dst_stride,
                     int64_t rows, int64_t cols);

/* y = x with its axes reordered: x has rank axes (at most 5) of sizes dim,
 * row-major; output axis i is input axis perm[i] (0-based). */
void lam_permute(const float *x, int rank, const int64_t *dim, const int *perm, float *y);
/* The same by one index computation per element: the tests' reference. */
void lam_permute_naive(const float *x, int rank, const int64_t *dim, const int *perm, float *y);

/* y[r, t, :] = x[r, :] for t < repeats: x is [rows, cols]. */
void lam_repeat_rows(const float *x, int64_t rows, int64_t cols, int repeats, float *y);
/* dx[r, :] = sum over t of dy[r, t, :], summed in t order. */
void lam_repeat_rows_grad(const float *dy, int64_t rows, int64_t cols, int repeats, float *dx);

#endif
