/* merge_kernels.h - elementwise merges of n arrays of one size (Add,
 * Subtract, Multiply, Average, Maximum, Minimum) and their gradients.
 * Inputs are combined left to right, as Keras folds its list of inputs, so
 * the rounding is Keras's. */
#ifndef LAM_KERNELS_MERGE_H
#define LAM_KERNELS_MERGE_H

#include <stdbool.h>
#include <stdint.h>

/* y = ((x0 + x1) + x2) + ... */
void lam_merge_add(const float *const *x, int n, int64_t count, float *y);
/* y = (x0 + ... + x[n-1]) / n */
void lam_merge_average(const float *const *x, int n, int64_t count, float *y);
/* y = a - b */
void lam_merge_subtract(const float *a, const float *b, int64_t count, float *y);
/* y = ((x0 * x1) * x2) * ... */
void lam_merge_multiply(const float *const *x, int n, int64_t count, float *y);
/* y = max (or min) of x0..x[n-1], folded pairwise from the left. */
void lam_merge_select(const float *const *x, int n, bool maximum, int64_t count, float *y);

/* dx = a * dy */
void lam_merge_scale(const float *dy, float a, int64_t count, float *dx);
/* dx = dy * (product of every x[j] but x[k]) */
void lam_merge_multiply_grad(const float *const *x, int n, int k, const float *dy,
                             int64_t count, float *dx);
/* The gradient of lam_merge_select: each element's dy goes to one input,
 * the one TensorFlow's pairwise gradient picks (max(a, b) sends it to a
 * where a >= b; min where a <= b): the first input attaining the extreme.
 * dx[k] may be NULL (not wanted); the others are written in full. */
void lam_merge_select_grad(const float *const *x, int n, bool maximum, const float *dy,
                           int64_t count, float *const *dx);
/* The same, element by element: the reference the tests compare against. */
void lam_merge_select_grad_naive(const float *const *x, int n, bool maximum, const float *dy,
                                 int64_t count, float *const *dx);

#endif
