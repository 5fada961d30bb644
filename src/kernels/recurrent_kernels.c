/* recurrent_kernels.c - fused LSTM step kernels; see recurrent_kernels.h.
 *
 * Tiles. Forward, a tile is R rows x w units x all 4 gates (4 vectors per
 * row), so the epilogue has every gate of a unit at hand: z = acc + x.W + b,
 * the nonlinearities, c, act(c) and h, written once. Backward, a tile is
 * R rows x 4w units of dh = gn . U^T, and the epilogue turns dh into the
 * step's gate gradients. With w = 16 (AVX-512) R = 4: 16 accumulators of
 * 32 zmm registers; with w = 8 (AVX2) R = 2: 8 of 16 ymm registers. U is
 * packed so that the 4 vectors of one k are contiguous, and the loops walk
 * unit blocks outermost so one block of packed U (u x 4w floats) stays in
 * L1 while the row tiles pass.
 *
 * Determinism: each output element is one chain of FMAs in k order plus a
 * fixed epilogue, whatever the tile it falls in (missing rows of a ragged
 * tile reuse row 0's data and are not stored), so results do not depend on
 * how the rows are split between calls or threads. */
#include "kernels/recurrent_kernels.h"
#include "kernels/fast_math.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#define RK_INLINE static inline __attribute__((always_inline))

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* ------------------------------------------------------------ dispatch */

int lam_lstm_width(void)
{
    static _Atomic int state; /* 0 unknown, else the width */
    int s = state;
    if (!s) {
#if defined(__GNUC__) && defined(__x86_64__)
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx512f") ? 16 : 8;
#else
        s = 8;
#endif
        state = s;
    }
    return s;
}

