/* winograd.c - F(2x2, 3x3) convolution: transforms vectorised over channels,
 * the 16 point-wise products handed to lam_gemm. See winograd.h for the
 * algebra. Every loop is split over images, tile rows or points, never over
 * a reduction, so results do not depend on the thread count. */
#include "kernels/winograd.h"

#include "kernels/kernels.h"

#include <string.h>

/* The wg_ helpers below are always inlined into the target clones; GCC's
 * note about passing vectors by value in the baseline ABI does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* Channels are processed 16 at a time as one GCC/Clang vector; in the
 * AVX-512 clone that is one zmm register, in the others two or four. */
#define WG_LANES 16
typedef float wg_vec __attribute__((vector_size(WG_LANES * sizeof(float))));

#define WG_INLINE static inline __attribute__((always_inline))

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

WG_INLINE void wg_add(float *p, wg_vec v, int n)
{
    wg_vec old = wg_load(p, n);
    wg_store(p, old + v, n);
}

bool lam_winograd_applies(const lam_window *g)
{
    return g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1;
}

static int tiles_h(const lam_window *g) { return (g->OH + 1) / 2; }
static int tiles_w(const lam_window *g) { return (g->OW + 1) / 2; }

int64_t lam_winograd_tiles(const lam_window *g) { return (int64_t)tiles_h(g) * tiles_w(g); }

int64_t lam_winograd_saved_floats(const lam_window *g)
{
    return 16 * lam_winograd_tiles(g) * g->C;
}

/* Workspace layout: U (or dU) [16][C][F], then per-tile data. Each part
 * starts on a 64-byte boundary. */
static int64_t round16(int64_t x) { return (x + 15) / 16 * 16; }

int64_t lam_winograd_scratch_floats(const lam_window *g, int F)
{
    int64_t nt = (int64_t)g->N * lam_winograd_tiles(g);
    int64_t u = round16(16 * (int64_t)g->C * F);
    int64_t fwd = u + round16(16 * nt * F);                                /* U, M */
    int64_t bwd = 2 * u + round16(16 * nt * F) + round16(16 * nt * g->C);  /* U, dU, dM, dV */
    return fwd > bwd ? fwd : bwd;
}

/* ------------------------------------------------------------------------ */
/* Kernel transforms: small (C*F per point), plain loops over filters.       */

/* kernel [3, 3, C, F] -> U [16][C][F], U = G g G^T with
 * G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]];
 * 16 (channel, filter) pairs at a time. */
LAM_VEC static void kernel_transform(const float *kernel, int C, int F, float *U)
{
    const int64_t CF = (int64_t)C * F;
    for (int64_t i = 0; i < CF; i += WG_LANES) {
        int lanes = CF - i < WG_LANES ? (int)(CF - i) : WG_LANES;
        wg_vec k[9], t[12];
        for (int j = 0; j < 9; j++) k[j] = wg_load(kernel + j * CF + i, lanes);
        for (int col = 0; col < 3; col++) { /* t (4x3) = G g */
            wg_vec g0 = k[col], g1 = k[3 + col], g2 = k[6 + col];
            t[col] = g0;
            t[3 + col] = 0.5f * (g0 + g1 + g2);
            t[6 + col] = 0.5f * (g0 - g1 + g2);
            t[9 + col] = g2;
        }
        for (int r = 0; r < 4; r++) { /* U (4x4) = t G^T */
            wg_vec g0 = t[3 * r], g1 = t[3 * r + 1], g2 = t[3 * r + 2];
            float *u = U + (4 * r) * CF + i;
            wg_store(u, g0, lanes);
            wg_store(u + CF, 0.5f * (g0 + g1 + g2), lanes);
            wg_store(u + 2 * CF, 0.5f * (g0 - g1 + g2), lanes);
            wg_store(u + 3 * CF, g2, lanes);
        }
    }
}

