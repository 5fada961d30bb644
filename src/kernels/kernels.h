/* kernels.h - compute only, no model knowledge. Each optimised kernel has a
 * naive reference next to it (suffix _naive) that the tests compare against.
 * Shapes are row-major; lda/ldb/ldc are row strides in elements. */
#ifndef LAM_KERNELS_H
#define LAM_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

/* Loops worth vector code are compiled for AVX-512, AVX2+FMA and the
 * baseline, chosen at run time (ifunc), so the default build runs on any
 * x86-64; without trapping-math, selects become blends instead of branches. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LAM_VEC __attribute__((target_clones("avx512f", "avx2,fma", "default"), \
                               optimize("no-trapping-math")))
#else
#define LAM_VEC /* other compilers and CPUs: baseline ISA, still correct */
#endif

/* The GEMM kernel is the best the CPU runs (AVX-512, AVX2+FMA, portable C),
 * chosen once. lam_gemm_limit re-chooses among the instruction sets up to
 * `most`, so tests and benchmarks can reach every path on one machine; call
 * it only while no GEMM runs. */
typedef enum { LAM_GEMM_GENERIC = 0, LAM_GEMM_AVX2, LAM_GEMM_BEST } lam_gemm_limit_isa;
void lam_gemm_limit(lam_gemm_limit_isa most);

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
