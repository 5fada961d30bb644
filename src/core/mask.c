/* mask.c - Keras masks in the engine: which nodes carry one, where it lives,
 * and computing it before each node's forward. Ops only declare their
 * lam_mask_rule (ops/op.h); the rules are applied here, so the graph code
 * has no case per layer. */
#include "model.h"
#include "kernels/mask.h"
#include "kernels/shape_kernels.h"

#include <string.h>

/* The output has input 0's positions: the same axes but the last (Dense on
 * (T, C) -> (T, U) does; an LSTM without return_sequences, (T, C) -> (U),
 * does not). */
static bool keeps_positions(const lam_node *n)
{
    const lam_shape *in = &n->in[0];
    if (n->out.rank != in->rank) return false;
    for (int i = 0; i < in->rank - 1; i++)
        if (n->out.dim[i] != in->dim[i]) return false;
    return true;
}

bool lam_mask_present(const lam_model *m, const lam_node *n)
{
    if (!n->op) return false; /* an Input: Keras's Input carries no mask */
    int masked = 0;
    for (int k = 0; k < n->ninputs; k++) masked += m->nodes[n->inputs[k]].masked;
    switch (n->op->mask_rule) {
    case LAM_MASK_KEEP: return m->nodes[n->inputs[0]].masked && keeps_positions(n);
    case LAM_MASK_ANY: return masked == n->ninputs;
    case LAM_MASK_CONCAT: return masked > 0;
    case LAM_MASK_NONZERO_IDS: return n->spec.mask_zero;
    case LAM_MASK_NONE: break;
    }
    return false;
}

bool lam_mask_is_input0s(const lam_node *n)
{
    const lam_mask_rule r = n->op ? n->op->mask_rule : LAM_MASK_NONE;
    return r == LAM_MASK_KEEP || ((r == LAM_MASK_ANY || r == LAM_MASK_CONCAT) && n->ninputs == 1);
}

/* Concatenate's axis among a sample's axes (spec.axis counts the batch axis,
 * as Keras's; build has checked it). */
static int concat_axis(const lam_node *n)
{
    const int r = n->out.rank;
    return (n->spec.axis < 0 ? n->spec.axis + r + 1 : n->spec.axis) - 1;
}

static void concat_mask(const lam_model *m, lam_node *n, int batch)
{
    const int r = n->out.rank, p = concat_axis(n);
    const int64_t count = (int64_t)batch * lam_node_positions(n);
    if (p == r - 1) {
        /* Along the features: a position is real if it is in any input; an
         * input without a mask has every position real. */
        bool all = true;
        for (int k = 0; k < n->ninputs; k++) all &= m->nodes[n->inputs[k]].masked;
        if (!all) {
            lam_mask_fill_ones(n->mask, count, 1, count);
            return;
        }
        memcpy(n->mask, m->nodes[n->inputs[0]].mask, sizeof(float) * (size_t)count);
        for (int k = 1; k < n->ninputs; k++) lam_mask_or(n->mask, m->nodes[n->inputs[k]].mask, count);
        return;
    }
    /* Along a position axis: the masks are joined as the values are, viewed
     * as [outer, size on the axis * inner] with the last axis left out. */
    int64_t outer = batch, inner = 1, off = 0;
    for (int i = 0; i < p; i++) outer *= n->out.dim[i];
    for (int i = p + 1; i < r - 1; i++) inner *= n->out.dim[i];
    const int64_t row = n->out.dim[p] * inner;
    for (int k = 0; k < n->ninputs; k++) {
        const lam_node *src = &m->nodes[n->inputs[k]];
        const int64_t w = n->in[k].dim[p] * inner;
        if (src->masked) lam_copy_blocks(src->mask, w, n->mask + off, row, outer, w);
        else lam_mask_fill_ones(n->mask + off, row, outer, w);
        off += w;
    }
}

void lam_mask_forward(const lam_model *m, lam_node *n, int batch)
{
    if (!n->masked || lam_mask_is_input0s(n)) return; /* none, or input 0's buffer */
    const int64_t count = (int64_t)batch * lam_node_positions(n);
    switch (n->op->mask_rule) {
    case LAM_MASK_NONZERO_IDS:
        lam_mask_nonzero(m->nodes[n->inputs[0]].value, count, n->mask);
        break;
    case LAM_MASK_ANY:
        memcpy(n->mask, m->nodes[n->inputs[0]].mask, sizeof(float) * (size_t)count);
        for (int k = 1; k < n->ninputs; k++) lam_mask_or(n->mask, m->nodes[n->inputs[k]].mask, count);
        break;
    case LAM_MASK_CONCAT:
        concat_mask(m, n, batch);
        break;
    case LAM_MASK_KEEP:
    case LAM_MASK_NONE:
        break;
    }
}