static int64_t round_up64(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

int64_t lam_lstm_packed_floats(int F, int u)
{
    /* Forward: ceil(u/w)*w*4(F+u); backward: ceil(u/4w)*4w*4u. */
    const int64_t fwd = round_up64(u, 16) * 4 * ((int64_t)F + u), bwd = round_up64(u, 64) * 4 * (int64_t)u;
    return fwd > bwd ? fwd : bwd;
}

/* Rows [k0, k1) of K rows for part of parts: the callers' threads split
 * the packing between them. */
static void part_range(int K, int part, int parts, int *k0, int *k1)
{
    if (parts < 1) parts = 1;
    *k0 = (int)((int64_t)K * part / parts);
    *k1 = (int)((int64_t)K * (part + 1) / parts);
}

/* Block b of the forward packing stacks W over U (K = F + u rows): for
 * k < F + u, gate q, lane l: Pb[(k*4 + q)*w + l] = [W; U][k][q*u + b*w + l]
 * (zero past u). */
void lam_lstm_pack_forward(int w, int F, int u, const float *W, const float *U, float *P,
                           int part, int parts)
{
    const int64_t G = 4 * (int64_t)u, K = F + u;
    int k0, k1;
    part_range((int)K, part, parts, &k0, &k1);
    for (int jb = 0, blk = 0; jb < u; jb += w, blk++) {
        const int n = u - jb < w ? u - jb : w;
        float *Pb = P + blk * K * 4 * w;
        for (int k = k0; k < k1; k++)
            for (int q = 0; q < 4; q++) {
                const float *src = (k < F ? W + k * G : U + (k - F) * G) + (int64_t)q * u + jb;
                float *dst = Pb + ((int64_t)k * 4 + q) * w;
                int l = 0;
                for (; l < n; l++) dst[l] = src[l];
                for (; l < w; l++) dst[l] = 0.0f;
            }
    }
}

/* Block b of the backward packing (B = U^T, units in blocks of 4w):
 * Pb[k*4w + l] = U[b*4w + l][k] for k < 4u (zero past u). A transpose, in
 * slabs of 16 k: one source line per unit, 16 destination rows that stay in
 * L1 while the units pass. */
void lam_lstm_pack_backward(int w, int u, const float *U, float *P, int part, int parts)
{
    const int64_t G = 4 * (int64_t)u;
    const int bw = 4 * w;
    int k0, k1;
    part_range((int)G, part, parts, &k0, &k1);
    for (int jb = 0, blk = 0; jb < u; jb += bw, blk++) {
        const int n = u - jb < bw ? u - jb : bw;
        float *Pb = P + blk * G * bw;
        for (int ks = k0; ks < k1; ks += 16) {
            const int ke = k1 - ks < 16 ? k1 : ks + 16;
            for (int l = 0; l < bw; l++) {
                const float *src = U + (int64_t)(jb + l) * G;
                if (l < n)
                    for (int k = ks; k < ke; k++) Pb[(int64_t)k * bw + l] = src[k];
                else
                    for (int k = ks; k < ke; k++) Pb[(int64_t)k * bw + l] = 0.0f;
            }
        }
    }
}

/* -------------------------------------------------- elementwise pieces */

/* v := act(v) for n floats */
RK_INLINE void act_inplace(lam_activation a, float *restrict v, int n)
{
    switch (a) {
    case LAM_ACT_RELU:
        for (int l = 0; l < n; l++) v[l] = v[l] > 0 ? v[l] : 0;
        break;
    case LAM_ACT_SIGMOID:
        for (int l = 0; l < n; l++) v[l] = fast_sigmoid(v[l]);
        break;
    case LAM_ACT_TANH:
        for (int l = 0; l < n; l++) v[l] = fast_tanh(v[l]);
        break;
    default:
        break;
    }
}

/* d := d * act'(.) where y is act's output, for n floats */
RK_INLINE void act_grad(lam_activation a, const float *restrict y, float *restrict d, int n)
{
    switch (a) {
    case LAM_ACT_RELU:
        for (int l = 0; l < n; l++) d[l] = y[l] > 0 ? d[l] : 0;
        break;
    case LAM_ACT_SIGMOID:
        for (int l = 0; l < n; l++) d[l] *= y[l] * (1 - y[l]);
        break;
    case LAM_ACT_TANH:
        for (int l = 0; l < n; l++) d[l] *= 1 - y[l] * y[l];
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------- product tiles */

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

RK_INLINE v16 ld16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
RK_INLINE v8 ld8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* acc[q][r][0:16] = sum_k a[r][k] * p[k*64 + q*16 + 0:16] over k < K, then
 * the same over k < K2 with rows e[r] and p2, in one chain per element;
 * r < 4, q < 4 (vector-major: the epilogue sees each gate of all rows
 * together). */
RK_INLINE void tile16(int K, const float *a0, const float *a1, const float *a2, const float *a3,
                      const float *p, int K2, const float *e0, const float *e1, const float *e2,
                      const float *e3, const float *p2, float *acc)
{
    v16 c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0};
    v16 c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};
    v16 c20 = {0}, c21 = {0}, c22 = {0}, c23 = {0};
    v16 c30 = {0}, c31 = {0}, c32 = {0}, c33 = {0};
    for (int seg = 0; seg < 2; seg++) {
        for (int k = 0; k < K; k++, p += 64) {
            const v16 b0 = ld16(p), b1 = ld16(p + 16), b2 = ld16(p + 32), b3 = ld16(p + 48);
            float x; /* scalar * vector: one broadcast */
            x = a0[k];
            c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a1[k];
            c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = a2[k];
            c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = a3[k];
            c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
        }
        K = K2, p = p2, a0 = e0, a1 = e1, a2 = e2, a3 = e3;
    }
    const v16 all[16] = {c00, c10, c20, c30, c01, c11, c21, c31,
                         c02, c12, c22, c32, c03, c13, c23, c33};
    memcpy(acc, all, sizeof all);
}

/* acc[q][r][0:8], as tile16 with r < 2 */
RK_INLINE void tile8(int K, const float *a0, const float *a1, const float *p, int K2,
                     const float *e0, const float *e1, const float *p2, float *acc)
{
    v8 c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0};
    v8 c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};
    for (int seg = 0; seg < 2; seg++) {
        for (int k = 0; k < K; k++, p += 32) {
            const v8 b0 = ld8(p), b1 = ld8(p + 8), b2 = ld8(p + 16), b3 = ld8(p + 24);
            float x;
            x = a0[k];
            c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a1[k];
            c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
        }
        K = K2, p = p2, a0 = e0, a1 = e1;
    }
    const v8 all[8] = {c00, c10, c01, c11, c02, c12, c03, c13};
    memcpy(acc, all, sizeof all);
}

/* A tile over rows of A (stride lda, K columns, packed p) followed by rows
 * of E (stride lde, K2 columns, packed p2; K2 may be 0). Rows past nr
 * repeat row 0 (computed, never stored). */
