/* kernels.h - compute only, no model knowledge. Each optimised kernel has a
 * naive reference next to it (suffix _naive) that the tests compare against.
 * Shapes are row-major; lda/ldb/ldc are row strides in elements. */
#ifndef LAM_KERNELS_H
#define LAM_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

/* C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C[M,N]
 * op(A) = A (A is M x K, row stride lda) or, with trans_a, A^T (A is K x M).
 * op(B) = B (K x N, ldb) or, with trans_b, B^T (B is N x K).
 * beta == 0 means C is overwritten (its old contents, even NaN, are ignored).
 * The result does not depend on the number of threads. Called inside an
 * OpenMP parallel region it runs on the calling thread only. */
void lam_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);
void lam_gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc);

#endif
