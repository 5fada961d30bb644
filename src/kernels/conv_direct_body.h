/* conv_direct_body.h - the direct convolution kernels for one vector width,
 * included by conv_direct.c once per instruction set with (undefined again
 * at the end):
 *   SFX   suffix of the generated names
 *   ATTR  function attributes (the target)
 *   VL    floats per vector;  NVM  vectors per filter block
 *   PM    output pixels per forward block;  TGM  taps per weight-gradient pass
 * PM * NVM forward accumulators and TGM * NVM (+ NVM for the bias) gradient
 * accumulators, plus the operands, fit the register file of the target, so
 * they stay in registers: the loops over them have constant bounds and are
 * unrolled completely. */

#define CD_CAT2(a, b) a##b
#define CD_CAT(a, b) CD_CAT2(a, b)
#define NM(x) CD_CAT(x, SFX)

typedef float NM(vf) __attribute__((vector_size(VL * 4)));
typedef float NM(vfu) __attribute__((vector_size(VL * 4), aligned(4), may_alias));
typedef int32_t NM(vi) __attribute__((vector_size(VL * 4)));

#define VF NM(vf)
#define VLOAD(p) ((VF)(*(const NM(vfu) *)(p)))
#define VSTORE(p, v) (*(NM(vfu) *)(p) = (v))

/* ReLU as Keras's kernel computes it (x > 0 ? x : 0; NaN gives 0). */
static inline ATTR VF NM(relu)(VF a)
{
    const VF zero = {0};
    return (VF)((NM(vi))a & (NM(vi))(a > zero));
}

/* Stores the first n floats of NV vectors (n == NV * VL: all of them). */
static inline ATTR __attribute__((always_inline)) void NM(store_n)(float *y, const VF *a, int NV,
                                                                  int n)
{
    if (n == NV * VL) {
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) VSTORE(y + v * VL, a[v]);
    } else {
        memcpy(y, a, sizeof(float) * (size_t)n);
    }
}

/* P output pixels of one row, all taps inside the input: xp is the first
 * pixel's window origin, xstep the distance between neighbouring windows,
 * off the taps' offsets from the origin; w (K rows, stride ldw) and b the
 * filter block; y the first output, ystep the distance between outputs. */
static inline ATTR __attribute__((always_inline)) void
NM(fwd_block)(const float *xp, int xstep, const int *off, int K, const float *w, int ldw,
              const float *b, bool relu, float *y, int ystep, int P, int NV, int nst)
{
    VF acc[PM][NVM];
    #pragma GCC unroll 16
    for (int p = 0; p < P; p++) {
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[p][v] = b ? VLOAD(b + v * VL) : (VF){0};
    }
    for (int k = 0; k < K; k++) {
        VF wv[NVM];
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) wv[v] = VLOAD(w + (int64_t)k * ldw + v * VL);
        const float *xk = xp + off[k];
        #pragma GCC unroll 16
        for (int p = 0; p < P; p++) {
            const float xv = xk[p * xstep];
            #pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[p][v] += xv * wv[v];
        }
    }
    #pragma GCC unroll 16
    for (int p = 0; p < P; p++) {
        if (relu) {
            #pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[p][v] = NM(relu)(acc[p][v]);
        }
        NM(store_n)(y + (int64_t)p * ystep, acc[p], NV, nst);
    }
}

/* One output pixel whose window reaches into the padding: taps outside the
 * input are left out. */
static inline ATTR __attribute__((always_inline)) void
NM(fwd_border)(const lam_window *g, const float *x, int oh, int ow, const float *w, int ldw,
               const float *b, bool relu, float *y, int NV, int nst)
{
    VF acc[NVM];
    #pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[v] = b ? VLOAD(b + v * VL) : (VF){0};
    for (int kh = 0; kh < g->KH; kh++) {
        const int ih = oh * g->SH + kh - g->PT;
        if (ih < 0 || ih >= g->H) continue;
        for (int kw = 0; kw < g->KW; kw++) {
            const int iw = ow * g->SW + kw - g->PL;
            if (iw < 0 || iw >= g->W) continue;
            const float *xs = x + ((int64_t)ih * g->W + iw) * g->C;
            const float *ws = w + (int64_t)(kh * g->KW + kw) * g->C * ldw;
            for (int c = 0; c < g->C; c++) {
                #pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[v] += xs[c] * VLOAD(ws + (int64_t)c * ldw + v * VL);
            }
        }
    }
    if (relu) {
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[v] = NM(relu)(acc[v]);
    }
    NM(store_n)(y, acc, NV, nst);
}

/* The span [ow0, ow1) of one row, all windows inside, in blocks of at most
 * PM pixels of near-equal size (26 = 7 + 7 + 6 + 6), so no block runs with
 * too few accumulators to hide the FMA latency. */