/* dU [16][C][F] -> dkernel [3, 3, C, F] = G^T dU G (the adjoint of the above). */
LAM_VEC static void kernel_transform_adjoint(const float *dU, int C, int F, float *dkernel)
{
    const int64_t CF = (int64_t)C * F;
    for (int64_t i = 0; i < CF; i += WG_LANES) {
        int lanes = CF - i < WG_LANES ? (int)(CF - i) : WG_LANES;
        wg_vec u[16], t[12];
        for (int e = 0; e < 16; e++) u[e] = wg_load(dU + e * CF + i, lanes);
        for (int col = 0; col < 4; col++) { /* t (3x4) = G^T u */
            wg_vec a = u[col], b = u[4 + col], c = u[8 + col], d = u[12 + col];
            t[col] = a + 0.5f * (b + c);
            t[4 + col] = 0.5f * (b - c);
            t[8 + col] = 0.5f * (b + c) + d;
        }
        for (int r = 0; r < 3; r++) { /* dkernel (3x3) = t G */
            wg_vec a = t[4 * r], b = t[4 * r + 1], c = t[4 * r + 2], d = t[4 * r + 3];
            float *o = dkernel + (3 * r) * CF + i;
            wg_store(o, a + 0.5f * (b + c), lanes);
            wg_store(o + CF, 0.5f * (b - c), lanes);
            wg_store(o + 2 * CF, 0.5f * (b + c) + d, lanes);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Tile transforms, 16 channels at a time.                                   */

/* v = B^T d B, B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. */
WG_INLINE void bt_d_b(const wg_vec d[16], wg_vec v[16])
{
    wg_vec r[16];
    for (int j = 0; j < 4; j++) {
        r[j] = d[j] - d[8 + j];
        r[4 + j] = d[4 + j] + d[8 + j];
        r[8 + j] = d[8 + j] - d[4 + j];
        r[12 + j] = d[4 + j] - d[12 + j];
    }
    for (int i = 0; i < 4; i++) {
        const wg_vec *s = r + 4 * i;
        v[4 * i] = s[0] - s[2];
        v[4 * i + 1] = s[1] + s[2];
        v[4 * i + 2] = s[2] - s[1];
        v[4 * i + 3] = s[1] - s[3];
    }
}

/* d = B v B^T, the adjoint of bt_d_b. */
WG_INLINE void b_v_bt(const wg_vec v[16], wg_vec d[16])
{
    wg_vec r[16];
    for (int j = 0; j < 4; j++) {
        r[j] = v[j];
        r[4 + j] = v[4 + j] - v[8 + j] + v[12 + j];
        r[8 + j] = v[4 + j] + v[8 + j] - v[j];
        r[12 + j] = -v[12 + j];
    }
    for (int i = 0; i < 4; i++) {
        const wg_vec *s = r + 4 * i;
        d[4 * i] = s[0];
        d[4 * i + 1] = s[1] - s[2] + s[3];
        d[4 * i + 2] = s[1] + s[2] - s[0];
        d[4 * i + 3] = -s[3];
    }
}

/* y (2x2) = A^T m A, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. */
WG_INLINE void at_m_a(const wg_vec m[16], wg_vec y[4])
{
    wg_vec t[8];
    for (int j = 0; j < 4; j++) {
        t[j] = m[j] + m[4 + j] + m[8 + j];
        t[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
    }
    for (int i = 0; i < 2; i++) {
        const wg_vec *s = t + 4 * i;
        y[2 * i] = s[0] + s[1] + s[2];
        y[2 * i + 1] = s[1] - s[2] - s[3];
    }
}

/* m (4x4) = A y A^T, the adjoint of at_m_a. */
WG_INLINE void a_y_at(const wg_vec y[4], wg_vec m[16])
{
    wg_vec t[8]; /* 4x2 */
    for (int j = 0; j < 2; j++) {
        t[j] = y[j];
        t[2 + j] = y[j] + y[2 + j];
        t[4 + j] = y[j] - y[2 + j];
        t[6 + j] = -y[2 + j];
    }
    for (int i = 0; i < 4; i++) {
        const wg_vec *s = t + 2 * i;
        m[4 * i] = s[0];
        m[4 * i + 1] = s[0] + s[1];
        m[4 * i + 2] = s[0] - s[1];
        m[4 * i + 3] = -s[1];
    }
}

/* Where input row/column i of tile coordinate t lies, or -1 outside. */
static int patch_pos(int t, int i, int pad, int size)
{
    int p = 2 * t - pad + i;
    return p >= 0 && p < size ? p : -1;
}

/* The 16 input pixels of tile (th, tw) of image x (NULL where padded). */
static void patch_pointers(const lam_window *g, const float *x, int th, int tw, int ld,
                           const float *p[16])
{
    for (int i = 0; i < 4; i++) {
        int ih = patch_pos(th, i, g->PT, g->H);
        for (int j = 0; j < 4; j++) {
            int iw = patch_pos(tw, j, g->PL, g->W);
            p[4 * i + j] = ih < 0 || iw < 0 ? NULL : x + ((int64_t)ih * g->W + iw) * ld;
        }
    }
}

/* V[e][nt][c] for the tiles of row th of image n. */
LAM_VEC static void input_transform_row(const lam_window *g, const float *x, float *V,
                                        int64_t NT, int n, int th)
{
    const int C = g->C, TW = tiles_w(g);
    const float *img = x + (int64_t)n * g->H * g->W * C;
    for (int tw = 0; tw < TW; tw++) {
        const float *p[16];
        patch_pointers(g, img, th, tw, C, p);
        float *dst = V + ((int64_t)n * lam_winograd_tiles(g) + (int64_t)th * TW + tw) * C;
        for (int c = 0; c < C; c += WG_LANES) {
            int lanes = C - c < WG_LANES ? C - c : WG_LANES;
            wg_vec d[16], v[16];
            for (int k = 0; k < 16; k++) d[k] = wg_load(p[k] ? p[k] + c : NULL, lanes);
            bt_d_b(d, v);
            for (int e = 0; e < 16; e++) wg_store(dst + e * NT * C + c, v[e], lanes);
        }
    }
}

/* y for the tiles of row th of image n, from M[e][nt][f]. */
LAM_VEC static void output_transform_row(const lam_window *g, int F, const float *M,
                                         int64_t NT, float *y, int n, int th)
{
    const int TW = tiles_w(g);
    float *img = y + (int64_t)n * g->OH * g->OW * F;
    for (int tw = 0; tw < TW; tw++) {
        const float *src = M + ((int64_t)n * lam_winograd_tiles(g) + (int64_t)th * TW + tw) * F;
        for (int f = 0; f < F; f += WG_LANES) {
            int lanes = F - f < WG_LANES ? F - f : WG_LANES;
            wg_vec m[16], out[4];
            for (int e = 0; e < 16; e++) m[e] = wg_load(src + e * NT * F + f, lanes);
            at_m_a(m, out);
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    int oh = 2 * th + a, ow = 2 * tw + b;
                    if (oh < g->OH && ow < g->OW)
                        wg_store(img + ((int64_t)oh * g->OW + ow) * F + f, out[2 * a + b], lanes);
                }
        }
    }
}

/* dM[e][nt][f] for the tiles of row th of image n, from dz. */
LAM_VEC static void output_transform_adjoint_row(const lam_window *g, int F, const float *dz,
                                                 float *dM, int64_t NT, int n, int th)
{
    const int TW = tiles_w(g);
    const float *img = dz + (int64_t)n * g->OH * g->OW * F;
    for (int tw = 0; tw < TW; tw++) {
        float *dst = dM + ((int64_t)n * lam_winograd_tiles(g) + (int64_t)th * TW + tw) * F;
        for (int f = 0; f < F; f += WG_LANES) {
            int lanes = F - f < WG_LANES ? F - f : WG_LANES;
            wg_vec dy[4], m[16];
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    int oh = 2 * th + a, ow = 2 * tw + b;
                    dy[2 * a + b] = wg_load(oh < g->OH && ow < g->OW
                                                ? img + ((int64_t)oh * g->OW + ow) * F + f
                                                : NULL,
                                            lanes);
                }
            a_y_at(dy, m);
            for (int e = 0; e < 16; e++) wg_store(dst + e * NT * F + f, m[e], lanes);
        }
    }
}

/* dx of image n (written) from dV[e][nt][c]: each tile's B dV B^T is added
 * onto its 4x4 patch; neighbouring patches overlap, so one image is one
 * thread's work and the sums run in tile order. */
LAM_VEC static void input_transform_adjoint_image(const lam_window *g, const float *dV,
                                                  int64_t NT, float *dx, int n)
{
    const int C = g->C, TH = tiles_h(g), TW = tiles_w(g);
    float *img = dx + (int64_t)n * g->H * g->W * C;
    memset(img, 0, sizeof(float) * (size_t)g->H * g->W * C);
    for (int th = 0; th < TH; th++)
        for (int tw = 0; tw < TW; tw++) {
            float *p[16];
            patch_pointers(g, img, th, tw, C, (const float **)p);
            const float *src = dV + ((int64_t)n * lam_winograd_tiles(g) + (int64_t)th * TW + tw) * C;
            for (int c = 0; c < C; c += WG_LANES) {
                int lanes = C - c < WG_LANES ? C - c : WG_LANES;
                wg_vec v[16], d[16];
                for (int e = 0; e < 16; e++) v[e] = wg_load(src + e * NT * C + c, lanes);
                b_v_bt(v, d);
                for (int k = 0; k < 16; k++)
                    if (p[k]) wg_add(p[k] + c, d[k], lanes);
            }
        }
}

/* ------------------------------------------------------------------------ */

void lam_winograd_forward(const lam_window *g, int F, const float *x, const float *kernel,
                          float *V, float *y, float *scratch)
{
    const int C = g->C, TH = tiles_h(g);
    const int64_t NT = (int64_t)g->N * lam_winograd_tiles(g);
    const int64_t rows = (int64_t)g->N * TH;
    float *U = scratch;
    float *M = scratch + round16(16 * (int64_t)C * F);
    kernel_transform(kernel, C, F, U);
    #pragma omp parallel
    {
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) input_transform_row(g, x, V, NT, (int)(r / TH), (int)(r % TH));
        /* M[e] (NT x F) = V[e] (NT x C) . U[e] (C x F) */
        #pragma omp for schedule(static)
        for (int e = 0; e < 16; e++)
            lam_gemm(false, false, (int)NT, F, C, 1.0f, V + e * NT * C, C,
                     U + (int64_t)e * C * F, F, 0.0f, M + e * NT * F, F);
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            output_transform_row(g, F, M, NT, y, (int)(r / TH), (int)(r % TH));
    }
}

void lam_winograd_backward(const lam_window *g, int F, const float *kernel, const float *V,
                           const float *dz, float *dkernel, float *dx, float *scratch)
{
    const int C = g->C, TH = tiles_h(g);
    const int64_t NT = (int64_t)g->N * lam_winograd_tiles(g);
    const int64_t rows = (int64_t)g->N * TH, u = round16(16 * (int64_t)C * F);
    float *U = scratch, *dU = scratch + u, *dM = scratch + 2 * u;
    float *dV = dM + round16(16 * NT * F);
    if (dx) kernel_transform(kernel, C, F, U);
    #pragma omp parallel
    {
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            output_transform_adjoint_row(g, F, dz, dM, NT, (int)(r / TH), (int)(r % TH));
        /* dU[e] (C x F) = V[e]^T . dM[e];  dV[e] (NT x C) = dM[e] . U[e]^T.
         * The tile sum of dU[e] is one GEMM: its order is fixed. */
        #pragma omp for schedule(static, 1)
        for (int e = 0; e < 32; e++) {
            int p = e & 15;
            if (e < 16)
                lam_gemm(true, false, C, F, (int)NT, 1.0f, V + p * NT * C, C, dM + p * NT * F, F,
                         0.0f, dU + (int64_t)p * C * F, F);
            else if (dx)
                lam_gemm(false, true, (int)NT, C, F, 1.0f, dM + p * NT * F, F,
                         U + (int64_t)p * C * F, F, 0.0f, dV + p * NT * C, C);
        }
        if (dx) {
            #pragma omp for schedule(static)
            for (int n = 0; n < g->N; n++) input_transform_adjoint_image(g, dV, NT, dx, n);
        }
    }
    kernel_transform_adjoint(dU, C, F, dkernel);
}
