/* sample_grads.c - per-sample weight-gradient norms (see sample_grads.h).
 * Sums of squares are taken in double: a clipping factor C / ||g|| from a
 * float sum of 10^5 squares would carry its rounding into every weight. */
#include "kernels/sample_grads.h"
#include "kernels/embedding.h"
#include "kernels/kernels.h"

bool lam_outer_sqnorm_ghost(int T, int I, int U)
{
    return (int64_t)T * (I + U) < (int64_t)I * U;
}

int64_t lam_outer_sqnorm_work(int T, int I, int U)
{
    if (T == 1) return 0;
    return lam_outer_sqnorm_ghost(T, I, U) ? 2 * (int64_t)T * T : (int64_t)I * U;
}

/* Blocks of 512 squares summed in float (16 lanes, vectorised), the blocks
 * in double: a double chain over every entry took 4% of a DP step of the
 * seed CNN; a block's float rounding (about 1e-6 relative) stays far below
 * the 1e-5 the per-sample norms are tested to. */
LAM_VEC double lam_sqnorm(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i0 = 0; i0 < n; i0 += 512) {
        const int64_t i1 = i0 + 512 < n ? i0 + 512 : n;
        float acc[16] = {0};
        int64_t i = i0;
        for (; i + 16 <= i1; i += 16)
            for (int k = 0; k < 16; k++) acc[k] += x[i + k] * x[i + k];
        float block = 0;
        for (int k = 0; k < 16; k++) block += acc[k];
        for (; i < i1; i++) block += x[i] * x[i];
        s += block;
    }
    return s;
}

void lam_outer_sum(int T, int I, int U, const float *A, const float *B, float *G)
{
    lam_gemm(true, false, I, U, T, 1.0f, A, I, B, U, 0.0f, G, U);
}

double lam_outer_sqnorm(int T, int I, int U, const float *A, const float *B, float *work)
{
    if (T == 1) return lam_sqnorm(A, I) * lam_sqnorm(B, U); /* ||a b^T|| = ||a|| ||b|| */
    if (!lam_outer_sqnorm_ghost(T, I, U)) {
        lam_outer_sum(T, I, U, A, B, work);
        return lam_sqnorm(work, (int64_t)I * U);
    }
    float *GA = work, *GB = work + (int64_t)T * T;
    lam_gemm(false, true, T, T, I, 1.0f, A, I, A, I, 0.0f, GA, T);
    lam_gemm(false, true, T, T, U, 1.0f, B, U, B, U, 0.0f, GB, T);
    double s = 0;
    for (int64_t k = 0; k < (int64_t)T * T; k++) s += (double)GA[k] * (double)GB[k];
    return s > 0 ? s : 0; /* a sum of products of Gram entries may round below 0 */
}

double lam_outer_sqnorm_naive(int T, int I, int U, const float *A, const float *B)
{
    double s = 0;
    for (int i = 0; i < I; i++)
        for (int u = 0; u < U; u++) {
            double g = 0;
            for (int t = 0; t < T; t++) g += (double)A[(int64_t)t * I + i] * B[(int64_t)t * U + u];
            s += g * g;
        }
    return s;
}

void lam_column_sum(int T, int U, const float *B, float *out)
{
    for (int u = 0; u < U; u++) out[u] = 0;
    for (int t = 0; t < T; t++)
        for (int u = 0; u < U; u++) out[u] += B[(int64_t)t * U + u];
}

double lam_column_sum_sqnorm(int T, int U, const float *B)
{
    double s = 0;
    for (int u = 0; u < U; u++) {
        double c = 0;
        for (int t = 0; t < T; t++) c += B[(int64_t)t * U + u];
        s += c * c;
    }
    return s;
}

/* Pairs with the same id: the diagonal once, each other pair twice. Ids
 * repeat rarely in text, so the T^2 comparisons cost less than the dots. */
double lam_gathered_sqnorm(int T, int U, const float *ids, int64_t rows, const float *B)
{
    double s = 0;
    for (int t = 0; t < T; t++) {
        const int64_t r = lam_embedding_row(ids[t], rows);
        if (r < 0) continue;
        const float *bt = B + (int64_t)t * U;
        s += lam_sqnorm(bt, U);
        for (int k = t + 1; k < T; k++) {
            if (lam_embedding_row(ids[k], rows) != r) continue;
            const float *bk = B + (int64_t)k * U;
            double d = 0;
            for (int u = 0; u < U; u++) d += (double)bt[u] * bk[u];
            s += 2 * d;
        }
    }
    return s > 0 ? s : 0;
}

double lam_gathered_sqnorm_naive(int T, int U, const float *ids, int64_t rows, const float *B)
{
    double s = 0;
    for (int t = 0; t < T; t++) {
        const int64_t r = lam_embedding_row(ids[t], rows);
        if (r < 0) continue;
        bool first = true; /* the row's gradient, summed at its first occurrence */
        for (int k = 0; k < t && first; k++) first = lam_embedding_row(ids[k], rows) != r;
        if (!first) continue;
        for (int u = 0; u < U; u++) {
            double g = 0;
            for (int k = t; k < T; k++)
                if (lam_embedding_row(ids[k], rows) == r) g += B[(int64_t)k * U + u];
            s += g * g;
        }
    }
    return s;
}
