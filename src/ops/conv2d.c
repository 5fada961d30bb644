/* conv2d.c - Conv2D (NHWC, kernel [KH, KW, C, F], cross-correlation) as
 * im2col + one GEMM over the whole batch; "same" and "valid" padding.
 * Conv1D is the same op on (steps, channels) seen as (steps, 1, channels):
 * its kernel [K, C, F] has the bytes of a [K, 1, C, F] one. */
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/sample_grads.h"
#include "kernels/winograd.h"
#include "ops/window.h"

#include <stdlib.h>
#include <omp.h>
#include <string.h>

/* The geometry once the input is known to be (H, W, C); the window and
 * strides are already checked to be >= 1. */
static void window_set(lam_window *g, int H, int W, int C, int kh, int kw, int sh, int sw,
                       lam_padding pad)
{
    g->H = H;
    g->W = W;
    g->C = C;
    g->KH = kh;
    g->KW = kw;
    g->SH = sh;
    g->SW = sw;
    if (pad == LAM_PAD_SAME) {
        g->OH = (H + sh - 1) / sh;
        g->OW = (W + sw - 1) / sw;
        int ph = (g->OH - 1) * sh + kh - H, pw = (g->OW - 1) * sw + kw - W;
        g->PT = ph > 0 ? ph / 2 : 0; /* the odd pixel goes to the bottom/right */
        g->PL = pw > 0 ? pw / 2 : 0;
    } else {
        g->OH = (H - kh) / sh + 1;
        g->OW = (W - kw) / sw + 1;
        g->PT = g->PL = 0;
    }
    g->N = 0;
}

lam_status lam_window_build(lam_window *g, const lam_node *n, int kh, int kw, int sh, int sw,
                            lam_padding pad)
{
    const char *cls = n->op->class_name;
    if (n->in[0].rank != 3)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): input has rank %d (shape per "
                         "sample), expected 3 (height, width, channels)", n->spec.name, cls,
                         n->in[0].rank);
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): window %dx%d, strides %dx%d; all "
                         "must be >= 1", n->spec.name, cls, kh, kw, sh, sw);
    int H = (int)n->in[0].dim[0], W = (int)n->in[0].dim[1];
    if (pad != LAM_PAD_SAME && (kh > H || kw > W))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): window %dx%d is larger than "
                         "its input %dx%d with padding \"valid\"", n->spec.name, cls, kh, kw,
                         H, W);
    window_set(g, H, W, (int)n->in[0].dim[2], kh, kw, sh, sw, pad);
    return LAM_OK;
}

lam_status lam_window_build_1d(lam_window *g, const lam_node *n, int k, int s, lam_padding pad)
{
    const char *cls = n->op->class_name;
    if (n->in[0].rank != 2)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): input has rank %d (shape per "
                         "sample), expected 2 (steps, channels)", n->spec.name, cls,
                         n->in[0].rank);
    if (k < 1 || s < 1)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): window %d, strides %d; both must "
                         "be >= 1", n->spec.name, cls, k, s);
    const int steps = (int)n->in[0].dim[0];
    if (pad != LAM_PAD_SAME && k > steps)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): window %d is longer than its "
                         "input of %d steps with padding \"valid\"", n->spec.name, cls, k,
                         steps);
    /* (steps, channels) as (steps, 1, channels): a window of width 1. */
    window_set(g, steps, 1, (int)n->in[0].dim[1], k, 1, s, 1, pad);
    return LAM_OK;
}

static bool is_1d(const lam_node *n) { return n->spec.kind == LAM_LAYER_CONV1D; }

static lam_status conv_geometry(lam_window *g, const lam_node *n)
{
    if (is_1d(n))
        return lam_window_build_1d(g, n, n->spec.kernel[0], n->spec.strides[0], n->spec.padding);
    return lam_window_build(g, n, n->spec.kernel[0], n->spec.kernel[1], n->spec.strides[0],
                            n->spec.strides[1], n->spec.padding);
}

static lam_window conv_window(const lam_node *n, int batch)
{
    lam_window g;
    conv_geometry(&g, n);
    g.N = batch;
    return g;
}

/* How a convolution is computed; chosen once at build from its shape, or
 * forced by spec.conv_algo (lam_conv_algo) where it applies.
 *   im2col     any window: one GEMM over the batch, K = KH*KW*C.
 *   winograd2  3x3, stride 1: F(2x2, 3x3), 16 GEMMs of K = C, 2.25x fewer
 *   winograd4  multiplications; F(4x4, 3x3), 36 GEMMs, 4x fewer. Worth it
 *              once C fills a vector (C >= 8); the tile follows the output
 *              size (lam_winograd_tile).
 *   direct     K = KH*KW*C <= 64: filters in vector lanes, accumulators in
 *              registers, bias and ReLU fused; chosen for C < 8 (the first
 *              layer), where im2col's GEMM (K = 9) is memory-bound. */
