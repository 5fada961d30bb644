/* pooling.c - MaxPooling2D (records which input won, for backward) and
 * AveragePooling2D; MaxPooling1D and AveragePooling1D are the same on
 * (steps, channels) seen as (steps, 1, channels). */
#include "ops/window.h"

static int pool_stride(const lam_node *n, int axis)
{
    return n->spec.strides[axis] > 0 ? n->spec.strides[axis] : n->spec.pool[axis];
}

static bool is_1d(const lam_node *n)
{
    return n->spec.kind == LAM_LAYER_MAXPOOL1D || n->spec.kind == LAM_LAYER_AVGPOOL1D;
}

static lam_status pool_geometry(lam_window *g, const lam_node *n)
{
    if (is_1d(n))
        return lam_window_build_1d(g, n, n->spec.pool[0], pool_stride(n, 0), n->spec.padding);
    return lam_window_build(g, n, n->spec.pool[0], n->spec.pool[1], pool_stride(n, 0),
                            pool_stride(n, 1), n->spec.padding);
}

static lam_window pool_window(const lam_node *n, int batch)
{
    lam_window g;
    pool_geometry(&g, n);
    g.N = batch;
    return g;
}

static lam_status pool_build(lam_node *n)
{
    lam_window g;
    LAM_TRY(pool_geometry(&g, n));
    if (is_1d(n)) {
        n->out.rank = 2;
        n->out.dim[0] = g.OH;
        n->out.dim[1] = g.C;
    } else {
        n->out.rank = 3;
        n->out.dim[0] = g.OH;
        n->out.dim[1] = g.OW;
        n->out.dim[2] = g.C;
    }
    if (n->spec.kind == LAM_LAYER_MAXPOOL2D || n->spec.kind == LAM_LAYER_MAXPOOL1D)
        n->saved_ints = lam_maxpool_record_ints(&g);
    return LAM_OK;
}

static void maxpool_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    lam_window g = pool_window(n, batch);
    /* Which input won is only needed when a backward pass follows. */
    lam_maxpool_forward(&g, x, y, c->record ? n->saved_idx : NULL);
}

static void maxpool_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                             const float *y, float *dy, float *const *dxs, int batch)
{
    float *dx = dxs[0];
    if (!dx) return;
    lam_window g = pool_window(n, batch);
    lam_maxpool_backward(&g, dy, n->saved_idx, dx);
}

static void maxpool_tangent(lam_node *n, const lam_ctx *c, const float *const *xs,
                            const float *const *dxs, const float *y, float *dy, double *span,
                            int batch)
{
    lam_window g = pool_window(n, batch);
    lam_maxpool_tangent(&g, xs[0], dxs[0], dy, span);
}

static void avgpool_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    lam_window g = pool_window(n, batch);
    lam_avgpool_forward(&g, x, y);
}

static void avgpool_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                             const float *y, float *dy, float *const *dxs, int batch)
{
    float *dx = dxs[0];
    if (!dx) return;
    lam_window g = pool_window(n, batch);
    lam_avgpool_backward(&g, dy, dx);
}

const lam_op lam_op_maxpool2d = {
    .kind = LAM_LAYER_MAXPOOL2D,
    .class_name = "MaxPooling2D",
    .base_name = "max_pooling2d",
    .build = pool_build,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .tangent = maxpool_tangent,
};
const lam_op lam_op_avgpool2d = {
    .kind = LAM_LAYER_AVGPOOL2D,
    .class_name = "AveragePooling2D",
    .base_name = "average_pooling2d",
    .build = pool_build,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .linear = true,
};
const lam_op lam_op_maxpool1d = {
    .kind = LAM_LAYER_MAXPOOL1D,
    .class_name = "MaxPooling1D",
    .base_name = "max_pooling1d",
    .build = pool_build,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .tangent = maxpool_tangent,
};
const lam_op lam_op_avgpool1d = {
    .kind = LAM_LAYER_AVGPOOL1D,
    .class_name = "AveragePooling1D",
    .base_name = "average_pooling1d",
    .build = pool_build,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .linear = true,
};
