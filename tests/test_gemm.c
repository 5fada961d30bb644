/* test_gemm.c - lam_gemm against lam_gemm_naive over random shapes, all
 * transposes, general alpha/beta, padded leading dimensions, beta == 0 over
 * NaN, and bit-identical results with 1 and 2 threads. */
#include "kernels/kernels.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = test_rndf();
}

/* One case: compare lam_gemm with the naive reference. Returns 1 if it
 * matched, so a failing loop prints one line per bad case, not per element. */
static int check_case(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad,
                      bool nan_c)
{
    int ar = ta ? K : M, ac = ta ? M : K; /* stored shapes */
    int br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = malloc(sizeof(float) * ((size_t)ar * lda + 1));
    float *B = malloc(sizeof(float) * ((size_t)br * ldb + 1));
    float *C = malloc(sizeof(float) * ((size_t)M * ldc + 1));
    float *R = malloc(sizeof(float) * ((size_t)M * ldc + 1));
    if (!A || !B || !C || !R) {
        CHECK(0, "out of memory");
        free(A), free(B), free(C), free(R);
        return 0;
    }
    fill(A, (size_t)ar * lda);
    fill(B, (size_t)br * ldb);
    fill(C, (size_t)M * ldc);
    if (nan_c)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    memcpy(R, C, sizeof(float) * (size_t)M * ldc);
    lam_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    lam_gemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    int ok = 1;
    for (int i = 0; i < M && ok; i++)
        for (int j = 0; j < ldc; j++) {
            float c = C[(size_t)i * ldc + j], r = R[(size_t)i * ldc + j];
            if (j >= N) { /* padding must be untouched (R kept the original) */
                if (memcmp(&c, &r, sizeof c)) ok = 0;
                continue;
            }
            /* Error scale: |alpha| * sqrt(K) for random [-1,1] inputs. */
            double scale = fabs(alpha) * sqrt((double)K + 1) + fabs(beta) + 1e-30;
            if (!(fabs((double)c - r) <= 1e-4 * scale + 1e-4 * fabs(r))) ok = 0;
        }
    CHECK(ok, "ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d nan=%d", ta, tb, M, N, K,
          alpha, beta, pad, nan_c);
    free(A), free(B), free(C), free(R);
    return ok;
}

/* lam_gemm with 1 and with 2 threads must give the same bits. */
static void check_threads(bool ta, bool tb, int M, int N, int K, float alpha, float beta)
{
#ifdef _OPENMP
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    float *A = malloc(sizeof(float) * (size_t)ar * ac);
    float *B = malloc(sizeof(float) * (size_t)br * bc);
    float *C0 = malloc(sizeof(float) * (size_t)M * N);
    float *C1 = malloc(sizeof(float) * (size_t)M * N);
    float *C2 = malloc(sizeof(float) * (size_t)M * N);
    if (!A || !B || !C0 || !C1 || !C2) {
        CHECK(0, "out of memory");
    } else {
        fill(A, (size_t)ar * ac);
        fill(B, (size_t)br * bc);
        fill(C0, (size_t)M * N);
        memcpy(C1, C0, sizeof(float) * (size_t)M * N);
        memcpy(C2, C0, sizeof(float) * (size_t)M * N);
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        lam_gemm(ta, tb, M, N, K, alpha, A, ac, B, bc, beta, C1, N);
        omp_set_num_threads(2);
        lam_gemm(ta, tb, M, N, K, alpha, A, ac, B, bc, beta, C2, N);
        omp_set_num_threads(saved);
        CHECK(memcmp(C1, C2, sizeof(float) * (size_t)M * N) == 0,
              "1 vs 2 threads differ: ta=%d tb=%d M=%d N=%d K=%d", ta, tb, M, N, K);
        /* Inside a parallel region each thread runs its own call alone. */
        #pragma omp parallel num_threads(2)
        {
            float *mine = omp_get_thread_num() == 0 ? C0 : NULL;
            if (mine) lam_gemm(ta, tb, M, N, K, alpha, A, ac, B, bc, beta, mine, N);
        }
        CHECK(memcmp(C1, C0, sizeof(float) * (size_t)M * N) == 0,
              "in-parallel call differs: ta=%d tb=%d M=%d N=%d K=%d", ta, tb, M, N, K);
    }
    free(A), free(B), free(C0), free(C1), free(C2);
#else
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)alpha, (void)beta;
#endif
}

/* Rows computed a few at a time (the unpacked few-rows path) have the same
 * bits as the same rows computed among many (the packed path): inference
 * results must not depend on how many samples share a batch. */
