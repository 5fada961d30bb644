/* gemm.c - matrix products. Placeholder fast path: the naive loop order with
 * a vectorisable inner loop; a packed micro-kernel replaces it. */
#include "kernels.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
static int omp_in_parallel_guard(void) { return omp_in_parallel(); }
#else
static int omp_in_parallel_guard(void) { return 1; }
#endif

void lam_gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
                float b = trans_b ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
                acc += (double)a * b;
            }
            float *c = &C[(int64_t)i * ldc + j];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

void lam_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    #pragma omp parallel for schedule(static) if (!omp_in_parallel_guard() && (int64_t)M * N * K > 100000)
    for (int i = 0; i < M; i++) {
        float *c = C + (int64_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
        for (int k = 0; k < K; k++) {
            float a = alpha * (trans_a ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k]);
            if (!trans_b) {
                const float *b = B + (int64_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            } else {
                for (int j = 0; j < N; j++) c[j] += a * B[(int64_t)j * ldb + k];
            }
        }
    }
}
