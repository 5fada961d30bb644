/* bench_gemm.c - GFLOP/s of lam_gemm on the shapes the CNN and LSTM train
 * with (batch 32), with 1 and 2 OpenMP threads; median of several reps.
 * Usage: bench_gemm [reps]   (also times lam_gemm_naive once for scale) */
#include "kernels/kernels.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    const char *name;
    bool ta, tb;
    int M, N, K;
} shape;

static const shape shapes[] = {
    {"conv fwd", false, false, 3872, 64, 288},
    {"winograd fwd", false, false, 1152, 64, 32},
    {"winograd dU (ta)", true, false, 32, 64, 1152},
    {"winograd dV (tb)", false, true, 1152, 32, 64},
    {"winograd b1 fwd", false, false, 9, 64, 32},
    {"dense b1 fwd", false, false, 1, 64, 1600},
    {"conv wgrad (ta)", true, false, 288, 64, 3872},
    {"conv igrad (tb)", false, true, 3872, 288, 64},
    {"conv1 fwd", false, false, 21632, 32, 9},
    {"dense fwd", false, false, 32, 64, 1600},
    {"dense wgrad (ta)", true, false, 1600, 64, 32},
    {"dense igrad (tb)", false, true, 32, 1600, 64},
    {"lstm step", false, false, 32, 256, 64},
    {"lstm proj", false, false, 896, 256, 28},
    {"gpt proj fwd", false, false, 768, 128, 128},
    {"gpt mlp fwd", false, false, 768, 512, 128},
    {"gpt mlp2 fwd", false, false, 768, 128, 512},
    {"gpt mlp wgrad (ta)", true, false, 128, 512, 768},
    {"gpt mlp igrad (tb)", false, true, 768, 128, 512},
    {"gpt head fwd", false, false, 768, 84, 128},
    {"square (ref)", false, false, 1024, 1024, 1024},
};

/* Median seconds per call; each rep runs enough calls to take ~20 ms. */
static double time_gemm(const shape *s, const float *A, const float *B, float *C, int reps)
{
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    double flop = 2.0 * s->M * s->N * s->K;
    int calls = (int)(2e7 / flop * 50) + 1; /* ~20 ms at 50 GFLOP/s */
    lam_gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N); /* warm */
    double t[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_wall();
        for (int c = 0; c < calls; c++)
            lam_gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
        t[r] = (bench_wall() - t0) / calls;
    }
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp_double);
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1) reps = 1;
    printf("%-18s %6s %5s %5s  %10s %10s\n", "shape", "M", "N", "K", "1 thr", "2 thr");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
        float *C = malloc(nc * sizeof(float));
        if (!A || !B || !C) return 1;
        for (size_t j = 0; j < na; j++) A[j] = (float)(j % 13) * 0.1f - 0.6f;
        for (size_t j = 0; j < nb; j++) B[j] = (float)(j % 7) * 0.1f - 0.3f;
        double flop = 2.0 * s->M * s->N * s->K, g[2];
        for (int th = 1; th <= 2; th++) {
#ifdef _OPENMP
            omp_set_num_threads(th);
#endif
            g[th - 1] = flop / time_gemm(s, A, B, C, reps) * 1e-9;
        }
        printf("%-18s %6d %5d %5d  %10.1f %10.1f  GFLOP/s\n", s->name, s->M, s->N, s->K, g[0],
               g[1]);
        free(A), free(B), free(C);
    }
    return 0;
}
