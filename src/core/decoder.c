/* decoder.c - a twin of a sequence model that runs one position per call,
 * for generation with a key/value cache (lam_model_decoder in lamina.h).
 *
 * The twin is the same graph rebuilt on inputs of sequence length 1: every
 * position-wise layer then runs unchanged on one row, the attention layers
 * get spec.cache_len (their keys and values of earlier positions stay in
 * their node cache) and the position embeddings read lam_ctx.position. A
 * step costs one row through the network instead of a pass over the whole
 * context, which is the point. */
#include "core/model.h"

#include <string.h>

/* NULL for a layer whose output row t depends on input row t only (or, for
 * causal attention, on rows <= t, which the cache holds), so that one row at
 * a time computes what the full sequence would; else why not, for the
 * message. */
static const char *not_per_position(const lam_layer_spec *s)
{
    switch (s->kind) {
    case LAM_LAYER_DENSE:
    case LAM_LAYER_ACTIVATION:
    case LAM_LAYER_DROPOUT:
    case LAM_LAYER_EMBEDDING:
    case LAM_LAYER_ADD:
    case LAM_LAYER_SUBTRACT:
    case LAM_LAYER_MULTIPLY:
    case LAM_LAYER_AVERAGE:
    case LAM_LAYER_MAXIMUM:
    case LAM_LAYER_MINIMUM:
    case LAM_LAYER_POSITION_EMBEDDING:
    case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING:
        return NULL;
    case LAM_LAYER_CONCATENATE:
    case LAM_LAYER_LAYER_NORM:
    case LAM_LAYER_BATCH_NORM: /* the feature axis, not the sequence */
        return s->axis == -1 ? NULL : "it works along an axis other than the last";
    case LAM_LAYER_MULTI_HEAD_ATTENTION:
        return s->use_causal_mask && !s->key_input && !s->mask_input
                   ? NULL
                   : "attention without use_causal_mask, or with a separate key or an "
                     "explicit mask, sees later positions";
    default:
        return "it combines positions (only position-wise layers, embeddings and causal "
               "attention run one position at a time)";
    }
}

static lam_status rebuild(const lam_model *m, lam_model *d)
{
    int64_t capacity = 0; /* the inputs' sequence length */
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        int id = -1;
        if (!nd->op) {
            if (nd->out.rank < 1 || (capacity && nd->out.dim[0] != capacity))
                return lam_error(LAM_ERR_SHAPE, "model \"%s\": input \"%s\" has another sequence "
                                 "length than the first input; a decoder needs one",
                                 m->name, nd->spec.name);
            capacity = nd->out.dim[0];
            int64_t shape[4];
            memcpy(shape, nd->out.dim, sizeof shape);
            shape[0] = 1;
            LAM_TRY(lam_model_input(d, nd->spec.name, nd->out.rank, shape, &id));
        } else {
            const char *why = not_per_position(&nd->spec);
            if (why)
                return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" (%s) cannot "
                                 "be decoded one position at a time: %s", m->name,
                                 nd->spec.name, nd->op->class_name, why);
            if (nd->out.rank < 2 || nd->out.dim[0] != capacity)
                return lam_error(LAM_ERR_SHAPE, "model \"%s\": layer \"%s\" (%s) has output "
                                 "shape with first axis %lld, expected the sequence length "
                                 "%lld of the inputs and a feature axis", m->name,
                                 nd->spec.name, nd->op->class_name, (long long)nd->out.dim[0],
                                 (long long)capacity);
            if (nd->owner != i) {
                LAM_TRY(lam_model_call_shared(d, nd->owner, nd->ninputs, nd->inputs, &id));
            } else {
                lam_layer_spec s = nd->spec;
                if (s.kind == LAM_LAYER_MULTI_HEAD_ATTENTION) s.cache_len = (int)capacity;
                LAM_TRY(lam_model_call(d, &s, nd->ninputs, nd->inputs, &id));
            }
        }
        if (id != i)
            return lam_error(LAM_ERR_STATE, "model \"%s\": node %d rebuilt as %d", m->name, i, id);
    }
    d->decode_capacity = capacity;
    /* No outputs set: the last node, as in m. */
    return m->noutputs ? lam_model_set_outputs(d, m->noutputs, m->output_nodes) : LAM_OK;
}

lam_status lam_model_decoder(const lam_model *m, lam_model **out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_decoder: NULL argument");
    *out = NULL;
    if (!m->params)
        return lam_error(LAM_ERR_STATE, "model \"%s\": no weights yet (compile or load it "
                         "before making its decoder)", m->name);
    lam_model *d = lam_model_new(m->name);
    if (!d) return LAM_ERR_NOMEM;
    lam_status st = rebuild(m, d);
    if (st == LAM_OK && (d->nparams != m->nparams || d->nstate != m->nstate))
        st = lam_error(LAM_ERR_STATE, "model \"%s\": the decoder has %lld weights, the model "
                       "%lld", m->name, (long long)d->nparams, (long long)m->nparams);
    if (st == LAM_OK) st = lam_model_copy_metadata(d, m); /* the tokenizer follows */
    if (st == LAM_OK) st = lam_model_init_weights(d);
    if (st == LAM_OK) {
        memcpy(d->params, m->params, sizeof(float) * (size_t)m->nparams);
        memcpy(d->state, m->state, sizeof(float) * (size_t)m->nstate);
        st = lam_model_plan(d, 1);
    }
    if (st != LAM_OK) {
        lam_model_free(d);
        return st;
    }
    *out = d;
    return LAM_OK;
}

int64_t lam_decoder_capacity(const lam_model *dec) { return dec ? dec->decode_capacity : 0; }

lam_status lam_decoder_step(lam_model *dec, int64_t position)
{
    if (!dec) return lam_error(LAM_ERR_ARG, "lam_decoder_step: NULL decoder");
    const int64_t cap = dec->decode_capacity;
    if (!cap)
        return lam_error(LAM_ERR_STATE, "model \"%s\" is not a decoder (make one with "
                         "lam_model_decoder)", dec->name);
    if (position < 0 || position >= cap)
        return lam_error(LAM_ERR_ARG, "model \"%s\": decoding position %lld, expected 0 to %lld "
                         "(the model's sequence length)", dec->name, (long long)position,
                         (long long)(cap - 1));
    dec->position = position;
    return lam_forward(dec, 1, LAM_MODE_INFER);
}
