/* preprocess.c - the model side of feature scaling (lamina_preprocess.h):
 * adding a Normalization layer, fitting it to data (Keras's adapt), and
 * putting one in front of a model read from a Keras spec. The layer itself
 * is src/ops/preprocessing.c; the statistics src/kernels/scaling.c. */
#include "core/model.h"
#include "kernels/scaling.h"

#include <inttypes.h>
#include <string.h>

/* Samples per piece while adapting: the statistics are merged piece by piece
 * so a data set stored as bytes (Fashion-MNIST, 47 MB) is never copied whole
 * as floats (188 MB). */
#define ADAPT_CHUNK 4096

const char *lam_scaling_name(lam_scaling s)
{
    switch (s) {
    case LAM_SCALING_NONE: return "none";
    case LAM_SCALING_STANDARD: return "standard";
    case LAM_SCALING_MINMAX: return "minmax";
    }
    return "?";
}

lam_status lam_model_add_normalization(lam_model *m, int axis)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_NORMALIZATION);
    s.axis = axis;
    return lam_model_add(m, &s);
}

lam_status lam_model_adapt_normalization(lam_model *m, int layer, const lam_dataset *data,
                                         lam_scaling how)
{
    if (!m || !data) return lam_error(LAM_ERR_ARG, "lam_model_adapt_normalization: NULL argument");
    if (layer < 0 || layer >= m->n || m->nodes[layer].spec.kind != LAM_LAYER_NORMALIZATION)
        return lam_error(LAM_ERR_ARG, "model \"%s\": layer %d is not a Normalization layer",
                         m->name, layer);
    if (how != LAM_SCALING_STANDARD && how != LAM_SCALING_MINMAX)
        return lam_error(LAM_ERR_ARG, "model \"%s\": adapting layer \"%s\": scaling %d, "
                         "expected LAM_SCALING_STANDARD or LAM_SCALING_MINMAX", m->name,
                         m->nodes[layer].spec.name, (int)how);
    const lam_node *nd = &m->nodes[m->nodes[layer].owner];
    const lam_node *src = &m->nodes[m->nodes[layer].inputs[0]];
    if (src->op)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" reads layer \"%s\"; "
                         "adapting needs a Normalization that reads a model input",
                         m->name, nd->spec.name, src->spec.name);
    if (!m->state)
        return lam_error(LAM_ERR_STATE, "model \"%s\": no weights yet: compile (or load) it "
                         "before adapting layer \"%s\"", m->name, nd->spec.name);
    const int64_t n = lam_dataset_count(data), d = lam_dataset_sample_size(data);
    if (d != src->out.size)
        return lam_error(LAM_ERR_SHAPE, "model \"%s\": adapting layer \"%s\": samples have %"
                         PRId64 " values, its input \"%s\" %" PRId64, m->name, nd->spec.name,
                         d, src->spec.name, src->out.size);
    if (n < 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": adapting layer \"%s\": the data set is "
                         "empty", m->name, nd->spec.name);
    /* The layer's own split of a sample: (outer, C, inner). */
    const int64_t C = nd->tensors[0].count, inner_outer = d / C;
    const int64_t chunk = n < ADAPT_CHUNK ? n : ADAPT_CHUNK;
    double *stats = lam_malloc(sizeof(double) * (size_t)(8 * C));
    float *x = lam_malloc(sizeof(float) * (size_t)(chunk * d));
    lam_status st = stats && x ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "adapting \"%s\"",
                                                             nd->spec.name);
    if (st == LAM_OK) {
        lam_feature_stats fs = {C, 0.0, stats, stats + C, stats + 2 * C, stats + 3 * C};
        lam_feature_stats_reset(&fs);
        /* inner: the values after the axis in a sample; outer the rest. */
        int64_t inner = 1;
        const int r = src->out.rank, a = nd->spec.axis, ax = a < 0 ? r + a : a - 1;
        for (int i = ax + 1; i < r; i++) inner *= src->out.dim[i];
        for (int64_t first = 0; first < n && st == LAM_OK; first += chunk) {
            const int64_t count = n - first < chunk ? n - first : chunk;
            st = lam_dataset_gather_at(data, NULL, first, count, x, NULL, NULL, NULL);
            const lam_norm_shape s = {count * (inner_outer / inner), C, inner};
            if (st == LAM_OK) lam_feature_stats_add(&fs, &s, x, stats + 4 * C);
        }
        if (st == LAM_OK) {
            double *offset = stats + 4 * C, *scale = stats + 5 * C;
            lam_feature_stats_scaling(&fs, how == LAM_SCALING_MINMAX, offset, scale);
            float *mean = m->state + nd->tensors[0].offset, *var = m->state + nd->tensors[1].offset;
            for (int64_t c = 0; c < C; c++) {
                mean[c] = (float)offset[c];
                var[c] = (float)(scale[c] * scale[c]);
            }
        }
    }
    lam_free(stats);
    lam_free(x);
    return st;
}

