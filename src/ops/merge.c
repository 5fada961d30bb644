/* merge.c - the merging layers, as Keras: Add, Subtract, Multiply, Average,
 * Maximum, Minimum (inputs of one shape, combined elementwise) and
 * Concatenate (inputs equal but for one axis).
 *
 * Keras 3 accepts a merge of a single input (it returns that input, or
 * input / 1), so one input is allowed here too; Subtract wants exactly two.
 * Keras also broadcasts inputs of compatible shapes ((4, 1) with (4, 3));
 * lamina needs equal shapes and says so, naming the layer and both shapes.
 *
 * Maximum and Minimum send each element's gradient to one input only: the
 * one TensorFlow's gradient picks. Keras folds the inputs pairwise from the
 * left, and TF's gradient of maximum(a, b) goes to a where a >= b (minimum:
 * a <= b), so ties go to the first input attaining the extreme. */
#include "kernels/merge_kernels.h"
#include "kernels/shape_kernels.h"
#include "ops/op.h"

#include <string.h>

/* Far more inputs than any model lists; the bound only keeps counts sane. */
#define MERGE_MAX_INPUTS 4096

static const char *shape_str(const lam_shape *s, char *buf, size_t cap)
{
    return lam_dims_str(s->dim, s->rank, buf, cap);
}

static bool same_shape(const lam_shape *a, const lam_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

/* Keras's broadcasting rule: aligned on the right, each pair of sizes equal
 * or one of them 1. */
static bool broadcastable(const lam_shape *a, const lam_shape *b)
{
    for (int i = 1; i <= a->rank && i <= b->rank; i++) {
        int64_t x = a->dim[a->rank - i], y = b->dim[b->rank - i];
        if (x != y && x != 1 && y != 1) return false;
    }
    return true;
}

static lam_status elementwise_build(lam_node *n)
{
    const char *cls = n->op->class_name;
    for (int k = 1; k < n->ninputs; k++) {
        if (same_shape(&n->in[k], &n->in[0])) continue;
        char a[96], b[96];
        shape_str(&n->in[0], a, sizeof a);
        shape_str(&n->in[k], b, sizeof b);
        if (broadcastable(&n->in[0], &n->in[k]))
            return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (%s): input 0 has shape %s and "
                             "input %d shape %s; Keras would broadcast them, lamina needs every "
                             "input of one shape", n->spec.name, cls, a, k, b);
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): inputs have incompatible shapes: "
                         "input 0 is %s and input %d is %s", n->spec.name, cls, a, k, b);
    }
    n->out = n->in[0];
    return LAM_OK;
}

static int64_t total(const lam_node *n, int batch) { return (int64_t)batch * n->out.size; }

/* ------------------------------------------------------------------ Add */

static void add_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y, int batch)
{
    lam_merge_add(x, n->ninputs, total(n, batch), y);
}

static void add_backward(lam_node *n, const lam_ctx *c, const float *const *x, const float *y,
                         float *dy, float *const *dx, int batch)
{
    for (int k = 0; k < n->ninputs; k++)
        if (dx[k]) memcpy(dx[k], dy, sizeof(float) * (size_t)total(n, batch));
}

const lam_op lam_op_add = {
    .kind = LAM_LAYER_ADD,
    .class_name = "Add",
    .base_name = "add",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = elementwise_build,
    .forward = add_forward,
    .backward = add_backward,
    .mask_rule = LAM_MASK_ANY,
    .linear = true,
};

/* ------------------------------------------------------------- Subtract */

static void subtract_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                             int batch)
{
    lam_merge_subtract(x[0], x[1], total(n, batch), y);
}

static void subtract_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                              const float *y, float *dy, float *const *dx, int batch)
{
    if (dx[0]) memcpy(dx[0], dy, sizeof(float) * (size_t)total(n, batch));
    if (dx[1]) lam_merge_scale(dy, -1.0f, total(n, batch), dx[1]);
}

const lam_op lam_op_subtract = {
    .kind = LAM_LAYER_SUBTRACT,
    .class_name = "Subtract",
    .base_name = "subtract",
    .min_inputs = 2,
    .max_inputs = 2,
    .build = elementwise_build,
    .forward = subtract_forward,
    .backward = subtract_backward,
    .mask_rule = LAM_MASK_ANY,
    .linear = true,
};

/* ------------------------------------------------------------- Multiply */

static void multiply_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                             int batch)
{
    lam_merge_multiply(x, n->ninputs, total(n, batch), y);
}

static void multiply_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                              const float *y, float *dy, float *const *dx, int batch)
{
    for (int k = 0; k < n->ninputs; k++)
        if (dx[k]) lam_merge_multiply_grad(x, n->ninputs, k, dy, total(n, batch), dx[k]);
}

const lam_op lam_op_multiply = {
    .kind = LAM_LAYER_MULTIPLY,
    .class_name = "Multiply",
    .base_name = "multiply",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = elementwise_build,
    .forward = multiply_forward,
    .backward = multiply_backward,
    .mask_rule = LAM_MASK_ANY,
};

/* -------------------------------------------------------------- Average */

static void average_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                            int batch)
{
    lam_merge_average(x, n->ninputs, total(n, batch), y);
}

static void average_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                             const float *y, float *dy, float *const *dx, int batch)
{
    const float share = 1.0f / (float)n->ninputs;
    for (int k = 0; k < n->ninputs; k++)
        if (dx[k]) lam_merge_scale(dy, share, total(n, batch), dx[k]);
}