RK_INLINE void tile(int W, int nr, int K, const float *A, int64_t lda, const float *p, int K2,
                    const float *E, int64_t lde, const float *p2, float *acc)
{
    const float *a[4], *e[4];
    for (int r = 0; r < 4; r++) {
        a[r] = A + (r < nr ? r : 0) * lda;
        e[r] = K2 ? E + (r < nr ? r : 0) * lde : a[r];
    }
    if (W == 16) tile16(K, a[0], a[1], a[2], a[3], p, K2, e[0], e[1], e[2], e[3], p2, acc);
    else tile8(K, a[0], a[1], p, K2, e[0], e[1], p2, acc);
}

/* ------------------------------------------------------------- forward */

typedef struct {
    int rows, F, u;
    const float *P, *bias;
    lam_activation act, ract;
    const float *x;
    int64_t ldx;
    float *z;
    int64_t ldz;
    const float *hp, *cp;
    float *c, *tc, *h;
    int64_t ldh;
} fwd_args;

/* Copies of n floats between memory and the local tiles: whole vectors
 * (n == W, a constant after inlining) become single moves; a ragged n
 * zero-fills the rest of the local row. */
RK_INLINE void load_row(float *restrict dst, const float *restrict src, int n, const int W)
{
    if (n == W) {
        memcpy(dst, src, sizeof(float) * (size_t)W);
    } else {
        for (int l = 0; l < W; l++) dst[l] = 0.0f;
        for (int l = 0; l < n; l++) dst[l] = src[l];
    }
}
RK_INLINE void store_row(float *restrict dst, const float *restrict src, int n, const int W)
{
    if (n == W) memcpy(dst, src, sizeof(float) * (size_t)W);
    else for (int l = 0; l < n; l++) dst[l] = src[l];
}

/* Epilogue for the tile rows [r0, r0+nr) x units [jb, jb+n): acc holds
 * [4][R][W] products x.W + h.U (gate, row, lane). All arithmetic runs on local arrays
 * with fixed trip counts, each nonlinearity over all R rows at once (R
 * independent vectors in flight: the polynomials are long dependency
 * chains); only the loads and stores see the ragged edges. Missing rows
 * repeat row r0 and are not stored. bt is the bias tile [4][W] (or zeros). */
RK_INLINE void fwd_finish(const fwd_args *a, int r0, int nr, int jb, int n, const int W,
                          const int R, float *acc, const float *bt)
{
    const int u = a->u, RW = R * W;
    _Alignas(64) float cp[4 * 16], c[4 * 16], tc[4 * 16], h[4 * 16];
    if (a->cp)
        for (int r = 0; r < R; r++)
            load_row(cp + r * W, a->cp + (r0 + (r < nr ? r : 0)) * a->ldh + jb, n, W);
    else
        for (int l = 0; l < RW; l++) cp[l] = 0.0f;
    for (int q = 0; q < 4; q++)
        for (int r = 0; r < R; r++)
            for (int l = 0; l < W; l++) acc[q * RW + r * W + l] += bt[q * W + l];
    act_inplace(a->ract, acc, 2 * RW); /* i, f */
    act_inplace(a->act, acc + 2 * RW, RW); /* g */
    act_inplace(a->ract, acc + 3 * RW, RW); /* o */
    const float *gi = acc, *gf = acc + RW, *gg = acc + 2 * RW, *go = acc + 3 * RW;
    for (int l = 0; l < RW; l++) c[l] = gf[l] * cp[l] + gi[l] * gg[l];
    for (int l = 0; l < RW; l++) tc[l] = c[l];
    act_inplace(a->act, tc, RW);
    for (int l = 0; l < RW; l++) h[l] = go[l] * tc[l];
    for (int r = 0; r < nr; r++) {
        const int64_t row = r0 + r, ho = row * a->ldh + jb;
        float *zr = a->z + row * a->ldz + jb;
        for (int q = 0; q < 4; q++) store_row(zr + q * u, acc + q * RW + r * W, n, W);
        store_row(a->c + ho, c + r * W, n, W);
        store_row(a->tc + ho, tc + r * W, n, W);
        store_row(a->h + ho, h + r * W, n, W);
    }
}

/* The next tile's outputs are rows far apart that no one has touched
 * lately: start fetching their lines for writing while this tile's product
 * runs. */
