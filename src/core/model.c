/* model.c - building a Sequential graph, its parameter layout, compile, the
 * memory plan, and forward/backward over the whole graph. */
#include "model.h"

#include <math.h>
#include <string.h>

static const char *const activation_names[LAM_ACT_COUNT] = {"linear", "relu", "sigmoid",
                                                            "tanh", "softmax"};

const char *lam_activation_name(lam_activation act)
{
    return (unsigned)act < LAM_ACT_COUNT ? activation_names[act] : "?";
}

lam_status lam_activation_parse(const char *name, lam_activation *out)
{
    for (int i = 0; i < LAM_ACT_COUNT; i++)
        if (strcmp(name, activation_names[i]) == 0) {
            *out = (lam_activation)i;
            return LAM_OK;
        }
    return lam_error(LAM_ERR_UNSUPPORTED,
                     "activation \"%s\" is not supported (expected one of linear, relu, "
                     "sigmoid, tanh, softmax)", name);
}

const char *lam_layer_kind_name(lam_layer_kind kind)
{
    if (kind == LAM_LAYER_INPUT) return "InputLayer";
    const lam_op *op = lam_op_for(kind);
    return op ? op->class_name : "?";
}

lam_layer_spec lam_layer_defaults(lam_layer_kind kind)
{
    lam_layer_spec s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.kernel[0] = s.kernel[1] = 3;
    s.strides[0] = s.strides[1] = 1;
    s.pool[0] = s.pool[1] = 2;
    s.padding = LAM_PAD_VALID;
    s.activation = LAM_ACT_LINEAR;
    s.recurrent_activation = LAM_ACT_SIGMOID;
    s.use_bias = true;
    s.unit_forget_bias = true;
    s.reset_after = true;
    if (kind == LAM_LAYER_MAXPOOL2D || kind == LAM_LAYER_AVGPOOL2D)
        s.strides[0] = s.strides[1] = 0; /* 0 = the pool size, as Keras's None */
    if (kind == LAM_LAYER_LSTM || kind == LAM_LAYER_GRU || kind == LAM_LAYER_SIMPLERNN)
        s.activation = LAM_ACT_TANH;
    return s;
}

lam_model *lam_sequential(const char *name)
{
    lam_model *m = lam_calloc(1, sizeof *m);
    if (!m) return NULL;
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : "sequential");
    m->seed = 1337;
    lam_rng_seed(&m->rng, m->seed);
    return m;
}

static void model_free_plan(lam_model *m)
{
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        if (i > 0 && nd->op->aliases_input) {
            nd->out = nd->dout = NULL; /* the input's buffers */
            continue;
        }
        if (i > 0) lam_free_aligned(nd->out);
        lam_free_aligned(nd->dout);
        lam_free_aligned(nd->saved);
        lam_free_aligned(nd->logits);
        lam_free_aligned(nd->saved_idx);
        lam_free_aligned(nd->cache);
        nd->out = nd->dout = nd->saved = nd->logits = nd->cache = NULL;
        nd->saved_idx = NULL;
    }
    lam_free_aligned(m->xbuf);
    lam_free(m->labels);
    lam_free_aligned(m->targets);
    lam_free_aligned(m->scratch);
    m->xbuf = m->targets = m->scratch = NULL;
    m->labels = NULL;
    m->planned_batch = 0;
    if (m->n) m->nodes[0].out = NULL;
}

void lam_model_free(lam_model *m)
{
    if (!m) return;
    model_free_plan(m);
    lam_free_aligned(m->params);
    lam_free_aligned(m->grads);
    for (int i = 0; i < LAM_MAX_SLOTS; i++) lam_free_aligned(m->slots[i]);
    lam_free(m->nodes);
    lam_free(m);
}

void lam_model_set_seed(lam_model *m, uint64_t seed)
{
    m->seed = seed;
    lam_rng_seed(&m->rng, seed);
}

const char *lam_model_name(const lam_model *m) { return m->name; }
int lam_model_num_layers(const lam_model *m) { return m->n; }
const lam_layer_spec *lam_model_layer(const lam_model *m, int i)
{
    return i >= 0 && i < m->n ? &m->nodes[i].spec : NULL;
}
lam_node *lam_model_last(lam_model *m) { return &m->nodes[m->n - 1]; }

