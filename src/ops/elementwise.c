/* elementwise.c - layers that keep every value where it is: Flatten,
 * Activation, Dropout. */
#include "kernels/activation.h"
#include "kernels/dropout.h"
#include "ops/op.h"

#include <string.h>

static lam_status flatten_build(lam_node *n)
{
    n->out.rank = 1;
    n->out.dim[0] = n->in[0].size; /* NHWC order: (h*W + w)*C + c, as Keras */
    return LAM_OK;
}

const lam_op lam_op_flatten = {
    .kind = LAM_LAYER_FLATTEN,
    .class_name = "Flatten",
    .base_name = "flatten",
    .build = flatten_build,
    .aliases_input = true, /* (h*W + w)*C + c: the NHWC bytes as they are */
};

static lam_status same_shape_build(lam_node *n)
{
    n->out.rank = n->in[0].rank;
    memcpy(n->out.dim, n->in[0].dim, sizeof n->out.dim);
    return LAM_OK;
}

static lam_status activation_build(lam_node *n)
{
    if ((unsigned)n->spec.activation >= LAM_ACT_COUNT)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Activation): unknown activation %d",
                         n->spec.name, n->spec.activation);
    return same_shape_build(n);
}

static int64_t last_axis(const lam_node *n) { return n->in[0].dim[n->in[0].rank - 1]; }

static void activation_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    memcpy(y, x, sizeof(float) * (size_t)batch * (size_t)n->in[0].size);
    lam_node_bias_activate(n, y, NULL, batch, last_axis(n));
}

static void activation_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                const float *y, float *dy, float *const *dxs, int batch)
{
    float *dx = dxs[0];
    if (!dx) return;
    lam_node_activate_backward(n, y, dy, batch, last_axis(n));
    memcpy(dx, dy, sizeof(float) * (size_t)batch * (size_t)n->in[0].size);
}

static void activation_tangent(lam_node *n, const lam_ctx *c, const float *const *xs,
                               const float *const *dxs, const float *y, float *dy,
                               double *span, int batch)
{
    memcpy(dy, dxs[0], sizeof(float) * (size_t)batch * (size_t)n->in[0].size);
    lam_node_activate_tangent(n, dy, span, batch);
}

const lam_op lam_op_activation = {
    .kind = LAM_LAYER_ACTIVATION,
    .class_name = "Activation",
    .base_name = "activation",
    .build = activation_build,
    .forward = activation_forward,
    .backward = activation_backward,
    .tangent = activation_tangent,
    .mask_rule = LAM_MASK_KEEP,
};

static lam_status dropout_build(lam_node *n)
{
    if (!(n->spec.rate >= 0.0f && n->spec.rate < 1.0f))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Dropout): rate %g, expected 0 <= rate < 1",
                         n->spec.name, (double)n->spec.rate);
    n->saved_floats = n->in[0].size; /* the mask, already scaled by 1/(1-rate) */
    return same_shape_build(n);
}

static void dropout_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    /* The mask depends on (seed, step, layer, sample in the global batch) only:
     * reproducible whatever the threads, and whatever the data-parallel ranks. */
    lam_dropout_forward(batch, n->in[0].size, c->training ? n->spec.rate : 0.0f, c->seed,
                        (uint64_t)c->step, (uint64_t)n->index, c->batch_offset, xs[0], n->saved,
                        y);
}

static void dropout_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                             const float *y, float *dy, float *const *dxs, int batch)
{
    if (dxs[0]) lam_dropout_backward((int64_t)batch * n->in[0].size, n->saved, dy, dxs[0]);
}

/* The forward's mask (all ones at inference) times dx. */
static void dropout_tangent(lam_node *n, const lam_ctx *c, const float *const *xs,
                            const float *const *dxs, const float *y, float *dy, double *span,
                            int batch)
{
    lam_dropout_backward((int64_t)batch * n->in[0].size, n->saved, dxs[0], dy);
}

const lam_op lam_op_dropout = {
    .kind = LAM_LAYER_DROPOUT,
    .class_name = "Dropout",
    .base_name = "dropout",
    .build = dropout_build,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .tangent = dropout_tangent,
    .mask_rule = LAM_MASK_KEEP,
};