RK_INLINE void fwd_prefetch(const fwd_args *a, int r0, int jb, int n)
{
    const int R = 4;
    for (int r = r0; r < r0 + R && r < a->rows; r++) {
        float *zr = a->z + r * a->ldz + jb;
        for (int q = 0; q < 4; q++)
            for (int l = 0; l < n; l += 16) __builtin_prefetch(zr + q * a->u + l, 1);
        for (int l = 0; l < n; l += 16) {
            __builtin_prefetch(a->c + r * a->ldh + jb + l, 1);
            __builtin_prefetch(a->tc + r * a->ldh + jb + l, 1);
            __builtin_prefetch(a->h + r * a->ldh + jb + l, 1);
        }
    }
}

RK_INLINE void fwd_body(const fwd_args *a, const int W)
{
    const int R = W == 16 ? 4 : 2, u = a->u, F = a->F, K2 = a->hp ? u : 0;
    _Alignas(64) float acc[4 * 4 * 16];
    int blk = 0;
    for (int jb = 0; jb < u; jb += W, blk++) {
        const float *Pb = a->P + (int64_t)blk * (F + u) * 4 * W;
        const int n = u - jb < W ? u - jb : W;
        _Alignas(64) float bt[4 * 16];
        for (int q = 0; q < 4; q++) {
            if (a->bias) load_row(bt + q * W, a->bias + q * u + jb, n, W);
            else memset(bt + q * W, 0, sizeof(float) * (size_t)W);
        }
        for (int r0 = 0; r0 < a->rows; r0 += R) {
            const int nr = a->rows - r0 < R ? a->rows - r0 : R;
            fwd_prefetch(a, r0 + R, jb, n);
            tile(W, nr, F, a->x + r0 * a->ldx, a->ldx, Pb, K2,
                 K2 ? a->hp + r0 * a->ldh : NULL, a->ldh, Pb + (int64_t)F * 4 * W, acc);
            fwd_finish(a, r0, nr, jb, n, W, R, acc, bt);
        }
    }
}

LAM_VEC static void fwd_w16(const fwd_args *a) { fwd_body(a, 16); }
LAM_VEC static void fwd_w8(const fwd_args *a) { fwd_body(a, 8); }

void lam_lstm_step_forward(int w, int rows, int F, int u, const float *P, const float *bias,
                           lam_activation act, lam_activation ract, const float *x, int64_t ldx,
                           float *z, int64_t ldz, const float *hp, const float *cp, float *c,
                           float *tc, float *h, int64_t ldh)
{
    const fwd_args a = {rows, F, u, P, bias, act, ract, x, ldx, z, ldz, hp, cp, c, tc, h, ldh};
    if (rows <= 0 || u <= 0) return;
    if (w == 16) fwd_w16(&a);
    else fwd_w8(&a);
}

/* ------------------------------------------------------------ backward */

typedef struct {
    int rows, u;
    const float *P;
    lam_activation act, ract;
    const float *gn, *dy;
    int64_t ldy;
    const float *z;
    int64_t ldz;
    const float *tc, *cp;
    int64_t ldh;
    float *dc;
    int64_t ldc;
    float *g;
    int64_t ldg;
} bwd_args;

/* Backward tiles hold 4W units as 4 vectors; a row's units [jb, jb+n) go
 * to t[q][r][0:W] for q < 4 (zero past n). */
RK_INLINE void load_units(float *t, const float *src, int r, int n, const int W, const int R)
{
    for (int q = 0; q < 4; q++) {
        int nq = n - q * W;
        nq = nq < 0 ? 0 : nq > W ? W : nq;
        load_row(t + (q * R + r) * W, src + q * W, nq, W);
    }
}
RK_INLINE void store_units(float *dst, const float *t, int r, int n, const int W, const int R)
{
    for (int q = 0; q < 4 && q * W < n; q++) {
        const int nq = n - q * W > W ? W : n - q * W;
        store_row(dst + q * W, t + (q * R + r) * W, nq, W);
    }
}

/* Epilogue for tile rows [r0, r0+nr) x units [jb, jb+n), n <= 4W: acc
 * holds dh's product part as [4][R][W]; all arithmetic on whole local
 * tiles, as forward. */
