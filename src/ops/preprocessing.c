/* preprocessing.c - Keras's Normalization layer: a fixed per-feature affine
 * map, y = (x - mean) / max(sqrt(variance), 1e-7), or with invert
 * y = mean + x * max(sqrt(variance), 1e-7), exactly as Keras 3's call (whose
 * epsilon is keras.config.epsilon(), 1e-7). mean and variance are
 * non-trainable weights (the state buffer), one per index of the layer's
 * axis: zero and one until lam_model_adapt_normalization (preprocess.c)
 * fits them, then saved with the model like BatchNormalization's moving
 * statistics. Training does not change them, so forward is the same in
 * every mode and backward is that of the affine map (no weight gradients).
 *
 * Keras also keeps a scalar integer "count" for old files; lamina has no
 * use for it and does not hold it. */
#include "kernels/scaling.h"
#include "ops/op.h"

#include <math.h>

/* keras.config.epsilon(): the floor of the standard deviation. */
#define KERAS_EPSILON 1e-7f

/* The feature axis split out of the per-sample shape. */
typedef struct scale_priv {
    int64_t outer, C, inner;
} scale_priv;

static lam_norm_shape shape_at(const lam_node *n, int batch)
{
    const scale_priv *p = (const scale_priv *)n->priv;
    lam_norm_shape s = {(int64_t)batch * p->outer, p->C, p->inner};
    return s;
}

static lam_status normalization_build(lam_node *n)
{
    const lam_shape *in = &n->in[0];
    const int r = in->rank, a = n->spec.axis;
    const int d = a < 0 ? r + a : a - 1;
    if (a == 0 || d < 0 || d >= r)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Normalization): axis %d does not name a "
                         "feature axis of an input of rank %d (batch axis included); expected "
                         "1 to %d or -1 to -%d", n->spec.name, a, r + 1, r, r);
    scale_priv *p = (scale_priv *)n->priv;
    p->outer = p->inner = 1;
    for (int i = 0; i < d; i++) p->outer *= in->dim[i];
    for (int i = d + 1; i < r; i++) p->inner *= in->dim[i];
    p->C = in->dim[d];
    n->out = *in;
    LAM_TRY(lam_node_add_state(n, "mean", 1, (int64_t[]){p->C}));
    LAM_TRY(lam_node_add_state(n, "variance", 1, (int64_t[]){p->C}));
    return LAM_OK;
}

static lam_status normalization_init(lam_node *n, float *params, float *state, lam_rng *rng)
{
    const int64_t C = ((const scale_priv *)n->priv)->C;
    for (int64_t c = 0; c < C; c++) state[C + c] = 1.0f; /* variance; the mean stays zero */
    return LAM_OK;
}

/* max(sqrt(variance), epsilon) per feature into den, in float as Keras. */
static const float *denominators(const lam_node *n, const lam_ctx *c)
{
    const int64_t C = ((const scale_priv *)n->priv)->C;
    for (int64_t k = 0; k < C; k++) {
        const float sd = sqrtf(c->state[C + k]);
        c->scratch[k] = sd > KERAS_EPSILON ? sd : KERAS_EPSILON;
    }
    return c->scratch;
}

static int64_t normalization_scratch(const lam_node *n, int batch)
{
    return ((const scale_priv *)n->priv)->C;
}

static void normalization_forward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                  float *y, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    lam_scale_features(&s, xs[0], c->state, denominators(n, c), n->spec.invert, y);
}

static void normalization_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                   const float *y, float *dy, float *const *dxs, int batch)
{
    if (!dxs[0]) return;
    const lam_norm_shape s = shape_at(n, batch);
    lam_scale_features_backward(&s, dy, denominators(n, c), n->spec.invert, dxs[0]);
}

/* The derivative of an affine map is its linear part, everywhere: no span
 * to lower. */
static void normalization_tangent(lam_node *n, const lam_ctx *c, const float *const *x,
                                  const float *const *dx, const float *y, float *dy,
                                  double *span, int batch)
{
    const lam_norm_shape s = shape_at(n, batch);
    lam_scale_features_backward(&s, dx[0], denominators(n, c), n->spec.invert, dy);
}

const lam_op lam_op_normalization = {
    .kind = LAM_LAYER_NORMALIZATION,
    .class_name = "Normalization",
    .base_name = "normalization",
    .priv_size = sizeof(scale_priv),
    .build = normalization_build,
    .init = normalization_init,
    .forward = normalization_forward,
    .backward = normalization_backward,
    .scratch = normalization_scratch,
    .tangent = normalization_tangent,
    .tangent_scratch = normalization_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
