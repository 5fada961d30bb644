/* scaling.h - per-feature statistics and the affine map of feature scaling
 * (Keras's Normalization, scikit-learn's StandardScaler and MinMaxScaler).
 *
 * Tensors are (outer, C, inner) as in normalization.h: one statistic per
 * index c of the feature axis, over every outer and inner position. */
#ifndef LAM_KERNELS_SCALING_H
#define LAM_KERNELS_SCALING_H

#include "kernels/normalization.h"

#include <stdbool.h>

/* Running statistics of one feature axis, fed chunk by chunk (a data set
 * read in pieces). The arrays (C doubles each) belong to the caller. */
typedef struct lam_feature_stats {
    int64_t C;
    double count;         /* values seen per feature */
    double *mean, *m2;    /* m2: the sum of squared deviations from mean */
    double *min, *max;
} lam_feature_stats;

/* count 0, mean and m2 0, min +inf, max -inf. */
void lam_feature_stats_reset(lam_feature_stats *st);
/* Adds the values of x: the chunk's mean and m2 by two passes, then merged
 * with the running ones (Chan, Golub and LeVeque's pairwise update, the
 * "lack-of-fit" merge Keras's adapt uses). Features run in parallel; each is
 * summed in one fixed order, so the bits do not depend on the threads.
 * scratch: 2 * C doubles. */
void lam_feature_stats_add(lam_feature_stats *st, const lam_norm_shape *s, const float *x,
                           double *scratch);
/* What the statistics scale by, x' = (x - offset[c]) / scale[c]: the mean and
 * the biased standard deviation, or (minmax) the min and max - min. A
 * constant feature keeps scale 1 as in scikit-learn: a variance within
 * rounding of zero (its _is_constant_feature test), a range below 10 double
 * epsilons (its _handle_zeros_in_scale). */
void lam_feature_stats_scaling(const lam_feature_stats *st, bool minmax, double *offset,
                               double *scale);
/* Reference: mean, biased variance, min and max of all of x at once, by a
 * plain two-pass loop per feature. */
void lam_feature_stats_naive(const lam_norm_shape *s, const float *x, double *mean,
                             double *var, double *min, double *max);

/* y = (x - mean[c]) / den[c], or with invert y = mean[c] + x * den[c]. */
void lam_scale_features(const lam_norm_shape *s, const float *x, const float *mean,
                        const float *den, bool invert, float *y);
/* The map's input gradient: dx = dy / den[c], or dy * den[c] with invert. */
void lam_scale_features_backward(const lam_norm_shape *s, const float *dy, const float *den,
                                 bool invert, float *dx);

#endif