enum conv_algo { CONV_IM2COL, CONV_WINOGRAD2, CONV_WINOGRAD4, CONV_DIRECT };
typedef struct conv_priv { enum conv_algo algo; } conv_priv; /* the node's choice */
static enum conv_algo algo_of(const lam_node *n) { return ((const conv_priv *)n->priv)->algo; }

static lam_status conv_choose_algo(const lam_node *n, const lam_window *g, enum conv_algo *algo)
{
    static const char *const names[] = {"auto", "im2col", "winograd2", "winograd4", "direct"};
    const char *cls = n->op->class_name;
    const bool winograd = lam_winograd_applies(g), direct = lam_conv_direct_applies(g);
    const lam_conv_algo want = n->spec.conv_algo;
    if ((unsigned)want >= LAM_CONV_ALGO_COUNT)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): conv_algo is %d, expected 0..%d "
                         "(lam_conv_algo)", n->spec.name, cls, (int)want, LAM_CONV_ALGO_COUNT - 1);
    if ((want == LAM_CONV_WINOGRAD2 || want == LAM_CONV_WINOGRAD4) && !winograd)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): conv_algo %s needs a 3x3 kernel "
                         "with strides 1x1; the layer has a %dx%d kernel, strides %dx%d",
                         n->spec.name, cls, names[want], g->KH, g->KW, g->SH, g->SW);
    if (want == LAM_CONV_DIRECT && !direct)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): conv_algo direct needs "
                         "kernel_h*kernel_w*channels <= %d; the layer has %dx%dx%d = %d",
                         n->spec.name, cls, LAM_CONV_DIRECT_MAX_K, g->KH, g->KW, g->C,
                         g->KH * g->KW * g->C);
    switch (want) {
    case LAM_CONV_IM2COL: *algo = CONV_IM2COL; return LAM_OK;
    case LAM_CONV_WINOGRAD2: *algo = CONV_WINOGRAD2; return LAM_OK;
    case LAM_CONV_WINOGRAD4: *algo = CONV_WINOGRAD4; return LAM_OK;
    case LAM_CONV_DIRECT: *algo = CONV_DIRECT; return LAM_OK;
    default: break;
    }
    if (g->C < 8 && direct) *algo = CONV_DIRECT;
    else if (winograd && g->C >= 8)
        *algo = lam_winograd_tile(g) == 4 ? CONV_WINOGRAD4 : CONV_WINOGRAD2;
    else *algo = CONV_IM2COL;
    return LAM_OK;
}

static int winograd_tile(const lam_node *n) { return algo_of(n) == CONV_WINOGRAD4 ? 4 : 2; }

/* Floats of the Winograd node's cache (see winograd_kernel). */
static int64_t winograd_cache_floats(const lam_window *g, int m, int F)
{
    return 16 + lam_winograd_kernel_floats(g, m, F) + 9 * (int64_t)g->C * F;
}

static lam_status conv_build(lam_node *n)
{
    if (n->spec.units < 1 || n->spec.units > (1 << 20))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): filters is %d, expected >= 1",
                         n->spec.name, n->op->class_name, n->spec.units);
    lam_window g;
    LAM_TRY(conv_geometry(&g, n));
    if (is_1d(n)) {
        n->out.rank = 2;
        n->out.dim[0] = g.OH;
        n->out.dim[1] = n->spec.units;
        LAM_TRY(lam_node_add_tensor(n, "kernel", 3, (int64_t[]){g.KH, g.C, n->spec.units}));
    } else {
        n->out.rank = 3;
        n->out.dim[0] = g.OH;
        n->out.dim[1] = g.OW;
        n->out.dim[2] = n->spec.units;
        LAM_TRY(lam_node_add_tensor(n, "kernel", 4, (int64_t[]){g.KH, g.KW, g.C, n->spec.units}));
    }
    if (n->spec.use_bias) LAM_TRY(lam_node_add_tensor(n, "bias", 1, (int64_t[]){n->spec.units}));
    LAM_TRY(conv_choose_algo(n, &g, &((conv_priv *)n->priv)->algo));
    /* Forward keeps what the weight gradient reads: the im2col matrix or
     * the transformed input tiles (the direct path reads x itself). */
    switch (algo_of(n)) {
    case CONV_DIRECT: n->saved_floats = 0; break;
    case CONV_WINOGRAD2:
    case CONV_WINOGRAD4:
        n->saved_floats = lam_winograd_saved_floats(&g, winograd_tile(n));
        n->cache_floats = winograd_cache_floats(&g, winograd_tile(n), n->spec.units);
        break;
    default: n->saved_floats = (int64_t)g.OH * g.OW * g.KH * g.KW * g.C; break;
    }
    return LAM_OK;
}

