/* global_pooling.h - pooling over every position of a sample: in (N, R, C)
 * -> out (N, C), where R is the steps (1-D) or H * W (2-D). */
#ifndef LAM_KERNELS_GLOBAL_POOLING_H
#define LAM_KERNELS_GLOBAL_POOLING_H

#include <stdint.h>

/* out[n, c] = mean over r of in[n, r, c]. */
void lam_global_avgpool_forward(int64_t N, int64_t R, int64_t C, const float *in, float *out);
/* dx[n, r, c] = dy[n, c] / R (dx overwritten). */
void lam_global_avgpool_backward(int64_t N, int64_t R, int64_t C, const float *dy, float *dx);
/* out[n, c] = max over r; record (N * C, may be NULL) keeps the winning r,
 * the first one on ties. */
void lam_global_maxpool_forward(int64_t N, int64_t R, int64_t C, const float *in, float *out,
                                int32_t *record);
/* dx overwritten: dy at the winners, 0 elsewhere. */
void lam_global_maxpool_backward(int64_t N, int64_t R, int64_t C, const float *dy,
                                 const int32_t *record, float *dx);

#endif
