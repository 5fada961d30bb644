/* model.c - building the graph (Sequential and functional calls), its
 * parameter layout, the memory plan, and forward/backward over the graph. */
#include "model.h"
#include "kernels/activation.h"

#include <math.h>
#include <string.h>

static const char *const activation_names[LAM_ACT_COUNT] = {
    "linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "gelu_tanh"};

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
                     "sigmoid, tanh, softmax, gelu, gelu_tanh)", name);
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
    if (kind == LAM_LAYER_LSTM || kind == LAM_LAYER_GRU || kind == LAM_LAYER_SIMPLERNN ||
        kind == LAM_LAYER_BIDIRECTIONAL)
        s.activation = LAM_ACT_TANH;
    if (kind == LAM_LAYER_MAXPOOL1D || kind == LAM_LAYER_AVGPOOL1D) {
        s.pool[1] = 1;
        s.strides[0] = s.strides[1] = 0;
    }
    if (kind == LAM_LAYER_CONV1D) s.kernel[1] = 1;
    s.axis = -1;
    s.momentum = 0.99f;
    s.epsilon = 1e-3f;
    s.center = s.scale = true;
    s.pad[0] = s.pad[1] = s.pad[2] = s.pad[3] = 1;
    s.size[0] = s.size[1] = 2;
    s.wrapped = LAM_LAYER_LSTM;
    s.merge_mode = LAM_MERGE_CONCAT;
    return s;
}

static lam_model *model_new(const char *name, bool sequential)
{
    lam_model *m = lam_calloc(1, sizeof *m);
    if (!m) return NULL;
    const char *dflt = sequential ? "sequential" : "functional";
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : dflt);
    m->sequential = sequential;
    m->seed = 1337;
    lam_rng_seed(&m->rng, m->seed);
    return m;
}

lam_model *lam_sequential(const char *name) { return model_new(name, true); }
lam_model *lam_model_new(const char *name) { return model_new(name, false); }

void lam_model_free_plan(lam_model *m)
{
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        if (!(m->aliased && m->aliased[i])) {
            lam_free_aligned(nd->value);
            lam_free_aligned(nd->grad);
        }
        if (nd->masked && !lam_mask_is_input0s(nd)) lam_free_aligned(nd->mask);
        lam_free_aligned(nd->saved);
        lam_free_aligned(nd->logits);
        lam_free_aligned(nd->saved_idx);
        lam_free_aligned(nd->cache);
        if (!(m->aliased && m->aliased[i])) lam_free_aligned(nd->tangent);
        nd->value = nd->grad = nd->saved = nd->logits = nd->cache = nd->mask = NULL;
        nd->tangent = NULL;
        nd->saved_idx = NULL;
    }
    lam_model_free_sample_norms(m);
    lam_free_aligned(m->scratch);
    lam_free_aligned(m->grad_tmp);
    lam_free(m->aliased);
    lam_free(m->has_grad);
    lam_free(m->grads_written);
    lam_free(m->xs);
    lam_free(m->in_masks);
    lam_free(m->dxs);
    m->scratch = m->grad_tmp = NULL;
    m->aliased = m->has_grad = m->grads_written = NULL;
    m->xs = m->in_masks = NULL;
    m->dxs = NULL;
    m->planned_batch = 0;
    m->last_batch = 0;
}

