/* global_pooling.h - pooling over every position of a sample: in (N, R, C)
 * -> out (N, C), where R is the steps (1-D) or H * W (2-D). */
#ifndef LAM_KERNELS_GLOBAL_POOLING_H
#define LAM_KERNELS_GLOBAL_POOLING_H

#include <stdint.h>

/* out[n, c] = mean over r of in[n, r, c]; with a mask (N * R, may be NULL)
 * the mean over the positions r where mask[n, r] != 0, and 0 for a sample
 * with none (Keras divides 0 by 0 there and gets NaN). */
void lam_global_avgpool_forward(int64_t N, int64_t R, int64_t C, const float *in,
                                const float *mask, float *out);
/* dx[n, r, c] = dy[n, c] / R, or with a mask dy[n, c] / (real positions) at
 * the real positions and 0 at the others (dx overwritten). */
void lam_global_avgpool_backward(int64_t N, int64_t R, int64_t C, const float *dy,
                                 const float *mask, float *dx);
/* out[n, c] = max over r; record (N * C, may be NULL) keeps the winning r,
 * the first one on ties. */
void lam_global_maxpool_forward(int64_t N, int64_t R, int64_t C, const float *in, float *out,
                                int32_t *record);
/* dx overwritten: dy at the winners, 0 elsewhere. */
void lam_global_maxpool_backward(int64_t N, int64_t R, int64_t C, const float *dy,
                                 const int32_t *record, float *dx);

#endif