int lam_model_layer_output_shape(const lam_model *m, int i, int64_t shape[4])
{
    if (i < 0 || i >= m->n) return 0;
    memcpy(shape, m->nodes[i].out_shape, sizeof(int64_t) * 4);
    return m->nodes[i].out_rank;
}

int64_t lam_model_layer_param_count(const lam_model *m, int i)
{
    return i >= 0 && i < m->n ? m->nodes[i].param_count : 0;
}
int64_t lam_model_param_count(const lam_model *m) { return m->nparams; }
int64_t lam_model_input_size(const lam_model *m) { return m->n ? m->nodes[0].out_size : 0; }
int64_t lam_model_output_size(const lam_model *m)
{
    return m->n ? m->nodes[m->n - 1].out_size : 0;
}
int lam_model_input_shape(const lam_model *m, int64_t shape[4])
{
    return lam_model_layer_output_shape(m, 0, shape);
}

/* Keras names layers by class: conv2d, conv2d_1, ... counted per model. */
static void auto_name(lam_model *m, lam_node *nd, const char *base)
{
    int count = 0;
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].spec.kind == nd->spec.kind) count++;
    if (count == 0) snprintf(nd->spec.name, sizeof nd->spec.name, "%s", base);
    else snprintf(nd->spec.name, sizeof nd->spec.name, "%s_%d", base, count);
}

lam_status lam_model_add(lam_model *m, const lam_layer_spec *spec)
{
    if (!m || !spec) return lam_error(LAM_ERR_ARG, "lam_model_add: NULL argument");
    if (m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": cannot add layers after compile", m->name);
    if ((unsigned)spec->kind >= LAM_LAYER_KIND_COUNT)
        return lam_error(LAM_ERR_ARG, "model \"%s\": unknown layer kind %d", m->name, spec->kind);
    const lam_op *op = spec->kind == LAM_LAYER_INPUT ? NULL : lam_op_for(spec->kind);
    if (spec->kind != LAM_LAYER_INPUT && (!op || !op->build))
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer %s is not available in this build",
                         m->name, lam_layer_kind_name(spec->kind));
    if (spec->kind == LAM_LAYER_INPUT && m->n > 0)
        return lam_error(LAM_ERR_ARG, "model \"%s\": an Input layer must come first", m->name);
    if (spec->kind != LAM_LAYER_INPUT && m->n == 0)
        return lam_error(LAM_ERR_STATE,
                         "model \"%s\": layer %s added before any Input layer (give the "
                         "input shape first)", m->name, lam_layer_kind_name(spec->kind));
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        lam_node *nodes = lam_realloc(m->nodes, sizeof *nodes * (size_t)cap);
        if (!nodes) return LAM_ERR_NOMEM;
        m->nodes = nodes;
        m->cap = cap;
    }
    lam_node *nd = &m->nodes[m->n];
    memset(nd, 0, sizeof *nd);
    nd->spec = *spec;
    nd->spec.name[sizeof nd->spec.name - 1] = '\0';
    nd->op = op;
    nd->index = m->n;
    if (!nd->spec.name[0]) auto_name(m, nd, op ? op->base_name : "input_layer");
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->nodes[i].spec.name, nd->spec.name) == 0)
            return lam_error(LAM_ERR_ARG, "model \"%s\": two layers are named \"%s\"", m->name,
                             nd->spec.name);

    if (spec->kind == LAM_LAYER_INPUT) {
        if (spec->rank < 1 || spec->rank > 4)
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): shape has rank %d, "
                             "expected 1 to 4", nd->spec.name, spec->rank);
        int64_t size = 1;
        for (int i = 0; i < spec->rank; i++) {
            if (spec->shape[i] < 1 || spec->shape[i] > (1 << 24))
                return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): dimension %d is "
                                 "%lld, expected 1 to 16777216", nd->spec.name, i,
                                 (long long)spec->shape[i]);
            size *= spec->shape[i];
        }
        if (size > (1 << 28))
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): %lld values per sample "
                             "is too many", nd->spec.name, (long long)size);
        nd->out_rank = spec->rank;
        memcpy(nd->out_shape, spec->shape, sizeof nd->out_shape);
        nd->out_size = size;
    } else {
        const lam_node *prev = &m->nodes[m->n - 1];
        nd->in_rank = prev->out_rank;
        memcpy(nd->in_shape, prev->out_shape, sizeof nd->in_shape);
        nd->in_size = prev->out_size;
        LAM_TRY(op->build(nd));
        nd->out_size = 1;
        for (int i = 0; i < nd->out_rank; i++) nd->out_size *= nd->out_shape[i];
        if (nd->out_size < 1 || nd->out_size > (1 << 28))
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): output of %lld values per "
                             "sample", nd->spec.name, op->class_name, (long long)nd->out_size);
        nd->param_offset = m->nparams;
        nd->param_count = 0;
        for (int t = 0; t < nd->ntensors; t++) {
            nd->tensors[t].offset = m->nparams + nd->param_count;
            nd->param_count += nd->tensors[t].count;
        }
    }
    m->nparams += nd->param_count;
    m->n++;
    return LAM_OK;
}