void lam_model_free(lam_model *m)
{
    if (!m) return;
    lam_model_free_plan(m);
    lam_free_aligned(m->params);
    lam_free_aligned(m->grads);
    lam_free_aligned(m->state);
    for (int i = 0; i < LAM_MAX_SLOTS; i++) lam_free_aligned(m->slots[i]);
    for (int i = 0; i < m->n; i++) {
        lam_free(m->nodes[i].inputs);
        lam_free(m->nodes[i].in);
        lam_free(m->nodes[i].priv);
    }
    lam_free(m->nodes);
    lam_free(m->input_nodes);
    lam_free(m->output_nodes);
    lam_free(m->losses);
    lam_free(m->loss_weights);
    lam_model_free_metadata(m);
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

int lam_model_num_inputs(const lam_model *m) { return m->ninputs; }
int lam_model_num_outputs(const lam_model *m) { return m->noutputs ? m->noutputs : m->n > 0; }
int lam_model_input_id(const lam_model *m, int k)
{
    return k >= 0 && k < m->ninputs ? m->input_nodes[k] : -1;
}
int lam_model_output_id(const lam_model *m, int k)
{
    if (m->noutputs == 0) return k == 0 && m->n > 0 ? m->n - 1 : -1;
    return k >= 0 && k < m->noutputs ? m->output_nodes[k] : -1;
}
lam_node *lam_model_output_node(const lam_model *m, int k)
{
    int id = lam_model_output_id(m, k);
    return id >= 0 ? &m->nodes[id] : NULL;
}
lam_node *lam_model_input_node(const lam_model *m, int k)
{
    int id = lam_model_input_id(m, k);
    return id >= 0 ? &m->nodes[id] : NULL;
}

int lam_model_node_inputs(const lam_model *m, int node, int max, int *ids)
{
    if (node < 0 || node >= m->n) return 0;
    const lam_node *nd = &m->nodes[node];
    for (int k = 0; k < nd->ninputs && k < max; k++) ids[k] = nd->inputs[k];
    return nd->ninputs;
}

int lam_model_node_owner(const lam_model *m, int node)
{
    return node >= 0 && node < m->n ? m->nodes[node].owner : -1;
}

int lam_model_layer_output_shape(const lam_model *m, int i, int64_t shape[4])
{
    if (i < 0 || i >= m->n) return 0;
    memcpy(shape, m->nodes[i].out.dim, sizeof(int64_t) * 4);
    return m->nodes[i].out.rank;
}

int lam_model_output_shape(const lam_model *m, int k, int64_t shape[4])
{
    return lam_model_layer_output_shape(m, lam_model_output_id(m, k), shape);
}

int64_t lam_model_layer_param_count(const lam_model *m, int i)
{
    if (i < 0 || i >= m->n || m->nodes[i].owner != i) return 0;
    return m->nodes[i].param_count + m->nodes[i].state_count;
}
int64_t lam_model_param_count(const lam_model *m) { return m->nparams; }
int64_t lam_model_state_count(const lam_model *m) { return m->nstate; }
int64_t lam_model_input_size(const lam_model *m)
{
    const lam_node *in = lam_model_input_node(m, 0);
    return in ? in->out.size : 0;
}
int64_t lam_model_output_size(const lam_model *m)
{
    const lam_node *out = lam_model_output_node(m, 0);
    return out ? out->out.size : 0;
}
int lam_model_input_shape(const lam_model *m, int64_t shape[4])
{
    return lam_model_layer_output_shape(m, lam_model_input_id(m, 0), shape);
}

void lam_shape_set(lam_shape *s, int rank, const int64_t *dim)
{
    s->rank = rank;
    s->size = 1;
    for (int i = 0; i < 4; i++) {
        s->dim[i] = i < rank ? dim[i] : 0;
        if (i < rank) s->size *= dim[i];
    }
}

/* Keras names layers by class: conv2d, conv2d_1, ... counted per model. */
static void auto_name(lam_model *m, lam_node *nd, const char *base)
{
    int count = 0;
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].spec.kind == nd->spec.kind && m->nodes[i].owner == i) count++;
    if (count == 0) snprintf(nd->spec.name, sizeof nd->spec.name, "%s", base);
    else snprintf(nd->spec.name, sizeof nd->spec.name, "%s_%d", base, count);
}

static lam_status check_mutable(const lam_model *m, const char *what)
{
    if (m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": cannot %s after compile", m->name, what);
    return LAM_OK;
}

/* A zeroed node at the end of m->nodes (not yet counted in m->n). */
static lam_status new_node(lam_model *m, lam_node **out)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        lam_node *nodes = lam_realloc(m->nodes, sizeof *nodes * (size_t)cap);
        if (!nodes) return LAM_ERR_NOMEM;
        m->nodes = nodes;
        m->cap = cap;
    }
    lam_node *nd = &m->nodes[m->n];
    memset(nd, 0, sizeof *nd);
    nd->index = nd->owner = m->n;
    nd->sample_group = -1;
    *out = nd;
    return LAM_OK;
}

static void discard_node(lam_node *nd)
{
    lam_free(nd->inputs);
    lam_free(nd->in);
    lam_free(nd->priv);
    nd->inputs = NULL;
    nd->in = NULL;
    nd->priv = NULL;
}

static lam_status unique_name(const lam_model *m, const lam_node *nd)
{
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].owner == i && strcmp(m->nodes[i].spec.name, nd->spec.name) == 0)
            return lam_error(LAM_ERR_ARG, "model \"%s\": two layers are named \"%s\"", m->name,
                             nd->spec.name);
    return LAM_OK;
}

lam_status lam_model_input(lam_model *m, const char *name, int rank, const int64_t *shape,
                           int *node)
{
    if (!m || (rank > 0 && !shape)) return lam_error(LAM_ERR_ARG, "lam_model_input: NULL argument");
    LAM_TRY(check_mutable(m, "add inputs"));
    int *ins = lam_realloc(m->input_nodes, sizeof(int) * (size_t)(m->ninputs + 1));
    if (!ins) return LAM_ERR_NOMEM;
    m->input_nodes = ins;
    lam_node *nd;
    LAM_TRY(new_node(m, &nd));
    nd->spec = lam_layer_defaults(LAM_LAYER_INPUT);
    if (name && *name) snprintf(nd->spec.name, sizeof nd->spec.name, "%s", name);
    else auto_name(m, nd, "input_layer");
    LAM_TRY(unique_name(m, nd));
    if (rank < 1 || rank > 4)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): shape has rank %d, "
                         "expected 1 to 4", nd->spec.name, rank);
    for (int i = 0; i < rank; i++)
        if (shape[i] < 1 || shape[i] > (1 << 24))
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): dimension %d is "
                             "%lld, expected 1 to 16777216", nd->spec.name, i,
                             (long long)shape[i]);
    nd->spec.rank = rank;
    for (int i = 0; i < rank; i++) nd->spec.shape[i] = shape[i];
    lam_shape_set(&nd->out, rank, shape);
    if (nd->out.size > (1 << 28))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (InputLayer): %lld values per sample "
                         "is too many", nd->spec.name, (long long)nd->out.size);
    m->input_nodes[m->ninputs++] = nd->index;
    if (m->ninputs > 1) m->sequential = false;
    if (node) *node = nd->index;
    m->n++;
    return LAM_OK;
}

