/* attention_weights.c - the attention weights softmax(q k^T / sqrt(d)) of a
 * MultiHeadAttention layer for one sample. The fused kernel never forms
 * them, so they are recomputed: a forward of the sample gives the layer's
 * inputs and masks, the query and key projections are redone from the
 * layer's weights, and the reference kernel attends over values that are
 * the identity (value j = unit vector j), whose output row is then exactly
 * the row of weights, with the kernel's own causal, padding and attention
 * masks and its rule for rows that see no key. */
#include "explain/explain.h"
#include "kernels/attention.h"

#include <string.h>

/* The weight tensor of node n whose name ends in /what, or NULL. */
static const float *tensor(const lam_model *m, const lam_node *n, const char *what)
{
    const size_t lw = strlen(what);
    for (int t = 0; t < n->ntensors; t++) {
        const char *name = n->tensors[t].name;
        const size_t ln = strlen(name);
        if (ln > lw && name[ln - lw - 1] == '/' && strcmp(name + ln - lw, what) == 0)
            return m->params + n->tensors[t].offset;
    }
    return NULL;
}

/* y [rows, cols] = x [rows, in] W [in, cols] + b (b may be NULL), in double. */
static void project(const float *x, int64_t rows, int64_t in, const float *W, const float *b,
                    int64_t cols, float *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            double s = b ? b[c] : 0.0;
            for (int64_t i = 0; i < in; i++) s += (double)x[r * in + i] * W[i * cols + c];
            y[r * cols + c] = (float)s;
        }
}

lam_status lam_attention_weights(lam_model *m, const float *x, const char *layer,
                                 float **weights, int *heads, int64_t *tq, int64_t *tk)
{
    if (!m || !x || !layer || !weights || !heads || !tq || !tk)
        return lam_error(LAM_ERR_ARG, "lam_attention_weights: NULL argument");
    *weights = NULL;
    int id = -1;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->nodes[i].spec.name, layer) == 0) id = i;
    if (id < 0)
        return lam_error(LAM_ERR_ARG, "attention weights: model \"%s\" has no layer named "
                         "\"%s\"", m->name, layer);
    const lam_node *n = &m->nodes[id];
    if (n->spec.kind != LAM_LAYER_MULTI_HEAD_ATTENTION)
        return lam_error(LAM_ERR_ARG, "attention weights: layer \"%s\" is %s, not a "
                         "MultiHeadAttention layer", layer, lam_layer_kind_name(n->spec.kind));
    if (n->spec.cache_len > 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "attention weights: layer \"%s\" belongs to a "
                         "decoder (one position per call); ask its model", layer);
    if (m->ninputs != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "attention weights: model \"%s\" has %d inputs; "
                         "this explains models of one input", m->name, m->ninputs);
    LAM_TRY(lam_model_plan(m, 1));
    memcpy(lam_model_input_buffer(m, 0), x,
           sizeof(float) * (size_t)lam_model_input_node(m, 0)->out.size);
    LAM_TRY(lam_forward(m, 1, LAM_MODE_INFER));
    const lam_layer_spec *s = &n->spec;
    const int H = s->num_heads, dk = s->key_dim, key = s->key_input ? 2 : 1;
    const int mask = s->mask_input ? 2 + s->key_input : -1;
    const lam_node *qn = &m->nodes[n->inputs[0]], *kn = &m->nodes[n->inputs[key]];
    const int64_t Tq = n->in[0].dim[0], S = n->in[1].dim[0];
    const int64_t dq = n->in[0].dim[1], dkin = n->in[key].dim[1], hk = (int64_t)H * dk;
    lam_attention_args a = {.batch = 1, .tq = (int)Tq, .s = (int)S, .heads = H, .dk = dk,
                            .dv = (int)S, .causal = s->use_causal_mask,
                            .query_mask = qn->mask, .key_mask = kn->mask,
                            .mask = mask >= 0 ? m->nodes[n->inputs[mask]].value : NULL,
                            .empty_rows_zero = s->rate > 0.0f};
    float *q = lam_malloc(sizeof(float) * (size_t)(Tq * hk));
    float *k = lam_malloc(sizeof(float) * (size_t)(S * hk));
    float *v = lam_calloc((size_t)(S * H * S), sizeof(float));
    float *o = lam_malloc(sizeof(float) * (size_t)(Tq * H * S));
    double *work = lam_malloc(sizeof(double) * (size_t)lam_attention_naive_work(&a));
    float *w = lam_malloc(sizeof(float) * (size_t)(H * Tq * S));
    lam_status st = q && k && v && o && work && w ? LAM_OK : LAM_ERR_NOMEM;
    if (st == LAM_OK) {
        project(qn->value, Tq, dq, tensor(m, n, "query/kernel"), tensor(m, n, "query/bias"), hk,
                q);
        project(kn->value, S, dkin, tensor(m, n, "key/kernel"), tensor(m, n, "key/bias"), hk,
                k);
        for (int64_t j = 0; j < S; j++)
            for (int h = 0; h < H; h++) v[(j * H + h) * S + j] = 1.0f;
        lam_attention_forward_naive(&a, q, k, v, o, work);
        for (int h = 0; h < H; h++)
            for (int64_t t = 0; t < Tq; t++)
                memcpy(w + (h * Tq + t) * S, o + (t * H + h) * S, sizeof(float) * (size_t)S);
        *weights = w;
        *heads = H;
        *tq = Tq;
        *tk = S;
        w = NULL;
    }
    lam_free(q);
    lam_free(k);
    lam_free(v);
    lam_free(o);
    lam_free(work);
    lam_free(w);
    return st;
}