lam_status lam_model_add_input(lam_model *m, int rank, const int64_t *shape)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_INPUT);
    s.rank = rank;
    for (int i = 0; i < rank && i < 4; i++) s.shape[i] = shape[i];
    return lam_model_add(m, &s);
}

lam_status lam_model_add_dense(lam_model *m, int units, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = units;
    s.activation = act;
    return lam_model_add(m, &s);
}

lam_status lam_model_add_conv2d(lam_model *m, int filters, int kh, int kw, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
    s.units = filters;
    s.kernel[0] = kh;
    s.kernel[1] = kw;
    s.activation = act;
    return lam_model_add(m, &s);
}

static lam_status add_pool(lam_model *m, lam_layer_kind kind, int ph, int pw)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.pool[0] = ph;
    s.pool[1] = pw;
    return lam_model_add(m, &s);
}
lam_status lam_model_add_maxpool2d(lam_model *m, int ph, int pw)
{
    return add_pool(m, LAM_LAYER_MAXPOOL2D, ph, pw);
}
lam_status lam_model_add_avgpool2d(lam_model *m, int ph, int pw)
{
    return add_pool(m, LAM_LAYER_AVGPOOL2D, ph, pw);
}

lam_status lam_model_add_flatten(lam_model *m)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_FLATTEN);
    return lam_model_add(m, &s);
}

lam_status lam_model_add_activation(lam_model *m, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_ACTIVATION);
    s.activation = act;
    return lam_model_add(m, &s);
}

lam_status lam_model_add_dropout(lam_model *m, float rate)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DROPOUT);
    s.rate = rate;
    return lam_model_add(m, &s);
}

static lam_status add_recurrent(lam_model *m, lam_layer_kind kind, int units, bool seq)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.units = units;
    s.return_sequences = seq;
    return lam_model_add(m, &s);
}
lam_status lam_model_add_lstm(lam_model *m, int units, bool return_sequences)
{
    return add_recurrent(m, LAM_LAYER_LSTM, units, return_sequences);
}
lam_status lam_model_add_gru(lam_model *m, int units, bool return_sequences)
{
    return add_recurrent(m, LAM_LAYER_GRU, units, return_sequences);
}
lam_status lam_model_add_simplernn(lam_model *m, int units, bool return_sequences)
{
    return add_recurrent(m, LAM_LAYER_SIMPLERNN, units, return_sequences);
}

/* ----------------------------------------------------------------- tensors */

int lam_model_num_tensors(const lam_model *m)
{
    int k = 0;
    for (int i = 0; i < m->n; i++) k += m->nodes[i].ntensors;
    return k;
}

lam_status lam_model_tensor(const lam_model *m, int idx, lam_tensor_info *info)
{
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (idx < nd->ntensors) {
            const lam_param_desc *t = &nd->tensors[idx];
            info->name = t->name;
            info->rank = t->rank;
            memcpy(info->shape, t->shape, sizeof info->shape);
            info->count = t->count;
            info->data = m->params ? m->params + t->offset : NULL;
            info->grad = m->grads ? m->grads + t->offset : NULL;
            return LAM_OK;
        }
        idx -= nd->ntensors;
    }
    return lam_error(LAM_ERR_ARG, "model \"%s\": no weight tensor %d", m->name, idx);
}

