/* sample_grads.h - one sample's weight gradient, or only its squared norm,
 * for DP-SGD's per-sample clipping. A layer applied at T positions (a Dense
 * over a sequence, a convolution at each output pixel) has the per-sample
 * weight gradient G = A^T B: A [T x I] its inputs at those positions (for a
 * convolution the im2col rows), B [T x U] its output gradients. */
#ifndef LAM_KERNELS_SAMPLE_GRADS_H
#define LAM_KERNELS_SAMPLE_GRADS_H

#include <stdbool.h>
#include <stdint.h>

/* Whether ||A^T B||^2 is cheaper from the Gram matrices, T^2 (I + U)
 * multiply-adds (the "ghost norm": sum over t, t' of (a_t . a_t')(b_t . b_t'),
 * Goodfellow 2015, Li et al. 2021), than by forming G, T I U. */
bool lam_outer_sqnorm_ghost(int T, int I, int U);
/* Floats of work lam_outer_sqnorm needs: 2 T^2 for the Gram matrices, or
 * I U for G. */
int64_t lam_outer_sqnorm_work(int T, int I, int U);
/* ||A^T B||_F^2, the cheaper way (accumulated in double). work as above.
 * Called inside an OpenMP region it runs on the calling thread. */
double lam_outer_sqnorm(int T, int I, int U, const float *A, const float *B, float *work);
/* G = A^T B [I x U] itself (overwritten). */
void lam_outer_sum(int T, int I, int U, const float *A, const float *B, float *G);
/* The reference: G formed entry by entry in double. */
double lam_outer_sqnorm_naive(int T, int I, int U, const float *A, const float *B);
/* out [U] = sum_t B_t: a bias's per-sample gradient. */
void lam_column_sum(int T, int U, const float *B, float *out);
/* ||sum_t B_t||^2, B [T x U]: a bias's per-sample gradient norm. */
double lam_column_sum_sqnorm(int T, int U, const float *B);
/* ||x||^2 over n floats, in double. */
double lam_sqnorm(const float *x, int64_t n);
/* An embedding's per-sample gradient adds row B_t into table row ids[t]; its
 * squared norm is sum over t, t' with ids[t] == ids[t'] of B_t . B_t' (ids
 * outside [0, rows) add nothing, as in the gradient). */
double lam_gathered_sqnorm(int T, int U, const float *ids, int64_t rows, const float *B);
double lam_gathered_sqnorm_naive(int T, int U, const float *ids, int64_t rows, const float *B);

#endif
