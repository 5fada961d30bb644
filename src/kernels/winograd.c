/* winograd.c - F(m x m, 3x3) convolution, m = 2 or 4: the transforms are
 * small constant matrices applied to 16 channels at a time, the point-wise
 * products are handed to lam_gemm. See winograd.h for the algebra. Every
 * loop is split over images, tile rows or points, never over a reduction,
 * so results do not depend on the thread count. */
#include "kernels/winograd.h"

#include "kernels/kernels.h"

#include <string.h>

/* The wg_ helpers below are always inlined into the target clones; GCC's
 * note about passing vectors by value in the baseline ABI does not apply. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* Channels are processed 16 at a time as one GCC/Clang vector; in the
 * AVX-512 clone that is one zmm register, in the others two or four. */
#define WG_LANES 16
typedef float wg_vec __attribute__((vector_size(WG_LANES * sizeof(float))));

#define WG_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* The transforms (Lavin & Gray; interpolation points 0, +-1, +-2, inf).     */

/* F(2x2, 3x3): input tile 4x4. */
static const float BT2[4 * 4] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const float G2[4 * 3] = {1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1};
static const float AT2[2 * 4] = {1, 1, 1, 0, 0, 1, -1, -1};
/* F(4x4, 3x3): input tile 6x6. */
static const float BT4[6 * 6] = {
    4, 0, -5, 0, 1, 0,  0, -4, -4, 1, 1, 0,  0, 4, -4, -1, 1, 0,
    0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0,  0, 4, 0, -5, 0, 1,
};
static const float G4[6 * 3] = {
    1.0f / 4,  0,          0,          -1.0f / 6, -1.0f / 6, -1.0f / 6,
    -1.0f / 6, 1.0f / 6,   -1.0f / 6,  1.0f / 24, 1.0f / 12, 1.0f / 6,
    1.0f / 24, -1.0f / 12, 1.0f / 6,   0,         0,         1,
};
static const float AT4[4 * 6] = {
    1, 1, 1, 1, 1, 0,  0, 1, -1, 2, -2, 0,  0, 1, 1, 4, 4, 0,  0, 1, -1, 8, -8, 1,
};

#define WG_MAX_A 6 /* largest input tile */

/* out^T = P X for X (q x n), where P (p x q) is the r x c table T or, when
 * trans, its transpose (then p = c, q = r): out (n x p) receives the
 * product transposed. With T a constant table and the loops unrolled, the
 * zero terms vanish and the +-1 factors become plain adds at compile time. */
WG_INLINE void wg_left_t(const float *T, int r, int c, bool trans, const wg_vec *X, int n,
                         wg_vec *out)
{
    const int p = trans ? c : r, q = trans ? r : c;
#pragma GCC unroll 8
    for (int i = 0; i < p; i++)
#pragma GCC unroll 8
        for (int l = 0; l < n; l++) {
            wg_vec acc = {0};
            bool any = false;
#pragma GCC unroll 8
            for (int k = 0; k < q; k++) {
                float w = trans ? T[k * c + i] : T[i * c + k];
                if (w == 0.0f) continue;
                wg_vec term = w == 1.0f ? X[k * n + l] : w == -1.0f ? -X[k * n + l] : w * X[k * n + l];
                acc = any ? acc + term : term;
                any = true;
            }
            out[l * p + i] = acc;
        }
}

/* out (p x p) = P X P^T for X (q x q): (P (P X)^T)^T, the same routine twice,
 * so one routine serves all six transforms. */
WG_INLINE void wg_sandwich(const float *T, int r, int c, bool trans, const wg_vec *X,
                           wg_vec *out)
{
    const int p = trans ? c : r, q = trans ? r : c;
    wg_vec t[WG_MAX_A * WG_MAX_A]; /* (P X)^T, q x p */
    wg_left_t(T, r, c, trans, X, q, t);
    wg_left_t(T, r, c, trans, t, p, out);
}

/* The first n (<= WG_LANES) lanes from p, the rest zero; p may be NULL
 * (a padded position: all zero). */
WG_INLINE wg_vec wg_load(const float *p, int n)
{
    wg_vec v = {0};
    if (!p) return v;
    if (n == WG_LANES) memcpy(&v, p, sizeof v);
    else memcpy(&v, p, sizeof(float) * (size_t)n);
    return v;
}

