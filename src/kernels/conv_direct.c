/* conv_direct.c - direct convolution for inputs of few channels (the first
 * layer of a CNN: K = KH*KW*C = 9 for 3x3 on grey images). There im2col +
 * GEMM spends its time copying: a GEMM with K = 9 is memory-bound. Here the
 * filters are the vector lanes and the accumulators of a block of output
 * pixels (forward) or of a group of taps (weight gradient) live in
 * registers; bias and ReLU are applied before the one store.
 *
 * The vector code is written once (conv_direct_body.h) and compiled for
 * AVX-512, AVX2+FMA and the baseline; the widest the CPU has is chosen at
 * run time. GCC's target_clones cannot do this here: each target needs its
 * own vector width and block sizes to keep the accumulators in registers. */
#include "kernels/conv.h"

#include <stdbool.h>
#include <string.h>

/* The interior columns [lo, hi) of a row: windows that need no padding. */
static void lam_conv_direct_inside(int W, int KW, int SW, int PL, int OW, int *lo, int *hi)
{
    int l = (PL + SW - 1) / SW, h = W - KW + PL >= 0 ? (W - KW + PL) / SW + 1 : 0;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
}

#if defined(__GNUC__) && defined(__x86_64__)
#define CD_X86 1
#define SFX _avx512
#define ATTR __attribute__((target("avx512f,avx2,fma")))
#define VL 16
#define NVM 2
#define PM 8
#define TGM 10
#include "kernels/conv_direct_body.h"

#define SFX _avx2
#define ATTR __attribute__((target("avx2,fma")))
#define VL 8
#define NVM 2
#define PM 6
#define TGM 5
#include "kernels/conv_direct_body.h"
#endif

#define SFX _base
#define ATTR
#define VL 4
#define NVM 2
#define PM 6
#define TGM 5
#include "kernels/conv_direct_body.h"

static int isa_cap = 2; /* tests lower it to reach every version */

int lam_conv_direct_isa(int cap)
{
    int old = isa_cap;
    if (cap >= 0) isa_cap = cap;
    return old;
}

static int isa_level(void)
{
#ifdef CD_X86
    if (isa_cap >= 2 && __builtin_cpu_supports("avx512f")) return 2;
    if (isa_cap >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

bool lam_conv_direct_applies(const lam_window *g)
{
    return g->KH * g->KW * g->C <= LAM_CONV_DIRECT_MAX_K;
}

/* Offsets of the taps (kh, kw, c), in kernel row order, from a window's
 * origin in the input, and each tap's (kh, kw). */
static void taps(const lam_window *g, int *off, int *tkh, int *tkw)
{
    int k = 0;
    for (int kh = 0; kh < g->KH; kh++)
        for (int kw = 0; kw < g->KW; kw++)
            for (int c = 0; c < g->C; c++, k++) {
                off[k] = (kh * g->W + kw) * g->C + c;
                if (tkh) tkh[k] = kh, tkw[k] = kw;
            }
}

void lam_conv_direct_forward(const lam_window *g, int F, const float *in, const float *kernel,
                             const float *bias, bool relu, float *out)
{
    int off[LAM_CONV_DIRECT_MAX_K];
    taps(g, off, NULL, NULL);
    const int64_t in_sz = (int64_t)g->H * g->W * g->C, out_sz = (int64_t)g->OH * g->OW * F;
    const int isa = isa_level();
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        const float *x = in + n * in_sz;
        float *y = out + n * out_sz;
#ifdef CD_X86
        if (isa == 2) fwd_image_avx512(g, F, x, kernel, bias, relu, off, y);
        else if (isa == 1) fwd_image_avx2(g, F, x, kernel, bias, relu, off, y);
        else
#endif
            fwd_image_base(g, F, x, kernel, bias, relu, off, y);
    }
    (void)isa;
}

int64_t lam_conv_direct_scratch_floats(const lam_window *g, int F)
{
    return (int64_t)g->N * (g->KH * g->KW * g->C + 1) * F;
}

void lam_conv_direct_backward_weights(const lam_window *g, int F, const float *in,
                                      const float *dz, const float *ymask, float *dkernel,
                                      float *dbias, float *scratch)
{
    int off[LAM_CONV_DIRECT_MAX_K], tkh[LAM_CONV_DIRECT_MAX_K], tkw[LAM_CONV_DIRECT_MAX_K];
    taps(g, off, tkh, tkw);
    const int K = g->KH * g->KW * g->C;
    const int64_t in_sz = (int64_t)g->H * g->W * g->C, out_sz = (int64_t)g->OH * g->OW * F;
    const int64_t part = (int64_t)(K + 1) * F;
    const int isa = isa_level();
    const bool bias = dbias != NULL;
    /* Each image's sums apart, then added in image order: the same bits
     * whatever the number of threads. */
    #pragma omp parallel for schedule(static) if (g->N > 1)
    for (int n = 0; n < g->N; n++) {
        const float *x = in + n * in_sz, *d = dz + n * out_sz;
        const float *ym = ymask ? ymask + n * out_sz : NULL;
        float *o = scratch + n * part;
#ifdef CD_X86
        if (isa == 2) wgrad_image_avx512(g, F, x, d, ym, off, tkh, tkw, bias, o);
        else if (isa == 1) wgrad_image_avx2(g, F, x, d, ym, off, tkh, tkw, bias, o);
        else
#endif
            wgrad_image_base(g, F, x, d, ym, off, tkh, tkw, bias, o);
    }
    (void)isa;
    const int64_t kf = (int64_t)K * F;
    memcpy(dkernel, scratch, sizeof(float) * (size_t)kf);
    if (bias) memcpy(dbias, scratch + kf, sizeof(float) * (size_t)F);
    for (int n = 1; n < g->N; n++) {
        const float *o = scratch + n * part;
        for (int64_t i = 0; i < kf; i++) dkernel[i] += o[i];
        if (bias)
            for (int f = 0; f < F; f++) dbias[f] += o[kf + f];
    }
}
