/* onnx_export.c - a model as an ONNX graph (onnx.ai), for onnxruntime and
 * the other runtimes that read ONNX.
 *
 * The graph computes lam_predict's function on lamina's layout: inputs and
 * outputs are float32, batch first (a free axis named "N"), images NHWC.
 * Every lamina node becomes a few standard operators of the default domain:
 * ONNX's Conv and pooling want NCHW, so they sit between two Transposes
 * (onnxruntime's transpose optimiser cancels the pairs between consecutive
 * convolutions); ONNX's LSTM, GRU and RNN are sequence-first, so they read a
 * transposed input too (layout=1 exists from opset 14, but onnxruntime's CPU
 * kernels refuse it). Weights go in as initializers, rearranged where ONNX
 * wants another order: Keras's LSTM gates i, f, c, o become ONNX's i, o, f,
 * c; a Conv2D kernel (KH, KW, C, F) becomes (F, C, KH, KW).
 *
 * Keras masks (Embedding's mask_zero) follow lamina's rules (docs/ENGINE.md,
 * "Masks"): each masked node's mask is one float tensor [N, positions],
 * computed where lamina computes it, and read where lamina reads it
 * (MultiHeadAttention, GlobalAveragePooling1D). A mask known to be all ones
 * (a Concatenate of masked and unmasked inputs along the features) is kept
 * as "none", which the consumers treat alike.
 *
 * The messages are protobuf-c's structures, generated at build time from
 * the onnx.proto of Debian's libonnx-dev (CMakeLists.txt). Everything they
 * point to (names, attributes, rearranged weights) lives in one arena freed
 * at the end; weights that need no rearranging point into the model's own
 * buffers. The packed model is streamed into lam_write_atomic's file, so no
 * second copy of the weights is made. */
#include "model.h"

#include <string.h>

lam_onnx_options lam_onnx_defaults(void)
{
    lam_onnx_options o = {.opset = LAM_ONNX_OPSET_DEFAULT};
    return o;
}

#ifndef LAMINA_HAVE_ONNX

bool lam_onnx_available(void) { return false; }

lam_status lam_model_export_onnx(const lam_model *m, const char *path,
                                 const lam_onnx_options *opt)
{
    (void)m;
    (void)opt;
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: this lamina was built without ONNX export; "
                     "install libprotobuf-c-dev, protobuf-c-compiler and libonnx-dev "
                     "(scripts/install-deps.sh) and rebuild", path ? path : "(null)");
}

#else

#include "onnx.pb-c.h"
#include "ops/window.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

bool lam_onnx_available(void) { return true; }

/* ONNX's IR version of the onnx.proto we are generated from (1.12: IR 8),
 * which reads every opset up to 18. */
#define ONNX_IR_VERSION 8

enum { T_FLOAT = 1, T_BOOL = 9, T_INT64 = 7 }; /* TensorProto.DataType */

/* ------------------------------------------------------------------ arena */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

/* The export's state. After the first failure every builder call returns
 * NULL and does nothing, so a layer's code reads as a straight sequence of
 * operators; status is checked once per layer. */
typedef struct ox {
    const lam_model *m;
    int opset;
    lam_status status;
    chunk *arena;
    const char *layer;  /* names of new tensors start with it */
    long counter;       /* and end with a number unique in the graph */
    Onnx__NodeProto **nodes;
    size_t nnodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t ninits, cap_inits;
    const char **val;   /* per lamina node: its output tensor */
    const char **mask;  /* per lamina node: its mask [N, positions] (NULL: none or all ones) */
} ox;