WG_INLINE void wg_store(float *p, wg_vec v, int n)
{
    if (n == WG_LANES) memcpy(p, &v, sizeof v);
    else memcpy(p, &v, sizeof(float) * (size_t)n);
}

typedef int32_t wg_ivec __attribute__((vector_size(WG_LANES * sizeof(int32_t))));

WG_INLINE wg_vec wg_relu(wg_vec v)
{
    const wg_vec zero = {0};
    return (wg_vec)((wg_ivec)v & (wg_ivec)(v > zero));
}

WG_INLINE void wg_add(float *p, wg_vec v, int n)
{
    wg_store(p, wg_load(p, n) + v, n);
}

/* ------------------------------------------------------------------------ */
/* Geometry.                                                                 */

bool lam_winograd_applies(const lam_window *g)
{
    return g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1;
}

int lam_winograd_tile(const lam_window *g)
{
    /* 4x4 tiles do 2.25/4 of the 2x2 tiles' multiplications per output,
     * but waste more on ragged edges; below 4 outputs there is no gain. */
    return g->OH >= 4 && g->OW >= 4 ? 4 : 2;
}

static int tiles_h(const lam_window *g, int m) { return (g->OH + m - 1) / m; }
static int tiles_w(const lam_window *g, int m) { return (g->OW + m - 1) / m; }
static int64_t tiles(const lam_window *g, int m) { return (int64_t)tiles_h(g, m) * tiles_w(g, m); }
static int points(int m) { return (m + 2) * (m + 2); }

int64_t lam_winograd_saved_floats(const lam_window *g, int m)
{
    return points(m) * tiles(g, m) * g->C;
}

/* Workspace layout: U (or dU) [C][P][F], then per-tile data [NT][P][...];
 * each part starts on a 64-byte boundary. Point e's C x F matrix of U is
 * U + e*F with row stride P*F: the kernel transform then writes one
 * contiguous block per channel (with [P][C][F], its P streams sat C*F
 * floats apart, often a multiple of the page, and it ran 4x slower). */
static int64_t round16(int64_t x) { return (x + 15) / 16 * 16; }

int64_t lam_winograd_scratch_floats(const lam_window *g, int m, int F)
{
    const int64_t P = points(m), nt = (int64_t)g->N * tiles(g, m);
    const int64_t u = round16(P * g->C * F);
    int64_t fwd = u + round16(P * nt * F);                               /* U, M */
    int64_t bwd = 2 * u + round16(P * nt * F) + round16(P * nt * g->C);  /* U, dU, dM, dV */
    return fwd > bwd ? fwd : bwd;
}

/* Where input row/column i of tile coordinate t lies, or -1 outside. */
static int patch_pos(int m, int t, int i, int pad, int size)
{
    int p = m * t - pad + i;
    return p >= 0 && p < size ? p : -1;
}

