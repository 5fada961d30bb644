/* global_pooling.c - GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D
 * (keepdims false, as Keras's default): (steps, C) or (H, W, C) -> (C).
 *
 * Masks, as Keras 3: GlobalAveragePooling1D averages over the real positions
 * only (its output has no positions left, so no mask). The others do not
 * support masking in Keras: they pool over every position and drop the mask
 * (GlobalMaxPooling1D included, so padding can win its max), and so do these. */
#include "kernels/global_pooling.h"
#include "ops/op.h"

static bool is_1d(const lam_node *n)
{
    return n->spec.kind == LAM_LAYER_GLOBAL_AVGPOOL1D || n->spec.kind == LAM_LAYER_GLOBAL_MAXPOOL1D;
}
static bool is_max(const lam_node *n)
{
    return n->spec.kind == LAM_LAYER_GLOBAL_MAXPOOL1D || n->spec.kind == LAM_LAYER_GLOBAL_MAXPOOL2D;
}

static int64_t channels(const lam_node *n) { return n->in[0].dim[n->in[0].rank - 1]; }
static int64_t positions(const lam_node *n) { return n->in[0].size / channels(n); }

/* GlobalAveragePooling1D's input mask (NULL: none); the 2-D layer ignores one. */
static const float *used_mask(const lam_node *n, const lam_ctx *c)
{
    return is_1d(n) ? c->masks[0] : NULL;
}

static lam_status global_pool_build(lam_node *n)
{
    const int want = is_1d(n) ? 2 : 3;
    if (n->in[0].rank != want)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): input has rank %d (shape per "
                         "sample), expected %d (%s)", n->spec.name, n->op->class_name,
                         n->in[0].rank, want, is_1d(n) ? "steps, channels" : "height, width, channels");
    n->out.rank = 1;
    n->out.dim[0] = channels(n);
    if (is_max(n)) n->saved_ints = channels(n); /* the winning position of each channel */
    return LAM_OK;
}

static void global_pool_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                                int batch)
{
    if (is_max(n))
        lam_global_maxpool_forward(batch, positions(n), channels(n), xs[0], y,
                                   c->record ? n->saved_idx : NULL);
    else
        lam_global_avgpool_forward(batch, positions(n), channels(n), xs[0], used_mask(n, c), y);
}

static void global_pool_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                 const float *y, float *dy, float *const *dxs, int batch)
{
    if (!dxs[0]) return;
    if (is_max(n))
        lam_global_maxpool_backward(batch, positions(n), channels(n), dy, n->saved_idx, dxs[0]);
    else
        lam_global_avgpool_backward(batch, positions(n), channels(n), dy, used_mask(n, c), dxs[0]);
}

#define GLOBAL_POOL_OP(sym, KIND, cls, base)                                                      \
    const lam_op sym = {                                                                          \
        .kind = KIND,                                                                             \
        .class_name = cls,                                                                        \
        .base_name = base,                                                                        \
        .build = global_pool_build,                                                               \
        .forward = global_pool_forward,                                                           \
        .backward = global_pool_backward,                                                         \
    }

GLOBAL_POOL_OP(lam_op_global_avgpool1d, LAM_LAYER_GLOBAL_AVGPOOL1D, "GlobalAveragePooling1D",
               "global_average_pooling1d");
GLOBAL_POOL_OP(lam_op_global_avgpool2d, LAM_LAYER_GLOBAL_AVGPOOL2D, "GlobalAveragePooling2D",
               "global_average_pooling2d");
GLOBAL_POOL_OP(lam_op_global_maxpool1d, LAM_LAYER_GLOBAL_MAXPOOL1D, "GlobalMaxPooling1D",
               "global_max_pooling1d");
GLOBAL_POOL_OP(lam_op_global_maxpool2d, LAM_LAYER_GLOBAL_MAXPOOL2D, "GlobalMaxPooling2D",
               "global_max_pooling2d");
