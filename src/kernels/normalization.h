/* normalization.h - batch and layer normalisation loops.
 *
 * A tensor is seen as (outer, C, inner): C is the normalised axis (the
 * channel for batch normalisation, the feature axis for layer
 * normalisation), outer every axis before it (the batch included) and inner
 * every axis after it (1 when the axis is the last). */
#ifndef LAM_KERNELS_NORMALIZATION_H
#define LAM_KERNELS_NORMALIZATION_H

#include <stdint.h>

typedef struct lam_norm_shape {
    int64_t outer, C, inner;
} lam_norm_shape;

/* ------------------------------------------------ batch normalisation
 * Statistics per channel c over all (outer, inner) positions. Sums are in
 * double, over fixed chunks of outer that are then added in chunk order:
 * the bits do not depend on the number of threads. */

/* Doubles of scratch the reductions below need. */
int64_t lam_batchnorm_scratch_doubles(const lam_norm_shape *s);
/* mean[c] and the biased variance var[c] of x. */
void lam_batchnorm_moments(const lam_norm_shape *s, const float *x, float *mean, float *var,
                           double *scratch);
/* y = (x - mean[c]) * scale[c] + shift[c]. */
void lam_batchnorm_apply(const lam_norm_shape *s, const float *x, const float *mean,
                         const float *scale, const float *shift, float *y);
/* sum_dy[c] = sum of dy, sum_dyx[c] = sum of dy * (x - mean[c]). */
void lam_batchnorm_grad_sums(const lam_norm_shape *s, const float *x, const float *mean,
                             const float *dy, double *sum_dy, double *sum_dyx, double *scratch);
/* dx = a[c] * dy + b[c] * (x - mean[c]) + d[c] (b and d may be NULL: 0). */
void lam_batchnorm_backward_data(const lam_norm_shape *s, const float *x, const float *mean,
                                 const float *dy, const float *a, const float *b,
                                 const float *d, float *dx);
/* Reference: moments by a plain two-pass loop per channel. */
void lam_batchnorm_moments_naive(const lam_norm_shape *s, const float *x, float *mean,
                                 float *var);

/* ------------------------------------------------ layer normalisation
 * Each of the outer * inner vectors of C values (stride inner) is
 * normalised on its own; gamma, beta (either may be NULL) are per c. */

/* y = (x - mean) * rsqrt(var + eps) * gamma + beta per vector; mean and
 * inv (rsqrt(var + eps)) of each vector, [outer * inner], for backward. */
void lam_layernorm_forward(const lam_norm_shape *s, const float *x, const float *gamma,
                           const float *beta, float eps, float *y, float *mean, float *inv);
/* Doubles of scratch lam_layernorm_backward needs. */
int64_t lam_layernorm_scratch_doubles(const lam_norm_shape *s);
/* dx (may be NULL) from dy, and dgamma, dbeta (either may be NULL) summed
 * over all vectors, overwritten; the same bits whatever the threads. */
void lam_layernorm_backward(const lam_norm_shape *s, const float *x, const float *dy,
                            const float *gamma, const float *mean, const float *inv, float *dx,
                            float *dgamma, float *dbeta, double *scratch);
/* Reference forward, in double. */
void lam_layernorm_forward_naive(const lam_norm_shape *s, const float *x, const float *gamma,
                                 const float *beta, float eps, float *y);

#endif