RK_INLINE void bwd_finish(const bwd_args *a, int r0, int nr, int jb, int n, const int W,
                          const int R, const float *acc)
{
    enum { T = 4 * 4 * 16 };
    const int u = a->u, N = 4 * R * W;
    _Alignas(64) float dh[T], gi[T], gf[T], gg[T], go[T], tc[T], cp[T], dc[T], t1[T];
    _Alignas(64) float di[T], df[T], dg[T], dout[T];
    for (int r = 0; r < R; r++) {
        const int64_t row = r0 + (r < nr ? r : 0);
        const float *zr = a->z + row * a->ldz + jb;
        load_units(gi, zr, r, n, W, R);
        load_units(gf, zr + u, r, n, W, R);
        load_units(gg, zr + 2 * u, r, n, W, R);
        load_units(go, zr + 3 * u, r, n, W, R);
        load_units(tc, a->tc + row * a->ldh + jb, r, n, W, R);
        load_units(dc, a->dc + row * a->ldc + jb, r, n, W, R);
        if (a->cp) load_units(cp, a->cp + row * a->ldh + jb, r, n, W, R);
        if (a->dy) load_units(dh, a->dy + row * a->ldy + jb, r, n, W, R);
    }
    if (!a->cp)
        for (int l = 0; l < N; l++) cp[l] = 0.0f;
    if (a->dy)
        for (int l = 0; l < N; l++) dh[l] = acc[l] + dh[l];
    else
        for (int l = 0; l < N; l++) dh[l] = acc[l];
    /* dc += dh * o * act'(c) */
    for (int l = 0; l < N; l++) t1[l] = dh[l] * go[l];
    act_grad(a->act, tc, t1, N);
    for (int l = 0; l < N; l++) {
        const float d = dc[l] + t1[l];
        di[l] = d * gg[l];
        df[l] = d * cp[l];
        dg[l] = d * gi[l];
        dout[l] = dh[l] * tc[l];
        dc[l] = d * gf[l];
    }
    act_grad(a->ract, gi, di, N);
    act_grad(a->ract, gf, df, N);
    act_grad(a->act, gg, dg, N);
    act_grad(a->ract, go, dout, N);
    for (int r = 0; r < nr; r++) {
        const int64_t row = r0 + r;
        float *gr = a->g + row * a->ldg + jb;
        store_units(gr, di, r, n, W, R);
        store_units(gr + u, df, r, n, W, R);
        store_units(gr + 2 * u, dg, r, n, W, R);
        store_units(gr + 3 * u, dout, r, n, W, R);
        store_units(a->dc + row * a->ldc + jb, dc, r, n, W, R);
    }
}

/* The next tile's epilogue reads rows of z, tc, cp and dy that the
 * forward pass wrote long ago (L3 or memory, rows far apart): fetch them
 * while this tile's product runs. */
RK_INLINE void bwd_prefetch(const bwd_args *a, int r0, int jb, int n)
{
    const int R = 4;
    for (int r = r0; r < r0 + R && r < a->rows; r++) {
        const float *zr = a->z + r * a->ldz + jb;
        for (int q = 0; q < 4; q++)
            for (int l = 0; l < n; l += 16) __builtin_prefetch(zr + q * a->u + l);
        for (int l = 0; l < n; l += 16) {
            __builtin_prefetch(a->tc + r * a->ldh + jb + l);
            if (a->cp) __builtin_prefetch(a->cp + r * a->ldh + jb + l);
            if (a->dy) __builtin_prefetch(a->dy + r * a->ldy + jb + l);
            __builtin_prefetch(a->g + r * a->ldg + jb + l, 1);
        }
    }
}

RK_INLINE void bwd_body(const bwd_args *a, const int W)
{
    const int R = W == 16 ? 4 : 2, u = a->u, BW = 4 * W, K = a->gn ? 4 * u : 0;
    _Alignas(64) float acc[4 * 4 * 16];
    int blk = 0;
    for (int jb = 0; jb < u; jb += BW, blk++) {
        const float *Pb = a->P + (int64_t)blk * 4 * u * BW;
        const int n = u - jb < BW ? u - jb : BW;
        for (int r0 = 0; r0 < a->rows; r0 += R) {
            const int nr = a->rows - r0 < R ? a->rows - r0 : R;
            bwd_prefetch(a, r0 + R, jb, n);
            if (K) tile(W, nr, K, a->gn + r0 * a->ldg, a->ldg, Pb, 0, NULL, 0, NULL, acc);
            else memset(acc, 0, sizeof acc);
            bwd_finish(a, r0, nr, jb, n, W, R, acc);
        }
    }
}