static void *ox_alloc(ox *x, size_t n)
{
    if (x->status) return NULL;
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    chunk *c = x->arena;
    if (!c || c->cap - c->used < n) {
        const size_t cap = n > (64u << 10) ? n : (64u << 10);
        c = lam_malloc(sizeof(chunk) + cap);
        if (!c) {
            x->status = LAM_ERR_NOMEM;
            return NULL;
        }
        c->next = x->arena;
        c->used = 0;
        c->cap = cap;
        x->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static void ox_free(ox *x)
{
    for (chunk *c = x->arena, *next; c; c = next) {
        next = c->next;
        lam_free(c);
    }
    x->arena = NULL;
}

static char *ox_fmt(ox *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ox_fmt(ox *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = ox_alloc(x, (size_t)len + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Appends p to a growing array of the arena (the old one is left there). */
static void ox_push(ox *x, void ***arr, size_t *n, size_t *cap, void *p)
{
    if (!p || x->status) return;
    if (*n == *cap) {
        const size_t cap2 = *cap ? 2 * *cap : 64;
        void **a = ox_alloc(x, cap2 * sizeof *a);
        if (!a) return;
        if (*n) memcpy(a, *arr, *n * sizeof *a);
        *arr = a;
        *cap = cap2;
    }
    (*arr)[(*n)++] = p;
}

/* A new tensor name: "<layer>/<what>_<k>". */
static char *fresh(ox *x, const char *what)
{
    return ox_fmt(x, "%s/%s_%ld", x->layer, what, x->counter++);
}

/* ------------------------------------------------------------- attributes */

typedef Onnx__AttributeProto attr;

static attr *at_new(ox *x, const char *name, Onnx__AttributeProto__AttributeType type)
{
    attr *a = ox_alloc(x, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = (char *)name; /* names of attributes are literals */
    a->has_type = true;
    a->type = type;
    return a;
}

static attr *at_int(ox *x, const char *name, int64_t v)
{
    attr *a = at_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = true, a->i = v;
    return a;
}

static attr *at_float(ox *x, const char *name, float v)
{
    attr *a = at_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = true, a->f = v;
    return a;
}

static attr *at_ints(ox *x, const char *name, int n, const int64_t *v)
{
    attr *a = at_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *c = ox_alloc(x, sizeof *c * (size_t)n);
    if (!a || !c) return NULL;
    memcpy(c, v, sizeof *c * (size_t)n);
    a->n_ints = (size_t)n;
    a->ints = c;
    return a;
}

static attr *at_str(ox *x, const char *name, const char *v)
{
    attr *a = at_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (a) a->has_s = true, a->s.data = (uint8_t *)v, a->s.len = strlen(v);
    return a;
}

static attr *at_strs(ox *x, const char *name, int n, const char *const *v)
{
    attr *a = at_new(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    ProtobufCBinaryData *s = ox_alloc(x, sizeof *s * (size_t)n);
    if (!a || !s) return NULL;
    for (int i = 0; i < n; i++) s[i].data = (uint8_t *)v[i], s[i].len = strlen(v[i]);
    a->n_strings = (size_t)n;
    a->strings = s;
    return a;
}

/* ------------------------------------------------------------------ nodes */

#define LIST(T, ...) (T[]){__VA_ARGS__}, (int)(sizeof((T[]){__VA_ARGS__}) / sizeof(T))
#define IN(...) LIST(const char *, __VA_ARGS__)
#define AT(...) LIST(attr *, __VA_ARGS__)
#define NO_AT NULL, 0

/* One node of type op reading in[0..nin) (names; "" for an omitted
 * optional input), writing nout fresh outputs into out (may be NULL when
 * nout is 1: the output is returned). */
static const char *node_n(ox *x, const char *op, const char *const *in, int nin, attr *const *at,
                          int nat, int nout, const char **out)
{
    if (x->status) return NULL;
    for (int i = 0; i < nin; i++)
        if (!in[i]) return NULL;
    for (int i = 0; i < nat; i++)
        if (!at[i]) return NULL;
    Onnx__NodeProto *nd = ox_alloc(x, sizeof *nd);
    char **ins = ox_alloc(x, sizeof *ins * (size_t)(nin ? nin : 1));
    char **outs = ox_alloc(x, sizeof *outs * (size_t)nout);
    attr **ats = ox_alloc(x, sizeof *ats * (size_t)(nat ? nat : 1));
    if (!nd || !ins || !outs || !ats) return NULL;
    onnx__node_proto__init(nd);
    for (int i = 0; i < nin; i++) ins[i] = (char *)in[i];
    for (int i = 0; i < nout; i++) {
        outs[i] = fresh(x, op);
        if (out) out[i] = outs[i];
    }
    if (nat) memcpy(ats, at, sizeof *ats * (size_t)nat); /* at is NULL when nat is 0 */
    nd->n_input = (size_t)nin;
    nd->input = ins;
    nd->n_output = (size_t)nout;
    nd->output = outs;
    nd->name = outs[0];
    nd->op_type = (char *)op;
    nd->n_attribute = (size_t)nat;
    nd->attribute = ats;
    ox_push(x, (void ***)&x->nodes, &x->nnodes, &x->cap_nodes, nd);
    return x->status ? NULL : outs[0];
}

static const char *node(ox *x, const char *op, const char *const *in, int nin, attr *const *at,
                        int nat)
{
    return node_n(x, op, in, nin, at, nat, 1, NULL);
}

static const char *op1(ox *x, const char *op, const char *a) { return node(x, op, IN(a), NO_AT); }
static const char *op2(ox *x, const char *op, const char *a, const char *b)
{
    return node(x, op, IN(a, b), NO_AT);
}

/* ----------------------------------------------------------- initializers */

static Onnx__TensorProto *tensor_new(ox *x, const char *name, int type, int rank,
                                     const int64_t *dims)
{
    Onnx__TensorProto *t = ox_alloc(x, sizeof *t);
    int64_t *d = ox_alloc(x, sizeof *d * (size_t)(rank ? rank : 1));
    if (!t || !d || !name) return NULL;
    onnx__tensor_proto__init(t);
    if (rank) memcpy(d, dims, sizeof *d * (size_t)rank); /* a scalar's dims are NULL */
    t->n_dims = (size_t)rank;
    t->dims = d;
    t->has_data_type = true;
    t->data_type = type;
    t->name = (char *)name;
    return t;
}

static int64_t count_of(int rank, const int64_t *dims)
{
    int64_t c = 1;
    for (int i = 0; i < rank; i++) c *= dims[i];
    return c;
}

/* A float initializer over data, which must outlive the export (the
 * model's weights or the arena). */
static const char *init_f32(ox *x, const char *what, int rank, const int64_t *dims,
                            const float *data)
{
    const char *name = fresh(x, what);
    Onnx__TensorProto *t = tensor_new(x, name, T_FLOAT, rank, dims);
    if (!t) return NULL;
    t->n_float_data = (size_t)count_of(rank, dims);
    t->float_data = (float *)data;
    ox_push(x, (void ***)&x->inits, &x->ninits, &x->cap_inits, t);
    return x->status ? NULL : name;
}

/* A float initializer whose values the caller writes into *data. */
static const char *init_f32_new(ox *x, const char *what, int rank, const int64_t *dims,
                                float **data)
{
    *data = ox_alloc(x, sizeof(float) * (size_t)count_of(rank, dims));
    return *data ? init_f32(x, what, rank, dims, *data) : NULL;
}

static const char *const_f(ox *x, float v)
{
    float *p;
    const char *name = init_f32_new(x, "c", 0, NULL, &p);
    if (name) *p = v;
    return name;
}

/* A 1-D int64 initializer (shapes, axes, indices); n 0: a scalar. */
static const char *init_i64(ox *x, const int64_t *v, int n, bool scalar)
{
    const char *name = fresh(x, "i");
    Onnx__TensorProto *t = tensor_new(x, name, T_INT64, scalar ? 0 : 1, (int64_t[]){n});
    int64_t *c = ox_alloc(x, sizeof *c * (size_t)(n ? n : 1));
    if (!t || !c) return NULL;
    memcpy(c, v, sizeof *c * (size_t)n);
    t->n_int64_data = (size_t)n;
    t->int64_data = c;
    ox_push(x, (void ***)&x->inits, &x->ninits, &x->cap_inits, t);
    return x->status ? NULL : name;
}
#define I64(...) init_i64(x, LIST(int64_t, __VA_ARGS__), false)

/* -------------------------------------------------------- common patterns */

/* A batch-first reshape to (N, dims...). */
static const char *reshape(ox *x, const char *v, int rank, const int64_t *dims)
{
    int64_t s[8] = {-1};
    if (rank) memcpy(s + 1, dims, sizeof *dims * (size_t)rank);
    return op2(x, "Reshape", v, init_i64(x, s, rank + 1, false));
}

static const char *transpose(ox *x, const char *v, const int64_t *perm, int n)
{
    return node(x, "Transpose", IN(v), AT(at_ints(x, "perm", n, perm)));
}
#define TRANSPOSE(v, ...) transpose(x, v, LIST(int64_t, __VA_ARGS__))

static const char *unsqueeze(ox *x, const char *v, int64_t axis)
{
    return op2(x, "Unsqueeze", v, I64(axis));
}

static const char *squeeze(ox *x, const char *v, int64_t axis)
{
    return op2(x, "Squeeze", v, I64(axis));
}

/* ReduceMean/Max over one axis: axes an attribute up to opset 17, an
 * input from 18 (ReduceSum's is an input since 13). */
static const char *reduce(ox *x, const char *op, const char *v, int64_t axis, bool keepdims)
{
    attr *keep = at_int(x, "keepdims", keepdims);
    if (!strcmp(op, "ReduceSum") || x->opset >= 18)
        return node(x, op, IN(v, I64(axis)), AT(keep));
    return node(x, op, IN(v), AT(at_ints(x, "axes", 1, (int64_t[]){axis}), keep));
}

static const char *activation(ox *x, const char *v, lam_activation act)
{
    switch (act) {
    case LAM_ACT_LINEAR: return v;
    case LAM_ACT_RELU: return op1(x, "Relu", v);
    case LAM_ACT_SIGMOID: return op1(x, "Sigmoid", v);
    case LAM_ACT_TANH: return op1(x, "Tanh", v);
    case LAM_ACT_SOFTMAX: return node(x, "Softmax", IN(v), AT(at_int(x, "axis", -1)));
    case LAM_ACT_GELU: {
        /* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)): ONNX's Gelu is opset 20. */
        const char *e = op1(x, "Erf", op2(x, "Mul", v, const_f(x, (float)M_SQRT1_2)));
        return op2(x, "Mul", op2(x, "Mul", v, const_f(x, 0.5f)),
                   op2(x, "Add", e, const_f(x, 1.0f)));
    }
    case LAM_ACT_GELU_TANH: {
        /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const char *x3 = op2(x, "Mul", op2(x, "Mul", v, v), v);
        const char *in = op2(x, "Add", v, op2(x, "Mul", x3, const_f(x, 0.044715f)));
        const char *t = op1(x, "Tanh", op2(x, "Mul", in, const_f(x, 0.7978845608028654f)));
        return op2(x, "Mul", op2(x, "Mul", v, const_f(x, 0.5f)),
                   op2(x, "Add", t, const_f(x, 1.0f)));
    }
    case LAM_ACT_COUNT: break;
    }
    x->status = lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\": activation %d has no ONNX form",
                          x->layer, (int)act);
    return NULL;
}

/* ---------------------------------------------------------------- weights */

/* Weight tensor `what` ("kernel", "bias", "moving_mean") of node n's layer
 * (its owner's, for a shared call), or NULL when the layer has none. */
static const float *weight(const ox *x, const lam_node *n, const char *what)
{
    const lam_node *o = &x->m->nodes[n->owner];
    const size_t lw = strlen(what);
    for (int k = 0; k < o->ntensors; k++) {
        const lam_param_desc *d = &o->tensors[k];
        const size_t ln = strlen(d->name);
        if (ln > lw && d->name[ln - lw - 1] == '/' && !strcmp(d->name + ln - lw, what))
            return (d->trainable ? x->m->params : x->m->state) + d->offset;
    }
    return NULL;
}

/* ----------------------------------------------------------------- layers */

static const char *in_val(const ox *x, const lam_node *n, int k) { return x->val[n->inputs[k]]; }
static const char *in_mask(const ox *x, const lam_node *n, int k)
{
    return x->mask[n->inputs[k]];
}

static const char *dense(ox *x, const lam_node *n)
{
    const int64_t in = n->in[0].dim[n->in[0].rank - 1], u = n->spec.units;
    const char *y = op2(x, "MatMul", in_val(x, n, 0),
                        init_f32(x, "kernel", 2, (int64_t[]){in, u}, weight(x, n, "kernel")));
    if (n->spec.use_bias)
        y = op2(x, "Add", y, init_f32(x, "bias", 1, (int64_t[]){u}, weight(x, n, "bias")));
    return activation(x, y, n->spec.activation);
}

static int pool_stride(const lam_node *n, int axis)
{
    return n->spec.strides[axis] > 0 ? n->spec.strides[axis] : n->spec.pool[axis];
}

/* The window attributes of a Conv or pooling node from lamina's geometry:
 * explicit pads (Keras's "same" puts the odd one after). */
static void window_attrs(ox *x, const lam_window *g, bool one_d, attr **at)
{
    const int64_t pb = (int64_t)(g->OH - 1) * g->SH + g->KH - g->H - g->PT;
    const int64_t pr = (int64_t)(g->OW - 1) * g->SW + g->KW - g->W - g->PL;
    if (one_d) {
        at[0] = at_ints(x, "kernel_shape", 1, (int64_t[]){g->KH});
        at[1] = at_ints(x, "strides", 1, (int64_t[]){g->SH});
        at[2] = at_ints(x, "pads", 2, (int64_t[]){g->PT, pb > 0 ? pb : 0});
    } else {
        at[0] = at_ints(x, "kernel_shape", 2, (int64_t[]){g->KH, g->KW});
        at[1] = at_ints(x, "strides", 2, (int64_t[]){g->SH, g->SW});
        at[2] = at_ints(x, "pads", 4, (int64_t[]){g->PT, g->PL, pb > 0 ? pb : 0, pr > 0 ? pr : 0});
    }
}

/* Channels-last (N, ..., C) <-> channels-first (N, C, ...) for 1-D and 2-D. */
static const char *to_channels_first(ox *x, const char *v, bool one_d)
{
    return one_d ? TRANSPOSE(v, 0, 2, 1) : TRANSPOSE(v, 0, 3, 1, 2);
}
static const char *to_channels_last(ox *x, const char *v, bool one_d)
{
    return one_d ? TRANSPOSE(v, 0, 2, 1) : TRANSPOSE(v, 0, 2, 3, 1);
}

static const char *conv(ox *x, const lam_node *n)
{
    const bool one_d = n->spec.kind == LAM_LAYER_CONV1D;
    lam_window g;
    lam_status s = one_d ? lam_window_build_1d(&g, n, n->spec.kernel[0], n->spec.strides[0],
                                               n->spec.padding)
                         : lam_window_build(&g, n, n->spec.kernel[0], n->spec.kernel[1],
                                            n->spec.strides[0], n->spec.strides[1],
                                            n->spec.padding);
    if (s) {
        x->status = s;
        return NULL;
    }
    /* Keras (KH, KW, C, F) -> ONNX (F, C, KH, KW); 1-D: (K, C, F) -> (F, C, K). */
    const int64_t F = n->spec.units, C = g.C, KH = g.KH, KW = one_d ? 1 : g.KW;
    const float *K = weight(x, n, "kernel");
    float *w;
    const char *wn = one_d ? init_f32_new(x, "kernel", 3, (int64_t[]){F, C, KH}, &w)
                           : init_f32_new(x, "kernel", 4, (int64_t[]){F, C, KH, KW}, &w);
    if (!wn) return NULL;
    for (int64_t f = 0; f < F; f++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < KH * KW; i++)
                w[(f * C + c) * KH * KW + i] = K[(i * C + c) * F + f];
    attr *at[4];
    window_attrs(x, &g, one_d, at);
    at[3] = at_int(x, "group", 1);
    const char *xin = to_channels_first(x, in_val(x, n, 0), one_d);
    const char *y = n->spec.use_bias
                        ? node(x, "Conv", IN(xin, wn, init_f32(x, "bias", 1, (int64_t[]){F},
                                                              weight(x, n, "bias"))), at, 4)
                        : node(x, "Conv", IN(xin, wn), at, 4);
    return activation(x, to_channels_last(x, y, one_d), n->spec.activation);
}

static const char *pool(ox *x, const lam_node *n, const char *op)
{
    const bool one_d = n->spec.kind == LAM_LAYER_MAXPOOL1D || n->spec.kind == LAM_LAYER_AVGPOOL1D;
    lam_window g;
    lam_status s = one_d ? lam_window_build_1d(&g, n, n->spec.pool[0], pool_stride(n, 0),
                                               n->spec.padding)
                         : lam_window_build(&g, n, n->spec.pool[0], n->spec.pool[1],
                                            pool_stride(n, 0), pool_stride(n, 1),
                                            n->spec.padding);
    if (s) {
        x->status = s;
        return NULL;
    }
    attr *at[3];
    window_attrs(x, &g, one_d, at);
    /* AveragePool's count_include_pad is 0 by default: padding is not
     * counted, as Keras's "same" average. MaxPool pads with -inf. */
    const char *y = node(x, op, IN(to_channels_first(x, in_val(x, n, 0), one_d)), at, 3);
    return to_channels_last(x, y, one_d);
}

/* GlobalAveragePooling1D with a mask: the mean over real positions, 0 for
 * a sample with none (lamina's rule; Keras gives NaN there). */
static const char *global_pool(ox *x, const lam_node *n)
{
    const lam_layer_kind k = n->spec.kind;
    const bool max = k == LAM_LAYER_GLOBAL_MAXPOOL1D || k == LAM_LAYER_GLOBAL_MAXPOOL2D;
    const bool one_d = k == LAM_LAYER_GLOBAL_AVGPOOL1D || k == LAM_LAYER_GLOBAL_MAXPOOL1D;
    const char *v = in_val(x, n, 0), *m = in_mask(x, n, 0);
    if (one_d && !max && m) {
        const char *m3 = unsqueeze(x, m, 2); /* (N, T, 1) */
        const char *sum = reduce(x, "ReduceSum", op2(x, "Mul", v, m3), 1, false);
        const char *cnt = reduce(x, "ReduceSum", m3, 1, false);
        return op2(x, "Div", sum, op2(x, "Max", cnt, const_f(x, 1.0f)));
    }
    if (!one_d) v = reshape(x, v, 2, (int64_t[]){n->in[0].dim[0] * n->in[0].dim[1],
                                                  n->in[0].dim[2]});
    return reduce(x, max ? "ReduceMax" : "ReduceMean", v, 1, false);
}

/* The float id tensor v as valid int64 rows of a table of `rows`, and
 * whether each id names one ((-1, rows), truncated: lamina's row_of). */
static const char *embedding_rows(ox *x, const char *ids, int64_t rows, const char *table)
{
    const char *ok = op2(x, "And", op2(x, "Greater", ids, const_f(x, -1.0f)),
                         op2(x, "Less", ids, const_f(x, (float)rows)));
    const char *idx = node(x, "Cast", IN(ids), AT(at_int(x, "to", T_INT64)));
    idx = node(x, "Where", IN(ok, idx, init_i64(x, (int64_t[]){0}, 1, true)), NO_AT);
    const char *rows_v = node(x, "Gather", IN(table, idx), AT(at_int(x, "axis", 0)));
    /* An id outside the table gives a row of zeros, as lamina's gather. */
    return node(x, "Where", IN(unsqueeze(x, ok, -1), rows_v, const_f(x, 0.0f)), NO_AT);
}

/* The ids != 0 mask of an Embedding-like node, [N, positions]. */
static const char *nonzero_mask(ox *x, const lam_node *n)
{
    const char *nz = op1(x, "Not", op2(x, "Equal", in_val(x, n, 0), const_f(x, 0.0f)));
    const char *f = node(x, "Cast", IN(nz), AT(at_int(x, "to", T_FLOAT)));
    return n->in[0].rank == 1 ? f : reshape(x, f, 1, (int64_t[]){n->in[0].size});
}

static const char *embedding(ox *x, const lam_node *n)
{
    const int64_t V = n->spec.input_dim, D = n->spec.units;
    const bool both = n->spec.kind == LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING;
    const char *table = init_f32(x, "embeddings", 2, (int64_t[]){V, D},
                                 weight(x, n, both ? "token_embedding/embeddings" : "embeddings"));
    const char *y = embedding_rows(x, in_val(x, n, 0), V, table);
    if (both) {
        /* The first T rows of the position table, added to every sample. */
        const int64_t T = n->in[0].dim[n->in[0].rank - 1];
        y = op2(x, "Add", y, init_f32(x, "positions", 2, (int64_t[]){T, D},
                                      weight(x, n, "position_embedding/embeddings")));
    }
    return y;
}

static const char *position_embedding(ox *x, const lam_node *n)
{
    const int64_t T = n->in[0].dim[n->in[0].rank - 2], C = n->in[0].dim[n->in[0].rank - 1];
    const char *rows = init_f32(x, "positions", 2, (int64_t[]){T, C}, weight(x, n, "embeddings"));
    return op2(x, "Expand", rows, op1(x, "Shape", in_val(x, n, 0)));
}

/* Normalisation: y = (x - mean) * a + b over axis d of the sample, with
 * per-channel constants shaped (C, 1, ..., 1) to broadcast there. */
static int64_t norm_axis(const lam_node *n)
{
    const int r = n->in[0].rank, a = n->spec.axis;
    return a < 0 ? r + a : a - 1;
}

static const char *channel_const(ox *x, const lam_node *n, const char *what, float **data)
{
    const int r = n->in[0].rank;
    const int64_t d = norm_axis(n);
    int64_t dims[4] = {n->in[0].dim[d], 1, 1, 1};
    return init_f32_new(x, what, (int)(r - d), dims, data);
}

static const char *batch_norm(ox *x, const lam_node *n)
{
    const int64_t C = n->in[0].dim[norm_axis(n)];
    const float *gamma = weight(x, n, "gamma"), *beta = weight(x, n, "beta");
    const float *mean = weight(x, n, "moving_mean"), *var = weight(x, n, "moving_variance");
    float *mu, *a, *b;
    const char *mn = channel_const(x, n, "moving_mean", &mu);
    const char *an = channel_const(x, n, "scale", &a);
    const char *bn = channel_const(x, n, "beta", &b);
    if (!mn || !an || !bn) return NULL;
    const double eps = n->spec.epsilon;
    for (int64_t c = 0; c < C; c++) {
        /* lamina's inference: (x - mean) * (1 / sqrt(var + eps), in double) * gamma + beta */
        mu[c] = mean[c];
        a[c] = (float)(1.0 / sqrt((double)var[c] + eps)) * (gamma ? gamma[c] : 1.0f);
        b[c] = beta ? beta[c] : 0.0f;
    }
    const char *y = op2(x, "Mul", op2(x, "Sub", in_val(x, n, 0), mn), an);
    return op2(x, "Add", y, bn);
}

/* Keras's Normalization: (x - mean) / max(sqrt(variance), 1e-7), or with
 * invert mean + x * that, as src/ops/preprocessing.c computes it (sqrtf in
 * float, a division, so the bits match). */
static const char *normalization(ox *x, const lam_node *n)
{
    const int64_t C = n->in[0].dim[norm_axis(n)];
    const float *mean = weight(x, n, "mean"), *var = weight(x, n, "variance");
    float *mu, *den;
    const char *mn = channel_const(x, n, "mean", &mu);
    const char *dn = channel_const(x, n, "denominator", &den);
    if (!mn || !dn) return NULL;
    for (int64_t c = 0; c < C; c++) {
        const float sd = sqrtf(var[c]);
        mu[c] = mean[c];
        den[c] = sd > 1e-7f ? sd : 1e-7f;
    }
    const char *v = in_val(x, n, 0);
    return n->spec.invert ? op2(x, "Add", op2(x, "Mul", v, dn), mn)
                          : op2(x, "Div", op2(x, "Sub", v, mn), dn);
}

static const char *layer_norm(ox *x, const lam_node *n)
{
    const int64_t d = norm_axis(n), C = n->in[0].dim[d];
    const float *gamma = weight(x, n, "gamma"), *beta = weight(x, n, "beta");
    const char *v = in_val(x, n, 0);
    const float eps = n->spec.epsilon;
    if (d == n->in[0].rank - 1 && x->opset >= 17) {
        float *ones = NULL;
        const char *g = gamma ? init_f32(x, "gamma", 1, (int64_t[]){C}, gamma)
                              : init_f32_new(x, "gamma", 1, (int64_t[]){C}, &ones);
        if (ones)
            for (int64_t c = 0; c < C; c++) ones[c] = 1.0f;
        attr *at[2] = {at_int(x, "axis", -1), at_float(x, "epsilon", eps)};
        return beta ? node(x, "LayerNormalization", IN(v, g, init_f32(x, "beta", 1,
                                                                      (int64_t[]){C}, beta)), at, 2)
                    : node(x, "LayerNormalization", IN(v, g), at, 2);
    }
    /* Another axis, or an opset before LayerNormalization: its reductions. */
    const char *mean = reduce(x, "ReduceMean", v, d + 1, true);
    const char *xc = op2(x, "Sub", v, mean);
    const char *var = reduce(x, "ReduceMean", op2(x, "Mul", xc, xc), d + 1, true);
    const char *y = op2(x, "Div", xc, op1(x, "Sqrt", op2(x, "Add", var, const_f(x, eps))));
    float *p;
    if (gamma) {
        const char *g = channel_const(x, n, "gamma", &p);
        if (!g) return NULL;
        memcpy(p, gamma, sizeof(float) * (size_t)C);
        y = op2(x, "Mul", y, g);
    }
    if (beta) {
        const char *b = channel_const(x, n, "beta", &p);
        if (!b) return NULL;
        memcpy(p, beta, sizeof(float) * (size_t)C);
        y = op2(x, "Add", y, b);
    }
    return y;
}

/* ------------------------------------------------------------- recurrent */

static const char *rnn_act(ox *x, lam_activation a)
{
    switch (a) {
    case LAM_ACT_SIGMOID: return "Sigmoid";
    case LAM_ACT_TANH: return "Tanh";
    case LAM_ACT_RELU: return "Relu";
    default: break;
    }
    x->status = lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\": activation \"%s\" inside a "
                          "recurrent layer has no ONNX export (expected sigmoid, tanh or relu)",
                          x->layer, lam_activation_name(a));
    return NULL;
}

/* One direction's weights in ONNX's layout at w, r, b (gate-major rows):
 * W (G, F), R (G, u), B (2G: input then recurrent biases). ONNX's gate
 * order from Keras's: LSTM i, f, c, o -> i, o, f, c; GRU z, r, h as is. */
static void rnn_weights(lam_layer_kind kind, bool gru_ra, int64_t F, int64_t u,
                        const float *K, const float *U, const float *bias, float *w, float *r,
                        float *b)
{
    static const int lstm[4] = {0, 3, 1, 2}, same[3] = {0, 1, 2};
    const int ng = kind == LAM_LAYER_LSTM ? 4 : kind == LAM_LAYER_GRU ? 3 : 1;
    const int *perm = kind == LAM_LAYER_LSTM ? lstm : same;
    const int64_t G = ng * u;
    for (int og = 0; og < ng; og++)
        for (int64_t j = 0; j < u; j++) {
            const int64_t row = og * u + j, col = perm[og] * u + j;
            for (int64_t f = 0; f < F; f++) w[row * F + f] = K[f * G + col];
            for (int64_t k = 0; k < u; k++) r[row * u + k] = U[k * G + col];
            b[row] = bias ? bias[col] : 0.0f;
            b[G + row] = bias && gru_ra ? bias[G + col] : 0.0f;
        }
}

/* LSTM, GRU or SimpleRNN (spec.kind / spec.wrapped), one direction or both
 * (Bidirectional), over the batch-first input v. Returns ONNX's Y
 * (T, dirs, N, u) with sequences, else Y_h (dirs, N, u). */
static const char *recurrent(ox *x, const lam_node *n, lam_layer_kind kind, int dirs,
                             const char *v)
{
    const lam_layer_spec *s = &n->spec;
    const int64_t F = n->in[0].dim[1], u = s->units;
    const int ng = kind == LAM_LAYER_LSTM ? 4 : kind == LAM_LAYER_GRU ? 3 : 1;
    const int64_t G = ng * u;
    const bool gru_ra = kind == LAM_LAYER_GRU && s->reset_after;
    float *w, *r, *b;
    const char *wn = init_f32_new(x, "W", 3, (int64_t[]){dirs, G, F}, &w);
    const char *rn = init_f32_new(x, "R", 3, (int64_t[]){dirs, G, u}, &r);
    const char *bn = init_f32_new(x, "B", 2, (int64_t[]){dirs, 2 * G}, &b);
    if (!wn || !rn || !bn) return NULL;
    /* Bidirectional keeps forward_<x>/kernel, ... then backward_<x>/...:
     * one direction's tensors, twice, contiguous. */
    const lam_node *o = &x->m->nodes[n->owner];
    const int64_t per_dir = o->param_count / dirs;
    const float *P = x->m->params + o->param_offset;
    for (int d = 0; d < dirs; d++) {
        const float *K = P + d * per_dir, *U = K + F * G;
        const float *bias = s->use_bias ? U + u * G : NULL;
        rnn_weights(kind, gru_ra, F, u, K, U, bias, w + d * G * F, r + d * G * u, b + d * 2 * G);
    }
    /* f (the gates), g (the candidate), h (LSTM's output); per direction. */
    const char *acts[6];
    int nacts = 0;
    if (kind != LAM_LAYER_SIMPLERNN) acts[nacts++] = rnn_act(x, s->recurrent_activation);
    acts[nacts++] = rnn_act(x, s->activation);
    if (kind == LAM_LAYER_LSTM) acts[nacts++] = rnn_act(x, s->activation);
    const int per = nacts;
    for (int d = 1; d < dirs; d++)
        for (int k = 0; k < per; k++) acts[nacts++] = acts[k];
    if (x->status) return NULL;
    const char *seq = TRANSPOSE(v, 1, 0, 2); /* (T, N, F) */
    if (s->go_backwards) /* Keras's order of processing is ONNX's forward over the reversal */
        seq = node(x, "Slice", IN(seq, I64(-1), I64(INT64_MIN), I64(0), I64(-1)), NO_AT);
    const char *op = kind == LAM_LAYER_LSTM ? "LSTM" : kind == LAM_LAYER_GRU ? "GRU" : "RNN";
    attr *at[4] = {at_int(x, "hidden_size", u), at_strs(x, "activations", nacts, acts),
                   at_str(x, "direction", dirs == 2 ? "bidirectional" : "forward"),
                   kind == LAM_LAYER_GRU ? at_int(x, "linear_before_reset", gru_ra) : NULL};
    const char *outs[2];
    node_n(x, op, IN(seq, wn, rn, bn), at, kind == LAM_LAYER_GRU ? 4 : 3, 2, outs);
    if (x->status) return NULL;
    return s->return_sequences ? outs[0] : outs[1];
}

static const char *rnn_layer(ox *x, const lam_node *n)
{
    const char *y = recurrent(x, n, n->spec.kind, 1, in_val(x, n, 0));
    if (!n->spec.return_sequences) return squeeze(x, y, 0);      /* (N, u) */
    return TRANSPOSE(squeeze(x, y, 1), 1, 0, 2);                  /* (N, T, u) */
}

static const char *bidirectional(ox *x, const lam_node *n)
{
    const int64_t u = n->spec.units;
    const char *y = recurrent(x, n, n->spec.wrapped, 2, in_val(x, n, 0));
    const bool seq = n->spec.return_sequences;
    /* Directions next to the units: (N, T, 2, u) or (N, 2, u). */
    y = seq ? TRANSPOSE(y, 2, 0, 1, 3) : TRANSPOSE(y, 1, 0, 2);
    const int64_t T = n->in[0].dim[0];
    if (n->spec.merge_mode == LAM_MERGE_CONCAT)
        return seq ? reshape(x, y, 2, (int64_t[]){T, 2 * u}) : reshape(x, y, 1, (int64_t[]){2 * u});
    const int64_t axis = seq ? 2 : 1;
    const char *f = node(x, "Gather", IN(y, init_i64(x, (int64_t[]){0}, 1, true)),
                         AT(at_int(x, "axis", axis)));
    const char *bk = node(x, "Gather", IN(y, init_i64(x, (int64_t[]){1}, 1, true)),
                          AT(at_int(x, "axis", axis)));
    switch (n->spec.merge_mode) {
    case LAM_MERGE_SUM: return op2(x, "Add", f, bk);
    case LAM_MERGE_AVE: return op2(x, "Mul", op2(x, "Add", f, bk), const_f(x, 0.5f));
    default: return op2(x, "Mul", f, bk);
    }
}

/* ------------------------------------------------------------- attention */

/* MultiHeadAttention as lamina's (src/ops/attention.c): projections,
 * softmax(q k^T / sqrt(dk)) per head over the keys a query sees, output
 * projection. A query that sees no key (all masked) spreads its weight
 * evenly over every key; with dropout (rate > 0) it gets none (Keras 3.15's
 * two paths, which lamina follows). */
static const char *attention(ox *x, const lam_node *n)
{
    const lam_layer_spec *s = &n->spec;
    const int64_t H = s->num_heads, dk = s->key_dim, dv = s->value_dim ? s->value_dim : dk;
    const int64_t tq = n->in[0].dim[0], dq = n->in[0].dim[1], S = n->in[1].dim[0];
    const int key = s->key_input ? 2 : 1, mask_in = s->mask_input ? 2 + s->key_input : -1;
    const int64_t dkin = n->in[key].dim[1], dvin = n->in[1].dim[1];
    const int64_t out = s->output_dim ? s->output_dim : dq;
    /* q, k, v (N, T, H*d) by one product each, as lamina's GEMMs. */
#define PROJ(src, what, din, d)                                                                  \
    (s->use_bias ? op2(x, "Add", op2(x, "MatMul", src, init_f32(x, what "_kernel", 2,          \
                                                                (int64_t[]){din, H * d},          \
                                                                weight(x, n, what "/kernel"))),   \
                       init_f32(x, what "_bias", 1, (int64_t[]){H * d}, weight(x, n, what "/bias"))) \
                 : op2(x, "MatMul", src, init_f32(x, what "_kernel", 2, (int64_t[]){din, H * d}, \
                                                  weight(x, n, what "/kernel"))))
    const char *q = PROJ(in_val(x, n, 0), "query", dq, dk);
    const char *k = PROJ(in_val(x, n, key), "key", dkin, dk);
    const char *v = PROJ(in_val(x, n, 1), "value", dvin, dv);
#undef PROJ
    q = TRANSPOSE(reshape(x, q, 3, (int64_t[]){tq, H, dk}), 0, 2, 1, 3); /* (N, H, Tq, dk) */
    k = TRANSPOSE(reshape(x, k, 3, (int64_t[]){S, H, dk}), 0, 2, 3, 1);  /* (N, H, dk, S) */
    v = TRANSPOSE(reshape(x, v, 3, (int64_t[]){S, H, dv}), 0, 2, 1, 3);  /* (N, H, S, dv) */
    const char *scores = op2(x, "Mul", op2(x, "MatMul", q, k),
                             const_f(x, 1.0f / sqrtf((float)dk)));
    /* Which keys each query sees: (N or 1, 1, Tq, S) booleans. */
    const char *vis = NULL;
#define AND(b) (vis = vis ? op2(x, "And", vis, b) : (b))
    const char *qm = in_mask(x, n, 0), *km = in_mask(x, n, key);
    bool can_empty = false;
    if (qm) {
        AND(op1(x, "Not", op2(x, "Equal", reshape(x, qm, 3, (int64_t[]){1, tq, 1}),
                              const_f(x, 0.0f))));
        can_empty = true;
    }
    if (km) {
        AND(op1(x, "Not", op2(x, "Equal", reshape(x, km, 3, (int64_t[]){1, 1, S}),
                              const_f(x, 0.0f))));
        can_empty = true;
    }
    if (mask_in >= 0) {
        AND(op1(x, "Not", op2(x, "Equal", unsqueeze(x, in_val(x, n, mask_in), 1),
                              const_f(x, 0.0f))));
        can_empty = true;
    }
    if (s->use_causal_mask) {
        /* Key j <= query t: a constant lower triangle (Tq, S). */
        float *tri;
        const char *c = init_f32_new(x, "causal", 2, (int64_t[]){tq, S}, &tri);
        if (!c) return NULL;
        for (int64_t t = 0; t < tq; t++)
            for (int64_t j = 0; j < S; j++) tri[t * S + j] = j <= t ? 1.0f : 0.0f;
        AND(node(x, "Cast", IN(c), AT(at_int(x, "to", T_BOOL))));
    }
#undef AND
    if (vis) /* a row that sees nothing has every score equal: uniform */
        scores = node(x, "Where", IN(vis, scores, const_f(x, -1e30f)), NO_AT);
    const char *p = node(x, "Softmax", IN(scores), AT(at_int(x, "axis", -1)));
    if (can_empty && s->rate > 0.0f) {
        const char *seen = node(x, "Cast", IN(vis), AT(at_int(x, "to", T_FLOAT)));
        p = op2(x, "Mul", p, reduce(x, "ReduceMax", seen, -1, true));
    }
    const char *o = TRANSPOSE(op2(x, "MatMul", p, v), 0, 2, 1, 3); /* (N, Tq, H, dv) */
    o = reshape(x, o, 2, (int64_t[]){tq, H * dv});
    const char *y = op2(x, "MatMul", o, init_f32(x, "attention_output_kernel", 2,
                                                 (int64_t[]){H * dv, out},
                                                 weight(x, n, "attention_output/kernel")));
    if (s->use_bias)
        y = op2(x, "Add", y, init_f32(x, "attention_output_bias", 1, (int64_t[]){out},
                                      weight(x, n, "attention_output/bias")));
    return y;
}

/* ------------------------------------------------------------ the graph */

/* Merges of several inputs: ONNX's variadic Sum/Max/Min/Mean, Mul folded. */
static const char *merge(ox *x, const lam_node *n, const char *op)
{
    if (n->ninputs == 1) return in_val(x, n, 0);
    const char **in = ox_alloc(x, sizeof *in * (size_t)n->ninputs);
    if (!in) return NULL;
    for (int k = 0; k < n->ninputs; k++) in[k] = in_val(x, n, k);
    if (!strcmp(op, "Mul")) {
        const char *y = in[0];
        for (int k = 1; k < n->ninputs; k++) y = op2(x, "Mul", y, in[k]);
        return y;
    }
    return node(x, op, in, n->ninputs, NO_AT);
}

static const char *concatenate(ox *x, const lam_node *n)
{
    if (n->ninputs == 1) return in_val(x, n, 0);
    const char **in = ox_alloc(x, sizeof *in * (size_t)n->ninputs);
    if (!in) return NULL;
    for (int k = 0; k < n->ninputs; k++) in[k] = in_val(x, n, k);
    const int r = n->out.rank, a = n->spec.axis;
    return node(x, "Concat", in, n->ninputs, AT(at_int(x, "axis", a < 0 ? a + r + 1 : a)));
}

static const char *upsampling(ox *x, const lam_node *n)
{
    const int64_t H = n->in[0].dim[0], W = n->in[0].dim[1], C = n->in[0].dim[2];
    const int64_t sh = n->spec.size[0], sw = n->spec.size[1];
    /* Nearest neighbour by an integer factor: each value repeated sh x sw. */
    const char *y = reshape(x, in_val(x, n, 0), 5, (int64_t[]){H, 1, W, 1, C});
    y = op2(x, "Expand", y, I64(1, 1, sh, 1, sw, 1));
    return reshape(x, y, 3, (int64_t[]){H * sh, W * sw, C});
}

/* The unsupported-layer error, naming it and its kind. */
static lam_status unsupported(const char *path, const lam_node *n, const char *why)
{
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: layer \"%s\" (%s) has no ONNX export%s%s", path,
                     n->spec.name, lam_layer_kind_name(n->spec.kind), why ? ": " : "",
                     why ? why : "");
}

/* The mask of node n from its inputs' (lamina's rules, src/core/mask.c). */
static lam_status export_mask(ox *x, const lam_node *n, const char *path)
{
    x->mask[n->index] = NULL;
    if (!n->masked) return LAM_OK;
    if (n->ninputs == 1 && n->op->mask_rule != LAM_MASK_NONZERO_IDS) {
        x->mask[n->index] = in_mask(x, n, 0);
        return LAM_OK;
    }
    const lam_mask_rule rule = n->op->mask_rule;
    if (rule == LAM_MASK_KEEP) {
        x->mask[n->index] = in_mask(x, n, 0);
    } else if (rule == LAM_MASK_NONZERO_IDS) {
        x->mask[n->index] = nonzero_mask(x, n);
    } else if (rule == LAM_MASK_ANY || rule == LAM_MASK_CONCAT) {
        const int r = n->out.rank, a = n->spec.axis;
        if (rule == LAM_MASK_CONCAT && (a < 0 ? a + r + 1 : a) - 1 != r - 1)
            return unsupported(path, n, "a mask joined along a position axis");
        /* OR-ed (0/1 floats: their maximum); an input whose mask is all
         * ones (none here) makes the result all ones. */
        const char *y = in_mask(x, n, 0);
        for (int k = 1; k < n->ninputs && y; k++)
            y = in_mask(x, n, k) ? op2(x, "Max", y, in_mask(x, n, k)) : NULL;
        x->mask[n->index] = y;
    }
    return LAM_OK;
}

static lam_status export_node(ox *x, const lam_node *n, const char *path)
{
    const char *y = NULL;
    x->layer = n->spec.name;
    switch (n->spec.kind) {
    case LAM_LAYER_DENSE: y = dense(x, n); break;
    case LAM_LAYER_CONV2D:
    case LAM_LAYER_CONV1D: y = conv(x, n); break;
    case LAM_LAYER_MAXPOOL2D:
    case LAM_LAYER_MAXPOOL1D: y = pool(x, n, "MaxPool"); break;
    case LAM_LAYER_AVGPOOL2D:
    case LAM_LAYER_AVGPOOL1D: y = pool(x, n, "AveragePool"); break;
    case LAM_LAYER_FLATTEN:
    case LAM_LAYER_RESHAPE: y = reshape(x, in_val(x, n, 0), n->out.rank, n->out.dim); break;
    case LAM_LAYER_ACTIVATION: y = activation(x, in_val(x, n, 0), n->spec.activation); break;
    case LAM_LAYER_DROPOUT: y = in_val(x, n, 0); break; /* the identity at inference */
    case LAM_LAYER_LSTM:
    case LAM_LAYER_GRU:
    case LAM_LAYER_SIMPLERNN: y = rnn_layer(x, n); break;
    case LAM_LAYER_BIDIRECTIONAL: y = bidirectional(x, n); break;
    case LAM_LAYER_ADD: y = merge(x, n, "Sum"); break;
    case LAM_LAYER_SUBTRACT: y = op2(x, "Sub", in_val(x, n, 0), in_val(x, n, 1)); break;
    case LAM_LAYER_MULTIPLY: y = merge(x, n, "Mul"); break;
    case LAM_LAYER_AVERAGE: y = merge(x, n, "Mean"); break;
    case LAM_LAYER_MAXIMUM: y = merge(x, n, "Max"); break;
    case LAM_LAYER_MINIMUM: y = merge(x, n, "Min"); break;
    case LAM_LAYER_CONCATENATE: y = concatenate(x, n); break;
    case LAM_LAYER_PERMUTE: {
        int64_t perm[5] = {0};
        for (int i = 0; i < n->in[0].rank; i++) perm[i + 1] = n->spec.dims[i];
        y = transpose(x, in_val(x, n, 0), perm, n->in[0].rank + 1);
        break;
    }
    case LAM_LAYER_REPEAT_VECTOR:
        y = op2(x, "Expand", unsqueeze(x, in_val(x, n, 0), 1), I64(1, n->spec.repeats, 1));
        break;
    case LAM_LAYER_BATCH_NORM: y = batch_norm(x, n); break;
    case LAM_LAYER_LAYER_NORM: y = layer_norm(x, n); break;
    case LAM_LAYER_NORMALIZATION: y = normalization(x, n); break;
    case LAM_LAYER_GLOBAL_AVGPOOL1D:
    case LAM_LAYER_GLOBAL_AVGPOOL2D:
    case LAM_LAYER_GLOBAL_MAXPOOL1D:
    case LAM_LAYER_GLOBAL_MAXPOOL2D: y = global_pool(x, n); break;
    case LAM_LAYER_ZERO_PADDING2D: {
        const int *p = n->spec.pad;
        y = op2(x, "Pad", in_val(x, n, 0), I64(0, p[0], p[2], 0, 0, p[1], p[3], 0));
        break;
    }
    case LAM_LAYER_UPSAMPLING2D: y = upsampling(x, n); break;
    case LAM_LAYER_EMBEDDING:
    case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING: y = embedding(x, n); break;
    case LAM_LAYER_POSITION_EMBEDDING: y = position_embedding(x, n); break;
    case LAM_LAYER_MULTI_HEAD_ATTENTION:
        if (n->spec.cache_len > 0) return unsupported(path, n, "a decoder's key/value cache");
        y = attention(x, n);
        break;
    default: return unsupported(path, n, NULL);
    }
    if (x->status) return lam_error_context(x->status, "%s: layer \"%s\" (%s)", path,
                                            n->spec.name, lam_layer_kind_name(n->spec.kind));
    x->val[n->index] = y;
    LAM_TRY(export_mask(x, n, path));
    if (x->status) return lam_error_context(x->status, "%s: layer \"%s\" mask", path, n->spec.name);
    return LAM_OK;
}

/* A graph input or output: float32 (N, dims...). */
static Onnx__ValueInfoProto *value_info(ox *x, const char *name, const lam_shape *s)
{
    Onnx__ValueInfoProto *vi = ox_alloc(x, sizeof *vi);
    Onnx__TypeProto *tp = ox_alloc(x, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ox_alloc(x, sizeof *tt);
    Onnx__TensorShapeProto *sh = ox_alloc(x, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = ox_alloc(x, sizeof *dims * (size_t)(s->rank + 1));
    if (!vi || !tp || !tt || !sh || !dims) return NULL;
    for (int i = 0; i <= s->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = ox_alloc(x, sizeof *d);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = "N";
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = s->dim[i - 1];
        }
        dims[i] = d;
    }
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)s->rank + 1;
    sh->dim = dims;
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = true;
    tt->elem_type = T_FLOAT;
    tt->shape = sh;
    onnx__type_proto__init(tp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    vi->type = tp;
    return vi;
}

/* Streams the packed message into the file lam_write_atomic opened. */
typedef struct file_buffer {
    ProtobufCBuffer base;
    FILE *f;
    bool failed;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_buffer *fb = (file_buffer *)b;
    if (!fb->failed && len && fwrite(data, 1, len, fb->f) != len) fb->failed = true;
}

typedef struct write_job {
    const Onnx__ModelProto *model;
    const char *path;
} write_job;

static lam_status write_model(FILE *f, void *user)
{
    const write_job *j = user;
    file_buffer fb = {.base = {.append = file_append}, .f = f};
    protobuf_c_message_pack_to_buffer(&j->model->base, &fb.base);
    if (fb.failed) return lam_error(LAM_ERR_IO, "%s: write failed", j->path);
    return LAM_OK;
}

static lam_status build_graph(ox *x, const char *path, Onnx__GraphProto *g)
{
    const lam_model *m = x->m;
    const int nin = lam_model_num_inputs(m), nout = lam_model_num_outputs(m);
    Onnx__ValueInfoProto **ins = ox_alloc(x, sizeof *ins * (size_t)(nin ? nin : 1));
    Onnx__ValueInfoProto **outs = ox_alloc(x, sizeof *outs * (size_t)(nout ? nout : 1));
    if (!ins || !outs) return x->status;
    for (int k = 0; k < nin; k++) {
        const lam_node *n = lam_model_input_node(m, k);
        x->val[n->index] = n->spec.name;
        x->mask[n->index] = NULL;
        ins[k] = value_info(x, n->spec.name, &n->out);
    }
    for (int i = 0; i < m->n; i++)
        if (m->nodes[i].op) LAM_TRY(export_node(x, &m->nodes[i], path));
    for (int k = 0; k < nout; k++) {
        const lam_node *n = lam_model_output_node(m, k);
        if (!n->op) return unsupported(path, n, "an input that is also an output");
        /* The output tensor carries its layer's name. */
        x->layer = n->spec.name;
        const char *y = op1(x, "Identity", x->val[n->index]);
        if (x->status) return x->status;
        x->nodes[x->nnodes - 1]->output[0] = (char *)n->spec.name;
        x->nodes[x->nnodes - 1]->name = (char *)n->spec.name;
        (void)y;
        outs[k] = value_info(x, n->spec.name, &n->out);
    }
    if (x->status) return x->status;
    g->name = (char *)m->name;
    g->n_node = x->nnodes;
    g->node = x->nodes;
    g->n_initializer = x->ninits;
    g->initializer = x->inits;
    g->n_input = (size_t)nin;
    g->input = ins;
    g->n_output = (size_t)nout;
    g->output = outs;
    return LAM_OK;
}

lam_status lam_model_export_onnx(const lam_model *m, const char *path,
                                 const lam_onnx_options *opt)
{
    if (!m || !path) return lam_error(LAM_ERR_ARG, "lam_model_export_onnx: NULL argument");
    const lam_onnx_options o = opt ? *opt : lam_onnx_defaults();
    if (o.opset < LAM_ONNX_OPSET_MIN || o.opset > LAM_ONNX_OPSET_MAX)
        return lam_error(LAM_ERR_ARG, "%s: ONNX opset %d, expected %d to %d", path, o.opset,
                         LAM_ONNX_OPSET_MIN, LAM_ONNX_OPSET_MAX);
    if (m->nparams > 0 && !m->params)
        return lam_error(LAM_ERR_STATE, "%s: model \"%s\" has no weights yet (compile or load "
                         "it before exporting)", path, m->name);
    ox x = {.m = m, .opset = o.opset};
    x.val = lam_calloc((size_t)m->n, sizeof *x.val);
    x.mask = lam_calloc((size_t)m->n, sizeof *x.mask);
    lam_status s = x.val && x.mask ? LAM_OK : LAM_ERR_NOMEM;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    if (s == LAM_OK) s = build_graph(&x, path, &graph);
    if (s == LAM_OK) {
        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
        opset.domain = "";
        opset.has_version = true;
        opset.version = o.opset;
        Onnx__OperatorSetIdProto *opsets[1] = {&opset};
        Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
        model.has_ir_version = true;
        model.ir_version = ONNX_IR_VERSION;
        model.n_opset_import = 1;
        model.opset_import = opsets;
        model.producer_name = "lamina";
        model.producer_version = (char *)lam_version();
        model.graph = &graph;
        /* protobuf's 2 GiB message limit (ONNX's external data is not written). */
        const size_t size = protobuf_c_message_get_packed_size(&model.base);
        if (size > (size_t)INT32_MAX)
            s = lam_error(LAM_ERR_UNSUPPORTED, "%s: the ONNX file would take %zu bytes, over "
                          "protobuf's 2 GiB limit", path, size);
        write_job job = {&model, path};
        if (s == LAM_OK) s = lam_write_atomic(path, write_model, &job);
    }
    ox_free(&x);
    lam_free(x.val);
    lam_free(x.mask);
    return s;
}

#endif