/* The a x a input pixels of tile (th, tw) of image x (NULL where padded). */
static void patch_pointers(const lam_window *g, int m, const float *x, int th, int tw,
                           const float **p)
{
    const int a = m + 2;
    for (int i = 0; i < a; i++) {
        int ih = patch_pos(m, th, i, g->PT, g->H);
        for (int j = 0; j < a; j++) {
            int iw = patch_pos(m, tw, j, g->PL, g->W);
            p[a * i + j] = ih < 0 || iw < 0 ? NULL : x + ((int64_t)ih * g->W + iw) * g->C;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The transforms of one variant. Each is written once, as an always-inline
 * body taking the tile size m, and instantiated for m = 2 and m = 4 so that
 * the tables are compile-time constants in each. */

/* Between kernel [3, 3, C, F] and U [C][P][F], 16 filters at a time:
 * U = G g G^T, or with adjoint, dkernel = G^T dU G from dU. */
WG_INLINE void kernel_map_body(int m, bool adjoint, const float *src, int C, int F, float *dst)
{
    const float *Gt = m == 4 ? G4 : G2;
    const int a = m + 2, P = a * a;
    const int64_t CF = (int64_t)C * F;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f += WG_LANES) {
            const int lanes = F - f < WG_LANES ? F - f : WG_LANES;
            /* element j of the kernel side, element e of the U side */
            const int64_t kernel_at = (int64_t)c * F + f, u_at = (int64_t)c * P * F + f;
            wg_vec in[WG_MAX_A * WG_MAX_A], out[WG_MAX_A * WG_MAX_A];
            for (int i = 0; i < (adjoint ? P : 9); i++)
                in[i] = wg_load(adjoint ? src + u_at + i * F : src + kernel_at + i * CF, lanes);
            wg_sandwich(Gt, a, 3, adjoint, in, out);
            for (int i = 0; i < (adjoint ? 9 : P); i++)
                wg_store(adjoint ? dst + kernel_at + i * CF : dst + u_at + i * F, out[i], lanes);
        }
}

/* V[nt][e][c] = (B^T d B)[e] for the tiles of row th of image n. */
WG_INLINE void input_row_body(int m, const lam_window *g, const float *x, float *V, int64_t NT,
                              int n, int th)
{
    const float *BT = m == 4 ? BT4 : BT2;
    const int a = m + 2, C = g->C, TW = tiles_w(g, m);
    const float *img = x + (int64_t)n * g->H * g->W * C;
    for (int tw = 0; tw < TW; tw++) {
        const float *p[WG_MAX_A * WG_MAX_A];
        patch_pointers(g, m, img, th, tw, p);
        float *dst = V + ((int64_t)n * tiles(g, m) + (int64_t)th * TW + tw) * a * a * C;
        for (int c = 0; c < C; c += WG_LANES) {
            int lanes = C - c < WG_LANES ? C - c : WG_LANES;
            wg_vec d[WG_MAX_A * WG_MAX_A], v[WG_MAX_A * WG_MAX_A];
            for (int k = 0; k < a * a; k++) d[k] = wg_load(p[k] ? p[k] + c : NULL, lanes);
            wg_sandwich(BT, a, a, false, d, v);
            for (int e = 0; e < a * a; e++) wg_store(dst + e * C + c, v[e], lanes);
        }
    }
}

/* y = A^T M A (+ bias, then ReLU when relu) for the tiles of row th of
 * image n. */
WG_INLINE void output_row_body(int m, const lam_window *g, int F, const float *M, int64_t NT,
                               const float *bias, bool relu, float *y, int n, int th)
{
    const float *AT = m == 4 ? AT4 : AT2;
    const int a = m + 2, TW = tiles_w(g, m);
    float *img = y + (int64_t)n * g->OH * g->OW * F;
    for (int tw = 0; tw < TW; tw++) {
        const float *src = M + ((int64_t)n * tiles(g, m) + (int64_t)th * TW + tw) * a * a * F;
        for (int f = 0; f < F; f += WG_LANES) {
            int lanes = F - f < WG_LANES ? F - f : WG_LANES;
            wg_vec mv[WG_MAX_A * WG_MAX_A], out[4 * 4];
            for (int e = 0; e < a * a; e++) mv[e] = wg_load(src + e * F + f, lanes);
            wg_sandwich(AT, m, a, false, mv, out);
            if (bias) {
                const wg_vec b = wg_load(bias + f, lanes);
                for (int k = 0; k < m * m; k++) out[k] += b;
            }
            if (relu) /* x > 0 ? x : +0, as the ReLU kernel (NaN -> 0) */
                for (int k = 0; k < m * m; k++) out[k] = wg_relu(out[k]);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int oh = m * th + i, ow = m * tw + j;
                    if (oh < g->OH && ow < g->OW)
                        wg_store(img + ((int64_t)oh * g->OW + ow) * F + f, out[m * i + j], lanes);
                }
        }
    }
}

/* dM = A dz A^T for the tiles of row th of image n. */
WG_INLINE void output_adjoint_row_body(int m, const lam_window *g, int F, const float *dz,
                                       float *dM, int64_t NT, int n, int th)
{
    const float *AT = m == 4 ? AT4 : AT2;
    const int a = m + 2, TW = tiles_w(g, m);
    const float *img = dz + (int64_t)n * g->OH * g->OW * F;
    for (int tw = 0; tw < TW; tw++) {
        float *dst = dM + ((int64_t)n * tiles(g, m) + (int64_t)th * TW + tw) * a * a * F;
        for (int f = 0; f < F; f += WG_LANES) {
            int lanes = F - f < WG_LANES ? F - f : WG_LANES;
            wg_vec dy[4 * 4], mv[WG_MAX_A * WG_MAX_A];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    int oh = m * th + i, ow = m * tw + j;
                    bool in = oh < g->OH && ow < g->OW;
                    dy[m * i + j] =
                        wg_load(in ? img + ((int64_t)oh * g->OW + ow) * F + f : NULL, lanes);
                }
            wg_sandwich(AT, m, a, true, dy, mv);
            for (int e = 0; e < a * a; e++) wg_store(dst + e * F + f, mv[e], lanes);
        }
    }
}

