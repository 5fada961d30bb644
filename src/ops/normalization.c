/* normalization.c - BatchNormalization and LayerNormalization over one axis
 * of an input of any rank (Keras's axis, which counts the batch axis: -1 or
 * rank is the last per-sample axis, 1 the first).
 *
 * BatchNormalization keeps gamma and beta trainable and its moving mean and
 * variance as non-trainable state. Training (LAM_MODE_TRAIN) normalises with
 * the batch's mean and biased variance and moves the statistics toward
 * them, moving = moving * momentum + batch * (1 - momentum), as Keras 3
 * does (ops.moments: the biased variance for both). Inference, with or
 * without gradients, normalises with the moving statistics, so its
 * backward is that of a fixed affine map. */
#include "kernels/normalization.h"
#include "kernels/sample_grads.h"
#include "ops/op.h"

#include <omp.h>

#include <math.h>

/* The normalised axis split out of the per-sample shape. */
typedef struct norm_priv {
    int64_t outer; /* per sample: the product of the axes before it */
    int64_t C;
    int64_t inner; /* the product of the axes after it */
} norm_priv;

static const norm_priv *priv_of(const lam_node *n) { return (const norm_priv *)n->priv; }

static lam_norm_shape shape_at(const lam_node *n, int batch)
{
    const norm_priv *p = priv_of(n);
    lam_norm_shape s = {(int64_t)batch * p->outer, p->C, p->inner};
    return s;
}

/* Resolves spec.axis, checks epsilon, sets the output (the input's shape)
 * and the axis split. */
static lam_status norm_build_common(lam_node *n)
{
    const char *cls = n->op->class_name;
    const lam_shape *in = &n->in[0];
    const int r = in->rank, a = n->spec.axis;
    const int d = a < 0 ? r + a : a - 1;
    if (a == 0 || d < 0 || d >= r)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): axis %d does not name a feature "
                         "axis of an input of rank %d (batch axis included); expected 1 to %d "
                         "or -1 to -%d", n->spec.name, cls, a, r + 1, r, r);
    if (!(n->spec.epsilon > 0.0f) || !isfinite(n->spec.epsilon))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): epsilon %g, expected a finite "
                         "value > 0", n->spec.name, cls, (double)n->spec.epsilon);
    norm_priv *p = (norm_priv *)n->priv;
    p->outer = p->inner = 1;
    for (int i = 0; i < d; i++) p->outer *= in->dim[i];
    for (int i = d + 1; i < r; i++) p->inner *= in->dim[i];
    p->C = in->dim[d];
    n->out = *in;
    if (n->spec.scale) LAM_TRY(lam_node_add_tensor(n, "gamma", 1, (int64_t[]){p->C}));
    if (n->spec.center) LAM_TRY(lam_node_add_tensor(n, "beta", 1, (int64_t[]){p->C}));
    return LAM_OK;
}

static const float *gamma_of(const lam_node *n, const lam_ctx *c)
{
    return n->spec.scale ? c->params : NULL;
}
static const float *beta_of(const lam_node *n, const lam_ctx *c)
{
    return n->spec.center ? c->params + (n->spec.scale ? priv_of(n)->C : 0) : NULL;
}

static lam_status norm_init(lam_node *n, float *params, float *state, lam_rng *rng)
{
    const int64_t C = priv_of(n)->C;
    if (n->spec.scale)
        for (int64_t c = 0; c < C; c++) params[c] = 1.0f; /* beta stays zero */
    if (n->spec.kind == LAM_LAYER_BATCH_NORM)
        for (int64_t c = 0; c < C; c++) state[C + c] = 1.0f; /* moving variance; mean zero */
    return LAM_OK;
}

/* ------------------------------------------------- BatchNormalization */

static lam_status bn_build(lam_node *n)
{
    LAM_TRY(norm_build_common(n));
    if (!(n->spec.momentum >= 0.0f && n->spec.momentum < 1.0f))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (BatchNormalization): momentum %g, "
                         "expected 0 <= momentum < 1", n->spec.name, (double)n->spec.momentum);
    const int64_t C = priv_of(n)->C;
    LAM_TRY(lam_node_add_state(n, "moving_mean", 1, (int64_t[]){C}));
    LAM_TRY(lam_node_add_state(n, "moving_variance", 1, (int64_t[]){C}));
    /* The batch's mean and 1/sqrt(var + eps) from the last training
     * forward, for its backward. */
    n->cache_floats = 2 * C;
    return LAM_OK;
}