/* Builds node nd (spec, op, owner set) on the given inputs and counts it in. */
static lam_status finish_call(lam_model *m, lam_node *nd, int ninputs, const int *inputs)
{
    const lam_op *op = nd->op;
    const char *cls = op->class_name;
    int lo = op->min_inputs ? op->min_inputs : 1, hi = op->max_inputs ? op->max_inputs : 1;
    if (ninputs < lo || ninputs > hi) {
        if (lo == hi)
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): called on %d inputs, expected %d",
                             nd->spec.name, cls, ninputs, lo);
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): called on %d inputs, expected %d to %d",
                         nd->spec.name, cls, ninputs, lo, hi);
    }
    for (int k = 0; k < ninputs; k++)
        if (inputs[k] < 0 || inputs[k] >= m->n)
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): input %d is node %d, which does "
                             "not exist (the model has %d nodes)", nd->spec.name, cls, k,
                             inputs[k], m->n);
    nd->inputs = lam_malloc(sizeof(int) * (size_t)ninputs);
    nd->in = lam_calloc((size_t)ninputs, sizeof(lam_shape));
    nd->priv = op->priv_size ? lam_calloc(1, op->priv_size) : NULL;
    if (!nd->inputs || !nd->in || (op->priv_size && !nd->priv)) return LAM_ERR_NOMEM;
    nd->ninputs = ninputs;
    for (int k = 0; k < ninputs; k++) {
        nd->inputs[k] = inputs[k];
        nd->in[k] = m->nodes[inputs[k]].out;
    }
    LAM_TRY(op->build(nd));
    if (nd->out.rank < 1 || nd->out.rank > 4)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): output rank %d, expected 1 to 4",
                         nd->spec.name, cls, nd->out.rank);
    lam_shape_set(&nd->out, nd->out.rank, nd->out.dim);
    if (nd->out.size < 1 || nd->out.size > (1 << 28))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): output of %lld values per "
                         "sample", nd->spec.name, cls, (long long)nd->out.size);
    if (nd->owner != nd->index) {
        /* A shared call: the weights this call would make must be the owner's. */
        const lam_node *o = &m->nodes[nd->owner];
        bool same = o->ntensors == nd->ntensors;
        for (int t = 0; same && t < nd->ntensors; t++)
            same = o->tensors[t].count == nd->tensors[t].count &&
                   memcmp(o->tensors[t].shape, nd->tensors[t].shape, sizeof o->tensors[t].shape) == 0;
        if (!same)
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): called again on an input of "
                             "another shape, which needs other weights than its first call",
                             nd->spec.name, cls);
        memcpy(nd->tensors, o->tensors, sizeof nd->tensors);
        nd->param_offset = o->param_offset;
        nd->param_count = o->param_count;
        nd->state_offset = o->state_offset;
        nd->state_count = o->state_count;
    } else {
        nd->param_offset = m->nparams;
        nd->state_offset = m->nstate;
        for (int t = 0; t < nd->ntensors; t++) {
            lam_param_desc *d = &nd->tensors[t];
            if (d->trainable) {
                d->offset = m->nparams + nd->param_count;
                nd->param_count += d->count;
            } else {
                d->offset = m->nstate + nd->state_count;
                nd->state_count += d->count;
            }
        }
        m->nparams += nd->param_count;
        m->nstate += nd->state_count;
    }
    nd->masked = lam_mask_present(m, nd);
    m->n++;
    return LAM_OK;
}

lam_status lam_model_call(lam_model *m, const lam_layer_spec *spec, int ninputs,
                          const int *inputs, int *node)
{
    if (!m || !spec || (ninputs > 0 && !inputs))
        return lam_error(LAM_ERR_ARG, "lam_model_call: NULL argument");
    LAM_TRY(check_mutable(m, "add layers"));
    if ((unsigned)spec->kind >= LAM_LAYER_KIND_COUNT || spec->kind == LAM_LAYER_INPUT)
        return lam_error(LAM_ERR_ARG, "model \"%s\": layer kind %d cannot be called (use "
                         "lam_model_input for inputs)", m->name, spec->kind);
    const lam_op *op = lam_op_for(spec->kind);
    if (!op || !op->build)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer %s is not available in "
                         "this build", m->name, lam_layer_kind_name(spec->kind));
    lam_node *nd;
    LAM_TRY(new_node(m, &nd));
    nd->spec = *spec;
    nd->spec.name[sizeof nd->spec.name - 1] = '\0';
    nd->op = op;
    if (!nd->spec.name[0]) auto_name(m, nd, op->base_name);
    lam_status st = unique_name(m, nd);
    const bool chain = ninputs == 1 && inputs[0] == m->n - 1;
    if (st == LAM_OK) st = finish_call(m, nd, ninputs, inputs);
    if (st != LAM_OK) {
        discard_node(nd);
        return st;
    }
    if (!chain) m->sequential = false; /* no longer a Keras Sequential */
    if (node) *node = nd->index;
    return LAM_OK;
}