const lam_op lam_op_average = {
    .kind = LAM_LAYER_AVERAGE,
    .class_name = "Average",
    .base_name = "average",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = elementwise_build,
    .forward = average_forward,
    .backward = average_backward,
    .mask_rule = LAM_MASK_ANY,
    .linear = true,
};

/* ---------------------------------------------------- Maximum, Minimum */

static void maximum_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                            int batch)
{
    lam_merge_select(x, n->ninputs, true, total(n, batch), y);
}

static void maximum_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                             const float *y, float *dy, float *const *dx, int batch)
{
    lam_merge_select_grad(x, n->ninputs, true, dy, total(n, batch), dx);
}

static void minimum_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                            int batch)
{
    lam_merge_select(x, n->ninputs, false, total(n, batch), y);
}

static void minimum_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                             const float *y, float *dy, float *const *dx, int batch)
{
    lam_merge_select_grad(x, n->ninputs, false, dy, total(n, batch), dx);
}

const lam_op lam_op_maximum = {
    .kind = LAM_LAYER_MAXIMUM,
    .class_name = "Maximum",
    .base_name = "maximum",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = elementwise_build,
    .forward = maximum_forward,
    .backward = maximum_backward,
    .mask_rule = LAM_MASK_ANY,
};

const lam_op lam_op_minimum = {
    .kind = LAM_LAYER_MINIMUM,
    .class_name = "Minimum",
    .base_name = "minimum",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = elementwise_build,
    .forward = minimum_forward,
    .backward = minimum_backward,
    .mask_rule = LAM_MASK_ANY,
};

/* ---------------------------------------------------------- Concatenate */

/* spec.axis counts the batch axis, as Keras's: -1 is the last axis, 1 the
 * first per-sample one. Returns the per-sample axis, or -1 if it is the
 * batch axis or out of range. */
static int concat_axis(const lam_node *n)
{
    const int r = n->in[0].rank, a = n->spec.axis < 0 ? n->spec.axis + r + 1 : n->spec.axis;
    return a >= 1 && a <= r ? a - 1 : -1;
}

static lam_status concat_build(lam_node *n)
{
    const int r = n->in[0].rank, axis = n->spec.axis;
    if (axis == 0 || axis == -(r + 1))
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (Concatenate): axis %d is the batch "
                         "axis; expected an axis of the samples (1 to %d, or -%d to -1)",
                         n->spec.name, axis, r, r);
    const int p = concat_axis(n);
    if (p < 0)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Concatenate): axis %d is out of range for "
                         "inputs of rank %d (with the batch axis); expected 1 to %d, or -%d to -1",
                         n->spec.name, axis, r + 1, r, r);
    int64_t along = 0;
    for (int k = 0; k < n->ninputs; k++) {
        const lam_shape *s = &n->in[k];
        bool ok = s->rank == r;
        for (int i = 0; ok && i < r; i++) ok = i == p || s->dim[i] == n->in[0].dim[i];
        if (!ok) {
            char a[96], b[96];
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (Concatenate): input 0 has shape %s "
                             "and input %d shape %s; with axis %d, every size but the one on "
                             "that axis must match", n->spec.name, shape_str(&n->in[0], a, sizeof a),
                             k, shape_str(s, b, sizeof b), axis);
        }
        along += s->dim[p];
    }
    n->out = n->in[0];
    n->out.dim[p] = along;
    return LAM_OK;
}

/* Viewed as [outer, size on the axis * inner], each input is one column
 * block of the output. */
static void concat_layout(const lam_node *n, int batch, int64_t *outer, int64_t *inner)
{
    const int p = concat_axis(n);
    *outer = batch;
    *inner = 1;
    for (int i = 0; i < p; i++) *outer *= n->out.dim[i];
    for (int i = p + 1; i < n->out.rank; i++) *inner *= n->out.dim[i];
}

static void concat_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                           int batch)
{
    int64_t outer, inner, off = 0;
    concat_layout(n, batch, &outer, &inner);
    const int p = concat_axis(n);
    const int64_t row = n->out.dim[p] * inner;
    for (int k = 0; k < n->ninputs; k++) {
        const int64_t w = n->in[k].dim[p] * inner;
        lam_copy_blocks(x[k], w, y + off, row, outer, w);
        off += w;
    }
}

static void concat_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                            const float *y, float *dy, float *const *dx, int batch)
{
    int64_t outer, inner, off = 0;
    concat_layout(n, batch, &outer, &inner);
    const int p = concat_axis(n);
    const int64_t row = n->out.dim[p] * inner;
    for (int k = 0; k < n->ninputs; k++) {
        const int64_t w = n->in[k].dim[p] * inner;
        if (dx[k]) lam_copy_blocks(dy + off, row, dx[k], w, outer, w);
        off += w;
    }
}

const lam_op lam_op_concatenate = {
    .kind = LAM_LAYER_CONCATENATE,
    .class_name = "Concatenate",
    .base_name = "concatenate",
    .min_inputs = 1,
    .max_inputs = MERGE_MAX_INPUTS,
    .build = concat_build,
    .forward = concat_forward,
    .backward = concat_backward,
    .mask_rule = LAM_MASK_CONCAT,
    .linear = true,
};