/* Scratch: the kernels' doubles, two per-channel double sums, then three
 * per-channel floats. */
static int64_t bn_scratch_doubles(const lam_node *n, int batch)
{
    lam_norm_shape s = shape_at(n, batch);
    return lam_batchnorm_scratch_doubles(&s) + 2 * s.C;
}

static int64_t bn_scratch(const lam_node *n, int batch)
{
    return 2 * bn_scratch_doubles(n, batch) + 3 * priv_of(n)->C;
}

static void bn_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    const int64_t C = s.C;
    const float *gamma = gamma_of(n, c), *beta = beta_of(n, c);
    const double eps = n->spec.epsilon;
    double *dscratch = (double *)c->scratch;
    float *scale = c->scratch + 2 * bn_scratch_doubles(n, batch), *shift = scale + C;
    float *moving_mean = c->state, *moving_var = c->state + C;
    const float *mean = moving_mean;
    if (c->training) {
        float *batch_mean = n->cache, *batch_inv = n->cache + C, *var = shift;
        lam_batchnorm_moments(&s, xs[0], batch_mean, var, dscratch);
        const float mom = n->spec.momentum, rest = (float)(1.0 - (double)mom);
        for (int64_t k = 0; k < C; k++) {
            batch_inv[k] = (float)(1.0 / sqrt((double)var[k] + eps));
            moving_mean[k] = moving_mean[k] * mom + batch_mean[k] * rest;
            moving_var[k] = moving_var[k] * mom + var[k] * rest;
            scale[k] = batch_inv[k];
        }
        mean = batch_mean;
    } else {
        for (int64_t k = 0; k < C; k++) scale[k] = (float)(1.0 / sqrt((double)moving_var[k] + eps));
    }
    for (int64_t k = 0; k < C; k++) {
        if (gamma) scale[k] *= gamma[k];
        shift[k] = beta ? beta[k] : 0.0f;
    }
    lam_batchnorm_apply(&s, xs[0], mean, scale, shift, y);
}

static void bn_backward(lam_node *n, const lam_ctx *c, const float *const *xs, const float *y,
                        float *dy, float *const *dxs, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    const int64_t C = s.C;
    const float *gamma = gamma_of(n, c);
    float *dx = dxs[0];
    if (!dx && !n->spec.scale && !n->spec.center) return;
    double *dscratch = (double *)c->scratch;
    double *sum_dy = dscratch + lam_batchnorm_scratch_doubles(&s), *sum_dyx = sum_dy + C;
    float *a = c->scratch + 2 * bn_scratch_doubles(n, batch), *b = a + C, *d = b + C;
    const float *mean, *inv;
    if (c->training) {
        mean = n->cache;
        inv = n->cache + C;
    } else {
        const double eps = n->spec.epsilon;
        mean = c->state;
        for (int64_t k = 0; k < C; k++) d[k] = (float)(1.0 / sqrt((double)c->state[C + k] + eps));
        inv = d;
    }
    /* sum_dyx = sum of dy * (x - mean): dgamma = inv * sum_dyx, dbeta = sum_dy. */
    lam_batchnorm_grad_sums(&s, xs[0], mean, dy, sum_dy, sum_dyx, dscratch);
    float *dgamma = n->spec.scale ? c->grads : NULL;
    float *dbeta = n->spec.center ? c->grads + (n->spec.scale ? C : 0) : NULL;
    for (int64_t k = 0; k < C; k++) {
        if (dgamma) dgamma[k] = (float)(inv[k] * sum_dyx[k]);
        if (dbeta) dbeta[k] = (float)sum_dy[k];
    }
    if (!dx) return;
    if (!c->training) {
        /* y = (x - moving_mean) * inv * gamma + beta: dx = inv * gamma * dy. */
        for (int64_t k = 0; k < C; k++) a[k] = inv[k] * (gamma ? gamma[k] : 1.0f);
        lam_batchnorm_backward_data(&s, xs[0], mean, dy, a, NULL, NULL, dx);
        return;
    }
    /* With xhat = (x - mean) * inv over the N values of a channel:
     * dx = gamma * inv * (dy - sum(dy) / N - xhat * sum(dy * xhat) / N). */
    const double N = (double)(s.outer * s.inner);
    for (int64_t k = 0; k < C; k++) {
        const double g = gamma ? gamma[k] : 1.0, iv = inv[k];
        a[k] = (float)(g * iv);
        b[k] = (float)(-g * iv * iv * iv * sum_dyx[k] / N);
        d[k] = (float)(-g * iv * sum_dy[k] / N);
    }
    lam_batchnorm_backward_data(&s, xs[0], mean, dy, a, b, d, dx);
}