lam_status lam_model_call_shared(lam_model *m, int layer, int ninputs, const int *inputs,
                                 int *node)
{
    if (!m || (ninputs > 0 && !inputs))
        return lam_error(LAM_ERR_ARG, "lam_model_call_shared: NULL argument");
    LAM_TRY(check_mutable(m, "add layers"));
    if (layer < 0 || layer >= m->n || !m->nodes[layer].op)
        return lam_error(LAM_ERR_ARG, "model \"%s\": node %d is not a layer that can be called "
                         "again", m->name, layer);
    const int owner = m->nodes[layer].owner;
    lam_node *nd;
    LAM_TRY(new_node(m, &nd));
    const lam_node *o = &m->nodes[owner]; /* after new_node: nodes may have moved */
    nd->spec = o->spec;
    nd->op = o->op;
    nd->owner = owner;
    lam_status st = finish_call(m, nd, ninputs, inputs);
    if (st != LAM_OK) {
        discard_node(nd);
        return st;
    }
    m->sequential = false;
    if (node) *node = nd->index;
    return LAM_OK;
}

lam_status lam_model_set_outputs(lam_model *m, int n, const int *nodes)
{
    if (!m || n < 1 || !nodes)
        return lam_error(LAM_ERR_ARG, "lam_model_set_outputs: expected at least one output node");
    LAM_TRY(check_mutable(m, "change outputs"));
    for (int k = 0; k < n; k++) {
        if (nodes[k] < 0 || nodes[k] >= m->n)
            return lam_error(LAM_ERR_ARG, "model \"%s\": output %d is node %d, which does not "
                             "exist (the model has %d nodes)", m->name, k, nodes[k], m->n);
        for (int j = 0; j < k; j++)
            if (nodes[j] == nodes[k])
                return lam_error(LAM_ERR_ARG, "model \"%s\": node \"%s\" is listed twice as an "
                                 "output", m->name, m->nodes[nodes[k]].spec.name);
    }
    int *outs = lam_malloc(sizeof(int) * (size_t)n);
    if (!outs) return LAM_ERR_NOMEM;
    memcpy(outs, nodes, sizeof(int) * (size_t)n);
    lam_free(m->output_nodes);
    m->output_nodes = outs;
    m->noutputs = n;
    if (n != 1 || nodes[0] != m->n - 1) m->sequential = false;
    return LAM_OK;
}

lam_status lam_model_add(lam_model *m, const lam_layer_spec *spec)
{
    if (!m || !spec) return lam_error(LAM_ERR_ARG, "lam_model_add: NULL argument");
    if (spec->kind == LAM_LAYER_INPUT) {
        if (m->n > 0)
            return lam_error(LAM_ERR_ARG, "model \"%s\": an Input layer must come first", m->name);
        return lam_model_input(m, spec->name, spec->rank, spec->shape, NULL);
    }
    if ((unsigned)spec->kind < LAM_LAYER_KIND_COUNT && m->n == 0 && !m->compiled)
        return lam_error(LAM_ERR_STATE,
                         "model \"%s\": layer %s added before any Input layer (give the "
                         "input shape first)", m->name, lam_layer_kind_name(spec->kind));
    int prev = m->n - 1;
    return lam_model_call(m, spec, 1, &prev, NULL);
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
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].owner == i) k += m->nodes[i].ntensors;
    return k;
}

lam_status lam_model_tensor(const lam_model *m, int idx, lam_tensor_info *info)
{
    for (int i = 0; i < m->n && idx >= 0; i++) {
        const lam_node *nd = &m->nodes[i];
        if (nd->owner != i) continue;
        if (idx < nd->ntensors) {
            const lam_param_desc *t = &nd->tensors[idx];
            float *base = t->trainable ? m->params : m->state;
            info->name = t->name;
            info->rank = t->rank;
            memcpy(info->shape, t->shape, sizeof info->shape);
            info->count = t->count;
            info->trainable = t->trainable;
            info->offset = t->offset;
            info->data = base ? base + t->offset : NULL;
            info->grad = t->trainable && m->grads ? m->grads + t->offset : NULL;
            return LAM_OK;
        }
        idx -= nd->ntensors;
    }
    return lam_error(LAM_ERR_ARG, "model \"%s\": no weight tensor %d", m->name, idx);
}

float *lam_model_params(lam_model *m) { return m->params; }
float *lam_model_grads(lam_model *m) { return m->grads; }
float *lam_model_state(lam_model *m) { return m->state; }
int lam_model_num_slots(const lam_model *m) { return m->nslots; }
float *lam_model_slot(lam_model *m, int i) { return i >= 0 && i < m->nslots ? m->slots[i] : NULL; }

static lam_status add_tensor(lam_node *n, const char *what, int rank, const int64_t *shape,
                             bool trainable)
{
    if (n->ntensors == LAM_MAX_TENSORS)
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\": more than %d weight tensors",
                         n->spec.name, LAM_MAX_TENSORS);
    if (rank < 0 || rank > 4)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\": weight \"%s\" of rank %d, expected 0 to 4",
                         n->spec.name, what, rank);
    lam_param_desc *t = &n->tensors[n->ntensors++];
    snprintf(t->name, sizeof t->name, "%s/%s", n->spec.name, what);
    t->rank = rank;
    t->trainable = trainable;
    t->count = 1;
    for (int i = 0; i < 4; i++) t->shape[i] = i < rank ? shape[i] : 0;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1 || shape[i] > (1 << 28))
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\": weight \"%s\" has dimension %lld",
                             n->spec.name, what, (long long)shape[i]);
        t->count *= shape[i];
    }
    if (t->count > (1 << 28))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\": weight \"%s\" of %lld values is too "
                         "large", n->spec.name, what, (long long)t->count);
    return LAM_OK;
}

lam_status lam_node_add_tensor(lam_node *n, const char *what, int rank, const int64_t *shape)
{
    return add_tensor(n, what, rank, shape, true);
}

