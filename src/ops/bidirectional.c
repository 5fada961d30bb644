/* bidirectional.c - Bidirectional(LSTM | GRU | SimpleRNN), as Keras: the
 * wrapped layer twice, a forward one and a backward one (the same layer
 * with go_backwards), each with its own weights, both reading the whole
 * input. With return_sequences the backward layer's output, which comes in
 * processing order, is reversed in time before the merge, so that both
 * halves of a step's output belong to the same input time.
 *
 * The two layers are the recurrent op's own nodes, held in this op's
 * private state and run by its build/init/forward/backward on slices of
 * this node's buffers, so the recurrent computation exists once:
 *
 *   weights  forward_<x>/kernel, recurrent_kernel, bias, then backward_<x>/...
 *            (<x> the wrapped class's base name: lstm, gru, simple_rnn), as
 *            Keras orders them; twice the wrapped layer's parameters
 *   saved    forward layer's | backward layer's | yf | yb (its outputs)
 *   scratch  the recurrent op's | dyf | dyb | dx of the backward layer
 *
 * The spec's recurrent fields (units, activation, recurrent_activation,
 * use_bias, unit_forget_bias, reset_after, return_sequences) describe the
 * wrapped layer; go_backwards must be false (Keras refuses a wrapped layer
 * that already runs backwards: its two copies would run the same way). */
#include "kernels/recurrent_kernels.h"
#include "ops/op.h"

#include <stdio.h>
#include <string.h>

typedef struct bidir_priv {
    lam_node dir[2];  /* the forward and the backward layer */
    int64_t dir_params; /* parameters of one of them */
} bidir_priv;

static bidir_priv *priv_of(const lam_node *n) { return (bidir_priv *)n->priv; }

static int64_t align16(int64_t v) { return (v + 15) / 16 * 16; }

/* Per sample: one direction's output values, and T (1 without sequences). */
static int64_t dir_out(const lam_node *n) { return priv_of(n)->dir[0].out.size; }
static int steps_of(const lam_node *n) { return n->spec.return_sequences ? (int)n->in[0].dim[0] : 1; }

static lam_status bidir_build(lam_node *n)
{
    const char *name = n->spec.name;
    const lam_layer_kind w = n->spec.wrapped;
    if (w != LAM_LAYER_LSTM && w != LAM_LAYER_GRU && w != LAM_LAYER_SIMPLERNN)
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (Bidirectional): the wrapped layer "
                         "(key \"layer\") is %s, expected LSTM, GRU or SimpleRNN", name,
                         (unsigned)w < LAM_LAYER_KIND_COUNT ? lam_layer_kind_name(w) : "unknown");
    if ((unsigned)n->spec.merge_mode > LAM_MERGE_MUL)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Bidirectional): merge_mode is %d, expected "
                         "concat, sum, ave or mul", name, (int)n->spec.merge_mode);
    if (n->spec.go_backwards)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Bidirectional): the wrapped layer has "
                         "go_backwards=True, expected False (the backward copy is the one that "
                         "runs backwards)", name);
    bidir_priv *p = priv_of(n);
    const lam_op *op = lam_op_for(w);
    for (int k = 0; k < 2; k++) {
        lam_node *d = &p->dir[k];
        memset(d, 0, sizeof *d);
        d->spec = n->spec;
        d->spec.kind = w;
        d->spec.go_backwards = k == 1;
        snprintf(d->spec.name, sizeof d->spec.name, "%s_%s", k ? "backward" : "forward",
                 op->base_name);
        d->op = op;
        d->index = d->owner = n->index;
        d->ninputs = 1;
        d->in = n->in;
        lam_status st = op->build(d);
        if (st != LAM_OK)
            return lam_error_context(st, "layer \"%s\" (Bidirectional)", name);
        lam_shape_set(&d->out, d->out.rank, d->out.dim); /* as the model does after build */
        /* The weights are this layer's: "<name>/forward_lstm/kernel". */
        for (int t = 0; t < d->ntensors; t++) {
            if (strlen(name) + 1 + strlen(d->tensors[t].name) >= sizeof d->tensors[t].name)
                return lam_error(LAM_ERR_ARG, "layer \"%s\" (Bidirectional): the name is too "
                                 "long for its weight names (\"%s/%s\" exceeds %zu characters)",
                                 name, name, d->tensors[t].name, sizeof d->tensors[t].name - 1);
            LAM_TRY(lam_node_add_tensor(n, d->tensors[t].name, d->tensors[t].rank,
                                        d->tensors[t].shape));
        }
    }
    p->dir_params = 0;
    for (int t = 0; t < p->dir[0].ntensors; t++) p->dir_params += p->dir[0].tensors[t].count;
    n->out = p->dir[0].out;
    if (n->spec.merge_mode == LAM_MERGE_CONCAT) n->out.dim[n->out.rank - 1] *= 2;
    n->saved_floats = p->dir[0].saved_floats + p->dir[1].saved_floats + 2 * dir_out(n);
    return LAM_OK;
}