const lam_op lam_op_batch_norm = {
    .kind = LAM_LAYER_BATCH_NORM,
    .class_name = "BatchNormalization",
    .base_name = "batch_normalization",
    .priv_size = sizeof(norm_priv),
    .build = bn_build,
    .init = norm_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .scratch = bn_scratch,
    .mask_rule = LAM_MASK_KEEP,
};

/* ------------------------------------------------- LayerNormalization */

static lam_status ln_build(lam_node *n)
{
    LAM_TRY(norm_build_common(n));
    /* The mean and 1/sqrt(var + eps) of each normalised vector. */
    n->saved_floats = 2 * priv_of(n)->outer * priv_of(n)->inner;
    return LAM_OK;
}

static int64_t ln_scratch(const lam_node *n, int batch)
{
    lam_norm_shape s = shape_at(n, batch);
    return 2 * lam_layernorm_scratch_doubles(&s);
}

static void ln_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    float *mean = n->saved, *inv = n->saved + s.outer * s.inner;
    lam_layernorm_forward(&s, xs[0], gamma_of(n, c), beta_of(n, c), n->spec.epsilon, y, mean,
                          inv);
}

/* Per-thread work of the per-sample norms: the kernel's doubles for one
 * sample (ln_scratch counts them in floats), then that sample's gamma and
 * beta gradients; rounded up to an even count, so that every thread's
 * doubles stay aligned. */
static int64_t ln_sample_scratch(const lam_node *n)
{
    const int64_t floats = ln_scratch(n, 1) + n->param_count;
    return floats + (floats & 1);
}

/* sample_sq[b] += ||sample b's gamma and beta gradients||^2: backward's
 * kernel on that sample alone (its rows of x, dy and the saved statistics). */
static void ln_sample_norms(lam_node *n, const lam_ctx *c, const float *x, const float *dy,
                            int batch)
{
    const lam_norm_shape s1 = shape_at(n, 1);
    const int64_t rows = s1.outer * s1.inner, size = n->in[0].size, per = ln_sample_scratch(n);
    const float *mean = n->saved, *inv = n->saved + batch * rows;
    #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
    for (int b = 0; b < batch; b++) {
        float *work = c->sample_work + omp_get_thread_num() * per;
        float *g = work + ln_scratch(n, 1);
        float *dgamma = n->spec.scale ? g : NULL;
        float *dbeta = n->spec.center ? g + (n->spec.scale ? s1.C : 0) : NULL;
        lam_layernorm_backward(&s1, x + b * size, dy + b * size, gamma_of(n, c), mean + b * rows,
                               inv + b * rows, NULL, dgamma, dbeta, (double *)work);
        c->sample_sq[b] += lam_sqnorm(g, n->param_count);
    }
}

static void ln_backward(lam_node *n, const lam_ctx *c, const float *const *xs, const float *y,
                        float *dy, float *const *dxs, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    const float *mean = n->saved, *inv = n->saved + s.outer * s.inner;
    float *dgamma = c->param_grads && n->spec.scale ? c->grads : NULL;
    float *dbeta = c->param_grads && n->spec.center ? c->grads + (n->spec.scale ? s.C : 0) : NULL;
    lam_layernorm_backward(&s, xs[0], dy, gamma_of(n, c), mean, inv, dxs[0], dgamma, dbeta,
                           (double *)c->scratch);
    if (c->sample_sq) ln_sample_norms(n, c, xs[0], dy, batch);
}

const lam_op lam_op_layer_norm = {
    .kind = LAM_LAYER_LAYER_NORM,
    .class_name = "LayerNormalization",
    .base_name = "layer_normalization",
    .priv_size = sizeof(norm_priv),
    .build = ln_build,
    .init = norm_init,
    .forward = ln_forward,
    .backward = ln_backward,
    .scratch = ln_scratch,
    .sample_norms = true,
    .sample_scratch = ln_sample_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