static lam_status conv_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    /* Keras: fans are the receptive field times the channels in and out. */
    lam_window g = conv_window(n, 1);
    double receptive = (double)g.KH * g.KW;
    lam_init_glorot_uniform(p, n->tensors[0].count, receptive * g.C, receptive * n->spec.units,
                            rng);
    return LAM_OK;
}

static int64_t conv_scratch(const lam_node *n, int batch)
{
    if (algo_of(n) == CONV_DIRECT) {
        /* Per-image weight-gradient sums, then dcols for dx. */
        lam_window g = conv_window(n, batch);
        int64_t dcols = (int64_t)batch * g.OH * g.OW * g.KH * g.KW * g.C;
        int64_t sums = lam_conv_direct_scratch_floats(&g, n->spec.units);
        return sums > dcols ? sums : dcols;
    }
    if (algo_of(n) != CONV_IM2COL) {
        lam_window g = conv_window(n, batch);
        return lam_winograd_scratch_floats(&g, winograd_tile(n), n->spec.units);
    }
    return (int64_t)batch * n->saved_floats; /* dcols in backward */
}

/* x (N, H, W, C) -> y (N, OH, OW, F) */
static void conv_forward_im2col(lam_node *n, const lam_ctx *c, const float *x, float *y, int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units, K = g.KH * g.KW * g.C, M = batch * g.OH * g.OW;
    const float *bias = n->spec.use_bias ? c->params + (int64_t)K * F : NULL;
    lam_im2col(&g, x, n->saved);
    lam_gemm(false, false, M, F, K, 1.0f, n->saved, K, c->params, F, 0.0f, y, F);
    lam_node_bias_activate(n, y, bias, batch, F);
}

static void conv_backward_im2col(lam_node *n, const lam_ctx *c, const float *x,
                                 const float *y, float *dy, float *dx, int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units, K = g.KH * g.KW * g.C, M = batch * g.OH * g.OW;
    lam_node_activate_backward(n, y, dy, batch, F);
    /* dW (K, F) = cols^T . dz;  db = sum dz;  dcols = dz . W^T -> col2im */
    if (c->param_grads) {
        lam_gemm(true, false, K, F, M, 1.0f, n->saved, K, dy, F, 0.0f, c->grads, F);
        if (n->spec.use_bias) lam_bias_grad(dy, M, F, c->grads + (int64_t)K * F);
    }
    if (dx) {
        lam_gemm(false, true, M, K, F, 1.0f, dy, F, c->params, F, 0.0f, c->scratch, K);
        lam_col2im(&g, c->scratch, dx);
    }
}

/* Bias and ReLU (or none) are applied inside the kernels unless the loss
 * wants the pre-activations or the activation is another one. */
static bool conv_fuses_activation(const lam_node *n)
{
    return !n->logits && (n->spec.activation == LAM_ACT_RELU || n->spec.activation == LAM_ACT_LINEAR);
}

/* The Winograd node's cache: a validity word, then the transformed kernel
 * U, then the kernel it was computed from. Inference reuses U while the
 * weights are unchanged (compared bit for bit: callers may write weights
 * through lam_model_params at any time), which at batch 1 saves the
 * transform, a sixth of the layer's time. Training, whose weights change
 * every step, transforms into the scratch space instead. */
static const float *winograd_kernel(lam_node *n, const lam_ctx *c, const lam_window *g)
{
    const int m = winograd_tile(n), F = n->spec.units;
    const size_t kernel_bytes = sizeof(float) * 9 * (size_t)g->C * (size_t)F;
    if (c->training || !n->cache) {
        lam_winograd_transform_kernel(g, m, F, c->params, c->scratch);
        return c->scratch;
    }
    float *U = n->cache + 16, *copy = U + lam_winograd_kernel_floats(g, m, F);
    if (n->cache[0] != 1.0f || memcmp(copy, c->params, kernel_bytes) != 0) {
        lam_winograd_transform_kernel(g, m, F, c->params, U);
        memcpy(copy, c->params, kernel_bytes);
        n->cache[0] = 1.0f;
    }
    return U;
}