lam_status lam_model_prepend_normalization(const lam_model *src, lam_model **out, int *layer)
{
    if (!src || !out) return lam_error(LAM_ERR_ARG, "lam_model_prepend_normalization: NULL "
                                       "argument");
    *out = NULL;
    if (src->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": a Normalization goes in front of an "
                         "uncompiled model (its weights are made again)", src->name);
    if (src->ninputs != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\" has %d inputs; a Normalization is "
                         "put in front of a model with one", src->name, src->ninputs);
    const int in0 = src->input_nodes[0];
    for (int i = 0; i < src->n; i++)
        if (src->nodes[i].op && src->nodes[i].inputs[0] == in0 &&
            src->nodes[i].spec.kind == LAM_LAYER_EMBEDDING)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": its input feeds an Embedding "
                             "(\"%s\"), which takes token ids: scaling them would change the "
                             "ids", src->name, src->nodes[i].spec.name);
    lam_model *d = src->sequential ? lam_sequential(src->name) : lam_model_new(src->name);
    int *map = lam_malloc(sizeof(int) * (size_t)(src->n + 1));
    int cap = src->noutputs > 1 ? src->noutputs : 1;
    for (int i = 0; i < src->n; i++)
        if (src->nodes[i].ninputs > cap) cap = src->nodes[i].ninputs;
    int *ins = lam_malloc(sizeof(int) * (size_t)cap);
    lam_status st = d && map && ins ? LAM_OK : LAM_ERR_NOMEM;
    int norm = -1;
    for (int i = 0; i < src->n && st == LAM_OK; i++) {
        const lam_node *nd = &src->nodes[i];
        if (!nd->op) {
            st = lam_model_input(d, nd->spec.name, nd->out.rank, nd->out.dim, &map[i]);
            if (st == LAM_OK) {
                lam_layer_spec s = lam_layer_defaults(LAM_LAYER_NORMALIZATION);
                st = lam_model_call(d, &s, 1, &map[i], &norm);
                map[i] = norm; /* every reader of the input reads the Normalization */
            }
            continue;
        }
        for (int k = 0; k < nd->ninputs; k++) ins[k] = map[nd->inputs[k]];
        if (nd->owner != i)
            st = lam_model_call_shared(d, map[nd->owner], nd->ninputs, ins, &map[i]);
        else
            st = lam_model_call(d, &nd->spec, nd->ninputs, ins, &map[i]);
    }
    if (st == LAM_OK && src->noutputs > 0) {
        for (int k = 0; k < src->noutputs; k++) ins[k] = map[src->output_nodes[k]];
        st = lam_model_set_outputs(d, src->noutputs, ins);
    }
    if (st == LAM_OK) st = lam_model_copy_metadata(d, src);
    lam_free(map);
    lam_free(ins);
    if (st != LAM_OK) {
        lam_model_free(d);
        return st == LAM_ERR_NOMEM ? lam_error_context(st, "model \"%s\": adding a "
                                                       "Normalization", src->name) : st;
    }
    d->seed = src->seed;
    lam_rng_seed(&d->rng, d->seed);
    *out = d;
    if (layer) *layer = norm;
    return LAM_OK;
}