static inline ATTR __attribute__((always_inline)) void
NM(fwd_span)(const lam_window *g, const float *x, int oh, int ow0, int ow1, const int *off,
             const float *w, int ldw, const float *b, bool relu, float *y, int F, int NV, int nst)
{
    const int len = ow1 - ow0;
    if (len <= 0) return;
    const int nb = (len + PM - 1) / PM, base = len / nb, extra = len % nb;
    const int xstep = g->SW * g->C;
    int ow = ow0;
    for (int i = 0; i < nb; i++) {
        const int P = base + (i < extra);
        const float *xp = x + ((int64_t)(oh * g->SH - g->PT) * g->W + (ow * g->SW - g->PL)) * g->C;
        float *yp = y + ((int64_t)oh * g->OW + ow) * F;
        switch (P) {
#define CD_FWD_CASE(n) \
        case n: NM(fwd_block)(xp, xstep, off, g->KH * g->KW * g->C, w, ldw, b, relu, yp, F, n, NV, nst); break;
        CD_FWD_CASE(1) CD_FWD_CASE(2) CD_FWD_CASE(3) CD_FWD_CASE(4)
#if PM >= 5
        CD_FWD_CASE(5) CD_FWD_CASE(6)
#endif
#if PM >= 7
        CD_FWD_CASE(7) CD_FWD_CASE(8)
#endif
#undef CD_FWD_CASE
        default: break;
        }
        ow += P;
    }
}

/* One filter block of one image. */
static inline ATTR __attribute__((always_inline)) void
NM(fwd_filters)(const lam_window *g, const float *x, const int *off, const float *w, int ldw,
                const float *b, bool relu, float *y, int F, int NV, int nst)
{
    int ow_lo, ow_hi;
    lam_conv_direct_inside(g->W, g->KW, g->SW, g->PL, g->OW, &ow_lo, &ow_hi);
    for (int oh = 0; oh < g->OH; oh++) {
        const int ih0 = oh * g->SH - g->PT;
        const bool row_inside = ih0 >= 0 && ih0 + g->KH <= g->H;
        const int lo = row_inside ? ow_lo : g->OW, hi = row_inside ? ow_hi : g->OW;
        for (int ow = 0; ow < lo && ow < g->OW; ow++)
            NM(fwd_border)(g, x, oh, ow, w, ldw, b, relu, y + ((int64_t)oh * g->OW + ow) * F, NV, nst);
        NM(fwd_span)(g, x, oh, lo, hi, off, w, ldw, b, relu, y, F, NV, nst);
        for (int ow = hi > lo ? hi : lo; ow < g->OW; ow++)
            NM(fwd_border)(g, x, oh, ow, w, ldw, b, relu, y + ((int64_t)oh * g->OW + ow) * F, NV, nst);
    }
}

/* x (H, W, C) of one image -> y (OH, OW, F). */
static ATTR void NM(fwd_image)(const lam_window *g, int F, const float *x, const float *kernel,
                               const float *bias, bool relu, const int *off, float *y)
{
    const int K = g->KH * g->KW * g->C;
    int f0 = 0;
    for (; f0 + NVM * VL <= F; f0 += NVM * VL)
        NM(fwd_filters)(g, x, off, kernel + f0, F, bias ? bias + f0 : NULL, relu, y + f0, F, NVM,
                        NVM * VL);
    for (; f0 + VL <= F; f0 += VL)
        NM(fwd_filters)(g, x, off, kernel + f0, F, bias ? bias + f0 : NULL, relu, y + f0, F, 1, VL);
    if (f0 < F) {
        /* The last F % VL filters: weights padded with zeros to a vector. */
        float wpad[LAM_CONV_DIRECT_MAX_K * VL], bpad[VL];
        const int r = F - f0;
        memset(wpad, 0, sizeof(float) * (size_t)K * VL);
        memset(bpad, 0, sizeof bpad);
        for (int k = 0; k < K; k++) memcpy(wpad + k * VL, kernel + (int64_t)k * F + f0, sizeof(float) * (size_t)r);
        if (bias) memcpy(bpad, bias + f0, sizeof(float) * (size_t)r);
        NM(fwd_filters)(g, x, off, wpad, VL, bias ? bpad : NULL, relu, y + f0, F, 1, r);
    }
}

/* dz for one pixel's filter block: dy, or with ymask dy where ymask > 0. */
static inline ATTR __attribute__((always_inline)) void
NM(load_dz)(const float *dz, const float *ym, VF *out, int NV, int n)
{
    if (n == NV * VL) {
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            out[v] = VLOAD(dz + v * VL);
            if (ym) out[v] = (VF)((NM(vi))out[v] & (NM(vi))(VLOAD(ym + v * VL) > (VF){0}));
        }
    } else {
        /* Only a one-vector block is partial (n < VL); the bound says so. */
        const size_t bytes = sizeof(float) * (size_t)(n < VL ? n : VL);
        VF d = {0}, m = {0};
        memcpy(&d, dz, bytes);
        if (ym) {
            memcpy(&m, ym, bytes);
            d = (VF)((NM(vi))d & (NM(vi))(m > (VF){0}));
        }
        out[0] = d;
    }
}

/* Taps [t0, t0 + TG) (and with bias, the bias) of one filter block, summed
 * over the pixels of one image in pixel order: out (K + 1 rows of F). */