static void conv_forward_winograd(lam_node *n, const lam_ctx *c, const float *x, float *y,
                                  int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units;
    const float *bias = n->spec.use_bias ? c->params + (int64_t)9 * g.C * F : NULL;
    const bool fused = conv_fuses_activation(n);
    const float *U = winograd_kernel(n, c, &g);
    lam_winograd_forward(&g, winograd_tile(n), F, x, U, bias,
                         fused && n->spec.activation == LAM_ACT_RELU, n->saved, y, c->scratch);
    if (!fused) lam_node_bias_activate(n, y, NULL, batch, F);
}

static void conv_backward_winograd(lam_node *n, const lam_ctx *c, const float *x,
                                   const float *y, float *dy, float *dx, int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units;
    lam_node_activate_backward(n, y, dy, batch, F);
    lam_winograd_backward(&g, winograd_tile(n), F, c->params, n->saved, dy,
                          c->param_grads ? c->grads : NULL, dx, c->scratch);
    if (n->spec.use_bias && c->param_grads)
        lam_bias_grad(dy, (int64_t)batch * g.OH * g.OW, F, c->grads + (int64_t)9 * g.C * F);
}

/* Per-thread work of the per-sample gradients. The direct kernel: its
 * scratch for one image and, unless kept, the gradient. Else: the sample's
 * im2col rows (unless forward kept them), then the norm's work. */
static int64_t conv_sample_scratch(const lam_node *n)
{
    lam_window g = conv_window(n, 1);
    const int K = g.KH * g.KW * g.C, P = g.OH * g.OW;
    if (algo_of(n) == CONV_DIRECT)
        return lam_conv_direct_scratch_floats(&g, n->spec.units) + n->param_count;
    const int64_t cols = algo_of(n) == CONV_IM2COL ? 0 : (int64_t)P * K;
    return cols + lam_outer_sqnorm_work(P, K, n->spec.units);
}

/* Each sample's kernel gradient is its im2col rows^T . dz (P positions), its
 * bias gradient the sum of dz's rows. Formed, and kept in sample_grads when
 * the engine gives room: from them lam_backward_reweighted needs no second
 * weight-gradient pass. The direct algorithm (the first layer, C < 8) forms
 * it with its own weight kernel, ReLU's backward fused through ymask (dz is
 * then still dL/dy): im2col and a GEMM of 9 rows, plus a pass of ReLU's
 * backward over the largest output, took a third of the seed CNN's
 * per-sample work. */
static void conv_sample_grads(lam_node *n, const lam_ctx *c, const float *x, const float *dz,
                              const float *ymask, int batch)
{
    lam_window g = conv_window(n, 1);
    const int F = n->spec.units, K = g.KH * g.KW * g.C, P = g.OH * g.OW;
    const bool direct = algo_of(n) == CONV_DIRECT, cols_saved = algo_of(n) == CONV_IM2COL;
    const int64_t per = conv_sample_scratch(n), P_count = n->param_count;
    #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
    for (int b = 0; b < batch; b++) {
        float *work = c->sample_work + omp_get_thread_num() * per;
        const float *B = dz + (int64_t)b * P * F;
        double s;
        if (direct) {
            float *G = c->sample_grads ? c->sample_grads + b * P_count : work;
            lam_conv_direct_backward_weights(&g, F, x + b * n->in[0].size, B,
                                             ymask ? ymask + (int64_t)b * P * F : NULL, G,
                                             n->spec.use_bias ? G + (int64_t)K * F : NULL,
                                             work + P_count);
            s = lam_sqnorm(G, P_count);
        } else {
            const float *cols = cols_saved ? n->saved + b * n->saved_floats : work;
            if (!cols_saved) {
                lam_im2col(&g, x + b * n->in[0].size, work);
                work += (int64_t)P * K;
            }
            if (c->sample_grads) {
                float *G = c->sample_grads + b * P_count;
                lam_outer_sum(P, K, F, cols, B, G);
                if (n->spec.use_bias) lam_column_sum(P, F, B, G + (int64_t)K * F);
                s = lam_sqnorm(G, P_count);
            } else {
                s = lam_outer_sqnorm(P, K, F, cols, B, work);
                if (n->spec.use_bias) s += lam_column_sum_sqnorm(P, F, B);
            }
        }
        c->sample_sq[b] += s;
    }
}

static void conv_forward_direct(lam_node *n, const lam_ctx *c, const float *x, float *y, int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units, K = g.KH * g.KW * g.C;
    const float *bias = n->spec.use_bias ? c->params + (int64_t)K * F : NULL;
    const bool fused = conv_fuses_activation(n);
    lam_conv_direct_forward(&g, F, x, c->params, bias, fused && n->spec.activation == LAM_ACT_RELU, y);
    if (!fused) lam_node_bias_activate(n, y, NULL, batch, F);
}