lam_status lam_node_add_state(lam_node *n, const char *what, int rank, const int64_t *shape)
{
    return add_tensor(n, what, rank, shape, false);
}

lam_status lam_model_init_weights(lam_model *m)
{
    if (m->params) return LAM_OK;
    const size_t np = (size_t)(m->nparams ? m->nparams : 1), ns = (size_t)(m->nstate ? m->nstate : 1);
    float *params = lam_alloc_aligned(sizeof(float) * np);
    float *grads = params ? lam_alloc_aligned(sizeof(float) * np) : NULL;
    float *state = grads ? lam_alloc_aligned(sizeof(float) * ns) : NULL;
    /* Initialise in layer order from the model's seed: reproducible. */
    lam_rng_seed(&m->rng, m->seed);
    lam_status st = state ? LAM_OK : LAM_ERR_NOMEM;
    for (int i = 0; i < m->n && st == LAM_OK; i++) {
        lam_node *nd = &m->nodes[i];
        if (nd->op && nd->owner == i && nd->op->init)
            st = nd->op->init(nd, params + nd->param_offset, state + nd->state_offset, &m->rng);
    }
    if (st != LAM_OK) {
        lam_free_aligned(params);
        lam_free_aligned(grads);
        lam_free_aligned(state);
        return st;
    }
    m->params = params;
    m->grads = grads;
    m->state = state;
    return LAM_OK;
}

/* ------------------------------------------------------------------- plan */

/* The layers whose spec.activation is applied to their output. */
static bool applies_activation(lam_layer_kind k)
{
    return k == LAM_LAYER_DENSE || k == LAM_LAYER_CONV2D || k == LAM_LAYER_CONV1D ||
           k == LAM_LAYER_ACTIVATION;
}

static bool is_output(const lam_model *m, int i)
{
    for (int k = 0; k < lam_model_num_outputs(m); k++)
        if (lam_model_output_id(m, k) == i) return true;
    return false;
}

int lam_model_node_readers(const lam_model *m, int node)
{
    int readers = 0;
    for (int k = node + 1; k < m->n; k++) /* readers come later in topological order */
        for (int s = 0; s < m->nodes[k].ninputs; s++) readers += m->nodes[k].inputs[s] == node;
    return readers;
}

/* A Flatten-like node shares its input's buffers when nothing else reads
 * or writes them: its input has no other consumer and is no output (else
 * gradients reaching the input by two routes would mix in one buffer). */
static void plan_aliasing(lam_model *m)
{
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        m->aliased[i] = false;
        if (!nd->op || !nd->op->aliases_input) continue;
        const int j = nd->inputs[0];
        m->aliased[i] = lam_model_node_readers(m, j) == 1 && !is_output(m, j);
    }
}

lam_status lam_model_plan(lam_model *m, int batch)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_plan: NULL model");
    if (!m->params) /* compile initialises them (a decoder copies its model's) */
        return lam_error(LAM_ERR_STATE, "model \"%s\": call lam_model_compile first", m->name);
    if (batch < 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": batch size %d, expected >= 1", m->name,
                         batch);
    if (batch <= m->planned_batch) return LAM_OK;
    lam_model_free_plan(m);
    const size_t B = (size_t)batch;
    int64_t scratch = 0, tmp = 0;
    int max_inputs = 1;
    m->aliased = lam_calloc((size_t)m->n, sizeof(bool));
    m->has_grad = lam_calloc((size_t)m->n, sizeof(bool));
    m->grads_written = lam_calloc((size_t)m->n, sizeof(bool));
    if (!m->aliased || !m->has_grad || !m->grads_written) goto nomem;
    plan_aliasing(m);
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        size_t osz = sizeof(float) * B * (size_t)nd->out.size;
        if (nd->masked) {
            /* One float per position, [batch, positions]; a mask passed on
             * unchanged is its input's buffer (masks are never written after
             * their node's forward). */
            if (lam_mask_is_input0s(nd)) nd->mask = m->nodes[nd->inputs[0]].mask;
            else if (!(nd->mask = lam_alloc_aligned(sizeof(float) * B *
                                                    (size_t)lam_node_positions(nd))))
                goto nomem;
        }
        if (m->aliased[i]) {
            nd->value = m->nodes[nd->inputs[0]].value;
            nd->grad = m->nodes[nd->inputs[0]].grad;
            nd->tangent = m->nodes[nd->inputs[0]].tangent;
            continue;
        }
        if (!(nd->value = lam_alloc_aligned(osz)) || !(nd->grad = lam_alloc_aligned(osz)))
            goto nomem;
        if (m->keep_tangents && !(nd->tangent = lam_alloc_aligned(osz))) goto nomem;
        if (!nd->op) continue;
        if (nd->ninputs > max_inputs) max_inputs = nd->ninputs;
        /* Room for every input gradient of this node and its parameter
         * gradients, when they must be summed into buffers already written. */
        int64_t need = nd->param_count;
        for (int k = 0; k < nd->ninputs; k++) need += (int64_t)B * nd->in[k].size;
        if (need > tmp) tmp = need;
        if (nd->saved_floats &&
            !(nd->saved = lam_alloc_aligned(sizeof(float) * B * (size_t)nd->saved_floats)))
            goto nomem;
        if (nd->saved_ints &&
            !(nd->saved_idx = lam_alloc_aligned(sizeof(int32_t) * B * (size_t)nd->saved_ints)))
            goto nomem;
        /* GELU's backward needs its pre-activations, kept where the loss keeps its
         * logits; so does ReLU's tangent (which units are off, and how far off). */
        const bool relu_tangent = m->keep_tangents && nd->op->tangent &&
                                  applies_activation(nd->spec.kind) &&
                                  nd->spec.activation == LAM_ACT_RELU;
        if ((nd->keep_logits || lam_act_needs_preact(nd->spec.activation) || relu_tangent) &&
            !(nd->logits = lam_alloc_aligned(osz)))
            goto nomem;
        if (nd->cache_floats &&
            !(nd->cache = lam_alloc_aligned(sizeof(float) * (size_t)nd->cache_floats)))
            goto nomem; /* zeroed: a Winograd cache starts invalid */
        if (nd->op->scratch) {
            int64_t s = nd->op->scratch(nd, batch);
            if (s > scratch) scratch = s;
        }
        if (m->keep_tangents && nd->op->tangent_scratch) {
            int64_t s = nd->op->tangent_scratch(nd, batch);
            if (s > scratch) scratch = s;
        }
    }
    if (m->keep_sample_norms && lam_model_plan_sample_norms(m, batch) != LAM_OK) goto nomem;
    if (scratch && !(m->scratch = lam_alloc_aligned(sizeof(float) * (size_t)scratch))) goto nomem;
    if (tmp && !(m->grad_tmp = lam_alloc_aligned(sizeof(float) * (size_t)tmp))) goto nomem;
    m->xs = lam_calloc((size_t)max_inputs, sizeof *m->xs);
    m->in_masks = lam_calloc((size_t)max_inputs, sizeof *m->in_masks);
    m->dxs = lam_calloc((size_t)max_inputs, sizeof *m->dxs);
    if (!m->xs || !m->in_masks || !m->dxs) goto nomem;
    m->max_inputs = max_inputs;
    m->scratch_floats = scratch;
    m->grad_tmp_floats = tmp;
    m->planned_batch = batch;
    return LAM_OK;