static void check_row_invariance(bool ta, int M, int N, int K, float beta)
{
    int lda = ta ? M : K;
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *C0 = malloc(sizeof(float) * (size_t)M * N), *C1 = malloc(sizeof(float) * (size_t)M * N);
    fill(A, (size_t)M * K);
    fill(B, (size_t)K * N);
    fill(C0, (size_t)M * N);
    memcpy(C1, C0, sizeof(float) * (size_t)M * N);
    lam_gemm(ta, false, M, N, K, 0.75f, A, lda, B, N, beta, C0, N);
    int bad = 0;
    for (int i0 = 0; i0 < M;) {
        int rows = 1 + (int)(test_rnd() % 3);
        if (rows > M - i0) rows = M - i0;
        const float *Ai = ta ? A + i0 : A + (int64_t)i0 * K;
        lam_gemm(ta, false, rows, N, K, 0.75f, Ai, lda, B, N, beta, C1 + (int64_t)i0 * N, N);
        i0 += rows;
    }
    bad = memcmp(C0, C1, sizeof(float) * (size_t)M * N) != 0;
    CHECK(!bad, "ta=%d M=%d N=%d K=%d beta=%g: rows differ when computed a few at a time", ta, M,
          N, K, beta);
    free(A), free(B), free(C0), free(C1);
}

/* Every case, on the kernel chosen now. */
static void check_all(void)
{
    static const float alphas[] = {1.0f, -0.5f, 2.0f, 0.0f};
    static const float betas[] = {0.0f, 1.0f, 0.5f, -1.5f};

    /* Degenerate and tiny shapes, every transpose. */
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        check_case(ta, tb, 1, 1, 1, 1.0f, 0.0f, 0, false);
        check_case(ta, tb, 1, 1, 1, 0.5f, 2.0f, 3, false);
        check_case(ta, tb, 1, 1, 1, 1.0f, 0.0f, 0, true);
        check_case(ta, tb, 3, 5, 0, 1.0f, 0.5f, 1, false); /* K == 0: C = beta*C */
        check_case(ta, tb, 3, 5, 0, 1.0f, 0.0f, 1, true);
        check_case(ta, tb, 7, 17, 1, -1.0f, 1.0f, 0, false);
    }
    /* Random shapes around the tile and block sizes. */
    for (int it = 0; it < 400; it++) {
        bool ta = test_rnd() & 1, tb = test_rnd() & 1;
        int big = it % 10 == 0;
        int M = 1 + (int)(test_rnd() % (big ? 300 : 40));
        int N = 1 + (int)(test_rnd() % (big ? 300 : 40));
        int K = 1 + (int)(test_rnd() % (big ? 900 : 60));
        float alpha = alphas[test_rnd() % 4], beta = betas[test_rnd() % 4];
        int pad = test_rnd() % 3 ? 0 : 1 + (int)(test_rnd() % 9);
        bool nan_c = beta == 0.0f && (test_rnd() & 1);
        check_case(ta, tb, M, N, K, alpha, beta, pad, nan_c);
    }
    /* Shapes the networks use (trimmed where the naive loop would be slow). */
    check_case(false, false, 387, 64, 288, 1.0f, 0.0f, 0, true);
    check_case(true, false, 288, 64, 1000, 1.0f, 1.0f, 0, false);
    check_case(false, true, 387, 288, 64, 1.0f, 0.0f, 0, false);
    check_case(false, false, 2163, 32, 9, 1.0f, 0.0f, 0, false);
    check_case(false, false, 32, 64, 1600, 1.0f, 1.0f, 0, false);
    check_case(true, false, 1600, 64, 32, 1.0f, 0.0f, 0, false);
    check_case(false, true, 32, 1600, 64, 1.0f, 1.0f, 0, false);
    check_case(false, false, 32, 256, 64, 1.0f, 1.0f, 0, false);
    check_case(false, false, 896, 256, 28, 1.0f, 0.0f, 0, false);

    /* Thread-count independence, on shapes big enough to be split. */
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        check_threads(ta, tb, 3872, 64, 288, 1.0f, 0.0f);
        check_threads(ta, tb, 288, 64, 3872, 0.5f, 1.0f);
        check_threads(ta, tb, 32, 1600, 64, 1.0f, 0.25f);
        check_threads(ta, tb, 301, 257, 777, -1.0f, 0.5f);
        check_threads(ta, tb, 37, 19, 1100, 1.0f, 0.0f);
    }
    /* Batch-size invariance: few-rows path against the packed one, with
     * ragged columns, several K blocks, and both betas. */
    for (int t = 0; t < 2; t++) {
        check_row_invariance(t, 40, 64, 32, 0.0f);
        check_row_invariance(t, 37, 77, 150, 0.5f);
        check_row_invariance(t, 33, 64, 1600, 0.0f);
        check_row_invariance(t, 20, 10, 900, 1.0f);
    }
    /* Transposed A with a 1 KiB-multiple stride takes the packed-A path. */
    check_case(true, false, 50, 200, 70, 1.0f, 0.5f, 256 - 50, false);
    check_case(true, true, 6, 300, 5, -2.0f, 0.0f, 256 - 6, true);
}

int main(void)
{
    /* The best kernel this CPU runs, then the lesser ones (AVX2 and portable
     * C) forced, so that every path is checked on one machine. */
    static const lam_gemm_limit_isa limits[] = {LAM_GEMM_BEST, LAM_GEMM_AVX2, LAM_GEMM_GENERIC};
    for (int i = 0; i < 3; i++) {
        lam_gemm_limit(limits[i]);
        check_all();
    }
    lam_gemm_limit(LAM_GEMM_BEST);
    return test_summary("test_gemm");
}