static lam_status bidir_init(lam_node *n, float *params, float *state, lam_rng *rng)
{
    bidir_priv *p = priv_of(n);
    for (int k = 0; k < 2; k++)
        if (p->dir[k].op->init)
            LAM_TRY(p->dir[k].op->init(&p->dir[k], params + k * p->dir_params, state, rng));
    return LAM_OK;
}

/* The recurrent op's scratch, then dyf | dyb | dxb, each 16-float aligned. */
typedef struct {
    int64_t dyf, dyb, dxb, total;
} bidir_layout;
static bidir_layout layout_of(const lam_node *n, int batch)
{
    const lam_node *d = &priv_of(n)->dir[0];
    const int64_t own = d->op->scratch ? d->op->scratch(d, batch) : 0;
    bidir_layout l;
    l.dyf = align16(own);
    l.dyb = align16(l.dyf + (int64_t)batch * dir_out(n));
    l.dxb = align16(l.dyb + (int64_t)batch * dir_out(n));
    l.total = l.dxb + (int64_t)batch * n->in[0].size;
    return l;
}

static int64_t bidir_scratch(const lam_node *n, int batch) { return layout_of(n, batch).total; }

/* Points the two layers at their slices of this call's saved buffer (its
 * layout depends on the batch) and returns yf, yb. */
static void bind_saved(lam_node *n, int batch, float **yf, float **yb)
{
    bidir_priv *p = priv_of(n);
    p->dir[0].saved = n->saved;
    p->dir[1].saved = n->saved + (int64_t)batch * p->dir[0].saved_floats;
    *yf = p->dir[1].saved + (int64_t)batch * p->dir[1].saved_floats;
    *yb = *yf + (int64_t)batch * dir_out(n);
}

static lam_ctx dir_ctx(const lam_node *n, const lam_ctx *c, int k)
{
    lam_ctx d = *c;
    d.params = c->params + k * priv_of(n)->dir_params;
    d.grads = c->grads + k * priv_of(n)->dir_params;
    return d;
}

static void bidir_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                          int batch)
{
    bidir_priv *p = priv_of(n);
    float *yo[2];
    bind_saved(n, batch, &yo[0], &yo[1]);
    for (int k = 0; k < 2; k++) {
        const lam_ctx d = dir_ctx(n, c, k);
        p->dir[k].op->forward(&p->dir[k], &d, xs, yo[k], batch);
    }
    lam_bidir_merge(batch, steps_of(n), n->spec.units, n->spec.merge_mode, yo[0], yo[1], y);
}

static void bidir_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                           const float *y, float *dy, float *const *dxs, int batch)
{
    bidir_priv *p = priv_of(n);
    const bidir_layout l = layout_of(n, batch);
    float *yf, *yb;
    bind_saved(n, batch, &yf, &yb);
    float *dyo[2] = {c->scratch + l.dyf, c->scratch + l.dyb};
    lam_bidir_split(batch, steps_of(n), n->spec.units, n->spec.merge_mode, yf, yb, dy, dyo[0],
                    dyo[1]);
    float *dxb = dxs[0] ? c->scratch + l.dxb : NULL;
    for (int k = 0; k < 2; k++) {
        const lam_ctx d = dir_ctx(n, c, k);
        float *dx[1] = {k ? dxb : dxs[0]};
        p->dir[k].op->backward(&p->dir[k], &d, xs, k ? yb : yf, dyo[k], dx, batch);
    }
    if (dxs[0]) lam_bidir_add((int64_t)batch * n->in[0].size, dxb, dxs[0]);
}

const lam_op lam_op_bidirectional = {
    .kind = LAM_LAYER_BIDIRECTIONAL,
    .class_name = "Bidirectional",
    .base_name = "bidirectional",
    .priv_size = sizeof(bidir_priv),
    .build = bidir_build,
    .init = bidir_init,
    .forward = bidir_forward,
    .backward = bidir_backward,
    .scratch = bidir_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