nomem:
    lam_model_free_plan(m);
    return lam_error_context(LAM_ERR_NOMEM, "model \"%s\": planning memory for batch %d",
                             m->name, batch);
}

float *lam_model_input_buffer(lam_model *m, int k)
{
    lam_node *in = lam_model_input_node(m, k);
    return in ? in->value : NULL;
}

const float *lam_model_output(const lam_model *m, int k)
{
    const lam_node *o = lam_model_output_node(m, k);
    return o ? o->value : NULL;
}

float *lam_model_output_grad(lam_model *m, int k)
{
    lam_node *o = lam_model_output_node(m, k);
    if (!o) return NULL;
    o->grad_is_preact = false; /* the caller writes dL/dy */
    return o->grad;
}

const float *lam_model_input_grad(const lam_model *m, int k)
{
    const lam_node *in = lam_model_input_node(m, k);
    return in ? in->grad : NULL;
}

bool lam_node_squashes(const lam_node *o)
{
    lam_activation a = o->spec.activation;
    return applies_activation(o->spec.kind) && (a == LAM_ACT_SOFTMAX || a == LAM_ACT_SIGMOID);
}

bool lam_node_has_logits(const lam_model *m, const lam_node *o)
{
    return lam_node_squashes(o) && lam_model_node_readers(m, o->index) == 0;
}

lam_status lam_model_keep_logits(lam_model *m, int k)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_keep_logits: NULL model");
    lam_node *o = lam_model_output_node(m, k);
    if (!o)
        return lam_error(LAM_ERR_ARG, "model \"%s\": output %d, the model has %d", m->name, k,
                         lam_model_num_outputs(m));
    if (!lam_node_has_logits(m, o))
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": output \"%s\" (%s) has no "
                         "logits: it is not a layer ending in softmax or sigmoid, or another "
                         "layer reads it", m->name, o->spec.name,
                         o->op ? o->op->class_name : "Input");
    if (!o->keep_logits) {
        o->keep_logits = true;
        lam_model_free_plan(m); /* the next plan allocates them */
    }
    return LAM_OK;
}

const float *lam_model_output_logits(const lam_model *m, int k)
{
    const lam_node *o = lam_model_output_node(m, k);
    return o && o->keep_logits ? o->logits : NULL;
}

float *lam_model_output_logit_grad(lam_model *m, int k)
{
    lam_node *o = lam_model_output_node(m, k);
    if (!o || !o->keep_logits) return NULL;
    o->grad_is_preact = true; /* backward starts below the activation */
    return o->grad;
}

lam_ctx lam_node_ctx(lam_model *m, lam_node *nd, lam_mode mode)
{
    return (lam_ctx){.params = m->params + nd->param_offset,
                     .grads = m->grads + nd->param_offset,
                     .state = m->state + nd->state_offset,
                     .scratch = m->scratch,
                     .training = mode == LAM_MODE_TRAIN,
                     .record = mode != LAM_MODE_INFER,
                     .seed = m->seed,
                     .step = m->step,
                     .position = m->position,
                     .batch_offset = m->batch_offset,
                     .param_grads = true,
                     .masks = m->in_masks};
}