float *lam_model_params(lam_model *m) { return m->params; }
float *lam_model_grads(lam_model *m) { return m->grads; }
int lam_model_num_slots(const lam_model *m) { return m->nslots; }
float *lam_model_slot(lam_model *m, int i) { return i >= 0 && i < m->nslots ? m->slots[i] : NULL; }

void lam_node_add_tensor(lam_node *n, const char *what, int rank, const int64_t *shape)
{
    lam_param_desc *t = &n->tensors[n->ntensors++];
    snprintf(t->name, sizeof t->name, "%s/%s", n->spec.name, what);
    t->rank = rank;
    t->count = 1;
    for (int i = 0; i < 4; i++) t->shape[i] = i < rank ? shape[i] : 0;
    for (int i = 0; i < rank; i++) t->count *= shape[i];
}

/* ----------------------------------------------------------------- compile */

lam_loss lam_model_loss(const lam_model *m) { return m->loss; }
const lam_optimizer *lam_model_optimizer(const lam_model *m) { return &m->opt; }

lam_status lam_model_compile(lam_model *m, const lam_optimizer *opt, lam_loss loss)
{
    if (!m || !opt) return lam_error(LAM_ERR_ARG, "lam_model_compile: NULL argument");
    if (m->n < 2)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile needs an Input layer and at "
                         "least one more layer", m->name);
    if ((unsigned)loss >= LAM_LOSS_COUNT)
        return lam_error(LAM_ERR_ARG, "model \"%s\": unknown loss %d", m->name, loss);
    LAM_TRY(lam_optimizer_check(opt));
    lam_node *last = lam_model_last(m);
    if (last->out_rank != 1 && loss != LAM_LOSS_MSE)
        return lam_error(LAM_ERR_SHAPE, "model \"%s\": loss %s needs a rank-1 output per "
                         "sample, but layer \"%s\" outputs rank %d (add Flatten or set "
                         "return_sequences=False)", m->name, lam_loss_name(loss),
                         last->spec.name, last->out_rank);
    if (!m->params) {
        float *params = lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1));
        float *grads = params ? lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1)) : NULL;
        /* Initialise in layer order from the model's seed: reproducible. */
        lam_rng_seed(&m->rng, m->seed);
        lam_status st = grads ? LAM_OK : LAM_ERR_NOMEM;
        for (int i = 1; i < m->n && st == LAM_OK; i++) {
            lam_node *nd = &m->nodes[i];
            if (nd->op->init) st = nd->op->init(nd, params + nd->param_offset, &m->rng);
        }
        if (st != LAM_OK) {
            lam_free_aligned(params);
            lam_free_aligned(grads);
            return st;
        }
        m->params = params;
        m->grads = grads;
    }
    m->opt = *opt;
    m->loss = loss;
    m->has_accuracy = loss != LAM_LOSS_MSE;
    int nslots = lam_optimizer_slot_count(opt);
    for (int i = 0; i < LAM_MAX_SLOTS; i++) {
        lam_free_aligned(m->slots[i]);
        m->slots[i] = NULL;
    }
    for (int i = 0; i < nslots; i++) {
        m->slots[i] = lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1));
        if (!m->slots[i]) return LAM_ERR_NOMEM;
    }
    m->nslots = nslots;
    lam_optimizer_reset_state(m);
    m->step = 0;
    m->epoch = 0;
    for (int i = 0; i < m->n; i++) m->nodes[i].grad_is_preact = false;
    /* Keras computes cross-entropy from the logits of a final softmax or
     * sigmoid: exact, and its gradient is simply p - y. */
    lam_activation a = last->spec.activation;
    bool has_act = last->spec.kind == LAM_LAYER_DENSE || last->spec.kind == LAM_LAYER_CONV2D ||
                   last->spec.kind == LAM_LAYER_ACTIVATION;
    if (has_act && ((a == LAM_ACT_SOFTMAX && (loss == LAM_LOSS_SPARSE_CATEGORICAL_CE ||
                                              loss == LAM_LOSS_CATEGORICAL_CE)) ||
                    (a == LAM_ACT_SIGMOID && loss == LAM_LOSS_BINARY_CE)))
        last->grad_is_preact = true;
    model_free_plan(m); /* the logits buffer depends on the loss */
    m->compiled = true;
    return LAM_OK;
}

