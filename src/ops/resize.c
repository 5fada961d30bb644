/* resize.c - ZeroPadding2D (pad: top, bottom, left, right) and
 * UpSampling2D (size, nearest neighbour) on (height, width, channels). */
#include "kernels/resize.h"
#include "ops/op.h"

static lam_status need_image(const lam_node *n)
{
    if (n->in[0].rank != 3)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): input has rank %d (shape per "
                         "sample), expected 3 (height, width, channels)", n->spec.name,
                         n->op->class_name, n->in[0].rank);
    return LAM_OK;
}

static lam_status zero_pad_build(lam_node *n)
{
    LAM_TRY(need_image(n));
    static const char *const side[4] = {"top", "bottom", "left", "right"};
    for (int k = 0; k < 4; k++)
        if (n->spec.pad[k] < 0 || n->spec.pad[k] > (1 << 16))
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (ZeroPadding2D): padding %s is %d, "
                             "expected 0 to 65536", n->spec.name, side[k], n->spec.pad[k]);
    n->out.rank = 3;
    n->out.dim[0] = n->in[0].dim[0] + n->spec.pad[0] + n->spec.pad[1];
    n->out.dim[1] = n->in[0].dim[1] + n->spec.pad[2] + n->spec.pad[3];
    n->out.dim[2] = n->in[0].dim[2];
    return LAM_OK;
}

static void zero_pad_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                             int batch)
{
    const int64_t *d = n->in[0].dim;
    const int *p = n->spec.pad;
    lam_zero_pad2d(batch, d[0], d[1], d[2], p[0], p[1], p[2], p[3], xs[0], y);
}

static void zero_pad_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                              const float *y, float *dy, float *const *dxs, int batch)
{
    if (!dxs[0]) return;
    const int64_t *d = n->in[0].dim;
    const int *p = n->spec.pad;
    lam_zero_pad2d_backward(batch, d[0], d[1], d[2], p[0], p[1], p[2], p[3], dy, dxs[0]);
}

const lam_op lam_op_zero_padding2d = {
    .kind = LAM_LAYER_ZERO_PADDING2D,
    .class_name = "ZeroPadding2D",
    .base_name = "zero_padding2d",
    .build = zero_pad_build,
    .forward = zero_pad_forward,
    .backward = zero_pad_backward,
    .linear = true,
};

static lam_status upsample_build(lam_node *n)
{
    LAM_TRY(need_image(n));
    const int *s = n->spec.size;
    if (s[0] < 1 || s[1] < 1 || s[0] > (1 << 16) || s[1] > (1 << 16))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (UpSampling2D): size (%d, %d), expected "
                         "each 1 to 65536", n->spec.name, s[0], s[1]);
    n->out.rank = 3;
    n->out.dim[0] = n->in[0].dim[0] * s[0];
    n->out.dim[1] = n->in[0].dim[1] * s[1];
    n->out.dim[2] = n->in[0].dim[2];
    return LAM_OK;
}

static void upsample_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                             int batch)
{
    const int64_t *d = n->in[0].dim;
    lam_upsample2d(batch, d[0], d[1], d[2], n->spec.size[0], n->spec.size[1], xs[0], y);
}

static void upsample_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                              const float *y, float *dy, float *const *dxs, int batch)
{
    if (!dxs[0]) return;
    const int64_t *d = n->in[0].dim;
    lam_upsample2d_backward(batch, d[0], d[1], d[2], n->spec.size[0], n->spec.size[1], dy,
                            dxs[0]);
}

const lam_op lam_op_upsampling2d = {
    .kind = LAM_LAYER_UPSAMPLING2D,
    .class_name = "UpSampling2D",
    .base_name = "up_sampling2d",
    .build = upsample_build,
    .forward = upsample_forward,
    .backward = upsample_backward,
    .linear = true,
};