lam_status lam_forward(lam_model *m, int batch, lam_mode mode)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_forward: NULL model");
    if (batch < 1 || batch > m->planned_batch)
        return lam_error(LAM_ERR_STATE, "model \"%s\": forward of batch %d, planned for %d "
                         "(call lam_model_plan)", m->name, batch, m->planned_batch);
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        lam_mask_forward(m, nd, batch);
        if (!nd->op || m->aliased[i]) continue; /* inputs; views of their input */
        const size_t bytes = sizeof(float) * (size_t)batch * (size_t)nd->out.size;
        if (nd->op->aliases_input) {
            memcpy(nd->value, m->nodes[nd->inputs[0]].value, bytes);
            continue;
        }
        for (int k = 0; k < nd->ninputs; k++) {
            m->xs[k] = m->nodes[nd->inputs[k]].value;
            m->in_masks[k] = m->nodes[nd->inputs[k]].mask;
        }
        if (m->override_values && i == m->override_node) {
            memcpy(nd->value, m->override_values, bytes);
            continue;
        }
        lam_ctx c = lam_node_ctx(m, nd, mode);
        nd->op->forward(nd, &c, m->xs, nd->value, batch);
    }
    m->last_mode = mode;
    m->last_batch = batch;
    return LAM_OK;
}

static void add_into(float *restrict dst, const float *restrict src, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

/* One node's backward: dL/d(its inputs) and its weights' gradients from
 * dL/d(its output). A gradient reaching a node by a second route (fan-out)
 * or a layer's second call goes to grad_tmp first and is then added: the
 * sums are in a fixed order, so the bits do not depend on threads.
 * sq: per-sample norms instead of parameter gradients (lam_backward_sample_norms). */
static void backward_node(lam_model *m, lam_node *nd, int batch, bool input_grads,
                          bool param_grads, double *sq)
{
    const int64_t B = batch;
    if (nd->op->aliases_input) {
        lam_node *src = &m->nodes[nd->inputs[0]];
        const int64_t count = B * nd->out.size;
        if (m->aliased[nd->index]) {
            m->has_grad[src->index] = true; /* the gradient is already there */
        } else if (m->has_grad[src->index]) {
            add_into(src->grad, nd->grad, count);
        } else {
            memcpy(src->grad, nd->grad, sizeof(float) * (size_t)count);
            m->has_grad[src->index] = true;
        }
        return;
    }
    float *tmp = m->grad_tmp;
    bool any_tmp = false;
    for (int k = 0; k < nd->ninputs; k++) {
        lam_node *src = &m->nodes[nd->inputs[k]];
        if (!src->op && !input_grads) {
            m->dxs[k] = NULL; /* nobody asked for dL/dx */
        } else if (m->has_grad[src->index]) {
            m->dxs[k] = tmp;
            tmp += B * nd->in[k].size;
            any_tmp = true;
        } else {
            m->dxs[k] = src->grad;
            m->has_grad[src->index] = true;
        }
    }
    for (int k = 0; k < nd->ninputs; k++) {
        m->xs[k] = m->nodes[nd->inputs[k]].value;
        m->in_masks[k] = m->nodes[nd->inputs[k]].mask;
    }
    lam_ctx c = lam_node_ctx(m, nd, m->last_mode);
    c.param_grads = param_grads;
    const bool shared_again = param_grads && m->grads_written[nd->owner];
    if (shared_again) c.grads = tmp;
    if (sq && nd->sample_group >= 0) {
        /* The gradient as received: the op's backward may overwrite it,
         * and lam_backward_reweighted runs the op again from it. */
        if (nd->sample_dy)
            memcpy(nd->sample_dy, nd->grad, sizeof(float) * (size_t)B * (size_t)nd->out.size);
        c.sample_sq = sq + (int64_t)nd->sample_group * B;
        c.sample_grads = nd->sample_grads;
        c.sample_work = m->sample_work;
        c.sample_threads = m->sample_threads;
    }
    nd->op->backward(nd, &c, m->xs, nd->value, nd->grad, m->dxs, batch);
    if (shared_again) add_into(m->grads + nd->param_offset, tmp, nd->param_count);
    m->grads_written[nd->owner] = true;
    if (any_tmp)
        for (int k = 0; k < nd->ninputs; k++) {
            float *d = m->dxs[k];
            lam_node *src = &m->nodes[nd->inputs[k]];
            if (d && d != src->grad) add_into(src->grad, d, B * nd->in[k].size);
        }
}

/* Node i's weights' gradients are final once backward has passed it: its
 * first call (the owner) comes before its other calls. Weights no gradient
 * reached (a branch that feeds no output) get zero. */
static void weights_final(lam_model *m, int i)
{
    const lam_node *nd = &m->nodes[i];
    if (nd->op && nd->owner == i && !m->grads_written[i])
        memset(m->grads + nd->param_offset, 0, sizeof(float) * (size_t)nd->param_count);
}

static lam_status backward(lam_model *m, int batch, bool input_grads, bool param_grads,
                           double *sq)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_backward: NULL model");
    if (m->last_batch != batch || m->last_mode == LAM_MODE_INFER)
        return lam_error(LAM_ERR_STATE, "model \"%s\": backward of batch %d needs a forward of "
                         "that batch in LAM_MODE_TRAIN or LAM_MODE_INFER_GRAD first", m->name,
                         batch);
    memset(m->has_grad, 0, sizeof(bool) * (size_t)m->n);
    memset(m->grads_written, 0, sizeof(bool) * (size_t)m->n);
    if (sq) memset(sq, 0, sizeof(double) * (size_t)lam_model_sample_groups(m) * (size_t)batch);
    for (int k = 0; k < lam_model_num_outputs(m); k++) m->has_grad[lam_model_output_id(m, k)] = true;
    /* Reverse topological order. Once backward has passed a layer's first
     * call, the gradients from its offset on are final (offsets grow with
     * the first call's index), and grads_ready may send them away while
     * backward goes on (data-parallel training, dist.c). */
    for (int i = m->n - 1; i >= m->backward_lowest; i--) {
        lam_node *nd = &m->nodes[i];
        if (nd->op && m->has_grad[i]) backward_node(m, nd, batch, input_grads, param_grads, sq);
        if (!param_grads || !nd->op || nd->owner != i) continue;
        weights_final(m, i);
        if (m->grads_ready) m->grads_ready(m->grads_ready_user, nd->param_offset);
    }
    for (int i = 0; param_grads && i < m->backward_lowest; i++) weights_final(m, i);
    if (input_grads)
        for (int k = 0; k < m->ninputs; k++) {
            lam_node *in = &m->nodes[m->input_nodes[k]];
            if (!m->has_grad[in->index])
                memset(in->grad, 0, sizeof(float) * (size_t)batch * (size_t)in->out.size);
        }
    return LAM_OK;
}