static inline ATTR __attribute__((always_inline)) void
NM(wgrad_group)(const lam_window *g, int F, const float *x, const float *dz, const float *ym,
                const int *off, const int *tkh, const int *tkw, int t0, int TG, bool bias,
                float *out, int NV, int nst)
{
    VF acc[TGM][NVM], accb[NVM];
    #pragma GCC unroll 16
    for (int t = 0; t < TG; t++) {
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[t][v] = (VF){0};
    }
    #pragma GCC unroll 4
    for (int v = 0; v < NV; v++) accb[v] = (VF){0};
    int ow_lo, ow_hi;
    lam_conv_direct_inside(g->W, g->KW, g->SW, g->PL, g->OW, &ow_lo, &ow_hi);
    for (int oh = 0; oh < g->OH; oh++) {
        const int ih0 = oh * g->SH - g->PT;
        const bool row_inside = ih0 >= 0 && ih0 + g->KH <= g->H;
        const int lo = row_inside ? ow_lo : g->OW, hi = row_inside ? (ow_hi > lo ? ow_hi : lo) : g->OW;
        const int64_t prow = (int64_t)oh * g->OW;
        for (int ow = 0; ow < g->OW; ow++) {
            VF d[NVM];
            NM(load_dz)(dz + (prow + ow) * F, ym ? ym + (prow + ow) * F : NULL, d, NV, nst);
            if (bias) {
                #pragma GCC unroll 4
                for (int v = 0; v < NV; v++) accb[v] += d[v];
            }
            const int iw0 = ow * g->SW - g->PL;
            if (ow >= lo && ow < hi) {
                const float *xp = x + ((int64_t)ih0 * g->W + iw0) * g->C;
                #pragma GCC unroll 16
                for (int t = 0; t < TG; t++) {
                    const float xv = xp[off[t0 + t]];
                    #pragma GCC unroll 4
                    for (int v = 0; v < NV; v++) acc[t][v] += xv * d[v];
                }
            } else {
                #pragma GCC unroll 16
                for (int t = 0; t < TG; t++) {
                    const int ih = ih0 + tkh[t0 + t], iw = iw0 + tkw[t0 + t];
                    const float xv = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W
                                         ? x[((int64_t)ih0 * g->W + iw0) * g->C + off[t0 + t]]
                                         : 0.0f;
                    #pragma GCC unroll 4
                    for (int v = 0; v < NV; v++) acc[t][v] += xv * d[v];
                }
            }
        }
    }
    #pragma GCC unroll 16
    for (int t = 0; t < TG; t++) NM(store_n)(out + (int64_t)(t0 + t) * F, acc[t], NV, nst);
    if (bias) NM(store_n)(out + (int64_t)g->KH * g->KW * g->C * F, accb, NV, nst);
}

/* One filter block: the taps in groups of at most TGM, the bias with the
 * first group. */
static inline ATTR __attribute__((always_inline)) void
NM(wgrad_filters)(const lam_window *g, int F, const float *x, const float *dz, const float *ym,
                  const int *off, const int *tkh, const int *tkw, bool bias, float *out, int NV,
                  int nst)
{
    const int K = g->KH * g->KW * g->C;
    const int ng = (K + TGM - 1) / TGM, base = K / ng, extra = K % ng;
    int t0 = 0;
    for (int i = 0; i < ng; i++) {
        const int TG = base + (i < extra);
        switch (TG) {
#define CD_WG_CASE(n) \
        case n: NM(wgrad_group)(g, F, x, dz, ym, off, tkh, tkw, t0, n, bias && i == 0, out, NV, nst); break;
        CD_WG_CASE(1) CD_WG_CASE(2) CD_WG_CASE(3) CD_WG_CASE(4) CD_WG_CASE(5)
#if TGM >= 6
        CD_WG_CASE(6) CD_WG_CASE(7) CD_WG_CASE(8) CD_WG_CASE(9) CD_WG_CASE(10)
#endif
#undef CD_WG_CASE
        default: break;
        }
        t0 += TG;
    }
}

/* One image: out (K + 1, F) = its weight gradient, then its bias gradient. */
static ATTR void NM(wgrad_image)(const lam_window *g, int F, const float *x, const float *dz,
                                 const float *ym, const int *off, const int *tkh, const int *tkw,
                                 bool bias, float *out)
{
    int f0 = 0;
    for (; f0 + NVM * VL <= F; f0 += NVM * VL)
        NM(wgrad_filters)(g, F, x, dz + f0, ym ? ym + f0 : NULL, off, tkh, tkw, bias, out + f0,
                          NVM, NVM * VL);
    for (; f0 < F; f0 += VL)
        NM(wgrad_filters)(g, F, x, dz + f0, ym ? ym + f0 : NULL, off, tkh, tkw, bias, out + f0, 1,
                          F - f0 < VL ? F - f0 : VL);
}

#undef VF
#undef VLOAD
#undef VSTORE
#undef NM
#undef CD_CAT
#undef CD_CAT2
/* ... and the including file's parameters, ready for the next width. */
#undef SFX
#undef ATTR
#undef VL
#undef NVM
#undef PM
#undef TGM