LAM_VEC static void bwd_w16(const bwd_args *a) { bwd_body(a, 16); }
LAM_VEC static void bwd_w8(const bwd_args *a) { bwd_body(a, 8); }

void lam_lstm_step_backward(int w, int rows, int u, const float *P, lam_activation act,
                            lam_activation ract, const float *gn, const float *dy, int64_t ldy,
                            const float *z, int64_t ldz, const float *tc, const float *cp,
                            int64_t ldh, float *dc, int64_t ldc, float *g, int64_t ldg)
{
    const bwd_args a = {rows, u, P, act, ract, gn, dy, ldy, z, ldz, tc, cp, ldh, dc, ldc, g, ldg};
    if (rows <= 0 || u <= 0) return;
    if (w == 16) bwd_w16(&a);
    else bwd_w8(&a);
}

/* ----------------------------------------------------- naive references */

static double act_d(lam_activation a, double x)
{
    switch (a) {
    case LAM_ACT_RELU: return x > 0 ? x : 0;
    case LAM_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case LAM_ACT_TANH: return tanh(x);
    default: return x;
    }
}

/* act' in terms of the output y */
static double dact_d(lam_activation a, double y)
{
    switch (a) {
    case LAM_ACT_RELU: return y > 0 ? 1 : 0;
    case LAM_ACT_SIGMOID: return y * (1 - y);
    case LAM_ACT_TANH: return 1 - y * y;
    default: return 1;
    }
}

void lam_lstm_step_forward_naive(int rows, int F, int u, const float *W, const float *U,
                                 const float *bias, lam_activation act, lam_activation ract,
                                 const float *x, int64_t ldx, float *z, int64_t ldz,
                                 const float *hp, const float *cp, float *c, float *tc, float *h,
                                 int64_t ldh)
{
    const int G = 4 * u;
    for (int r = 0; r < rows; r++) {
        float *zr = z + r * ldz;
        for (int j = 0; j < G; j++) {
            double s = bias ? (double)bias[j] : 0.0;
            for (int k = 0; k < F; k++) s += (double)x[r * ldx + k] * W[(int64_t)k * G + j];
            if (hp)
                for (int k = 0; k < u; k++) s += (double)hp[r * ldh + k] * U[(int64_t)k * G + j];
            zr[j] = (float)act_d(j >= 2 * u && j < 3 * u ? act : ract, s);
        }
        for (int j = 0; j < u; j++) {
            double cc = (double)zr[j] * zr[2 * u + j];
            if (cp) cc += (double)zr[u + j] * cp[r * ldh + j];
            double t = act_d(act, cc);
            c[r * ldh + j] = (float)cc;
            tc[r * ldh + j] = (float)t;
            h[r * ldh + j] = (float)(zr[3 * u + j] * t);
        }
    }
}

void lam_lstm_step_backward_naive(int rows, int u, const float *U, lam_activation act,
                                  lam_activation ract, const float *gn, const float *dy,
                                  int64_t ldy, const float *z, int64_t ldz, const float *tc,
                                  const float *cp, int64_t ldh, float *dc, int64_t ldc, float *g,
                                  int64_t ldg)
{
    const int G = 4 * u;
    for (int r = 0; r < rows; r++) {
        const float *zr = z + r * ldz;
        float *gr = g + r * ldg;
        for (int j = 0; j < u; j++) {
            double dh = dy ? dy[r * ldy + j] : 0.0;
            if (gn)
                for (int k = 0; k < G; k++) dh += (double)gn[r * ldg + k] * U[(int64_t)j * G + k];
            const double gi = zr[j], gf = zr[u + j], gg = zr[2 * u + j], go = zr[3 * u + j];
            const double t = tc[r * ldh + j];
            const double d = dc[r * ldc + j] + dh * go * dact_d(act, t);
            gr[j] = (float)(d * gg * dact_d(ract, gi));
            gr[u + j] = (float)(cp ? d * cp[r * ldh + j] * dact_d(ract, gf) : 0.0);
            gr[2 * u + j] = (float)(d * gi * dact_d(act, gg));
            gr[3 * u + j] = (float)(dh * t * dact_d(ract, go));
            dc[r * ldc + j] = (float)(d * gf);
        }
    }
}