/* dx of image n (written) = the sum over tiles of B dV B^T on each patch;
 * neighbouring patches overlap, so one image is one thread's work and the
 * sums run in tile order. */
WG_INLINE void input_adjoint_image_body(int m, const lam_window *g, const float *dV, int64_t NT,
                                        float *dx, int n)
{
    const float *BT = m == 4 ? BT4 : BT2;
    const int a = m + 2, C = g->C, TH = tiles_h(g, m), TW = tiles_w(g, m);
    float *img = dx + (int64_t)n * g->H * g->W * C;
    memset(img, 0, sizeof(float) * (size_t)g->H * g->W * C);
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            const float *p[WG_MAX_A * WG_MAX_A];
            patch_pointers(g, m, img, th, tw, p);
            const float *src = dV + ((int64_t)n * tiles(g, m) + (int64_t)th * TW + tw) * a * a * C;
            for (int c = 0; c < C; c += WG_LANES) {
                int lanes = C - c < WG_LANES ? C - c : WG_LANES;
                wg_vec v[WG_MAX_A * WG_MAX_A], d[WG_MAX_A * WG_MAX_A];
                for (int e = 0; e < a * a; e++) v[e] = wg_load(src + e * C + c, lanes);
                wg_sandwich(BT, a, a, true, v, d);
                for (int k = 0; k < a * a; k++)
                    if (p[k]) wg_add((float *)p[k] + c, d[k], lanes); /* p points into img */
            }
        }
}

/* The instances: one function per (transform, m), each a set of target
 * clones. */
#define WG_INSTANCES(m)                                                                    \
    LAM_VEC static void kernel_map_##m(bool adjoint, const float *src, int C, int F,      \
                                       float *dst)                                         \
    {                                                                                      \
        kernel_map_body(m, adjoint, src, C, F, dst);                                       \
    }                                                                                      \
    LAM_VEC static void input_row_##m(const lam_window *g, const float *x, float *V,      \
                                      int64_t NT, int n, int th)                           \
    {                                                                                      \
        input_row_body(m, g, x, V, NT, n, th);                                             \
    }                                                                                      \
    LAM_VEC static void output_row_##m(const lam_window *g, int F, const float *M,        \
                                       int64_t NT, const float *bias, bool relu, float *y, \
                                       int n, int th)                                      \
    {                                                                                      \
        output_row_body(m, g, F, M, NT, bias, relu, y, n, th);                             \
    }                                                                                      \
    LAM_VEC static void output_adjoint_row_##m(const lam_window *g, int F, const float *dz, \
                                               float *dM, int64_t NT, int n, int th)       \
    {                                                                                      \
        output_adjoint_row_body(m, g, F, dz, dM, NT, n, th);                               \
    }                                                                                      \
    LAM_VEC static void input_adjoint_image_##m(const lam_window *g, const float *dV,     \
                                                int64_t NT, float *dx, int n)              \
    {                                                                                      \
        input_adjoint_image_body(m, g, dV, NT, dx, n);                                     \
    }
WG_INSTANCES(2)
WG_INSTANCES(4)

static void kernel_map(int m, bool adjoint, const float *src, int C, int F, float *dst)
{
    if (m == 4) kernel_map_4(adjoint, src, C, F, dst);
    else kernel_map_2(adjoint, src, C, F, dst);
}
static void input_row(int m, const lam_window *g, const float *x, float *V, int64_t NT, int n,
                      int th)
{
    if (m == 4) input_row_4(g, x, V, NT, n, th);
    else input_row_2(g, x, V, NT, n, th);
}
static void output_row(int m, const lam_window *g, int F, const float *M, int64_t NT,
                       const float *bias, bool relu, float *y, int n, int th)
{
    if (m == 4) output_row_4(g, F, M, NT, bias, relu, y, n, th);
    else output_row_2(g, F, M, NT, bias, relu, y, n, th);
}
static void output_adjoint_row(int m, const lam_window *g, int F, const float *dz, float *dM,
                               int64_t NT, int n, int th)
{
    if (m == 4) output_adjoint_row_4(g, F, dz, dM, NT, n, th);
    else output_adjoint_row_2(g, F, dz, dM, NT, n, th);
}
static void input_adjoint_image(int m, const lam_window *g, const float *dV, int64_t NT,
                                float *dx, int n)
{
    if (m == 4) input_adjoint_image_4(g, dV, NT, dx, n);
    else input_adjoint_image_2(g, dV, NT, dx, n);
}