/* ------------------------------------------------------------------- plan */

lam_status lam_model_plan(lam_model *m, int batch)
{
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": call lam_model_compile first", m->name);
    if (batch < 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": batch size %d, expected >= 1", m->name,
                         batch);
    if (batch <= m->planned_batch) return LAM_OK;
    model_free_plan(m);
    size_t B = (size_t)batch;
    int64_t scratch = 0;
    lam_node *in = &m->nodes[0];
    if (!(m->xbuf = lam_alloc_aligned(sizeof(float) * B * (size_t)in->out_size))) goto nomem;
    if (!(in->dout = lam_alloc_aligned(sizeof(float) * B * (size_t)in->out_size))) goto nomem;
    in->out = m->xbuf;
    if (!(m->labels = lam_calloc(B, sizeof(int32_t)))) goto nomem;
    lam_node *last = lam_model_last(m);
    if (!(m->targets = lam_alloc_aligned(sizeof(float) * B * (size_t)last->out_size))) goto nomem;
    for (int i = 1; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        size_t osz = sizeof(float) * B * (size_t)nd->out_size;
        if (nd->op->aliases_input) {
            nd->out = m->nodes[i - 1].out;
            nd->dout = m->nodes[i - 1].dout;
            continue;
        }
        if (!(nd->out = lam_alloc_aligned(osz)) || !(nd->dout = lam_alloc_aligned(osz)))
            goto nomem;
        if (nd->saved_floats &&
            !(nd->saved = lam_alloc_aligned(sizeof(float) * B * (size_t)nd->saved_floats)))
            goto nomem;
        if (nd->saved_ints &&
            !(nd->saved_idx = lam_alloc_aligned(sizeof(int32_t) * B * (size_t)nd->saved_ints)))
            goto nomem;
        if (nd->grad_is_preact && !(nd->logits = lam_alloc_aligned(osz))) goto nomem;
        if (nd->cache_floats) {
            if (!(nd->cache = lam_alloc_aligned(sizeof(float) * (size_t)nd->cache_floats)))
                goto nomem;
            memset(nd->cache, 0, sizeof(float) * (size_t)nd->cache_floats);
        }
        if (nd->op->scratch) {
            int64_t s = nd->op->scratch(nd, batch);
            if (s > scratch) scratch = s;
        }
    }
    if (scratch && !(m->scratch = lam_alloc_aligned(sizeof(float) * (size_t)scratch))) goto nomem;
    m->scratch_floats = scratch;
    m->planned_batch = batch;
    return LAM_OK;
nomem:
    model_free_plan(m);
    return lam_error_context(LAM_ERR_NOMEM, "model \"%s\": planning memory for batch %d",
                             m->name, batch);
}

static lam_ctx node_ctx(lam_model *m, lam_node *nd, bool training)
{
    lam_ctx c = {m->params + nd->param_offset, m->grads + nd->param_offset, m->scratch,
                 training, m->seed, m->step};
    return c;
}

void lam_model_forward(lam_model *m, int batch, bool training)
{
    for (int i = 1; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        if (nd->op->aliases_input) continue; /* its output is its input */
        lam_ctx c = node_ctx(m, nd, training);
        nd->op->forward(nd, &c, m->nodes[i - 1].out, nd->out, batch);
    }
}

lam_status lam_model_backward(lam_model *m, int batch, double *loss_sum, int64_t *correct)
{
    lam_node *last = lam_model_last(m);
    *loss_sum = lam_loss_compute(m->loss, last, m->labels, m->targets, batch, last->dout,
                                 correct);
    for (int i = m->n - 1; i >= 1; i--) {
        lam_node *nd = &m->nodes[i];
        if (nd->op->aliases_input) continue; /* dx is dy already */
        lam_ctx c = node_ctx(m, nd, true);
        float *dx = (i > 1 || m->want_input_grad) ? m->nodes[i - 1].dout : NULL;
        nd->op->backward(nd, &c, m->nodes[i - 1].out, nd->out, nd->dout, dx, batch);
    }
    return LAM_OK;
}