static void conv_backward_direct(lam_node *n, const lam_ctx *c, const float *x, const float *y,
                                 float *dy, float *dx, int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units, K = g.KH * g.KW * g.C;
    float *dbias = n->spec.use_bias ? c->grads + (int64_t)K * F : NULL;
    /* Without dx, ReLU's backward is folded into the weight-gradient loop. */
    const bool mask = !dx && !n->grad_is_preact && n->spec.activation == LAM_ACT_RELU;
    if (!mask) lam_node_activate_backward(n, y, dy, batch, F);
    if (c->param_grads)
        lam_conv_direct_backward_weights(&g, F, x, dy, mask ? y : NULL, c->grads, dbias,
                                         c->scratch);
    if (c->sample_sq) conv_sample_grads(n, c, x, dy, mask ? y : NULL, batch);
    if (dx) {
        lam_gemm(false, true, batch * g.OH * g.OW, K, F, 1.0f, dy, F, c->params, F, 0.0f,
                 c->scratch, K);
        lam_col2im(&g, c->scratch, dx);
    }
}

static void conv_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    switch (algo_of(n)) {
    case CONV_DIRECT: conv_forward_direct(n, c, x, y, batch); break;
    case CONV_WINOGRAD2:
    case CONV_WINOGRAD4: conv_forward_winograd(n, c, x, y, batch); break;
    default: conv_forward_im2col(n, c, x, y, batch); break;
    }
}

static void conv_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                          const float *y, float *dy, float *const *dxs, int batch)
{
    const float *x = xs[0];
    float *dx = dxs[0];
    switch (algo_of(n)) {
    case CONV_DIRECT: conv_backward_direct(n, c, x, y, dy, dx, batch); break;
    case CONV_WINOGRAD2:
    case CONV_WINOGRAD4: conv_backward_winograd(n, c, x, y, dy, dx, batch); break;
    default: conv_backward_im2col(n, c, x, y, dy, dx, batch); break;
    }
    /* dy now holds dz (the direct path forms its own, inside) */
    if (c->sample_sq && algo_of(n) != CONV_DIRECT) conv_sample_grads(n, c, x, dy, NULL, batch);
}

/* The tangent is the convolution of dx without bias, then the activation's.
 * The direct kernel needs no workspace; otherwise im2col + GEMM, whatever
 * the forward used (Winograd's forward keeps its transformed input in
 * n->saved for the weight gradient, which the tangent must not touch). */
static void conv_tangent(lam_node *n, const lam_ctx *c, const float *const *xs,
                         const float *const *dxs, const float *y, float *dy, double *span,
                         int batch)
{
    lam_window g = conv_window(n, batch);
    const int F = n->spec.units, K = g.KH * g.KW * g.C, M = batch * g.OH * g.OW;
    if (algo_of(n) == CONV_DIRECT) {
        lam_conv_direct_forward(&g, F, dxs[0], c->params, NULL, false, dy);
    } else {
        lam_im2col(&g, dxs[0], c->scratch);
        lam_gemm(false, false, M, F, K, 1.0f, c->scratch, K, c->params, F, 0.0f, dy, F);
    }
    lam_node_activate_tangent(n, dy, span, batch);
}

static int64_t conv_tangent_scratch(const lam_node *n, int batch)
{
    if (algo_of(n) == CONV_DIRECT) return 0;
    lam_window g = conv_window(n, batch);
    return (int64_t)batch * g.OH * g.OW * g.KH * g.KW * g.C; /* the im2col matrix */
}

const lam_op lam_op_conv1d = {
    .kind = LAM_LAYER_CONV1D,
    .class_name = "Conv1D",
    .base_name = "conv1d",
    .priv_size = sizeof(conv_priv),
    .build = conv_build,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .scratch = conv_scratch,
    .sample_norms = true,
    .keeps_sample_grads = true,
    .sample_scratch = conv_sample_scratch,
    .tangent = conv_tangent,
    .tangent_scratch = conv_tangent_scratch,
};

const lam_op lam_op_conv2d = {
    .kind = LAM_LAYER_CONV2D,
    .class_name = "Conv2D",
    .base_name = "conv2d",
    .priv_size = sizeof(conv_priv),
    .build = conv_build,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .scratch = conv_scratch,
    .sample_norms = true,
    .keeps_sample_grads = true,
    .sample_scratch = conv_sample_scratch,
    .tangent = conv_tangent,
    .tangent_scratch = conv_tangent_scratch,
};