/* ------------------------------------------------------------------------ */

/* A team only pays when each thread gets a few microseconds of products.
 * The seed CNN's second convolution on one image (663k multiply-adds) runs
 * in 17 us on two threads against 24 on one; at a threshold of 2M it ran
 * alone. */
static bool worth_a_team(int64_t NT, int C, int F, int P)
{
    return NT * C * F * P >= (int64_t)1 << 19;
}

int64_t lam_winograd_kernel_floats(const lam_window *g, int m, int F)
{
    return round16(points(m) * (int64_t)g->C * F);
}

void lam_winograd_transform_kernel(const lam_window *g, int m, int F, const float *kernel,
                                   float *U)
{
    kernel_map(m, false, kernel, g->C, F, U);
}

void lam_winograd_forward(const lam_window *g, int m, int F, const float *x, const float *U,
                          const float *bias, bool relu, float *V, float *y, float *scratch)
{
    const int C = g->C, TH = tiles_h(g, m), P = points(m);
    const int64_t NT = (int64_t)g->N * tiles(g, m), rows = (int64_t)g->N * TH;
    /* The first lam_winograd_kernel_floats of scratch are the caller's (U
     * may live there). */
    float *M = scratch + lam_winograd_kernel_floats(g, m, F);
    #pragma omp parallel if (worth_a_team(NT, C, F, P))
    {
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) input_row(m, g, x, V, NT, (int)(r / TH), (int)(r % TH));
        /* M[e] (NT x F) = V[e] (NT x C) . U[e] (C x F) */
        #pragma omp for schedule(static)
        for (int e = 0; e < P; e++)
            lam_gemm(false, false, (int)NT, F, C, 1.0f, V + e * C, P * C,
                     U + e * F, P * F, 0.0f, M + e * F, P * F);
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            output_row(m, g, F, M, NT, bias, relu, y, (int)(r / TH), (int)(r % TH));
    }
}

void lam_winograd_backward(const lam_window *g, int m, int F, const float *kernel, const float *V,
                           const float *dz, float *dkernel, float *dx, float *scratch)
{
    const int C = g->C, TH = tiles_h(g, m), P = points(m);
    const int64_t NT = (int64_t)g->N * tiles(g, m), rows = (int64_t)g->N * TH;
    const int64_t u = round16(P * (int64_t)C * F);
    float *U = scratch, *dU = scratch + u, *dM = scratch + 2 * u;
    float *dV = dM + round16(P * NT * F);
    if (dx) kernel_map(m, false, kernel, C, F, U);
    #pragma omp parallel if (worth_a_team(NT, C, F, P))
    {
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            output_adjoint_row(m, g, F, dz, dM, NT, (int)(r / TH), (int)(r % TH));
        /* dU[e] (C x F) = V[e]^T . dM[e];  dV[e] (NT x C) = dM[e] . U[e]^T.
         * The tile sum of dU[e] is one GEMM: its order is fixed. */
        #pragma omp for schedule(static, 1)
        for (int j = 0; j < 2 * P; j++) {
            int e = j % P;
            if (j < P) {
                if (dkernel)
                    lam_gemm(true, false, C, F, (int)NT, 1.0f, V + e * C, P * C, dM + e * F,
                             P * F, 0.0f, dU + e * F, P * F);
            }
            else if (dx)
                lam_gemm(false, true, (int)NT, C, F, 1.0f, dM + e * F, P * F,
                         U + e * F, P * F, 0.0f, dV + e * C, P * C);
        }
        if (dx) {
            #pragma omp for schedule(static)
            for (int n = 0; n < g->N; n++) input_adjoint_image(m, g, dV, NT, dx, n);
        }
    }
    if (dkernel) kernel_map(m, true, dU, C, F, dkernel);
}