lam_status lam_backward(lam_model *m, int batch, bool input_grads)
{
    return backward(m, batch, input_grads, true, NULL);
}

lam_status lam_backward_inputs(lam_model *m, int batch)
{
    return backward(m, batch, true, false, NULL);
}

lam_status lam_backward_sample_norms(lam_model *m, int batch, double *sq)
{
    if (!m || !sq) return lam_error(LAM_ERR_ARG, "lam_backward_sample_norms: NULL argument");
    if (!m->keep_sample_norms)
        return lam_error(LAM_ERR_STATE, "model \"%s\": per-sample norms need "
                         "lam_model_keep_sample_norms before the plan", m->name);
    return backward(m, batch, false, false, sq);
}

/* --------------------------------------------------------------- tangents */

lam_status lam_model_check_piecewise_linear(const lam_model *m)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_check_piecewise_linear: NULL model");
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (!nd->op) continue;
        if (!nd->op->tangent && !nd->op->linear && !nd->op->aliases_input)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" (%s): exact "
                             "integrated gradients need a piecewise-linear network (ReLU, "
                             "max-pool, Dense, Conv, linear logits), and this layer is not one",
                             m->name, nd->spec.name, nd->op->class_name);
        const lam_activation a = nd->spec.activation;
        if (!applies_activation(nd->spec.kind) || a == LAM_ACT_LINEAR || a == LAM_ACT_RELU ||
            lam_node_has_logits(m, nd))
            continue;
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" (%s) has activation "
                         "%s: exact integrated gradients need a piecewise-linear network (ReLU "
                         "or linear; softmax or sigmoid only at an output)", m->name,
                         nd->spec.name, nd->op->class_name, lam_activation_name(a));
    }
    return LAM_OK;
}

lam_status lam_model_keep_tangents(lam_model *m, bool keep)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_keep_tangents: NULL model");
    if (keep) LAM_TRY(lam_model_check_piecewise_linear(m));
    if (m->keep_tangents != keep) {
        m->keep_tangents = keep;
        lam_model_free_plan(m); /* the next plan allocates (or drops) them */
    }
    return LAM_OK;
}

float *lam_model_input_tangent(lam_model *m, int k)
{
    lam_node *in = lam_model_input_node(m, k);
    return in ? in->tangent : NULL;
}

const float *lam_model_output_tangent(const lam_model *m, int k)
{
    const lam_node *o = lam_model_output_node(m, k);
    return o ? o->tangent : NULL;
}

lam_status lam_model_tangent(lam_model *m, int batch, double *span)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_tangent: NULL model");
    if (!m->keep_tangents || m->last_batch != batch)
        return lam_error(LAM_ERR_STATE, "model \"%s\": tangents of batch %d need "
                         "lam_model_keep_tangents, a plan and a forward of that batch first",
                         m->name, batch);
    LAM_TRY(lam_model_check_piecewise_linear(m)); /* layers may have been added since */
    for (int b = 0; b < 2 * batch; b++) span[b] = INFINITY;
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        if (!nd->op || m->aliased[i]) continue; /* inputs; views of their input */
        if (nd->op->aliases_input) {
            memcpy(nd->tangent, m->nodes[nd->inputs[0]].tangent,
                   sizeof(float) * (size_t)batch * (size_t)nd->out.size);
            continue;
        }
        /* The inputs' tangents go in dxs, which backward alone uses otherwise. */
        for (int k = 0; k < nd->ninputs; k++) {
            m->xs[k] = m->nodes[nd->inputs[k]].value;
            m->dxs[k] = m->nodes[nd->inputs[k]].tangent;
            m->in_masks[k] = m->nodes[nd->inputs[k]].mask;
        }
        lam_ctx c = lam_node_ctx(m, nd, m->last_mode);
        if (nd->op->linear)
            nd->op->forward(nd, &c, (const float *const *)m->dxs, nd->tangent, batch);
        else
            nd->op->tangent(nd, &c, m->xs, (const float *const *)m->dxs, nd->value, nd->tangent,
                            span, batch);
    }
    return LAM_OK;
}
